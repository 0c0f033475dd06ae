/*
 * plan_memory.h: the memory planner. Liveness analysis over the node order
 * gives every activation and input tensor an offset in one arena; tensors
 * whose lifetimes do not overlap share bytes. It also reports what naive
 * per-tensor allocation would need and the liveness lower bound (the largest
 * total size of tensors alive at the same step).
 */
#ifndef ERG_GRAPH_PLAN_MEMORY_H
#define ERG_GRAPH_PLAN_MEMORY_H

#include "graph/ir.h"

#define ERG_PLAN_NONE ((size_t)-1)

typedef struct erg_memory_plan {
    const erg_allocator *alloc;
    size_t *offset;        /* per tensor: arena offset, or ERG_PLAN_NONE */
    size_t cap;            /* capacity of the arrays */
    int32_t *last_use;     /* per tensor: last node that reads it (scratch) */
    size_t arena_bytes;    /* peak: the arena size the plan needs */
    size_t naive_bytes;    /* sum of the planned tensors' sizes */
    size_t lower_bound_bytes;
    size_t n_planned;
} erg_memory_plan;

void erg_memory_plan_init(erg_memory_plan *p, const erg_allocator *alloc);
void erg_memory_plan_free(erg_memory_plan *p);

/* Plans g (alignment: a power of two). Reuses the plan's arrays. */
erg_status erg_plan_memory(const erg_graph *g, size_t alignment, erg_memory_plan *p,
                           erg_diag *diag);

/* Points every planned tensor of g at arena + its offset. */
void erg_memory_plan_bind(const erg_memory_plan *p, erg_graph *g, void *arena);

#endif
