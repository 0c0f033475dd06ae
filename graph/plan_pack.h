/*
 * plan_pack.h: packing blocks of bytes whose lifetimes are all known in
 * advance into one arena (offline dynamic storage allocation), for the
 * memory planner. Blocks alive at a common step never share bytes.
 */
#ifndef ERG_GRAPH_PLAN_PACK_H
#define ERG_GRAPH_PLAN_PACK_H

#include "base/alloc.h"
#include "base/diag.h"

#include <stddef.h>
#include <stdint.h>

typedef struct erg_plan_block {
    size_t size;
    size_t off;          /* set by erg_plan_pack */
    int32_t first, last; /* alive over steps [first, last]; first >= -1 */
} erg_plan_block;

/* Gives each of the n blocks an offset. Steps run from -1 to n_steps - 1;
 * a larger last means alive to the end. *arena: the bytes the offsets
 * span; *peak: the largest total size alive at one step, the bound no
 * packing can beat. */
erg_status erg_plan_pack(const erg_allocator *alloc, erg_plan_block *b, size_t n, int32_t n_steps,
                         size_t *arena, size_t *peak, erg_diag *diag);

#endif
