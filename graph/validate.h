/*
 * validate.h: the validation pass. Checks a graph's structure (ids, order,
 * kinds, views inside their storage) and re-checks every node against the
 * op rules, so a pass that rewrites the graph cannot leave it inconsistent.
 */
#ifndef ERG_GRAPH_VALIDATE_H
#define ERG_GRAPH_VALIDATE_H

#include "graph/ir.h"

erg_status erg_graph_validate(const erg_graph *g, erg_diag *diag);

#endif
