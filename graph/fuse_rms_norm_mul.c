/* Fusion: MUL(RMS_NORM(x), w) -> RMS_NORM_MUL(x, w): the normalised row is
 * scaled by the weight as it is written, instead of written and read again. */
#include "graph/fuse_internal.h"

uint32_t erg_fuse_rms_norm_mul(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    uint32_t n_fused = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *mul = &g->nodes[i];
        if (c->removed[i] || mul->op != ERG_OP_MUL)
            continue;
        int32_t norm = erg_fuse_sole_producer(c, mul->src[0], ERG_OP_RMS_NORM);
        if (norm < 0)
            continue;
        int32_t src[2] = {g->nodes[norm].src[0], mul->src[1]};
        n_fused += erg_fuse_rewrite(c, (int32_t)i, ERG_OP_RMS_NORM_MUL, 2, src, NULL,
                                    g->nodes[norm].fparams, &norm, 1);
    }
    return n_fused;
}
