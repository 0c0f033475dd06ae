/*
 * fuse.h: the fusion passes. Each pass (graph/fuse_<pattern>.c) finds one
 * pattern of unfused nodes in a validated graph and rewrites it, in place,
 * into one fused op of ir.h: the fused node takes the place of the
 * pattern's last node and keeps its result tensor, so readers need no
 * change; the pattern's other nodes are removed and their results become
 * ERG_TENSOR_UNUSED. A pattern is fused only where every intermediate result
 * has no other reader and is not an output, and only where `legal` accepts
 * the fused node (the device that will run it has a kernel for it), so a
 * device without a fused op keeps the unfused ones.
 */
#ifndef ERG_GRAPH_FUSE_H
#define ERG_GRAPH_FUSE_H

#include "graph/ir.h"

/* Whether the device that runs g can run the fused node n (its sources and
 * result are those it will have). */
typedef bool (*erg_fuse_legal_fn)(void *ctx, const erg_graph *g, const erg_node *n);

typedef struct erg_fuse_stats {
    uint32_t n_fused[ERG_OP_COUNT]; /* rewrites, per op they made (a node that already had
                                     * it, as ATTENTION taking q's rope, counts again) */
    uint32_t n_rejected;            /* matches the device could not run */
    uint32_t nodes_before, nodes_after;
} erg_fuse_stats;

/* Runs every pass over g (which must be valid) and leaves g valid. legal
 * NULL: every fused op is legal. stats may be NULL. */
erg_status erg_graph_fuse(erg_graph *g, erg_fuse_legal_fn legal, void *ctx, erg_fuse_stats *stats,
                          erg_diag *diag);

#endif
