#include "graph/plan_memory.h"

#include "base/checked.h"

#include <limits.h>
#include <string.h>

typedef struct {
    size_t off, size;
} range;

/* A first-fit-by-size (best fit) free list over [0, arena end). */
typedef struct {
    range *free;
    size_t n, cap;
    size_t end;
    const erg_allocator *alloc;
} free_list;

static void fl_alloc(free_list *fl, size_t size, size_t *out) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < fl->n; i++)
        if (fl->free[i].size >= size && (best == SIZE_MAX || fl->free[i].size < fl->free[best].size))
            best = i;
    if (best != SIZE_MAX) {
        *out = fl->free[best].off;
        fl->free[best].off += size;
        fl->free[best].size -= size;
        if (fl->free[best].size == 0)
            fl->free[best] = fl->free[--fl->n];
        return;
    }
    /* Grow the arena, reusing a free range that ends at the current end. */
    for (size_t i = 0; i < fl->n; i++) {
        if (fl->free[i].off + fl->free[i].size == fl->end) {
            *out = fl->free[i].off;
            fl->end = fl->free[i].off + size;
            fl->free[i] = fl->free[--fl->n];
            return;
        }
    }
    *out = fl->end;
    fl->end += size;
}

static bool fl_release(free_list *fl, size_t off, size_t size) {
    /* Merge with neighbours so freed space can hold larger tensors. */
    for (size_t i = 0; i < fl->n;) {
        range *r = &fl->free[i];
        if (r->off + r->size == off) {
            off = r->off;
            size += r->size;
            *r = fl->free[--fl->n];
        } else if (off + size == r->off) {
            size += r->size;
            *r = fl->free[--fl->n];
        } else {
            i++;
        }
    }
    if (!erg_grow_array(fl->alloc, (void **)&fl->free, sizeof(range), &fl->cap, fl->n + 1))
        return false;
    fl->free[fl->n++] = (range){off, size};
    return true;
}

void erg_memory_plan_init(erg_memory_plan *p, const erg_allocator *alloc) {
    memset(p, 0, sizeof *p);
    p->alloc = erg_allocator_or_default(alloc);
}

void erg_memory_plan_free(erg_memory_plan *p) {
    erg_free(p->alloc, p->offset);
    erg_free(p->alloc, p->last_use);
    erg_memory_plan_init(p, p->alloc);
}

static bool planned(const erg_tensor *t) {
    return t->kind == ERG_TENSOR_ACTIVATION || t->kind == ERG_TENSOR_INPUT;
}

static void place(erg_memory_plan *p, free_list *fl, const erg_graph *g, int32_t t,
                  size_t alignment, size_t *live) {
    size_t size = erg_align_up(erg_tensor_nbytes(&g->tensors[t]), alignment);
    fl_alloc(fl, size, &p->offset[t]);
    p->naive_bytes += size;
    p->n_planned++;
    *live += size;
    if (*live > p->lower_bound_bytes)
        p->lower_bound_bytes = *live;
}

erg_status erg_plan_memory(const erg_graph *g, size_t alignment, erg_memory_plan *p,
                           erg_diag *diag) {
    size_t nt = g->n_tensors;
    if (nt > p->cap) {
        size_t *off = erg_malloc(p->alloc, nt * sizeof *off);
        int32_t *last = erg_malloc(p->alloc, nt * sizeof *last);
        if (!off || !last) {
            erg_free(p->alloc, off);
            erg_free(p->alloc, last);
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "memory plan for %zu tensors", nt);
        }
        erg_free(p->alloc, p->offset);
        erg_free(p->alloc, p->last_use);
        p->offset = off;
        p->last_use = last;
        p->cap = nt;
    }
    /* Liveness: the last node reading each storage tensor (through views). */
    for (size_t t = 0; t < nt; t++) {
        p->offset[t] = ERG_PLAN_NONE;
        p->last_use[t] = g->tensors[t].producer;
        if (g->tensors[t].flags & ERG_TENSOR_FLAG_OUTPUT)
            p->last_use[t] = INT_MAX;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        for (int s = 0; s < n->n_src; s++) {
            int32_t root = erg_tensor_storage_root(g, n->src[s]);
            if (p->last_use[root] < (int32_t)i)
                p->last_use[root] = (int32_t)i;
        }
        /* A view that is an output keeps its storage alive. */
        const erg_tensor *d = &g->tensors[n->dst];
        if (d->kind == ERG_TENSOR_VIEW && (d->flags & ERG_TENSOR_FLAG_OUTPUT))
            p->last_use[d->view_src] = INT_MAX;
    }

    free_list fl = {.alloc = p->alloc};
    size_t live = 0;
    p->naive_bytes = p->lower_bound_bytes = 0;
    p->n_planned = 0;
    /* Inputs are placed first; then node i's result is placed, and what node
     * i read for the last time is released. */
    for (size_t t = 0; t < nt; t++)
        if (g->tensors[t].kind == ERG_TENSOR_INPUT)
            place(p, &fl, g, (int32_t)t, alignment, &live);
    erg_status st = ERG_OK;
    for (size_t i = 0; i < g->n_nodes && st == ERG_OK; i++) {
        const erg_node *n = &g->nodes[i];
        if (g->tensors[n->dst].kind == ERG_TENSOR_ACTIVATION)
            place(p, &fl, g, n->dst, alignment, &live);
        for (int s = 0; s <= n->n_src && st == ERG_OK; s++) {
            int32_t id = s < n->n_src ? erg_tensor_storage_root(g, n->src[s]) : n->dst;
            if (!planned(&g->tensors[id]) || p->last_use[id] != (int32_t)i ||
                p->offset[id] == ERG_PLAN_NONE)
                continue;
            size_t size = erg_align_up(erg_tensor_nbytes(&g->tensors[id]), alignment);
            if (!fl_release(&fl, p->offset[id], size))
                st = erg_fail(diag, ERG_OUT_OF_MEMORY, "memory planner free list");
            live -= size;
            p->last_use[id] = -2; /* released: a second source slot must not free it again */
        }
    }
    p->arena_bytes = fl.end;
    erg_free(p->alloc, fl.free);
    return st;
}

void erg_memory_plan_bind(const erg_memory_plan *p, erg_graph *g, void *arena) {
    for (size_t t = 0; t < g->n_tensors; t++)
        if (p->offset[t] != ERG_PLAN_NONE)
            g->tensors[t].data = (char *)arena + p->offset[t];
}
