/*
 * fuse_internal.h: what the fusion passes share: reader counts, the
 * pattern-matching helpers and the one way a pass rewrites the graph.
 */
#ifndef ERG_GRAPH_FUSE_INTERNAL_H
#define ERG_GRAPH_FUSE_INTERNAL_H

#include "graph/fuse.h"

typedef struct erg_fuse_ctx {
    erg_graph *g;
    erg_fuse_legal_fn legal;
    void *legal_ctx;
    erg_fuse_stats *stats;
    uint32_t *readers; /* per tensor: node sources that read it, +1 for an output */
    bool *removed;     /* per node: removed by a pass (dropped when the passes end) */
} erg_fuse_ctx;

/* The node defining tensor t when it is op's result, read only by one node
 * (the pattern's next one) and not an output, so a fusion may remove it;
 * else -1. */
int32_t erg_fuse_sole_producer(const erg_fuse_ctx *c, int32_t t, erg_op op);

/* The PERMUTE(x, 0, 2, 1, 3) node defining view t, read only by one node;
 * else -1. */
int32_t erg_fuse_swap12_permute(const erg_fuse_ctx *c, int32_t t);

/* Rewrites node `at` into op over src (params ip, fp; NULL: zeros), keeping
 * its result tensor, and removes the n_remove nodes of remove[]. Done only
 * where the op's rules give exactly the result node `at` has and the device
 * accepts the node; returns whether it was done. */
bool erg_fuse_rewrite(erg_fuse_ctx *c, int32_t at, erg_op op, int n_src, const int32_t *src,
                      const int32_t *ip, const float *fp, const int32_t *remove, int n_remove);

/* The passes, one per file (fuse_<name>.c); each returns the rewrites it made. */
uint32_t erg_fuse_attention(erg_fuse_ctx *c);
uint32_t erg_fuse_attention_rope(erg_fuse_ctx *c); /* after erg_fuse_attention */
uint32_t erg_fuse_rope_store(erg_fuse_ctx *c);
uint32_t erg_fuse_swiglu(erg_fuse_ctx *c);
uint32_t erg_fuse_matmul_add(erg_fuse_ctx *c);
uint32_t erg_fuse_rms_norm_mul(erg_fuse_ctx *c);
uint32_t erg_fuse_elementwise(erg_fuse_ctx *c);
/* Runs after the others on the compacted graph, as it adds nodes (fuse_qkv.c). */
erg_status erg_fuse_qkv(erg_fuse_ctx *c, uint32_t *n_fused, erg_diag *diag);

#endif
