/* Fusion: CPY(ROPE(k), cache_view) -> ROPE_STORE(k, positions, cache_view):
 * the rotated keys go straight into the KV cache (converted to its type)
 * instead of through an F32 temporary. */
#include "graph/fuse_internal.h"

uint32_t erg_fuse_rope_store(erg_fuse_ctx *c) {
    erg_graph *g = c->g;
    uint32_t n_fused = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *cpy = &g->nodes[i];
        if (c->removed[i] || cpy->op != ERG_OP_CPY || cpy->n_src != 2)
            continue;
        int32_t rope = erg_fuse_sole_producer(c, cpy->src[0], ERG_OP_ROPE);
        if (rope < 0)
            continue;
        const erg_node *r = &g->nodes[rope];
        int32_t src[4] = {r->src[0], r->src[1], cpy->src[1], r->n_src == 3 ? r->src[2] : -1};
        n_fused += erg_fuse_rewrite(c, (int32_t)i, ERG_OP_ROPE_STORE, r->n_src + 1, src,
                                    r->iparams, r->fparams, &rope, 1);
    }
    return n_fused;
}
