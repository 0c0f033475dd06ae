/* Fusion: attention as one op. The chain the model builders make,
 *   s = MATMUL(K, q); p = SOFTMAX(s, scale, causal, n_past); o = MATMUL(V, p);
 *   CPY(PERMUTE(o, 0, 2, 1, 3))
 * becomes ATTENTION(q, K, V): a kernel with an online softmax that never
 * stores the [n_kv, nt, heads] scores and writes the heads already
 * interleaved, as the output projection reads them. */
#include "graph/fuse_internal.h"

uint32_t erg_fuse_attention(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    uint32_t n_fused = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *cont = &g->nodes[i];
        if (c->removed[i] || cont->op != ERG_OP_CPY || cont->n_src != 1 ||
            g->tensors[cont->dst].dtype != ERG_DT_F32)
            continue;
        int32_t perm = erg_fuse_swap12_permute(c, cont->src[0]);
        int32_t pv = perm < 0 ? -1 : erg_fuse_sole_producer(c, g->nodes[perm].src[0], ERG_OP_MATMUL);
        int32_t sm = pv < 0 ? -1 : erg_fuse_sole_producer(c, g->nodes[pv].src[1], ERG_OP_SOFTMAX);
        int32_t qk = sm < 0 ? -1 : erg_fuse_sole_producer(c, g->nodes[sm].src[0], ERG_OP_MATMUL);
        if (qk < 0)
            continue;
        const erg_node *softmax = &g->nodes[sm];
        int32_t ip[ERG_MAX_IPARAMS] = {0};
        float fp[ERG_MAX_FPARAMS] = {0};
        ip[ERG_ATTENTION_I_CAUSAL] = softmax->iparams[ERG_SOFTMAX_I_CAUSAL];
        ip[ERG_ATTENTION_I_N_PAST] = softmax->iparams[ERG_SOFTMAX_I_N_PAST];
        fp[ERG_ATTENTION_F_SCALE] = softmax->fparams[ERG_SOFTMAX_F_SCALE];
        int32_t src[3] = {g->nodes[qk].src[1], g->nodes[qk].src[0], g->nodes[pv].src[0]};
        int32_t remove[4] = {qk, sm, pv, perm};
        n_fused += erg_fuse_rewrite(c, (int32_t)i, ERG_OP_ATTENTION, 3, src, ip, fp, remove, 4);
    }
    return n_fused;
}
