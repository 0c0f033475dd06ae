/* Fusion of elementwise chains into the one op that computes them:
 *   MUL(SILU(a), b)      -> SWIGLU(a, b)       (where the gate/up matmuls
 *                                               could not fuse)
 *   SCALE(SCALE(a, s), t) -> SCALE(a, s * t)
 * Each removes a launch and a full write and read of the intermediate. */
#include "graph/fuse_internal.h"

static uint32_t silu_mul(erg_fuse_ctx *c, int32_t at) {
    erg_graph *g = c->g;
    const erg_node *mul = &g->nodes[at];
    int32_t silu = erg_fuse_sole_producer(c, mul->src[0], ERG_OP_SILU);
    if (silu < 0 || !erg_tensor_same_shape(&g->tensors[mul->src[0]], &g->tensors[mul->src[1]]))
        return 0;
    int32_t src[2] = {g->nodes[silu].src[0], mul->src[1]};
    return erg_fuse_rewrite(c, at, ERG_OP_SWIGLU, 2, src, NULL, NULL, &silu, 1);
}

static uint32_t scale_scale(erg_fuse_ctx *c, int32_t at) {
    erg_graph *g = c->g;
    const erg_node *outer = &g->nodes[at];
    int32_t inner = erg_fuse_sole_producer(c, outer->src[0], ERG_OP_SCALE);
    if (inner < 0)
        return 0;
    float fp[ERG_MAX_FPARAMS] = {0};
    fp[ERG_SCALE_F_SCALE] =
        outer->fparams[ERG_SCALE_F_SCALE] * g->nodes[inner].fparams[ERG_SCALE_F_SCALE];
    int32_t src = g->nodes[inner].src[0];
    return erg_fuse_rewrite(c, at, ERG_OP_SCALE, 1, &src, NULL, fp, &inner, 1);
}

uint32_t erg_fuse_elementwise(erg_fuse_ctx *c) {
    uint32_t n_fused = 0;
    for (size_t i = 0; i < c->g->n_nodes; i++) {
        if (c->removed[i])
            continue;
        if (c->g->nodes[i].op == ERG_OP_MUL)
            n_fused += silu_mul(c, (int32_t)i);
        else if (c->g->nodes[i].op == ERG_OP_SCALE)
            n_fused += scale_scale(c, (int32_t)i);
    }
    return n_fused;
}
