/*
 * dump.h: writing a graph as Graphviz DOT or as JSON (format documented in
 * docs/graph-json.md). The JSON is built with cJSON, which allocates with
 * the C library's allocator, not the runtime's.
 */
#ifndef ERG_GRAPH_DUMP_H
#define ERG_GRAPH_DUMP_H

#include "graph/ir.h"

#include <stdio.h>

erg_status erg_graph_dump_dot(const erg_graph *g, FILE *f, erg_diag *diag);
erg_status erg_graph_dump_json(const erg_graph *g, FILE *f, erg_diag *diag);

const char *erg_tensor_kind_name(erg_tensor_kind kind);

#endif
