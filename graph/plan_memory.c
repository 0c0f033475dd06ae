#include "graph/plan_memory.h"

#include "base/checked.h"
#include "graph/plan_pack.h"

#include <limits.h>
#include <string.h>

void erg_memory_plan_init(erg_memory_plan *p, const erg_allocator *alloc) {
    memset(p, 0, sizeof *p);
    p->alloc = erg_allocator_or_default(alloc);
}

void erg_memory_plan_free(erg_memory_plan *p) {
    erg_free(p->alloc, p->offset); /* the per-tensor arrays share one allocation */
    erg_memory_plan_init(p, p->alloc);
}

/* Whether tensor src covers exactly dst's bytes, element for element: same
 * dtype and shape, both contiguous, and src is the whole of its storage
 * from byte 0 (so the bytes dst takes are src's and no one else's). */
static bool same_bytes(const erg_graph *g, int32_t src, int32_t dst) {
    const erg_tensor *a = &g->tensors[src], *d = &g->tensors[dst];
    const erg_tensor *root = &g->tensors[erg_tensor_storage_root(g, src)];
    if (a->dtype != d->dtype || !erg_tensor_is_contiguous(a) || !erg_tensor_is_contiguous(d) ||
        !erg_tensor_same_shape(a, d))
        return false;
    return (a->kind != ERG_TENSOR_VIEW || a->view_offset == 0) &&
           erg_tensor_nbytes(root) == erg_tensor_nbytes(d);
}

/*
 * The in-place rule: which op/source pairs may share bytes. It relies on a
 * contract every backend's kernel of these ops keeps (the CPU's vec_*
 * loops, the Vulkan binary/unary and OpenCL elementwise shaders): element k
 * of the result is computed from element k of source s (same index: equal
 * shapes, same_bytes) and nothing else of it, and that element is read
 * before element k of the result is written, by the same thread or
 * invocation. Then writing the result over the source never changes a
 * value still to be read. A source whose storage another operand of the
 * node also reads another way (ADD(x, a row of x)) is the planner's to exclude.
 *
 * MATMUL_ADD's addend (src2 of dst's shape) would qualify, but the CPU
 * kernel (backends/cpu/op_matmul_fused.c) stores the product in dst and
 * adds the addend in an epilogue that reads it afterwards; it may join the
 * rule once every backend adds src2[n, m] as it stores dst[n, m] (the
 * Vulkan and OpenCL epilogues do). tests/unit/test_plan_memory.c compares
 * outputs against unshared memory, and catches a kernel that does not.
 */
bool erg_plan_inplace_ok(const erg_graph *g, const erg_node *n, int s) {
    bool pair;
    switch (n->op) {
    case ERG_OP_ADD:
    case ERG_OP_MUL:
    case ERG_OP_SWIGLU:
        pair = s <= 1; /* src1 only where it is not broadcast: same_bytes checks */
        break;
    case ERG_OP_SCALE:
    case ERG_OP_SILU:
    case ERG_OP_GELU:
        pair = s == 0;
        break;
    default:
        pair = false;
        break;
    }
    return pair && s >= 0 && s < n->n_src && same_bytes(g, n->src[s], n->dst);
}

/* last[t]: the last node reading t's storage (through views), its producer
 * if nothing does, INT_MAX for outputs. */
static void liveness(const erg_graph *g, int32_t *last) {
    for (size_t t = 0; t < g->n_tensors; t++) {
        last[t] = g->tensors[t].producer;
        if (g->tensors[t].flags & ERG_TENSOR_FLAG_OUTPUT)
            last[t] = INT_MAX;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        for (int s = 0; s < n->n_src; s++) {
            int32_t root = erg_tensor_storage_root(g, n->src[s]);
            if (last[root] < (int32_t)i)
                last[root] = (int32_t)i;
        }
        /* A view that is an output keeps its storage alive. */
        const erg_tensor *d = &g->tensors[n->dst];
        if (d->kind == ERG_TENSOR_VIEW && (d->flags & ERG_TENSOR_FLAG_OUTPUT))
            last[d->view_src] = INT_MAX;
    }
}

/* The storage node i computes its result over, or -1: a source the rule
 * allows, an activation that node i reads last, which no other operand of
 * the node reads except as an equally allowed one (MUL(x, x)). */
static int32_t inplace_donor(const erg_graph *g, const int32_t *last, int32_t i) {
    const erg_node *n = &g->nodes[i];
    for (int s = 0; s < n->n_src; s++) {
        int32_t r = erg_tensor_storage_root(g, n->src[s]);
        if (g->tensors[r].kind != ERG_TENSOR_ACTIVATION || last[r] != i ||
            !erg_plan_inplace_ok(g, n, s))
            continue;
        bool alone = true;
        for (int o = 0; o < n->n_src; o++)
            if (o != s && erg_tensor_storage_root(g, n->src[o]) == r &&
                !erg_plan_inplace_ok(g, n, o))
                alone = false;
        if (alone)
            return r;
    }
    return -1;
}

static bool reserve(erg_memory_plan *p, size_t nt) {
    if (nt <= p->cap)
        return true;
    char *mem = erg_malloc(p->alloc, nt * (sizeof(size_t) + 3 * sizeof(int32_t)));
    if (!mem)
        return false;
    erg_free(p->alloc, p->offset);
    p->offset = (size_t *)mem;
    p->inplace_of = (int32_t *)(p->offset + nt);
    p->released_after = p->inplace_of + nt;
    p->last_use = p->released_after + nt;
    p->cap = nt;
    return true;
}

/* A block of arena bytes for tensor t, alive from node `first` (-1: an
 * input, written before the run) to its last use (INT_MAX: an output). */
static void new_block(const erg_graph *g, const int32_t *last, int32_t t, int32_t first,
                      size_t alignment, erg_plan_block *blocks, size_t *n, int32_t *blk_of) {
    size_t size = erg_align_up(erg_tensor_nbytes(&g->tensors[t]), alignment);
    blocks[*n] = (erg_plan_block){size, 0, first, last[t]};
    blk_of[t] = (int32_t)(*n)++;
}

/* The blocks: inputs, then each node's result in order; a result computed
 * in place joins its source's block instead, extending its lifetime. Fills
 * p's per-tensor arrays but the offsets; returns the number of blocks. */
static size_t make_blocks(const erg_graph *g, size_t alignment, erg_memory_plan *p,
                          erg_plan_block *blocks, int32_t *blk_of) {
    size_t nt = g->n_tensors, nn = g->n_nodes, n = 0;
    liveness(g, p->last_use);
    for (size_t t = 0; t < nt; t++) {
        p->offset[t] = ERG_PLAN_NONE;
        p->inplace_of[t] = p->released_after[t] = blk_of[t] = -1;
    }
    for (size_t t = 0; t < nt; t++)
        if (g->tensors[t].kind == ERG_TENSOR_INPUT)
            new_block(g, p->last_use, (int32_t)t, -1, alignment, blocks, &n, blk_of);
    for (size_t i = 0; i < nn; i++) {
        int32_t d = g->nodes[i].dst;
        if (g->tensors[d].kind != ERG_TENSOR_ACTIVATION)
            continue;
        int32_t r = inplace_donor(g, p->last_use, (int32_t)i);
        if (r < 0) {
            new_block(g, p->last_use, d, (int32_t)i, alignment, blocks, &n, blk_of);
            continue;
        }
        blk_of[d] = blk_of[r];
        blocks[blk_of[d]].last = p->last_use[d];
        p->inplace_of[d] = r;
        p->n_inplace++;
    }
    for (size_t t = 0; t < nt; t++) {
        if (blk_of[t] < 0)
            continue;
        int32_t last = p->last_use[t];
        if (last >= 0 && (size_t)last < nn)
            p->released_after[t] = last;
        p->naive_bytes += erg_align_up(erg_tensor_nbytes(&g->tensors[t]), alignment);
        p->n_planned++;
    }
    for (size_t t = 0; t < nt; t++)
        if (p->inplace_of[t] >= 0)
            p->released_after[p->inplace_of[t]] = -1; /* its bytes live on as t */
    return n;
}

erg_status erg_plan_memory(const erg_graph *g, size_t alignment, erg_memory_plan *p,
                           erg_diag *diag) {
    size_t nt = g->n_tensors, nn = g->n_nodes;
    if (nn > INT32_MAX - 2)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "memory plan: %zu nodes", nn);
    /* Scratch: the blocks, then the tensor -> block map. */
    char *mem = reserve(p, nt)
                    ? erg_malloc(p->alloc, nt * (sizeof(erg_plan_block) + sizeof(int32_t)) + 1)
                    : NULL;
    if (!mem)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "memory plan for %zu tensors", nt);
    erg_plan_block *blocks = (erg_plan_block *)mem;
    int32_t *blk_of = (int32_t *)(blocks + nt);
    p->n_tensors = nt;
    p->n_nodes = nn;
    p->naive_bytes = p->n_planned = p->n_inplace = 0;
    size_t n = make_blocks(g, alignment, p, blocks, blk_of);
    erg_status st = erg_plan_pack(p->alloc, blocks, n, (int32_t)nn, &p->arena_bytes,
                                  &p->lower_bound_bytes, diag);
    for (size_t t = 0; t < nt && st == ERG_OK; t++)
        if (blk_of[t] >= 0)
            p->offset[t] = blocks[blk_of[t]].off;
    erg_free(p->alloc, mem);
    return st;
}

void erg_memory_plan_bind(const erg_memory_plan *p, erg_graph *g, void *arena) {
    size_t n = p->n_tensors < g->n_tensors ? p->n_tensors : g->n_tensors;
    for (size_t t = 0; t < n; t++)
        if (p->offset[t] != ERG_PLAN_NONE)
            g->tensors[t].data = (char *)arena + p->offset[t];
}
