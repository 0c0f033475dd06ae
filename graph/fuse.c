/* The fusion driver: reader counts, the one rewrite primitive the passes
 * use, running the passes in order, and dropping the removed nodes. */
#include "graph/fuse_internal.h"

#include "graph/op_rules.h"
#include "graph/validate.h"

#include <string.h>

int32_t erg_fuse_sole_producer(const erg_fuse_ctx *c, int32_t t, erg_op op) {
    const erg_tensor *tt = &c->g->tensors[t];
    if (tt->kind != ERG_TENSOR_ACTIVATION || tt->producer < 0 || c->removed[tt->producer] ||
        c->readers[t] != 1 || c->g->nodes[tt->producer].op != op)
        return -1;
    return tt->producer;
}

int32_t erg_fuse_swap12_permute(const erg_fuse_ctx *c, int32_t t) {
    const erg_tensor *tt = &c->g->tensors[t];
    if (tt->kind != ERG_TENSOR_VIEW || tt->producer < 0 || c->removed[tt->producer] ||
        c->readers[t] != 1)
        return -1;
    const erg_node *p = &c->g->nodes[tt->producer];
    bool swap12 = p->iparams[0] == 0 && p->iparams[1] == 2 && p->iparams[2] == 1 &&
                  p->iparams[3] == 3;
    return p->op == ERG_OP_PERMUTE && p->n_src == 1 && swap12 ? tt->producer : -1;
}

/* Whether the rules of n's op give exactly the result n has. */
static bool result_matches(const erg_graph *g, const erg_node *n) {
    const erg_tensor *d = &g->tensors[n->dst];
    erg_dtype dt;
    int64_t ne[4];
    erg_diag ignored;
    if (erg_op_infer(g, n->op, n->n_src, n->src, n->iparams, d->dtype, &dt, ne, &ignored) !=
            ERG_OK ||
        dt != d->dtype)
        return false;
    int alias = erg_node_alias_src(n);
    if (alias >= 0)
        return d->kind == ERG_TENSOR_VIEW &&
               d->view_src == erg_tensor_storage_root(g, n->src[alias]);
    return d->kind == ERG_TENSOR_ACTIVATION && memcmp(ne, d->ne, sizeof ne) == 0;
}

bool erg_fuse_rewrite(erg_fuse_ctx *c, int32_t at, erg_op op, int n_src, const int32_t *src,
                      const int32_t *ip, const float *fp, const int32_t *remove, int n_remove) {
    erg_graph *g = c->g;
    erg_node n = {.op = op, .n_src = n_src, .dst = g->nodes[at].dst};
    for (int i = 0; i < ERG_MAX_SRC; i++)
        n.src[i] = i < n_src ? src[i] : -1;
    if (ip)
        memcpy(n.iparams, ip, sizeof n.iparams);
    if (fp)
        memcpy(n.fparams, fp, sizeof n.fparams);
    if (!result_matches(g, &n))
        return false;
    if (c->legal && !c->legal(c->legal_ctx, g, &n)) {
        if (c->stats)
            c->stats->n_rejected++;
        return false;
    }
    /* Reader counts follow the rewrite: the old node's and the removed
     * nodes' sources lose a reader, the fused node's gain one. */
    for (int r = -1; r < n_remove; r++) {
        const erg_node *old = &g->nodes[r < 0 ? at : remove[r]];
        for (int s = 0; s < old->n_src; s++)
            c->readers[old->src[s]]--;
    }
    for (int s = 0; s < n_src; s++)
        c->readers[src[s]]++;
    for (int r = 0; r < n_remove; r++) {
        erg_tensor *t = &g->tensors[g->nodes[remove[r]].dst];
        t->kind = ERG_TENSOR_UNUSED;
        t->producer = -1;
        t->view_src = -1;
        c->removed[remove[r]] = true;
    }
    g->nodes[at] = n;
    if (c->stats)
        c->stats->n_fused[op]++;
    return true;
}

/* Drops the removed nodes, renumbering the rest (and their results' producers). */
static void compact(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    size_t kept = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (c->removed[i])
            continue;
        g->nodes[kept] = g->nodes[i];
        g->tensors[g->nodes[kept].dst].producer = (int32_t)kept;
        kept++;
    }
    g->n_nodes = kept;
}

erg_status erg_graph_fuse(erg_graph *g, erg_fuse_legal_fn legal, void *ctx, erg_fuse_stats *stats,
                          erg_diag *diag) {
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->nodes_before = stats->nodes_after = (uint32_t)g->n_nodes;
    }
    if (g->n_nodes == 0)
        return ERG_OK;
    erg_fuse_ctx c = {.g = g, .legal = legal, .legal_ctx = ctx, .stats = stats};
    c.readers = erg_calloc(g->alloc, g->n_tensors, sizeof *c.readers);
    c.removed = erg_calloc(g->alloc, g->n_nodes, sizeof *c.removed);
    if (!c.readers || !c.removed) {
        erg_free(g->alloc, c.readers);
        erg_free(g->alloc, c.removed);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "fusion of %zu nodes", g->n_nodes);
    }
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int s = 0; s < g->nodes[i].n_src; s++)
            c.readers[g->nodes[i].src[s]]++;
    for (size_t t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].flags & ERG_TENSOR_FLAG_OUTPUT)
            c.readers[t]++;

    /* Largest patterns first, so a smaller one does not take their nodes. */
    uint32_t (*const passes[])(erg_fuse_ctx *) = {
        erg_fuse_attention,  erg_fuse_attention_rope, erg_fuse_rope_store,  erg_fuse_swiglu,
        erg_fuse_matmul_add, erg_fuse_rms_norm_mul,   erg_fuse_elementwise};
    uint32_t fused = 0;
    for (size_t p = 0; p < sizeof passes / sizeof passes[0]; p++)
        fused += passes[p](&c);
    if (fused)
        compact(&c);
    /* Then the projections, which need the compacted graph. */
    uint32_t n_qkv;
    erg_status st = erg_fuse_qkv(&c, &n_qkv, diag);
    erg_free(g->alloc, c.readers);
    erg_free(g->alloc, c.removed);
    if (st != ERG_OK)
        return st;
    if (stats)
        stats->nodes_after = (uint32_t)g->n_nodes;
    /* A pass that broke the graph is erg's bug; say so rather than run it. */
    erg_diag why;
    if (erg_graph_validate(g, &why) != ERG_OK)
        return erg_fail(diag, ERG_INTERNAL, "graph after fusion: %s", why.msg);
    return ERG_OK;
}
