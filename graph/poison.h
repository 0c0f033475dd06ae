/*
 * poison.h: the memory planner's debug mode. Right after the node where a
 * planned tensor's bytes are released, a FILL node writes NaN over them, so
 * a kernel that reads a tensor after its last planned use, or two tensors
 * the planner wrongly let share bytes, turns results into NaN in tests.
 */
#ifndef ERG_GRAPH_POISON_H
#define ERG_GRAPH_POISON_H

#include "graph/plan_memory.h"

/* Inserts a FILL(NaN) after the releasing node of every F32 contiguous
 * tensor p releases (not outputs, nor a source whose bytes a result took in
 * place); p must be the plan of g as it is. Nodes are renumbered and each
 * FILL's result is a view appended to g, so g stays valid; p stays right
 * for g (each FILL writes only bytes free at that point) and binds it. On
 * failure g holds the error (g->status). */
erg_status erg_plan_poison(erg_graph *g, const erg_memory_plan *p, erg_diag *diag);

#endif
