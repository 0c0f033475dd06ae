/* Fusion: ADD(MATMUL(W, x), b) -> MATMUL_ADD(W, x, b): a bias or the residual
 * stream added as each product is stored. The product may be either
 * operand of the ADD where both have its shape (addition commutes). */
#include "graph/fuse_internal.h"

uint32_t erg_fuse_matmul_add(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    uint32_t n_fused = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *add = &g->nodes[i];
        if (c->removed[i] || add->op != ERG_OP_ADD)
            continue;
        for (int side = 0; side < 2; side++) {
            int32_t mm = erg_fuse_sole_producer(c, add->src[side], ERG_OP_MATMUL);
            if (mm < 0 || (side == 1 && !erg_tensor_same_shape(&g->tensors[add->src[0]],
                                                               &g->tensors[add->src[1]])))
                continue;
            int32_t src[3] = {g->nodes[mm].src[0], g->nodes[mm].src[1], add->src[1 - side]};
            if (erg_fuse_rewrite(c, (int32_t)i, ERG_OP_MATMUL_ADD, 3, src, NULL, NULL, &mm, 1)) {
                n_fused++;
                break;
            }
        }
    }
    return n_fused;
}
