/*
 * The CPU executor: compile picks each node's op and sizes one scratch
 * buffer (nodes run one after another, so they share it); execute runs the
 * nodes in order on every thread of the pool, with a barrier after each
 * phase of each node.
 */
#include "backends/cpu/cpu_device.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/threadpool.h"

#include <string.h>

struct erg_backend_exec {
    erg_backend_device *dev;
    erg_threadpool *pool;
    bool reference_math;
    /* Compiled state of the current graph. */
    const erg_cpu_op **ops; /* per node; NULL: nothing to run (views) */
    size_t ops_cap;
    atomic_int *chunks;     /* per node and phase */
    size_t chunks_cap;
    void *work;
    size_t work_cap;
    const erg_graph *g;     /* the graph being executed */
};

erg_status erg_cpu_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                               erg_backend_exec **out, erg_diag *diag) {
    *out = NULL;
    erg_backend_exec *e = erg_calloc(dev->alloc, 1, sizeof *e);
    if (!e)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU executor");
    e->dev = dev;
    e->reference_math = opts && opts->reference_math;
    erg_status st = erg_threadpool_create(dev->alloc, dev->n_threads, &e->pool, diag);
    if (st != ERG_OK) {
        erg_free(dev->alloc, e);
        return st;
    }
    *out = e;
    return ERG_OK;
}

void erg_cpu_exec_free(erg_backend_exec *e) {
    if (!e)
        return;
    const erg_allocator *a = e->dev->alloc;
    erg_threadpool_free(e->pool);
    erg_free(a, e->ops);
    erg_free(a, e->chunks);
    erg_free(a, e->work);
    erg_free(a, e);
}

erg_status erg_cpu_exec_compile(erg_backend_exec *e, const erg_graph *g, erg_diag *diag) {
    const erg_allocator *a = e->dev->alloc;
    const erg_cpu_kernels *k = e->dev->kernels;
    int nth = erg_threadpool_size(e->pool);
    if (g->n_nodes > e->ops_cap) {
        const erg_cpu_op **ops = erg_malloc(a, g->n_nodes * sizeof *ops);
        atomic_int *chunks = erg_malloc(a, g->n_nodes * ERG_CPU_MAX_PHASES * sizeof *chunks);
        if (!ops || !chunks) {
            erg_free(a, ops);
            erg_free(a, chunks);
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU plan of %zu nodes", g->n_nodes);
        }
        erg_free(a, e->ops);
        erg_free(a, e->chunks);
        e->ops = ops;
        e->chunks = chunks;
        e->ops_cap = e->chunks_cap = g->n_nodes;
    }
    size_t work = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        const erg_cpu_op *op = erg_op_is_view(n->op) ? NULL : erg_cpu_op_for(n->op);
        erg_diag why = {{0}};
        if (!erg_op_is_view(n->op) && (!op || (op->supports && !op->supports(g, n, k, &why))))
            return erg_fail(diag, ERG_UNSUPPORTED, "cpu (%s) cannot run node %zu (%s): %s",
                            k->name, i, erg_op_name(n->op), op ? why.msg : "no kernel");
        e->ops[i] = op;
        if (op && op->work_size) {
            size_t w = op->work_size(g, n, k, nth, e->reference_math);
            if (w > work)
                work = w;
        }
    }
    if (work > e->work_cap) {
        void *buf = erg_aligned_alloc(a, work, 64);
        if (!buf)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU scratch of %zu bytes", work);
        erg_free(a, e->work);
        e->work = buf;
        e->work_cap = work;
    }
    e->g = g;
    return ERG_OK;
}

static void run_nodes(void *arg, int ith, int nth) {
    erg_backend_exec *e = arg;
    const erg_graph *g = e->g;
    erg_cpu_op_args args = {
        .k = e->dev->kernels,
        .g = g,
        .ith = ith,
        .nth = nth,
        .work = e->work,
        .reference_math = e->reference_math,
    };
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_cpu_op *op = e->ops[i];
        if (!op)
            continue;
        args.node = &g->nodes[i];
        for (int p = 0; p < op->n_phases; p++) {
            args.chunk = &e->chunks[i * ERG_CPU_MAX_PHASES + (size_t)p];
            op->run(&args, p);
            erg_threadpool_barrier(e->pool);
        }
    }
}

erg_status erg_cpu_exec_execute(erg_backend_exec *e, const erg_graph *g, erg_exec_stats *stats,
                                erg_diag *diag) {
    if (e->g != g)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "execute: graph was not compiled");
    uint32_t dispatches = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        for (int p = 0; p < ERG_CPU_MAX_PHASES; p++)
            atomic_init(&e->chunks[i * ERG_CPU_MAX_PHASES + (size_t)p], 0);
        dispatches += e->ops[i] != NULL;
    }
    erg_threadpool_run(e->pool, run_nodes, e);
    stats->n_dispatches = dispatches;
    return ERG_OK;
}
