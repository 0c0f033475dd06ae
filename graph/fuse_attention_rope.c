/* Fusion: rope of the queries into attention. The chain the model builders
 * make (after erg_fuse_attention),
 *   r = ROPE(x, positions[, factors]); q = PERMUTE(r, 0, 2, 1, 3);
 *   ATTENTION(q, K, V)
 * becomes q = PERMUTE(x, 0, 2, 1, 3); ATTENTION(q, K, V, positions[, factors])
 * with ROPE's params: the kernel rotates each query row as it loads it, so
 * the rotated queries are never stored and one dispatch per layer goes.
 *
 * Why not a rope epilogue on the Q projection (MATMUL_QKV): on Qwen3 a
 * per-head norm of q sits between the projection and rope, so the epilogue
 * would never fire on those models, while every model's queries reach
 * attention. K's rope already goes straight into the KV cache (ROPE_STORE). */
#include "graph/fuse_internal.h"

#include <string.h>

/* Points the permute's view q at x (the rope's input, of r's shape) instead
 * of r: x's storage, offset and strides, permuted. */
static void permute_from(erg_fuse_ctx *c, int32_t perm, int32_t r, int32_t x) {
    erg_graph *g = c->g;
    erg_node *p = &g->nodes[perm];
    erg_tensor *q = &g->tensors[p->dst];
    const erg_tensor *tx = &g->tensors[x];
    p->src[0] = x;
    c->readers[r]--;
    c->readers[x]++;
    q->view_src = erg_tensor_storage_root(g, x);
    q->view_offset = tx->kind == ERG_TENSOR_VIEW ? tx->view_offset : 0;
    for (int i = 0; i < 4; i++)
        q->nb[p->iparams[i]] = tx->nb[i];
}

uint32_t erg_fuse_attention_rope(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    uint32_t n_fused = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *at = &g->nodes[i];
        if (c->removed[i] || at->op != ERG_OP_ATTENTION || at->n_src != 3)
            continue;
        int32_t perm = erg_fuse_swap12_permute(c, at->src[0]);
        int32_t rope = perm < 0 ? -1 : erg_fuse_sole_producer(c, g->nodes[perm].src[0], ERG_OP_ROPE);
        if (rope < 0)
            continue;
        const erg_node *r = &g->nodes[rope];
        int32_t x = r->src[0];
        int32_t ip[ERG_MAX_IPARAMS], src[5] = {at->src[0], at->src[1], at->src[2], r->src[1],
                                               r->n_src == 3 ? r->src[2] : -1};
        float fp[ERG_MAX_FPARAMS];
        memcpy(ip, at->iparams, sizeof ip);
        memcpy(fp, at->fparams, sizeof fp);
        ip[ERG_ATTENTION_I_ROPE_N_DIMS] = r->iparams[ERG_ROPE_I_N_DIMS];
        ip[ERG_ATTENTION_I_ROPE_MODE] = r->iparams[ERG_ROPE_I_MODE];
        fp[ERG_ATTENTION_F_ROPE_FREQ_BASE] = r->fparams[ERG_ROPE_F_FREQ_BASE];
        fp[ERG_ATTENTION_F_ROPE_FREQ_SCALE] = r->fparams[ERG_ROPE_F_FREQ_SCALE];
        int32_t r_out = r->dst;
        /* The rule check and the device's say come first: the graph changes
         * only where both accept (q keeps r's shape, so the result is the
         * same either way). */
        if (!erg_fuse_rewrite(c, (int32_t)i, ERG_OP_ATTENTION, r->n_src + 2, src, ip, fp, &rope, 1))
            continue;
        permute_from(c, perm, r_out, x);
        n_fused++;
    }
    return n_fused;
}
