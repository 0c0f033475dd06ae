/* Device "auto": each device's costs from calibration (cached), the step
 * graphs placed by cost, and the devices the placement uses opened as the
 * session's targets, sharing one memory for the KV cache and activations. */
#include "runtime/internal.h"

#include "graph/fuse.h"
#include "graph/validate.h"
#include "hal/cache_dir.h"
#include "hal/energy/power_profile.h"
#include "hal/timer.h"
#include "scheduler/auto_place.h"
#include "scheduler/calib_cache.h"
#include "scheduler/placement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_N_CTX 80
#define CALIB_PREFILL 16   /* tokens of the calibration prefills: a short one */
#define CALIB_PREFILL_LONG 64 /* and a long one (a matmul's rate depends on its rows) */
#define CALIB_DECODE_REPS 8 /* a shape keeps its least time: hiccups drop out */
#define PLAN_PREFILL 32    /* tokens of the prefill placed at create */
#define COPY_PROBE_BYTES (8u << 20)

static erg_status read_policy(const erg_session_options *o, erg_part_goal *goal, erg_diag *diag) {
    goal->policy = o->policy;
    const char *env = getenv("ERG_POLICY");
    if (goal->policy == ERG_POLICY_DEFAULT && env && *env) {
        if (strcmp(env, "edp") == 0)
            goal->policy = ERG_POLICY_EDP;
        else if (strcmp(env, "latency") == 0)
            goal->policy = ERG_POLICY_LATENCY;
        else if (strcmp(env, "energy") == 0)
            goal->policy = ERG_POLICY_ENERGY;
        else
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "ERG_POLICY is '%s'; it takes edp, latency or energy", env);
    }
    if (goal->policy == ERG_POLICY_DEFAULT)
        goal->policy = ERG_POLICY_EDP;
    if (goal->policy < ERG_POLICY_EDP || goal->policy > ERG_POLICY_ENERGY)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "policy %d is not edp, latency or energy",
                        (int)o->policy);
    if (!(o->power_cap_w >= 0) || !(o->latency_limit_ms >= 0))
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "power cap %g W and latency limit %g ms must be 0 (none) or positive",
                        o->power_cap_w, o->latency_limit_ms);
    goal->power_cap_w = o->power_cap_w;
    goal->latency_limit_s = o->latency_limit_ms / 1e3;
    return ERG_OK;
}

/* What calibration results depend on: the device, its driver and erg. */
static void identity_of(const erg_rt_device *d, char *out, size_t cap) {
    const erg_device_info *i = &d->info;
    snprintf(out, cap, "%s|%s|%s|%s|%s|erg %s", i->backend, i->vendor, i->description,
             i->driver_version, i->kernel_level, erg_version());
}

/* The cache file of this model's shapes. */
static erg_status cache_path(const erg_model *m, char *out, size_t cap, erg_diag *diag) {
    char dir[512];
    ERG_RETURN_IF_ERROR(erg_cache_dir("scheduler", dir, sizeof dir, diag));
    uint64_t h = ERG_FNV1A64_SEED;
    uint64_t n = erg_gguf_tensor_count(m->data->gguf);
    for (uint64_t i = 0; i < n; i++) {
        const erg_weight_desc *w = &m->weight_descs[i];
        int32_t dt = (int32_t)w->dtype;
        h = erg_fnv1a64(&dt, sizeof dt, h);
        h = erg_fnv1a64(w->ne, sizeof w->ne, h);
    }
    if ((size_t)snprintf(out, cap, "%s/model-%016llx.json", dir, (unsigned long long)h) >= cap)
        return erg_fail(diag, ERG_IO, "cache path under %s is too long", dir);
    return ERG_OK;
}

/* Power above idle while the device works: its power profile's estimate. */
static erg_status busy_watts(const erg_runtime *rt, const erg_rt_device *d, double *watts,
                             erg_diag *diag) {
    erg_power_profiles pp;
    *watts = 0;
    ERG_RETURN_IF_ERROR(erg_power_profiles_load(&pp, &rt->alloc, NULL, diag));
    const char *cls = erg_power_class_of(&d->info, &rt->devices[0].info, false);
    const erg_power_profile *p = erg_power_profile_find(&pp, d->info.name, cls);
    erg_energy_reading r = {0};
    if (p)
        erg_energy_estimate(p, rt->n_threads, 1.0, 1.0, &r);
    erg_power_profiles_free(&pp);
    *watts = r.joules;
    return ERG_OK;
}

/* Host memory copy time per byte: what a device with memory of its own pays
 * for the tensors that cross to it. */
static erg_status copy_seconds_per_byte(const erg_allocator *a, double *out, erg_diag *diag) {
    char *src = erg_malloc(a, COPY_PROBE_BYTES), *dst = erg_malloc(a, COPY_PROBE_BYTES);
    double best = INFINITY;
    if (src && dst) {
        memset(src, 1, COPY_PROBE_BYTES);
        for (int r = 0; r < 3; r++) {
            double t0 = erg_time_s();
            memcpy(dst, src, COPY_PROBE_BYTES);
            best = fmin(best, erg_time_s() - t0);
        }
    }
    erg_free(a, src);
    erg_free(a, dst);
    *out = best / COPY_PROBE_BYTES;
    return src && dst ? ERG_OK : erg_fail(diag, ERG_OUT_OF_MEMORY, "copy probe");
}

/* Records the node times of the session's last graph into the costs, and
 * the least host overhead per node seen (wall time less node times). */
static erg_status record(erg_session *cs, erg_device_costs *c, erg_profile_phase phase,
                         double *overhead, erg_diag *diag) {
    const erg_backend *b = cs->device->backend;
    const erg_allocator *a = &cs->model->rt->alloc;
    if (!b->node_times)
        return erg_fail(diag, ERG_UNSUPPORTED, "%s has no per-node timers", cs->device->info.name);
    double *sec = erg_calloc(a, cs->graph.n_nodes + 1, sizeof *sec);
    if (!sec)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "node times");
    erg_status st = b->node_times(cs->exec, sec, cs->graph.n_nodes, diag);
    if (st == ERG_OK)
        st = erg_cost_record(c, a, &cs->graph, sec, phase, diag);
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < cs->graph.n_nodes; i++) {
        sum += sec[i];
        n += !erg_op_is_view(cs->graph.nodes[i].op);
    }
    double per_node = n ? fmax(0, cs->stats.eval_seconds - sum) / (double)n : 0;
    if (overhead && per_node < *overhead)
        *overhead = per_node;
    erg_free(a, sec);
    return st;
}

/* A subgraph's fixed cost on the session's device: compiling and running
 * its cheapest node alone, less that node's own time. */
static erg_status measure_handover(erg_session *cs, double *out, erg_diag *diag) {
    const erg_backend *b = cs->device->backend;
    const erg_graph *g = &cs->graph;
    const erg_allocator *a = &cs->model->rt->alloc;
    double *sec = erg_calloc(a, g->n_nodes + 1, sizeof *sec);
    if (!sec)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "node times");
    erg_status st = b->node_times(cs->exec, sec, g->n_nodes, diag);
    size_t k = SIZE_MAX;
    for (size_t i = 0; st == ERG_OK && i < g->n_nodes; i++)
        if (!erg_op_is_view(g->nodes[i].op) && (k == SIZE_MAX || sec[i] < sec[k]))
            k = i;
    double node = k == SIZE_MAX ? 0 : sec[k], best = INFINITY;
    erg_free(a, sec);
    erg_graph sub = *g;
    sub.nodes = g->nodes + (k == SIZE_MAX ? 0 : k);
    sub.n_nodes = sub.cap_nodes = 1;
    for (int r = 0; r < 3 && st == ERG_OK && k != SIZE_MAX; r++) {
        erg_exec_stats es;
        double t0 = erg_time_s();
        st = b->compile(cs->exec, &sub, diag);
        if (st == ERG_OK)
            st = b->execute(cs->exec, &sub, &es, diag);
        best = fmin(best, erg_time_s() - t0);
    }
    *out = isfinite(best) ? fmax(0, best - node) : 0;
    return st;
}

/* Node by node, for a device that cannot run the whole graph (a plugin
 * NPU: what it cannot run fell back to the CPU): the step's graph stays
 * bound after the eval, so each node the device supports runs alone on it
 * and is timed by it (a plugin's node time counts the copies the node
 * needs). Also gathers the least fixed cost of such a one-node subgraph
 * (host wall less node time), and a simulated device's least joules per
 * simulated second of a run (its active power: the idle power it also
 * counts, over host time between its calls, only adds to it). */
typedef struct each_totals {
    double handover_s;       /* least seen */
    double sim_watts;        /* least seen */
} each_totals;

static erg_status record_each(erg_session *cs, erg_device_costs *c, erg_profile_phase phase,
                              each_totals *tot, erg_diag *diag) {
    const erg_backend *b = cs->device->backend;
    const erg_graph *g = &cs->graph;
    const erg_allocator *a = &cs->model->rt->alloc;
    if (!b->node_times)
        return erg_fail(diag, ERG_UNSUPPORTED, "%s has no per-node timers", cs->device->info.name);
    size_t n_run = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        erg_diag why;
        if (erg_op_is_view(n->op) || !b->supports_node(cs->device->open, g, n, &why))
            continue;
        erg_graph sub = *g;
        sub.nodes = g->nodes + i;
        sub.n_nodes = sub.cap_nodes = 1;
        erg_exec_stats es;
        double t0 = erg_time_s(), sec = 0;
        ERG_RETURN_IF_ERROR(b->compile(cs->exec, &sub, diag));
        ERG_RETURN_IF_ERROR(b->execute(cs->exec, &sub, &es, diag));
        double wall = erg_time_s() - t0;
        ERG_RETURN_IF_ERROR(b->node_times(cs->exec, &sec, 1, diag));
        ERG_RETURN_IF_ERROR(erg_cost_record_node(c, a, g, n, sec, phase, diag));
        tot->handover_s = fmin(tot->handover_s, fmax(0, wall - sec));
        if (es.simulated_seconds > 0)
            tot->sim_watts = fmin(tot->sim_watts, es.simulated_joules / es.simulated_seconds);
        n_run++;
    }
    return n_run ? ERG_OK
                 : erg_fail(diag, ERG_UNSUPPORTED, "%s runs no node of the %s graph",
                            cs->device->info.name, erg_profile_phase_name(phase));
}

/* Calibration of one device on the model's own step graphs: prefills of
 * CALIB_PREFILL and CALIB_PREFILL_LONG tokens and CALIB_DECODE_REPS decode
 * steps. whole: the device runs every node (strict) and times them in one
 * run; else node by node (record_each). */
static erg_status calibrate_run(erg_model *m, bool reference_math, erg_rt_device *d, bool whole,
                                bool no_fusion, erg_device_costs *c, erg_diag *diag) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = d->info.name;
    so.no_fusion = no_fusion;
    so.n_ctx = CALIB_N_CTX;
    so.n_batch = CALIB_PREFILL_LONG;
    so.strict_device = whole;
    so.reference_math = reference_math;
    erg_session *cs;
    erg_status st = erg_session_create(m, &so, &cs);
    if (st != ERG_OK)
        return erg_fail(diag, st, "%s", erg_model_last_error(m));
    uint32_t nv = m->data->hp.n_vocab;
    int32_t tokens[CALIB_PREFILL_LONG];
    for (uint32_t i = 0; i < CALIB_PREFILL_LONG; i++)
        tokens[i] = (int32_t)((i * 7919u + 1) % nv);
    float *logits = erg_malloc(&m->rt->alloc, nv * sizeof *logits);
    double overhead = INFINITY;
    each_totals tot = {INFINITY, INFINITY};
    st = logits ? ERG_OK : erg_fail(diag, ERG_OUT_OF_MEMORY, "logits");
    /* Each twice: a shape keeps its least time, so one hiccup on a busy
     * host does not stay in the costs. */
    static const uint32_t prefills[4] = {CALIB_PREFILL, CALIB_PREFILL_LONG, CALIB_PREFILL,
                                         CALIB_PREFILL_LONG};
    for (int p = 0; p < 4 && st == ERG_OK; p++) {
        erg_session_reset(cs);
        st = erg_session_eval(cs, tokens, prefills[p], ERG_LOGITS_LAST, logits, nv);
        if (st == ERG_OK)
            st = whole ? record(cs, c, ERG_PROFILE_PREFILL, NULL, diag)
                       : record_each(cs, c, ERG_PROFILE_PREFILL, &tot, diag);
    }
    for (int r = 0; r < CALIB_DECODE_REPS && st == ERG_OK; r++) {
        st = erg_session_eval(cs, &tokens[r], 1, ERG_LOGITS_LAST, logits, nv);
        if (st == ERG_OK)
            st = whole ? record(cs, c, ERG_PROFILE_DECODE, &overhead, diag)
                       : record_each(cs, c, ERG_PROFILE_DECODE, &tot, diag);
    }
    if (st == ERG_OK && whole)
        st = measure_handover(cs, &c->handover_s, diag);
    if (st != ERG_OK && !diag->msg[0])
        erg_fail(diag, st, "%s", erg_session_last_error(cs));
    erg_free(&m->rt->alloc, logits);
    erg_session_destroy(cs);
    c->node_overhead_s = isfinite(overhead) ? overhead : 0;
    if (!whole) {
        /* A simulated device's transfers and launch latency are in its
         * node times: its host-side wall time is the simulator's, not the
         * device's. Its power is its model's (active joules per busy
         * second). */
        c->handover_s = c->simulated || !isfinite(tot.handover_s) ? 0 : tot.handover_s;
        if (c->simulated && isfinite(tot.sim_watts))
            c->busy_watts = tot.sim_watts;
    }
    erg_cost_finish(c);
    return st;
}

/* Whole-graph calibration where the device runs every node, node by node
 * where it runs only some (the strict run says so before running any).
 * unfused_too: the whole graph is also run unfused, so that the scheduler
 * can cost the device's share of a graph whose matmuls stay unfused for a
 * device without fused kernels (an NPU). */
static erg_status calibrate(erg_model *m, bool reference_math, erg_rt_device *d, bool unfused_too,
                            erg_device_costs *c, erg_diag *diag) {
    erg_status st = calibrate_run(m, reference_math, d, true, false, c, diag);
    if (st == ERG_OK && unfused_too) {
        erg_device_costs fused = *c; /* its overheads are the fused graph's */
        st = calibrate_run(m, reference_math, d, true, true, c, diag);
        c->node_overhead_s = fused.node_overhead_s;
        c->handover_s = fused.handover_s;
    }
    if (st != ERG_UNSUPPORTED || strncmp(diag->msg, ERG_PLACEMENT_STRICT_PREFIX,
                                         strlen(ERG_PLACEMENT_STRICT_PREFIX)) != 0)
        return st;
    ERG_LOGI(&m->rt->log, "auto: %s cannot run every node; calibrating it node by node",
             d->info.name);
    erg_device_costs_free(c, &m->rt->alloc);
    diag->msg[0] = '\0';
    return calibrate_run(m, reference_math, d, false, false, c, diag);
}

/* Costs of devices[i] when none are cached, or when asked to redo them:
 * calibrated now, within the budget. */
static erg_status calibrate_missing(erg_model *m, bool reference_math, const erg_calib_request *req,
                                    erg_device_costs *costs, bool *found, size_t n,
                                    erg_calib_outcome *outcome, erg_diag *diag) {
    erg_runtime *rt = m->rt;
    double copy_rate = -1, t_begin = erg_time_s();
    size_t total = 0, done = 0;
    bool npu = false;
    for (size_t i = 0; i < n; i++) {
        total += !found[i];
        npu |= rt->devices[i].info.kind == ERG_DEVICE_NPU;
    }
    for (size_t i = 0; i < n; i++) {
        if (found[i]) {
            /* A device cached without costs could not run the whole graph. */
            outcome[i] = costs[i].n_rows ? ERG_CALIB_CACHED : ERG_CALIB_LEFT_OUT;
            continue;
        }
        erg_rt_device *d = &rt->devices[i];
        erg_device_costs *c = &costs[i];
        if (req && req->progress)
            req->progress(req->user, done++, total, d->info.name);
        if (req && req->budget_s > 0 && erg_time_s() - t_begin > req->budget_s) {
            outcome[i] = ERG_CALIB_OVER_BUDGET;
            erg_device_costs_free(c, &rt->alloc);
            continue;
        }
        ERG_RETURN_IF_ERROR(busy_watts(rt, d, &c->busy_watts, diag));
        c->simulated = d->info.simulated;
        c->shares_host = d->info.kind == ERG_DEVICE_CPU ||
                         (d->info.kind == ERG_DEVICE_OTHER && d->info.unified_memory);
        if (!d->info.unified_memory && copy_rate < 0)
            ERG_RETURN_IF_ERROR(copy_seconds_per_byte(&rt->alloc, &copy_rate, diag));
        c->copy_s_per_byte = d->info.unified_memory ? 0 : copy_rate;
        double t0 = erg_time_s();
        erg_diag why = {{0}};
        erg_status st = calibrate(m, reference_math, d, npu, c, &why);
        if (st == ERG_OUT_OF_MEMORY) {
            *diag = why;
            return st;
        }
        outcome[i] = st == ERG_OK ? ERG_CALIB_MEASURED : ERG_CALIB_LEFT_OUT;
        if (st != ERG_OK) {
            ERG_LOGI(&rt->log, "auto: %s is left out: %s", d->info.name, why.msg);
            erg_device_costs_free(c, &rt->alloc);
        } else {
            ERG_LOGI(&rt->log, "auto: calibrated %s in %.3f s (%zu shapes)", d->info.name,
                     erg_time_s() - t0, c->n_rows);
        }
    }
    if (req && req->progress)
        req->progress(req->user, total, total, "");
    return ERG_OK;
}

erg_status erg_rt_calibration(erg_model *m, bool reference_math, const erg_calib_request *req,
                              erg_device_costs *costs, erg_calib_outcome *outcome, size_t n,
                              erg_diag *diag) {
    erg_runtime *rt = m->rt;
    for (size_t i = 0; i < n; i++) {
        snprintf(costs[i].device, sizeof costs[i].device, "%s", rt->devices[i].info.name);
        identity_of(&rt->devices[i], costs[i].identity, sizeof costs[i].identity);
    }
    char path[640];
    bool found[ERG_PART_MAX_DEVICES] = {false};
    bool have_path = cache_path(m, path, sizeof path, diag) == ERG_OK;
    erg_status st = have_path ? erg_calib_cache_load(path, &rt->alloc, costs, found, n, diag)
                              : ERG_OK;
    if (st == ERG_OUT_OF_MEMORY)
        return st;
    if (!have_path)
        ERG_LOGW(&rt->log, "calibration is not cached: %s", diag->msg);
    else if (st != ERG_OK)
        ERG_LOGW(&rt->log, "%s; calibrating again", diag->msg);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (found[i] && req && req->recalibrate && req->recalibrate[i]) {
            erg_device_costs_free(&costs[i], &rt->alloc);
            found[i] = false;
        }
        any |= !found[i];
    }
    ERG_RETURN_IF_ERROR(
        calibrate_missing(m, reference_math, req, costs, found, n, outcome, diag));
    /* A device the budget skipped has no entry, so the next run measures it. */
    erg_device_costs keep[ERG_PART_MAX_DEVICES];
    size_t n_keep = 0;
    for (size_t i = 0; i < n; i++)
        if (outcome[i] != ERG_CALIB_OVER_BUDGET)
            keep[n_keep++] = costs[i];
    erg_diag why;
    if (any && have_path && erg_calib_cache_save(path, keep, n_keep, &why) != ERG_OK)
        ERG_LOGW(&rt->log, "calibration not cached: %s", why.msg);
    return ERG_OK;
}

static bool is_fused_matmul(erg_op op) {
    return op == ERG_OP_MATMUL_ADD || op == ERG_OP_MATMUL_SWIGLU || op == ERG_OP_MATMUL_QKV;
}

static erg_status decide_fusion(erg_session *s, uint32_t nt, bool *used, erg_diag *diag);

/* Fusion legality under auto: some calibrated device runs the fused op;
 * and a fused matmul only where its step size keeps matmuls fused
 * (decide_fusion, on the size's first step). */
bool erg_session_auto_runs(void *session, const erg_graph *g, const erg_node *n) {
    erg_session *s = session;
    erg_session_auto *a = s->sched;
    bool known = false;
    for (size_t i = 0; i < a->n_costs && !known; i++)
        known = erg_cost_knows_op(&a->costs[i], n->op);
    if (!known || !is_fused_matmul(n->op) || n->n_src < 2)
        return known;
    if (a->forced_fusion >= 0)
        return a->forced_fusion == 0;
    uint32_t nt = (uint32_t)g->tensors[n->src[1]].ne[1];
    for (size_t i = 0; i < a->n_fusion; i++)
        if (a->fusion[i].n_tokens == nt)
            return !a->fusion[i].unfused;
    bool used[ERG_PART_MAX_DEVICES] = {false};
    erg_diag why = {{0}};
    if (decide_fusion(s, nt, used, &why) != ERG_OK) {
        ERG_LOGW(&s->model->rt->log, "auto: matmuls stay fused: %s", why.msg);
        return true;
    }
    for (size_t i = 0; i < a->n_fusion; i++)
        if (a->fusion[i].n_tokens == nt)
            return !a->fusion[i].unfused;
    return true;
}

static uint64_t matmul_weight_bytes(const erg_model *m) {
    uint64_t sum = 0, n = erg_gguf_tensor_count(m->data->gguf);
    for (uint64_t i = 0; i < n; i++)
        if (m->weight_descs[i].matmul)
            sum += (uint64_t)m->weight_descs[i].row_bytes * (uint64_t)m->weight_descs[i].ne[1];
    return sum;
}

/* An NPU computes in its own formats (npu-sim: int8 activations): never
 * part of a reference-math session. */
static bool inexact(const erg_session *s, const erg_rt_device *d) {
    return s->reference_math && d->info.kind == ERG_DEVICE_NPU;
}

/* The devices of the placement's targets, from the costs. */
static size_t auto_devices(const erg_session *s, erg_auto_device *out) {
    for (size_t i = 0; i < s->sched->n_costs; i++) {
        const erg_rt_device *d = s->n_targets ? s->targets[i].device : &s->model->rt->devices[i];
        bool partial = d->info.kind == ERG_DEVICE_NPU && d->open;
        out[i] = (erg_auto_device){&s->sched->costs[i],
                                   s->sched->costs[i].n_rows > 0 && !s->sched->failed[i] &&
                                       !inexact(s, d),
                                   d->info.kind == ERG_DEVICE_CPU ? 0 : d->info.memory_bytes,
                                   s->sched->extra_handover_s,
                                   partial ? d->backend : NULL,
                                   partial ? d->open : NULL};
    }
    return s->sched->n_costs;
}

/* Test hook (ERG_SCHED_FORCE=interleave): runs of three nodes go to the
 * targets in turn, each node to the next working target that ran its op. */
static bool forced_interleave(void) {
    const char *f = getenv("ERG_SCHED_FORCE");
    return f && strcmp(f, "interleave") == 0;
}

static void interleave(const erg_session *s, const erg_graph *g, uint8_t *assign) {
    size_t n = s->sched->n_costs, k = 0;
    uint8_t prev = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *node = &g->nodes[i];
        if (!erg_op_is_view(node->op)) {
            for (size_t j = 0; j < n; j++) {
                size_t t = (k / 3 + j) % n;
                if (!s->sched->failed[t] && !inexact(s, s->targets[t].device) &&
                    erg_cost_knows_op(&s->sched->costs[t], node->op)) {
                    prev = (uint8_t)t;
                    break;
                }
            }
            k++;
        }
        assign[i] = prev;
    }
}

/* Places a graph built for nt tokens at n_past 0 against a KV cache that
 * is only addressed, never touched: assign (grown to the graph's nodes)
 * and the prediction in r. */
static erg_status place_phase(erg_session *s, uint32_t nt, erg_dtype kv_dtype, uint8_t **assign,
                              size_t *cap, erg_graph *g, erg_part_result *r, erg_diag *diag) {
    erg_runtime *rt = s->model->rt;
    const erg_hparams *hp = &s->model->data->hp;
    size_t kb = erg_kv_layer_bytes(hp, kv_dtype, s->n_ctx, false);
    size_t vb = erg_kv_layer_bytes(hp, kv_dtype, s->n_ctx, true);
    erg_kv_cache kv = {.dtype = kv_dtype, .n_ctx = s->n_ctx};
    kv.k = erg_calloc(&rt->alloc, hp->n_layer, sizeof(void *));
    kv.v = erg_calloc(&rt->alloc, hp->n_layer, sizeof(void *));
    char *buf = erg_malloc(&rt->alloc, (kb + vb) * hp->n_layer);
    erg_status st = ERG_OK;
    if (!kv.k || !kv.v || !buf)
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "planning the placement");
    for (uint32_t l = 0; st == ERG_OK && l < hp->n_layer; l++) {
        kv.k[l] = buf + (kb + vb) * l;
        kv.v[l] = buf + (kb + vb) * l + kb;
    }
    erg_build_params bp = {.n_tokens = nt, .n_past = 0, .n_logits = 1, .kv = &kv};
    erg_build_result br;
    erg_fuse_stats fs;
    if (st == ERG_OK)
        st = erg_model_build_graph(s->model->data, &bp, g, &br, diag);
    if (st == ERG_OK)
        st = erg_graph_validate(g, diag);
    if (st == ERG_OK && !s->no_fusion)
        st = erg_graph_fuse(g, erg_session_auto_runs, s, &fs, diag);
    if (st == ERG_OK && !erg_grow_array(&rt->alloc, (void **)assign, 1, cap, g->n_nodes + 1))
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "planning the placement");
    erg_auto_device devs[ERG_PART_MAX_DEVICES];
    size_t n = auto_devices(s, devs);
    if (st == ERG_OK)
        st = erg_auto_place(g, nt > 1 ? ERG_PROFILE_PREFILL : ERG_PROFILE_DECODE, devs, n,
                            s->sched->weight_bytes, &s->sched->goal, &rt->alloc, *assign, r, diag);
    erg_free(&rt->alloc, buf);
    erg_free(&rt->alloc, kv.k);
    erg_free(&rt->alloc, kv.v);
    return st;
}

/* The goal's measure of a prediction. */
static double objective(const erg_part_goal *goal, const erg_part_result *r) {
    switch (goal->policy) {
    case ERG_POLICY_LATENCY: return r->seconds;
    case ERG_POLICY_ENERGY: return r->joules;
    default: return r->seconds * r->joules;
    }
}

/* Whether a usable device runs plain matmuls but no fused one (an NPU):
 * only then can unfused matmuls pay. */
static bool unfused_may_pay(const erg_session *s) {
    erg_auto_device devs[ERG_PART_MAX_DEVICES];
    size_t n = auto_devices(s, devs);
    for (size_t i = 0; i < n; i++) {
        const erg_device_costs *c = devs[i].costs;
        if (devs[i].usable && erg_cost_knows_op(c, ERG_OP_MATMUL) &&
            !erg_cost_knows_op(c, ERG_OP_MATMUL_ADD) &&
            !erg_cost_knows_op(c, ERG_OP_MATMUL_SWIGLU) && !erg_cost_knows_op(c, ERG_OP_MATMUL_QKV))
            return true;
    }
    return false;
}

/* Places the graph of an nt-token step with its matmuls fused and unfused
 * (fusion is decided before placement, and a device without fused
 * kernels, an NPU, only sees unfused matmuls), keeps the variant the goal
 * prefers for steps of that size, and marks the devices it uses. */
static erg_status decide_fusion(erg_session *s, uint32_t nt, bool *used, erg_diag *diag) {
    erg_runtime *rt = s->model->rt;
    erg_session_auto *a = s->sched;
    uint8_t *assign[2] = {NULL, NULL};
    size_t cap[2] = {0, 0};
    erg_graph g[2];
    erg_part_result r[2];
    erg_status st = ERG_OK;
    bool placed[2] = {false, false};
    int variants = unfused_may_pay(s) ? 2 : 1;
    for (int v = 0; v < 2; v++) {
        erg_graph_init(&g[v], &rt->alloc);
        a->forced_fusion = v;
        if (st != ERG_OK || v >= variants)
            continue;
        erg_status vs = place_phase(s, nt, a->kv_dtype, &assign[v], &cap[v], &g[v], &r[v], diag);
        placed[v] = vs == ERG_OK;
        /* No device left that runs some unfused node: that variant loses. */
        if (vs == ERG_UNSUPPORTED && v == 1)
            diag->msg[0] = '\0';
        else if (vs != ERG_OK)
            st = vs;
    }
    a->forced_fusion = -1;
    int best = st == ERG_OK && placed[1] && objective(&a->goal, &r[1]) < objective(&a->goal, &r[0]);
    /* Remembered even when placing failed (fused, then): the size's later
     * steps do not build and place its graphs again. */
    size_t k = a->n_fusion < 8 ? a->n_fusion++ : a->next_fusion++ % 8;
    a->fusion[k].n_tokens = nt;
    a->fusion[k].unfused = best == 1;
    if (st == ERG_OK) {
        if (placed[1])
            ERG_LOGI(&rt->log,
                     "auto: %u-token steps with matmuls %s (predicted %.3f ms, %.3f mJ; %s: "
                     "%.3f ms, %.3f mJ)",
                     nt, best ? "unfused" : "fused", r[best].seconds * 1e3, r[best].joules * 1e3,
                     best ? "fused" : "unfused", r[!best].seconds * 1e3, r[!best].joules * 1e3);
    }
    for (size_t i = 0; st == ERG_OK && i < g[best].n_nodes; i++)
        if (!erg_op_is_view(g[best].nodes[i].op))
            used[assign[best][i]] = true;
    for (int v = 0; v < 2; v++) {
        erg_free(&rt->alloc, assign[v]);
        erg_graph_free(&g[v]);
    }
    return st;
}

/* Marks the devices the step graphs' placements use (every calibrated
 * device under the interleave hook). */
static erg_status plan(erg_session *s, bool *used, erg_diag *diag) {
    /* An NPU's op set is partial: it is opened to be asked about each node. */
    erg_runtime *rt = s->model->rt;
    for (size_t i = 0; i < s->sched->n_costs; i++) {
        erg_rt_device *d;
        if (rt->devices[i].info.kind == ERG_DEVICE_NPU && s->sched->costs[i].n_rows > 0 &&
            !inexact(s, &rt->devices[i]))
            ERG_RETURN_IF_ERROR(erg_rt_device_acquire(rt, rt->devices[i].info.name, &d, diag));
    }
    if (forced_interleave()) {
        for (size_t i = 0; i < s->sched->n_costs; i++)
            used[i] = s->sched->costs[i].n_rows > 0 && !inexact(s, &rt->devices[i]);
        return ERG_OK;
    }
    /* Decode, a short prefill and a full batch: the devices any of them
     * uses become targets (steps of other sizes are placed among them). */
    s->sched->n_fusion = 0;
    ERG_RETURN_IF_ERROR(decide_fusion(s, 1, used, diag));
    uint32_t pre = s->n_batch < PLAN_PREFILL ? s->n_batch : PLAN_PREFILL;
    ERG_RETURN_IF_ERROR(decide_fusion(s, pre, used, diag));
    return s->n_batch > pre ? decide_fusion(s, s->n_batch, used, diag) : ERG_OK;
}

static bool any_cached(const erg_calib_outcome *outcome, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (outcome[i] == ERG_CALIB_CACHED)
            return true;
    return false;
}

/* Puts the KV cache in memory of one target that every other target can
 * use: tries each as the home (a Vulkan device uses only its own memory). */
static erg_status place_memory(erg_session *s, erg_dtype kv_dtype, erg_diag *diag) {
    erg_status st = ERG_UNSUPPORTED;
    for (size_t h = 0; h < s->n_targets; h++) {
        s->device = s->targets[h].device;
        s->exec = s->targets[h].exec;
        st = erg_session_alloc_kv(s, kv_dtype, diag);
        if (st == ERG_OK)
            st = erg_session_register(s, s->kv_buffer, s->kv_bytes, diag);
        if (st == ERG_OK || st != ERG_UNSUPPORTED) /* only an unusable home moves it */
            return st;
        s->device->backend->host_free(s->device->open, s->kv_buffer);
        s->kv_buffer = NULL;
    }
    return st;
}

erg_status erg_session_auto_create(erg_session *s, const erg_session_options *o,
                                   erg_dtype kv_dtype, erg_diag *diag) {
    erg_runtime *rt = s->model->rt;
    s->sched = erg_calloc(&rt->alloc, 1, sizeof *s->sched);
    if (!s->sched)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "session");
    erg_session_auto *a = s->sched;
    a->forced_fusion = -1;
    a->kv_dtype = kv_dtype;
    ERG_RETURN_IF_ERROR(read_policy(o, &a->goal, diag));
    a->weight_bytes = matmul_weight_bytes(s->model);
    pthread_mutex_lock(&s->model->lock);
    a->extra_handover_s = s->model->auto_extra_handover_s;
    pthread_mutex_unlock(&s->model->lock);
    size_t n = rt->n_devices < ERG_PART_MAX_DEVICES ? rt->n_devices : ERG_PART_MAX_DEVICES;
    a->n_costs = n;
    erg_calib_outcome outcome[ERG_PART_MAX_DEVICES];
    ERG_RETURN_IF_ERROR(
        erg_rt_calibration(s->model, s->reference_math, NULL, a->costs, outcome, n, diag));
    bool used[ERG_PART_MAX_DEVICES] = {false};
    erg_status st = plan(s, used, diag);
    if (st == ERG_UNSUPPORTED && any_cached(outcome, n)) {
        /* Costs cached by an erg whose graphs had other ops (same version,
         * other build): stale, so measured again. */
        ERG_LOGW(&rt->log, "calibration cache does not cover this graph (%s); calibrating again",
                 diag->msg);
        bool all[ERG_PART_MAX_DEVICES];
        for (size_t i = 0; i < n; i++) {
            all[i] = true;
            used[i] = false;
        }
        erg_calib_request req = {.recalibrate = all};
        ERG_RETURN_IF_ERROR(
            erg_rt_calibration(s->model, s->reference_math, &req, a->costs, outcome, n, diag));
        st = plan(s, used, diag);
    }
    ERG_RETURN_IF_ERROR(st);
    /* The targets: the devices the placement uses, their costs in order. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!used[i]) {
            erg_device_costs_free(&a->costs[i], &rt->alloc);
            continue;
        }
        erg_device_costs c = a->costs[i];
        a->costs[i] = (erg_device_costs){0};
        a->costs[k] = c;
        erg_rt_device *d;
        ERG_RETURN_IF_ERROR(erg_rt_device_acquire(rt, rt->devices[i].info.name, &d, diag));
        ERG_RETURN_IF_ERROR(erg_session_add_target(s, d, diag));
        k++;
    }
    a->n_costs = k;
    const char *inject = getenv("ERG_SCHED_FAIL");
    if (inject && *inject) {
        snprintf(a->inject_device, sizeof a->inject_device, "%s", inject);
        char *colon = strrchr(a->inject_device, ':');
        /* "vulkan:0" names a device; "vulkan:0:3" adds the use that fails. */
        a->inject_countdown = 1;
        if (colon && strchr(a->inject_device, ':') != colon) {
            a->inject_countdown = strtol(colon + 1, NULL, 10);
            *colon = '\0';
        }
    }
    if (k == 0)
        return erg_fail(diag, ERG_UNSUPPORTED, "auto: no device could be calibrated");
    return place_memory(s, kv_dtype, diag);
}

void erg_session_auto_free(erg_session *s) {
    if (!s->sched)
        return;
    const erg_allocator *a = &s->model->rt->alloc;
    for (size_t i = 0; i < ERG_PART_MAX_DEVICES; i++)
        erg_device_costs_free(&s->sched->costs[i], a);
    for (int p = 0; p < ERG_PROFILE_PHASES; p++)
        erg_free(a, s->sched->phase[p].assign);
    erg_free(a, s->sched);
    s->sched = NULL;
}

/* The graph's structure: its ops in order, and for prefill its tokens. */
static uint64_t structure_of(const erg_graph *g, uint32_t nt) {
    uint64_t h = erg_fnv1a64(&nt, sizeof nt, ERG_FNV1A64_SEED);
    for (size_t i = 0; i < g->n_nodes; i++) {
        int32_t op = (int32_t)g->nodes[i].op;
        h = erg_fnv1a64(&op, sizeof op, h);
    }
    return h | 1;
}

/* The partition in words: per device, its nodes per op ("npu-sim:2:
 * MATMUL x16; cpu: ADD x8 ..."). */
static void describe(const erg_session *s, const erg_graph *g, const uint8_t *assign, char *out,
                     size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t t = 0; t < s->n_targets && len < cap; t++) {
        uint32_t count[ERG_OP_COUNT] = {0}, total = 0;
        for (size_t i = 0; i < g->n_nodes; i++)
            if (!erg_op_is_view(g->nodes[i].op) && assign[i] == t) {
                count[g->nodes[i].op]++;
                total++;
            }
        if (!total)
            continue;
        int w = snprintf(out + len, cap - len, "%s%s:", len ? "; " : "",
                         s->targets[t].device->info.name);
        for (int op = 0; op < ERG_OP_COUNT && w > 0 && len + (size_t)w < cap; op++)
            if (count[op])
                w += snprintf(out + len + w, cap - len - w, " %s x%u", erg_op_name((erg_op)op),
                              count[op]);
        len += w > 0 ? (size_t)w : 0;
    }
}

erg_status erg_session_auto_assign(erg_session *s, const erg_graph *g, uint32_t nt,
                                   const uint8_t **assign, erg_diag *diag) {
    erg_session_auto *a = s->sched;
    erg_profile_phase phase = nt > 1 ? ERG_PROFILE_PREFILL : ERG_PROFILE_DECODE;
    erg_auto_phase *ph = &a->phase[phase];
    uint64_t structure = structure_of(g, phase == ERG_PROFILE_PREFILL ? nt : 1);
    if (ph->structure != structure) {
        const erg_allocator *al = &s->model->rt->alloc;
        if (!erg_grow_array(al, (void **)&ph->assign, 1, &ph->cap, g->n_nodes + 1))
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "placement of %zu nodes", g->n_nodes);
        ph->structure = 0;
        if (forced_interleave()) {
            interleave(s, g, ph->assign);
            ph->result = (erg_part_result){0};
        } else {
            erg_auto_device devs[ERG_PART_MAX_DEVICES];
            size_t n = auto_devices(s, devs);
            double t0 = erg_time_s();
            a->placed_with_s = a->extra_handover_s;
            ERG_RETURN_IF_ERROR(erg_auto_place(g, phase, devs, n, a->weight_bytes, &a->goal, al,
                                               ph->assign, &ph->result, diag));
            char parts[512];
            describe(s, g, ph->assign, parts, sizeof parts);
            ERG_LOGI(&s->model->rt->log,
                     "auto: %s graph of %zu nodes (%u tokens) placed in %.2f ms (%s, %zu labels); "
                     "predicted %.3f ms, %.3f mJ; %s",
                     erg_profile_phase_name(phase), g->n_nodes, nt, (erg_time_s() - t0) * 1e3,
                     ph->result.exact ? "exact" : "label budget reached", ph->result.n_labels,
                     ph->result.seconds * 1e3, ph->result.joules * 1e3, parts);
        }
        ph->structure = structure;
    }
    s->stats.predicted_seconds += ph->result.seconds;
    s->stats.predicted_joules += ph->result.joules;
    *assign = ph->assign;
    return ERG_OK;
}

erg_status erg_session_auto_injected_failure(erg_session *s, const erg_graph *g,
                                             const uint8_t *assign, uint8_t *failed,
                                             erg_diag *diag) {
    erg_session_auto *a = s->sched;
    if (!a->inject_device[0])
        return ERG_OK;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_rt_device *d = s->targets[assign[i]].device;
        if (erg_op_is_view(g->nodes[i].op) || strcmp(d->info.name, a->inject_device) != 0)
            continue;
        if (--a->inject_countdown > 0)
            return ERG_OK;
        a->inject_device[0] = '\0';
        *failed = assign[i];
        return erg_fail(diag, ERG_DEVICE, "%s: injected failure (ERG_SCHED_FAIL)", d->info.name);
    }
    return ERG_OK;
}

erg_status erg_session_auto_drop(erg_session *s, uint8_t target, erg_diag *diag) {
    erg_session_auto *a = s->sched;
    const char *name = s->targets[target].device->info.name;
    a->failed[target] = true;
    s->stats.n_devices_failed++;
    for (int p = 0; p < ERG_PROFILE_PHASES; p++)
        a->phase[p].structure = 0;
    bool left = false;
    for (size_t i = 0; i < a->n_costs; i++)
        left |= !a->failed[i];
    if (!left)
        return erg_fail(diag, ERG_DEVICE, "auto: %s failed and no other device is left: %s", name,
                        diag->msg);
    ERG_LOGW(&s->model->rt->log, "auto: %s failed (%s); its nodes go to the other devices", name,
             diag->msg);
    return ERG_OK;
}

void erg_session_auto_observe(erg_session *s, double predicted_s, double wall_s,
                              uint32_t n_subgraphs) {
    erg_session_auto *a = s->sched;
    if (n_subgraphs < 2 || forced_interleave())
        return;
    /* A simulated device's host wall time is the simulator's: the wall
     * says nothing of its handovers. */
    for (size_t i = 0; i < s->n_targets; i++)
        if (s->targets[i].device->info.simulated)
            return;
    /* What the prediction missed, per handover, averaged with what was
     * learned before. */
    double seen = fmax(0, wall_s - predicted_s) / (double)(n_subgraphs - 1);
    a->extra_handover_s = 0.5 * (a->extra_handover_s + seen);
    pthread_mutex_lock(&s->model->lock);
    s->model->auto_extra_handover_s = a->extra_handover_s;
    pthread_mutex_unlock(&s->model->lock);
    if (fabs(a->extra_handover_s - a->placed_with_s) > 0.2 * fmax(a->placed_with_s, 1e-6)) {
        ERG_LOGI(&s->model->rt->log,
                 "auto: handovers cost %.1f us more than calibrated; placing again",
                 a->extra_handover_s * 1e6);
        for (int p = 0; p < ERG_PROFILE_PHASES; p++)
            a->phase[p].structure = 0;
    }
}
