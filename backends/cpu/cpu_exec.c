/*
 * The CPU executor. Compile makes a schedule: each node's op, whether it is
 * small enough for thread 0 alone, where its scratch memory is, and where
 * the threads must meet at a barrier. Execute runs the schedule on every
 * thread of the pool.
 *
 * Barriers come only where memory says so: a node waits for the ones before
 * it (since the last barrier) when it reads what they wrote, or writes what
 * they read or wrote, unless all of them ran on the same thread (thread 0,
 * in program order). A decode step thus meets about a third as often as a
 * barrier after every node would. Nodes between two barriers get separate
 * scratch regions, so scratch never creates a hazard.
 *
 * Node times (node_times) are thread 0's wall clock, read once per node:
 * from the end of the node before to the end of this one, so they add up to
 * the execute's wall time. A wait at a barrier after nodes the threads
 * shared is for those nodes' stragglers and is added to the last of them.
 * After nodes thread 0 ran alone, the others had nothing to finish: the
 * wait is for them to wake or be scheduled, a cost of the parallel node
 * that needs them, so it goes to the node after the barrier.
 */
#include "backends/cpu/cpu_device.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/threadpool.h"

#include "base/checked.h"
#include "hal/timer.h"

#include <string.h>

/* Nodes smaller than this run on thread 0 alone: shorter than the wait at a
 * barrier they would otherwise cost every thread. */
#define SINGLE_ELEMENTS 32768
#define SINGLE_MATMUL_MACS (16 * 1024)

typedef struct node_plan {
    const erg_cpu_op *op; /* NULL: nothing to run (views) */
    bool single;          /* thread 0 alone runs it */
    bool barrier_before;
    bool phase_barrier;   /* threads meet between its phases */
    size_t work_offset;
} node_plan;

/* A byte range a node reads or writes, while its epoch lasts. */
typedef struct access {
    uintptr_t lo, hi;
    bool write, single;
} access;

struct erg_backend_exec {
    erg_backend_device *dev;
    erg_threadpool *pool;
    bool reference_math;
    const erg_backend_weights *weights;
    /* Compiled state of the current graph. */
    node_plan *plan;
    size_t plan_cap;
    atomic_int *chunks; /* per node and phase */
    access *epoch;      /* accesses since the last barrier (compile scratch) */
    size_t epoch_cap;
    void *work;
    size_t work_cap;
    const erg_graph *g; /* the graph being executed */
    /* Timing, written by thread 0 only. */
    uint64_t *node_ns;  /* per node, of the last execute */
    size_t n_timed;     /* nodes the last execute timed; 0 before the first */
    uint64_t t_mark;    /* when thread 0 finished its last node */
    size_t last_timed;  /* that node, or SIZE_MAX */
};

erg_status erg_cpu_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                               erg_backend_exec **out, erg_diag *diag) {
    *out = NULL;
    erg_backend_exec *e = erg_calloc(dev->alloc, 1, sizeof *e);
    if (!e)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU executor");
    e->dev = dev;
    e->reference_math = opts && opts->reference_math;
    e->weights = opts ? opts->weights : NULL;
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
    erg_free(a, e->plan);
    erg_free(a, e->chunks);
    erg_free(a, e->epoch);
    erg_free(a, e->work);
    erg_free(a, e->node_ns);
    erg_free(a, e);
}

static bool is_single(const erg_graph *g, const erg_node *n) {
    const erg_tensor *d = &g->tensors[n->dst], *s0 = &g->tensors[n->src[0]];
    switch (n->op) {
    case ERG_OP_MATMUL:
    case ERG_OP_MATMUL_ADD:
    case ERG_OP_MATMUL_QKV:
        return erg_tensor_nelements(d) * s0->ne[0] <= SINGLE_MATMUL_MACS;
    case ERG_OP_MATMUL_SWIGLU:
        return 2 * erg_tensor_nelements(d) * s0->ne[0] <= SINGLE_MATMUL_MACS;
    case ERG_OP_ATTENTION: /* q [D, nt, H] against n_kv positions of K and V */
        return s0->ne[1] * s0->ne[2] * g->tensors[n->src[1]].ne[1] * (s0->ne[0] + d->ne[0]) <=
               SINGLE_MATMUL_MACS;
    default:
        return erg_tensor_nelements(d) <= SINGLE_ELEMENTS;
    }
}

static access range_of(const erg_graph *g, int32_t id, bool write, bool single) {
    uintptr_t lo = (uintptr_t)erg_tensor_host_data(g, id);
    return (access){lo, lo + erg_tensor_nbytes(&g->tensors[id]), write, single};
}

/* Whether node n must wait for the epoch's accesses. */
static bool conflicts(const erg_graph *g, const erg_node *n, bool single, const access *epoch,
                      size_t n_epoch) {
    for (size_t i = 0; i < n_epoch; i++) {
        const access *e = &epoch[i];
        if (single && e->single)
            continue; /* both on thread 0, in order */
        for (int s = 0; s <= n->n_src; s++) {
            bool write = s == n->n_src;
            if (!write && !e->write)
                continue; /* two reads never conflict */
            access mine = range_of(g, write ? n->dst : n->src[s], write, single);
            if (mine.lo < e->hi && e->lo < mine.hi)
                return true;
        }
    }
    return false;
}

static erg_status grow_plan(erg_backend_exec *e, size_t n_nodes, erg_diag *diag) {
    if (n_nodes <= e->plan_cap)
        return ERG_OK;
    const erg_allocator *a = e->dev->alloc;
    node_plan *plan = erg_malloc(a, n_nodes * sizeof *plan);
    atomic_int *chunks = erg_malloc(a, n_nodes * ERG_CPU_MAX_PHASES * sizeof *chunks);
    access *epoch = erg_malloc(a, n_nodes * (ERG_MAX_SRC + 1) * sizeof *epoch);
    uint64_t *node_ns = erg_malloc(a, n_nodes * sizeof *node_ns);
    if (!plan || !chunks || !epoch || !node_ns) {
        erg_free(a, plan);
        erg_free(a, chunks);
        erg_free(a, epoch);
        erg_free(a, node_ns);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU plan of %zu nodes", n_nodes);
    }
    erg_free(a, e->plan);
    erg_free(a, e->chunks);
    erg_free(a, e->epoch);
    erg_free(a, e->node_ns);
    e->plan = plan;
    e->chunks = chunks;
    e->epoch = epoch;
    e->node_ns = node_ns;
    e->plan_cap = e->epoch_cap = n_nodes;
    return ERG_OK;
}

erg_status erg_cpu_exec_compile(erg_backend_exec *e, const erg_graph *g, erg_diag *diag) {
    const erg_cpu_kernels *k = e->dev->kernels;
    int nth = erg_threadpool_size(e->pool);
    ERG_RETURN_IF_ERROR(grow_plan(e, g->n_nodes, diag));
    size_t work = 0, epoch_work = 0, n_epoch = 0;
    erg_cpu_op_args sizing = {.k = k, .g = g, .reference_math = e->reference_math,
                              .weights = e->weights};
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        node_plan *p = &e->plan[i];
        memset(p, 0, sizeof *p);
        if (erg_op_is_view(n->op))
            continue;
        /* erg_backend_run checked support; every non-view op has a kernel. */
        const erg_cpu_op *op = erg_cpu_op_for(n->op);
        p->op = op;
        p->single = nth == 1 || is_single(g, n);
        sizing.node = n;
        sizing.nth = p->single ? 1 : nth;
        p->phase_barrier = !p->single && op->n_phases > 1 &&
                           (!op->phase_barrier || op->phase_barrier(&sizing));
        if (n_epoch && conflicts(g, n, p->single, e->epoch, n_epoch)) {
            p->barrier_before = true;
            n_epoch = 0;
            epoch_work = 0;
        }
        /* A barrier inside the node ends the epoch for what follows. Its
         * first phase still overlaps the epoch's earlier nodes, so their
         * scratch stays reserved: only the accesses are forgotten. */
        if (p->phase_barrier)
            n_epoch = 0;
        for (int s = 0; s <= n->n_src; s++)
            e->epoch[n_epoch++] = range_of(g, s == n->n_src ? n->dst : n->src[s], s == n->n_src,
                                           p->single);
        size_t w = op->work_size ? erg_align_up(op->work_size(&sizing), 64) : 0;
        p->work_offset = epoch_work;
        epoch_work += w;
        if (epoch_work > work)
            work = epoch_work;
    }
    if (work > e->work_cap) {
        void *buf = erg_aligned_alloc(e->dev->alloc, work, 64);
        if (!buf)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU scratch of %zu bytes", work);
        erg_free(e->dev->alloc, e->work);
        e->work = buf;
        e->work_cap = work;
    }
    e->g = g;
    e->n_timed = 0; /* times of an earlier graph would name the wrong nodes */
    return ERG_OK;
}

static void run_nodes(void *arg, int ith, int nth) {
    erg_backend_exec *e = arg;
    const erg_graph *g = e->g;
    erg_cpu_op_args args = {
        .k = e->dev->kernels,
        .g = g,
        .reference_math = e->reference_math,
        .weights = e->weights,
    };
    bool timed = ith == 0, shared = false; /* shared: a node since the barrier ran on all */
    uint64_t t = timed ? erg_time_ns() : 0;
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const node_plan *p = &e->plan[i];
        if (!p->op)
            continue;
        if (p->barrier_before) {
            erg_threadpool_barrier(e->pool);
            if (timed && shared) {
                uint64_t now = erg_time_ns();
                e->node_ns[last] += now - t;
                t = now;
            }
            shared = false;
        }
        if (p->single && ith != 0)
            continue;
        args.node = &g->nodes[i];
        args.ith = p->single ? 0 : ith;
        args.nth = p->single ? 1 : nth;
        args.work = (char *)e->work + p->work_offset;
        for (int ph = 0; ph < p->op->n_phases; ph++) {
            args.chunk = &e->chunks[i * ERG_CPU_MAX_PHASES + (size_t)ph];
            p->op->run(&args, ph);
            if (p->phase_barrier && ph + 1 < p->op->n_phases)
                erg_threadpool_barrier(e->pool);
        }
        if (timed) {
            uint64_t now = erg_time_ns();
            e->node_ns[i] += now - t;
            t = now;
            last = i;
            shared |= !p->single;
        }
    }
    if (timed) {
        e->t_mark = t;
        e->last_timed = last;
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
        dispatches += e->plan[i].op != NULL;
        e->node_ns[i] = 0;
    }
    erg_threadpool_run(e->pool, run_nodes, e);
    if (e->last_timed != SIZE_MAX)
        e->node_ns[e->last_timed] += erg_time_ns() - e->t_mark; /* the pool's last stragglers */
    e->n_timed = g->n_nodes;
    stats->n_dispatches = dispatches;
    return ERG_OK;
}

erg_status erg_cpu_exec_node_times(const erg_backend_exec *e, double *seconds, size_t n_nodes,
                                   erg_diag *diag) {
    if (!e->n_timed)
        return erg_fail(diag, ERG_UNSUPPORTED, "CPU: no graph has run on this executor yet");
    for (size_t i = 0; i < n_nodes; i++)
        seconds[i] = i < e->n_timed ? (double)e->node_ns[i] * 1e-9 : 0;
    return ERG_OK;
}
