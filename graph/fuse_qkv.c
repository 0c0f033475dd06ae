/* Fusion: the three projections of one activation (attention's Q, K and V),
 *   MATMUL(Wq, x), MATMUL(Wk, x), MATMUL(Wv, x)
 * -> MATMUL_QKV(Wq, x, Wk, Wv): one kernel converts and reads x once and
 * stores the three products one after another. The three results become
 * views of that flat result with their own shapes, so their readers (rope,
 * ROPE_STORE, the V-cache copy) read the layout they read before.
 *
 * Unlike the other passes it adds nodes (the fused node and three views
 * take the place of three matmuls), so it runs last, on the compacted graph.
 * It fuses only where exactly three MATMULs read x and their weights share a
 * type and a row length: a mixed-type V (Q4_K_M files) keeps the unfused
 * matmuls, and so do projections a bias was already fused into (MATMUL_ADD). */
#include "graph/fuse_internal.h"

#include "graph/builder.h"
#include "graph/op_rules.h"

#include <string.h>

/* Per tensor, the MATMULs that read it as their activations: how many, and
 * the first three in node order. One pass over the graph. */
typedef struct matmul_readers {
    int32_t n;
    int32_t mm[3];
} matmul_readers;

static void count_matmul_readers(const erg_graph *g, matmul_readers *r) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (n->op != ERG_OP_MATMUL)
            continue;
        matmul_readers *x = &r[n->src[1]];
        if (x->n < 3)
            x->mm[x->n] = (int32_t)i;
        x->n++;
    }
}

static bool fusable(const erg_graph *g, const int32_t mm[3]) {
    const erg_tensor *w0 = &g->tensors[g->nodes[mm[0]].src[0]];
    for (int p = 0; p < 3; p++) {
        const erg_tensor *w = &g->tensors[g->nodes[mm[p]].src[0]];
        const erg_tensor *y = &g->tensors[g->nodes[mm[p]].dst];
        if (w->dtype != w0->dtype || w->ne[0] != w0->ne[0] || y->kind != ERG_TENSOR_ACTIVATION ||
            (y->flags & ERG_TENSOR_FLAG_OUTPUT))
            return false;
    }
    int32_t src[4] = {g->nodes[mm[0]].src[0], g->nodes[mm[0]].src[1], g->nodes[mm[1]].src[0],
                      g->nodes[mm[2]].src[0]};
    erg_dtype dt;
    int64_t ne[4];
    erg_diag ignored;
    static const int32_t no_params[ERG_MAX_IPARAMS];
    return erg_op_infer(g, ERG_OP_MATMUL_QKV, 4, src, no_params, ERG_DT_F32, &dt, ne, &ignored) ==
           ERG_OK;
}

/* Makes the fused node and the three views at the end of the graph, and
 * notes in redirect[] which view takes the place of each matmul's result.
 * Returns false (with the graph as it was) where the device refuses the
 * node. */
static bool fuse_one(erg_fuse_ctx *c, const int32_t mm[3], int32_t *redirect) {
    erg_graph *g = c->g;
    size_t nn = g->n_nodes, nt = g->n_tensors;
    const erg_node *q = &g->nodes[mm[0]];
    int32_t flat = erg_gb_matmul_qkv(g, q->src[0], q->src[1], g->nodes[mm[1]].src[0],
                                     g->nodes[mm[2]].src[0]);
    if (flat < 0)
        return false; /* out of memory: the graph's sticky status says so */
    if (c->legal && !c->legal(c->legal_ctx, g, &g->nodes[nn])) {
        g->n_nodes = nn;
        g->n_tensors = nt;
        if (c->stats)
            c->stats->n_rejected++;
        return false;
    }
    size_t offset = 0;
    for (int p = 0; p < 3; p++) {
        int32_t old = g->nodes[mm[p]].dst;
        int64_t ne[2] = {g->tensors[old].ne[0], g->tensors[old].ne[1]};
        int32_t v = erg_gb_view(g, flat, -1, 2, ne, NULL, offset);
        if (v < 0)
            return false;
        memcpy(g->tensors[v].name, g->tensors[old].name, ERG_NAME_MAX);
        redirect[old] = v;
        offset += (size_t)(ne[0] * ne[1]) * sizeof(float);
    }
    if (c->stats)
        c->stats->n_fused[ERG_OP_MATMUL_QKV]++;
    return true;
}

/* Points the readers of the fused matmuls' results at the views that took
 * their place; views of an old result (the heads' RESHAPE) now alias the
 * flat one. The old results are left unused. One pass over the graph. */
static void redirect_readers(erg_graph *g, size_t n_orig_tensors, const int32_t *redirect) {
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int s = 0; s < g->nodes[i].n_src; s++) {
            int32_t t = g->nodes[i].src[s];
            if ((size_t)t < n_orig_tensors && redirect[t] >= 0)
                g->nodes[i].src[s] = redirect[t];
        }
    for (size_t t = 0; t < g->n_tensors; t++) {
        erg_tensor *v = &g->tensors[t];
        if (v->kind != ERG_TENSOR_VIEW || (size_t)v->view_src >= n_orig_tensors ||
            redirect[v->view_src] < 0)
            continue;
        const erg_tensor *by = &g->tensors[redirect[v->view_src]];
        v->view_offset += by->view_offset;
        v->view_src = by->view_src;
    }
    for (size_t t = 0; t < n_orig_tensors; t++)
        if (redirect[t] >= 0) {
            erg_tensor *old = &g->tensors[t];
            old->kind = ERG_TENSOR_UNUSED;
            old->producer = -1;
            old->view_src = -1;
        }
}

erg_status erg_fuse_qkv(erg_fuse_ctx *c, uint32_t *n_fused, erg_diag *diag) {
    erg_graph *g = c->g;
    size_t n_orig = g->n_nodes, n_orig_tensors = g->n_tensors;
    *n_fused = 0;
    /* Per original node: the first of the nodes that take its place (-1:
     * itself), or -2 where it is dropped. */
    int32_t *replaced = erg_malloc(g->alloc, n_orig * sizeof *replaced);
    int32_t *redirect = erg_malloc(g->alloc, n_orig_tensors * sizeof *redirect);
    matmul_readers *readers = erg_calloc(g->alloc, n_orig_tensors, sizeof *readers);
    if (!replaced || !redirect || !readers) {
        erg_free(g->alloc, replaced);
        erg_free(g->alloc, redirect);
        erg_free(g->alloc, readers);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "fusing the projections of %zu nodes", n_orig);
    }
    for (size_t i = 0; i < n_orig; i++)
        replaced[i] = -1;
    for (size_t t = 0; t < n_orig_tensors; t++)
        redirect[t] = -1;
    count_matmul_readers(g, readers);
    for (size_t i = 0; i < n_orig; i++) {
        if (g->nodes[i].op != ERG_OP_MATMUL)
            continue;
        /* Exactly three MATMULs read x, and this is the first of them. */
        const matmul_readers *x = &readers[g->nodes[i].src[1]];
        if (x->n != 3 || x->mm[0] != (int32_t)i || !fusable(g, x->mm))
            continue;
        int32_t at = (int32_t)g->n_nodes;
        if (!fuse_one(c, x->mm, redirect))
            continue;
        replaced[x->mm[0]] = at;
        replaced[x->mm[1]] = replaced[x->mm[2]] = -2;
        (*n_fused)++;
    }
    erg_free(g->alloc, readers);
    erg_status st = g->status;
    if (st == ERG_OK && *n_fused) {
        redirect_readers(g, n_orig_tensors, redirect);
        /* Each fused node and its three views go where its first matmul was:
         * x and the weights are defined before it, every reader after it. */
        size_t n_all = g->n_nodes, j = 0;
        erg_node *order = erg_malloc(g->alloc, n_all * sizeof *order);
        if (!order) {
            erg_free(g->alloc, replaced);
            erg_free(g->alloc, redirect);
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "fusing the projections of %zu nodes",
                            n_orig);
        }
        for (size_t i = 0; i < n_orig; i++) {
            if (replaced[i] == -1)
                order[j++] = g->nodes[i];
            for (int32_t k = 0; replaced[i] >= 0 && k < 4; k++)
                order[j++] = g->nodes[replaced[i] + k];
        }
        memcpy(g->nodes, order, j * sizeof *order);
        g->n_nodes = j;
        for (size_t i = 0; i < j; i++)
            g->tensors[g->nodes[i].dst].producer = (int32_t)i;
        erg_free(g->alloc, order);
    }
    erg_free(g->alloc, replaced);
    erg_free(g->alloc, redirect);
    if (st != ERG_OK)
        return erg_fail(diag, st, "fusing the projections: %s", g->diag.msg);
    return ERG_OK;
}
