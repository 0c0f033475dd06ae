/* The profiler: node times grouped by (op, dtype, shape), energy by share. */
#include "scheduler/profiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *erg_profile_phase_name(erg_profile_phase phase) {
    return phase == ERG_PROFILE_PREFILL ? "prefill" : "decode";
}

static const char *timer_of(const char *backend) {
    if (strcmp(backend, "cpu") == 0)
        return "wall clock (calling thread)";
    if (strcmp(backend, "vulkan") == 0)
        return "Vulkan timestamps";
    if (strcmp(backend, "opencl") == 0)
        return "OpenCL profiling events";
    return "the backend's timers";
}

void erg_profiler_init(erg_profiler *p, const erg_allocator *alloc, const char *device,
                       const char *backend, bool keep_events) {
    memset(p, 0, sizeof *p);
    p->alloc = erg_allocator_or_default(alloc);
    snprintf(p->device, sizeof p->device, "%s", device);
    snprintf(p->timer, sizeof p->timer, "%s", timer_of(backend));
    p->keep_events = keep_events;
}

void erg_profiler_free(erg_profiler *p) {
    if (!p)
        return;
    erg_free(p->alloc, p->rows);
    erg_free(p->alloc, p->events);
    erg_free(p->alloc, p->scratch);
    memset(p, 0, sizeof *p);
}

/* Ops that apply a weight matrix src0[K, N] to src1[K, M] (fused or not;
 * MATMUL_QKV's result is the three products one after another, flat). */
static bool is_matmul(erg_op op) {
    return op == ERG_OP_MATMUL || op == ERG_OP_MATMUL_ADD || op == ERG_OP_MATMUL_SWIGLU ||
           op == ERG_OP_MATMUL_QKV;
}

static bool same_key(const erg_profile_row *r, const erg_graph *g, const erg_node *n) {
    const erg_tensor *src = &g->tensors[n->src[0]], *dst = &g->tensors[n->dst];
    return r->op == n->op && r->src_dtype == src->dtype && r->dst_dtype == dst->dtype &&
           memcmp(r->src_ne, src->ne, sizeof r->src_ne) == 0 &&
           memcmp(r->dst_ne, dst->ne, sizeof r->dst_ne) == 0;
}

/* The row of node n, made if new; -1 when out of memory. */
static long row_of(erg_profiler *p, const erg_graph *g, const erg_node *n) {
    for (size_t i = p->n_rows; i-- > 0;) /* recent rows match most often */
        if (same_key(&p->rows[i], g, n))
            return (long)i;
    if (!erg_grow_array(p->alloc, (void **)&p->rows, sizeof *p->rows, &p->cap_rows, p->n_rows + 1))
        return -1;
    erg_profile_row *r = &p->rows[p->n_rows];
    memset(r, 0, sizeof *r);
    const erg_tensor *src = &g->tensors[n->src[0]], *dst = &g->tensors[n->dst];
    r->op = n->op;
    r->src_dtype = src->dtype;
    r->dst_dtype = dst->dtype;
    memcpy(r->src_ne, src->ne, sizeof r->src_ne);
    memcpy(r->dst_ne, dst->ne, sizeof r->dst_ne);
    if (is_matmul(n->op))
        r->n_cols = g->tensors[n->src[1]].ne[1];
    return (long)p->n_rows++;
}

erg_status erg_profiler_add_times(erg_profiler *p, const erg_graph *g, const double *seconds,
                                  erg_profile_phase phase, double start_s, double wall_s,
                                  erg_diag *diag) {
    if ((unsigned)phase >= ERG_PROFILE_PHASES)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "profile phase %d", (int)phase);
    double t = start_s;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (erg_op_is_view(n->op))
            continue;
        long row = row_of(p, g, n);
        if (row < 0)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "profile rows");
        double bytes, flops;
        erg_profile_node_cost(g, n, &bytes, &flops);
        erg_profile_row *r = &p->rows[row];
        r->calls++;
        r->seconds += seconds[i];
        r->phase_seconds[phase] += seconds[i];
        r->bytes += bytes;
        r->flops += flops;
        p->node_seconds += seconds[i];
        p->phase_seconds[phase] += seconds[i];
        if (p->keep_events) {
            if (!erg_grow_array(p->alloc, (void **)&p->events, sizeof *p->events, &p->cap_events,
                                p->n_events + 1))
                return erg_fail(diag, ERG_OUT_OF_MEMORY, "profile trace events");
            p->events[p->n_events++] = (erg_profile_event){(uint32_t)row, p->n_steps, phase, t,
                                                           seconds[i]};
        }
        t += seconds[i];
    }
    p->n_steps++;
    p->wall_seconds += wall_s;
    return ERG_OK;
}

erg_status erg_profiler_add_run(erg_profiler *p, const erg_backend *b, const erg_backend_exec *exec,
                                const erg_graph *g, erg_profile_phase phase, double start_s,
                                double wall_s, erg_diag *diag) {
    if (!b->node_times)
        return erg_fail(diag, ERG_UNSUPPORTED, "the %s backend has no per-node timers", b->name);
    if (!erg_grow_array(p->alloc, (void **)&p->scratch, sizeof *p->scratch, &p->cap_scratch,
                        g->n_nodes + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "node times of %zu nodes", g->n_nodes);
    ERG_RETURN_IF_ERROR(b->node_times(exec, p->scratch, g->n_nodes, diag));
    return erg_profiler_add_times(p, g, p->scratch, phase, start_s, wall_s, diag);
}

void erg_profiler_set_energy(erg_profiler *p, const erg_energy_reading *r,
                             const double phase_watts[ERG_PROFILE_PHASES], const char *detail,
                             const char *method) {
    p->have_energy = true;
    p->energy = *r;
    if (erg_energy_source_measured(r->source))
        snprintf(p->energy_label, sizeof p->energy_label, "measured (%s)",
                 erg_energy_source_name(r->source));
    else
        snprintf(p->energy_label, sizeof p->energy_label, "%s", erg_energy_source_name(r->source));
    snprintf(p->energy_detail, sizeof p->energy_detail, "%s", detail ? detail : "");
    snprintf(p->energy_method, sizeof p->energy_method, "%s", method ? method : "");
    for (int ph = 0; ph < ERG_PROFILE_PHASES; ph++)
        p->phase_watts[ph] = phase_watts[ph];
    for (size_t i = 0; i < p->n_rows; i++) {
        erg_profile_row *row = &p->rows[i];
        row->joules = 0;
        for (int ph = 0; ph < ERG_PROFILE_PHASES; ph++)
            row->joules += row->phase_seconds[ph] * phase_watts[ph];
    }
}

void erg_profiler_phase_watts(const erg_profiler *p, const erg_energy_reading *run,
                              const erg_energy_reading *cal, double cal_busy_s,
                              double watts[ERG_PROFILE_PHASES], char *method, size_t cap) {
    double prefill_s = p->phase_seconds[ERG_PROFILE_PREFILL];
    double decode_s = p->phase_seconds[ERG_PROFILE_DECODE];
    double mean = p->node_seconds > 0 ? run->joules / p->node_seconds : 0;
    if (!cal || !cal->window_ok || cal_busy_s <= 0 || prefill_s <= 0 || decode_s <= 0) {
        watts[ERG_PROFILE_PREFILL] = watts[ERG_PROFILE_DECODE] = mean;
        snprintf(method, cap, "the run's joules split by node time (one power for every op)");
        return;
    }
    /* Prefill is compute-bound and decode memory-bound: they draw different
     * power, which one window over both would average away. */
    double prefill_w = cal->joules / cal_busy_s;
    double decode_j = run->joules - prefill_w * prefill_s;
    watts[ERG_PROFILE_PREFILL] = prefill_w;
    watts[ERG_PROFILE_DECODE] = decode_j > 0 ? decode_j / decode_s : 0;
    snprintf(method, cap,
             "prefill ops at the power of a calibration window of prefills alone, decode ops at "
             "what the run's joules leave after its prefills%s",
             decode_j < 0 ? " (none: the two windows disagree by more than the decode's share)"
                          : "");
}

/* qsort has no context argument: rows carry their old index while sorting. */
typedef struct ranked {
    erg_profile_row row;
    uint32_t old;
} ranked;

static int by_time(const void *a, const void *b) {
    double ta = ((const ranked *)a)->row.seconds, tb = ((const ranked *)b)->row.seconds;
    if (ta != tb)
        return ta < tb ? 1 : -1;
    uint32_t ia = ((const ranked *)a)->old, ib = ((const ranked *)b)->old;
    return ia < ib ? -1 : ia > ib;
}

void erg_profiler_sort(erg_profiler *p) {
    if (p->n_rows < 2)
        return;
    ranked *tmp = erg_malloc(p->alloc, p->n_rows * sizeof *tmp);
    uint32_t *new_index = erg_malloc(p->alloc, p->n_rows * sizeof *new_index);
    if (tmp && new_index) {
        for (size_t i = 0; i < p->n_rows; i++)
            tmp[i] = (ranked){p->rows[i], (uint32_t)i};
        qsort(tmp, p->n_rows, sizeof *tmp, by_time);
        for (size_t i = 0; i < p->n_rows; i++) {
            p->rows[i] = tmp[i].row;
            new_index[tmp[i].old] = (uint32_t)i;
        }
        for (size_t i = 0; i < p->n_events; i++)
            p->events[i].row = new_index[p->events[i].row];
    }
    /* Out of memory: the rows stay in first-seen order, which is still right. */
    erg_free(p->alloc, tmp);
    erg_free(p->alloc, new_index);
}

static void dims(const int64_t *ne, int n, char *buf, size_t cap) {
    int last = n - 1;
    while (last > 0 && ne[last] == 1)
        last--;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i <= last && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "x" : "", (long long)ne[i]);
}


void erg_profile_row_shape(const erg_profile_row *r, char *buf, size_t cap) {
    if (is_matmul(r->op)) {
        /* dst[N, M, b2, b3] = src0[K, N] . src1[K, M] */
        long long batch = (long long)(r->dst_ne[2] * r->dst_ne[3]);
        long long n_rows = (long long)r->dst_ne[0], n_cols = (long long)r->dst_ne[1];
        if (r->op == ERG_OP_MATMUL_QKV) { /* N: the three weights' rows together */
            n_cols = (long long)r->n_cols;
            n_rows = (long long)(r->dst_ne[0] * r->dst_ne[1] * batch) / (n_cols ? n_cols : 1);
            batch = 1;
        }
        int n = snprintf(buf, cap, "K=%lld N=%lld M=%lld", (long long)r->src_ne[0], n_rows,
                         n_cols);
        if (batch > 1 && n > 0 && (size_t)n < cap)
            snprintf(buf + n, cap - (size_t)n, " x%lld", batch);
        return;
    }
    dims(r->dst_ne, ERG_MAX_DIMS, buf, cap);
}

void erg_profile_row_dtype(const erg_profile_row *r, char *buf, size_t cap) {
    if (r->src_dtype == r->dst_dtype || is_matmul(r->op) || r->op == ERG_OP_GET_ROWS)
        snprintf(buf, cap, "%s", erg_dtype_name(r->src_dtype));
    else
        snprintf(buf, cap, "%s>%s", erg_dtype_name(r->src_dtype), erg_dtype_name(r->dst_dtype));
}
