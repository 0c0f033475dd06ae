/*
 * plugin_graph.h: erg's IR nodes as the plugin ABI's plain-C graph. Views
 * are resolved (a plugin sees contiguous tensors at their host addresses);
 * weights become constants; every other tensor is bound at execute.
 */
#ifndef ERG_BACKENDS_PLUGIN_GRAPH_H
#define ERG_BACKENDS_PLUGIN_GRAPH_H

#include "graph/ir.h"

#include "erg/erg_plugin.h"

typedef struct erg_pgraph {
    const erg_allocator *alloc;
    erg_plugin_tensor *tensors;
    int32_t *ids;        /* the erg tensor of each plugin tensor */
    bool *produced;      /* defined by an op of this graph */
    size_t n_tensors, cap_tensors, cap_ids, cap_produced;
    erg_plugin_op *ops;
    size_t n_ops, cap_ops;
    uint64_t hash;       /* of everything a compile depends on */
} erg_pgraph;

/* Whether the adapter can hand node n to a plugin at all (a known op,
 * contiguous operands, a planned destination); the reason in why if not. */
bool erg_pgraph_node_ok(const erg_graph *g, const erg_node *n, erg_diag *why);

void erg_pgraph_init(erg_pgraph *pg, const erg_allocator *alloc);
void erg_pgraph_free(erg_pgraph *pg);
/* Translates the non-view nodes of g (each must pass erg_pgraph_node_ok). */
erg_status erg_pgraph_build(erg_pgraph *pg, const erg_graph *g, erg_diag *diag);
/* Translates node n of g alone. */
erg_status erg_pgraph_build_one(erg_pgraph *pg, const erg_graph *g, const erg_node *n,
                                erg_diag *diag);
erg_plugin_graph erg_pgraph_view(const erg_pgraph *pg);

#endif
