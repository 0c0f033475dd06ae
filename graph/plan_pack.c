#include "graph/plan_pack.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Lifetimes of up to this many steps are short: a block finds the placed
 * short blocks it meets through the steps they start at, and checks every
 * placed long one (few: the residual stream, inputs each layer reads,
 * outputs), instead of checking all blocks placed before it. */
#define SHORT_SPAN 64

typedef struct {
    size_t size, off;
    int32_t first, last; /* last within the steps */
    int32_t id;          /* index in the caller's array */
    int32_t next;        /* the previous placed short item born at the same step, or -1 */
    bool placed;
} item;

typedef struct {
    size_t off, end;
} range;

typedef struct {
    size_t live;
    int32_t at; /* step + 1 */
} step_live;

typedef struct {
    item *it;
    size_t n;
    int32_t *head;  /* per step + 1: the last placed short item born there, or -1 */
    int32_t *longs; /* the placed long items */
    size_t n_longs;
    range *busy;
    size_t n_steps; /* steps -1 .. n_steps - 2 */
} packer;

static int by_size(const void *pa, const void *pb) {
    const item *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int by_first(const void *pa, const void *pb) {
    const item *a = pa, *b = pb;
    if (a->first != b->first)
        return a->first < b->first ? -1 : 1;
    if (a->last != b->last)
        return a->last < b->last ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

static int by_live(const void *pa, const void *pb) {
    const step_live *a = pa, *b = pb;
    if (a->live != b->live)
        return a->live > b->live ? -1 : 1;
    return (a->at > b->at) - (a->at < b->at);
}

static int by_offset(const void *pa, const void *pb) {
    const range *a = pa, *b = pb;
    return (a->off > b->off) - (a->off < b->off);
}

static void reset(packer *pk) {
    memset(pk->head, 0xff, pk->n_steps * sizeof *pk->head); /* all -1 */
    pk->n_longs = 0;
    for (size_t k = 0; k < pk->n; k++)
        pk->it[k].placed = false;
}

static void add_busy(packer *pk, size_t *nb, const item *x) {
    pk->busy[(*nb)++] = (range){x->off, x->off + x->size};
}

/* Puts item k at the start of the smallest gap that the placed items alive
 * at the same time leave for it, or above them all; returns its end. */
static size_t place(packer *pk, size_t k) {
    item *x = &pk->it[k];
    size_t nb = 0;
    for (size_t l = 0; l < pk->n_longs; l++) {
        const item *o = &pk->it[pk->longs[l]];
        if (o->first <= x->last && x->first <= o->last)
            add_busy(pk, &nb, o);
    }
    /* A short item alive with x was born at most SHORT_SPAN steps before x. */
    int32_t from = x->first - SHORT_SPAN > -1 ? x->first - SHORT_SPAN : -1;
    for (int32_t s = from; s <= x->last; s++)
        for (int32_t j = pk->head[s + 1]; j >= 0; j = pk->it[j].next)
            if (pk->it[j].last >= x->first)
                add_busy(pk, &nb, &pk->it[j]);
    qsort(pk->busy, nb, sizeof *pk->busy, by_offset);
    size_t at = SIZE_MAX, best_gap = SIZE_MAX, top = 0;
    for (size_t j = 0; j < nb; j++) {
        size_t gap = pk->busy[j].off > top ? pk->busy[j].off - top : 0;
        if (gap >= x->size && gap < best_gap) {
            at = top;
            best_gap = gap;
        }
        if (pk->busy[j].end > top)
            top = pk->busy[j].end;
    }
    x->off = at != SIZE_MAX ? at : top;
    x->placed = true;
    if (x->last - x->first > SHORT_SPAN) {
        pk->longs[pk->n_longs++] = (int32_t)k;
    } else {
        x->next = pk->head[x->first + 1];
        pk->head[x->first + 1] = (int32_t)k;
    }
    return x->off + x->size;
}

/* Greedy by size: the largest blocks first, so the small ones do not split
 * the space the large ones need. */
static size_t pack_by_size(packer *pk) {
    qsort(pk->it, pk->n, sizeof *pk->it, by_size);
    reset(pk);
    size_t arena = 0;
    for (size_t k = 0; k < pk->n; k++) {
        size_t end = place(pk, k);
        if (end > arena)
            arena = end;
    }
    return arena;
}

/* Greedy by breadth: the busiest steps first, each placing the blocks alive
 * there in order of birth, so blocks that die together lie together and
 * leave one gap. It packs exactly where a peak step needs a tiling that
 * placing by size misses (a fused layer's q, q-norm and rope). */
static size_t pack_by_breadth(packer *pk, step_live *steps) {
    qsort(pk->it, pk->n, sizeof *pk->it, by_first);
    qsort(steps, pk->n_steps, sizeof *steps, by_live);
    reset(pk);
    size_t arena = 0;
    for (size_t q = 0; q < pk->n_steps; q++) {
        int32_t s = steps[q].at - 1;
        for (size_t k = 0; k < pk->n && pk->it[k].first <= s; k++) {
            if (pk->it[k].placed || pk->it[k].last < s)
                continue;
            size_t end = place(pk, k);
            if (end > arena)
                arena = end;
        }
    }
    return arena;
}

/* Bytes alive at each step into steps[]; returns the largest. */
static size_t live_bytes(const item *it, size_t n, size_t *born, size_t *dies, step_live *steps,
                         size_t n_steps) {
    memset(born, 0, (n_steps + 1) * sizeof *born);
    memset(dies, 0, (n_steps + 1) * sizeof *dies);
    for (size_t k = 0; k < n; k++) {
        born[it[k].first + 1] += it[k].size;
        dies[it[k].last + 2] += it[k].size; /* gone from the step after its last */
    }
    size_t live = 0, peak = 0;
    for (size_t s = 0; s < n_steps; s++) {
        live = live + born[s] - dies[s];
        steps[s] = (step_live){live, (int32_t)s};
        if (live > peak)
            peak = live;
    }
    return peak;
}

erg_status erg_plan_pack(const erg_allocator *alloc, erg_plan_block *b, size_t n, int32_t n_steps,
                         size_t *arena, size_t *peak, erg_diag *diag) {
    size_t ns = (size_t)n_steps + 1; /* with step -1 */
    /* Scratch: two item sets (one per order), busy ranges, step counts, the
     * step lists and the long list. */
    size_t bytes = n * (2 * sizeof(item) + sizeof(range) + sizeof(int32_t)) +
                   ns * (sizeof(step_live) + sizeof(int32_t)) + 2 * (ns + 1) * sizeof(size_t);
    char *mem = erg_malloc(alloc, bytes);
    if (!mem)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "memory plan of %zu blocks", n);
    item *a = (item *)mem, *c = a + n;
    range *busy = (range *)(c + n);
    step_live *steps = (step_live *)(busy + n);
    size_t *born = (size_t *)(steps + ns), *dies = born + ns + 1;
    int32_t *head = (int32_t *)(dies + ns + 1), *longs = head + ns;
    for (size_t k = 0; k < n; k++) {
        int32_t last = b[k].last < n_steps ? b[k].last : n_steps - 1;
        a[k] = (item){b[k].size, 0, b[k].first, last, (int32_t)k, -1, false};
    }
    memcpy(c, a, n * sizeof *a);
    *peak = live_bytes(a, n, born, dies, steps, ns);
    packer pk = {a, n, head, longs, 0, busy, ns};
    *arena = pack_by_size(&pk);
    const item *best = a;
    if (*arena > *peak) { /* the second order only where the first missed the bound */
        pk.it = c;
        size_t other = pack_by_breadth(&pk, steps);
        if (other < *arena) {
            *arena = other;
            best = c;
        }
    }
    for (size_t k = 0; k < n; k++)
        b[best[k].id].off = best[k].off;
    erg_free(alloc, mem);
    return ERG_OK;
}
