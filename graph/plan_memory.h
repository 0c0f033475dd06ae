/*
 * plan_memory.h: the memory planner. Liveness analysis over the node order
 * gives every activation and input tensor an offset in one arena; tensors
 * whose lifetimes do not overlap share bytes, and an elementwise result
 * whose source dies at its node takes that source's bytes (in place). It
 * also reports what naive per-tensor allocation would need and the liveness
 * lower bound (the largest total size of tensors alive at the same step,
 * a result computed in place counted once with its source).
 */
#ifndef ERG_GRAPH_PLAN_MEMORY_H
#define ERG_GRAPH_PLAN_MEMORY_H

#include "graph/ir.h"

#define ERG_PLAN_NONE ((size_t)-1)

typedef struct erg_memory_plan {
    const erg_allocator *alloc;
    /* Per tensor of the planned graph (n_tensors of them): */
    size_t *offset;      /* arena offset, or ERG_PLAN_NONE (not planned) */
    int32_t *inplace_of; /* the source whose bytes it took in place, or -1 */
    /* the node after which its bytes are free, or -1: never (outputs, inputs
     * nothing reads, sources a result was computed over in place) */
    int32_t *released_after;
    int32_t *last_use;         /* scratch: the last node that reads it */
    size_t cap;                /* capacity of the per-tensor arrays */
    size_t n_tensors, n_nodes; /* the graph the plan was made for */
    size_t arena_bytes;        /* peak: the arena size the plan needs */
    size_t naive_bytes;        /* sum of the planned tensors' sizes */
    size_t lower_bound_bytes;
    size_t n_planned, n_inplace;
} erg_memory_plan;

void erg_memory_plan_init(erg_memory_plan *p, const erg_allocator *alloc);
void erg_memory_plan_free(erg_memory_plan *p);

/* Whether node n's kernel may write its result over the bytes of source s
 * (the op/source pairs that run in place; see the contract in the .c). */
bool erg_plan_inplace_ok(const erg_graph *g, const erg_node *n, int s);

/* Plans g (alignment: a power of two). Reuses the plan's arrays. */
erg_status erg_plan_memory(const erg_graph *g, size_t alignment, erg_memory_plan *p,
                           erg_diag *diag);

/* Points every planned tensor of g at arena + its offset. Tensors a later
 * pass appended (views, such as poisoning's) are left alone: a view's
 * address comes from its root. */
void erg_memory_plan_bind(const erg_memory_plan *p, erg_graph *g, void *arena);

#endif
