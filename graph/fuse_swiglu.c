/* Fusion: the gated feed-forward's gate and up projections with SiLU x mul,
 *   MUL(SILU(MATMUL(Wg, x)), MATMUL(Wu, x)) or SWIGLU(MATMUL(Wg, x), MATMUL(Wu, x))
 * -> MATMUL_SWIGLU(Wg, x, Wu): one kernel reads x once for both products and
 * writes only silu(gate) * up. */
#include "graph/fuse_internal.h"

uint32_t erg_fuse_swiglu(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    uint32_t n_fused = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (c->removed[i] || (n->op != ERG_OP_MUL && n->op != ERG_OP_SWIGLU))
            continue;
        int32_t remove[3], n_remove = 0, gate = n->src[0];
        if (n->op == ERG_OP_MUL) {
            int32_t silu = erg_fuse_sole_producer(c, gate, ERG_OP_SILU);
            if (silu < 0)
                continue;
            remove[n_remove++] = silu;
            gate = g->nodes[silu].src[0];
        }
        int32_t mg = erg_fuse_sole_producer(c, gate, ERG_OP_MATMUL);
        int32_t mu = erg_fuse_sole_producer(c, n->src[1], ERG_OP_MATMUL);
        if (mg < 0 || mu < 0 || g->nodes[mg].src[1] != g->nodes[mu].src[1])
            continue;
        remove[n_remove++] = mg;
        remove[n_remove++] = mu;
        int32_t src[3] = {g->nodes[mg].src[0], g->nodes[mg].src[1], g->nodes[mu].src[0]};
        n_fused += erg_fuse_rewrite(c, (int32_t)i, ERG_OP_MATMUL_SWIGLU, 3, src, NULL, NULL,
                                    remove, n_remove);
    }
    return n_fused;
}
