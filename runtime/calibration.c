/* Calibration for device "auto": each device's costs measured on the
 * model's own step graphs, within a time budget, and cached per device
 * identity (scheduler/calib_cache.c). */
#include "runtime/internal.h"

#include "hal/cache_dir.h"
#include "hal/energy/power_profile.h"
#include "hal/timer.h"
#include "scheduler/calib_cache.h"
#include "scheduler/placement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_N_CTX 80
#define CALIB_PREFILL 16   /* tokens of the calibration prefills: a short one */
#define CALIB_PREFILL_LONG 64 /* and a long one (a matmul's rate depends on its rows) */
#define COPY_PROBE_BYTES (8u << 20)
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
 * the least host overhead per node seen (wall time less node times);
 * *busy: the sum of the node times. */
static erg_status record(erg_session *cs, erg_device_costs *c, erg_profile_phase phase,
                         double *overhead, double *busy, erg_diag *diag) {
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
    *busy = sum;
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
                              double deadline, each_totals *tot, bool *cut, erg_diag *diag) {
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
        /* A simulator runs a prefill's nodes alone slowly: the deadline is
         * checked between them too. */
        if (erg_time_s() > deadline) {
            *cut = true;
            return ERG_OK;
        }
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

/* When a device's runs stop: once past `at` (INFINITY: never), except that
 * with until_both the device first runs a prefill and a decode step (the
 * first device calibrated, so that a short budget still leaves a device
 * with costs for both phases). */
typedef struct calib_deadline {
    double at;
    bool until_both;
} calib_deadline;

/* Calibration of one device on the model's own step graphs: prefills of
 * CALIB_PREFILL and CALIB_PREFILL_LONG tokens, each followed by four
 * decode steps, then the prefills again. whole: the
 * device runs every node (strict) and times them in one run; else node by
 * node (record_each). *cut is set when the deadline stopped the runs. */
static erg_status calibrate_run(erg_model *m, bool reference_math, erg_rt_device *d, bool whole,
                                bool no_fusion, const calib_deadline *dl, erg_device_costs *c,
                                bool *cut, erg_diag *diag) {
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
    /* The cheap runs first, so that a device the budget stops has costs
     * for both phases; decode at two KV lengths. Each prefill twice: a
     * shape keeps its least time, so one hiccup on a busy host does not
     * stay in the costs (decode's matmuls run eight times). */
    static const uint32_t runs[] = {CALIB_PREFILL, 1, 1, 1, 1, CALIB_PREFILL_LONG, 1, 1, 1, 1,
                                    CALIB_PREFILL, CALIB_PREFILL_LONG};
    bool ran[ERG_PROFILE_PHASES] = {false, false};
    /* A run is not started when it would end past the deadline, by the
     * last run of its phase (prefill: per token): its node times where the
     * device runs every node, which leave out one-time work such as a
     * first run's kernel builds; else its wall time. */
    double per_token[ERG_PROFILE_PHASES] = {0, 0};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0] && st == ERG_OK; r++) {
        erg_profile_phase phase = runs[r] > 1 ? ERG_PROFILE_PREFILL : ERG_PROFILE_DECODE;
        double t0 = erg_time_s();
        if (t0 + per_token[phase] * runs[r] > dl->at && !(dl->until_both && !(ran[0] && ran[1]))) {
            *cut = true;
            break;
        }
        if (phase == ERG_PROFILE_PREFILL)
            erg_session_reset(cs);
        st = erg_session_eval(cs, phase == ERG_PROFILE_PREFILL ? tokens : &tokens[r], runs[r],
                              ERG_LOGITS_LAST, logits, nv);
        double busy = erg_time_s() - t0;
        if (st == ERG_OK)
            st = whole ? record(cs, c, phase, phase == ERG_PROFILE_DECODE ? &overhead : NULL,
                                &busy, diag)
                       : record_each(cs, c, phase, dl->until_both ? INFINITY : dl->at, &tot,
                                     cut, diag);
        ran[phase] = true;
        per_token[phase] = busy / runs[r];
        if (*cut)
            break;
    }
    if (st == ERG_OK && whole && (ran[0] || ran[1]))
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
 * device without fused kernels (an NPU); skipped (cut) past the deadline. */
static erg_status calibrate(erg_model *m, bool reference_math, erg_rt_device *d, bool unfused_too,
                            const calib_deadline *dl, erg_device_costs *c, bool *cut,
                            erg_diag *diag) {
    erg_status st = calibrate_run(m, reference_math, d, true, false, dl, c, cut, diag);
    if (st == ERG_OK && unfused_too && (*cut || erg_time_s() > dl->at)) {
        *cut = true;
    } else if (st == ERG_OK && unfused_too) {
        erg_device_costs fused = *c; /* its overheads are the fused graph's */
        calib_deadline then = {dl->at, false};
        st = calibrate_run(m, reference_math, d, true, true, &then, c, cut, diag);
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
    return calibrate_run(m, reference_math, d, false, false, dl, c, cut, diag);
}

/* Whether the costs cover both phases: enough for a placement. */
static bool both_phases(const erg_device_costs *c) {
    bool seen[ERG_PROFILE_PHASES] = {false, false};
    for (size_t k = 0; k < c->n_rows; k++)
        seen[c->rows[k].phase] = true;
    return seen[ERG_PROFILE_PREFILL] && seen[ERG_PROFILE_DECODE];
}

/* Measures devices[i] into c (whose rows are empty) by the deadline: its
 * outcome, logged; a device the budget stopped keeps what it measured. */
static erg_status measure(erg_model *m, bool reference_math, size_t i, bool npu,
                          const calib_deadline *dl, double *copy_rate, erg_device_costs *c,
                          erg_calib_outcome *outcome, erg_diag *diag) {
    erg_runtime *rt = m->rt;
    erg_rt_device *d = &rt->devices[i];
    double t0 = erg_time_s();
    c->partial = false;
    c->partial_s = 0;
    c->handover_s = 0;
    ERG_RETURN_IF_ERROR(busy_watts(rt, d, &c->busy_watts, diag));
    c->simulated = d->info.simulated;
    c->shares_host = d->info.kind == ERG_DEVICE_CPU ||
                     (d->info.kind == ERG_DEVICE_OTHER && d->info.unified_memory);
    if (!d->info.unified_memory && *copy_rate < 0)
        ERG_RETURN_IF_ERROR(copy_seconds_per_byte(&rt->alloc, copy_rate, diag));
    c->copy_s_per_byte = d->info.unified_memory ? 0 : *copy_rate;
    erg_diag why = {{0}};
    bool cut = false;
    erg_status st = calibrate(m, reference_math, d, npu, dl, c, &cut, &why);
    if (st == ERG_OUT_OF_MEMORY) {
        *diag = why;
        return st;
    }
    if (st != ERG_OK) {
        *outcome = ERG_CALIB_LEFT_OUT;
        ERG_LOGI(&rt->log, "auto: %s is left out: %s", d->info.name, why.msg);
        erg_device_costs_free(c, &rt->alloc);
    } else if (cut && !c->n_rows) {
        *outcome = ERG_CALIB_OVER_BUDGET;
        ERG_LOGI(&rt->log,
                 "auto: %s is left out: the calibration budget was spent before it measured "
                 "anything (%.3f s after it started)",
                 d->info.name, erg_time_s() - t0);
    } else if (cut) {
        *outcome = ERG_CALIB_PARTIAL;
        c->partial = true;
        c->partial_s = fmax(0, dl->at - t0);
        ERG_LOGI(&rt->log,
                 "auto: calibrated %s in part in %.3f s (%zu shapes): the calibration budget "
                 "(ERG_CALIB_BUDGET_MS) was spent",
                 d->info.name, erg_time_s() - t0, c->n_rows);
    } else {
        *outcome = ERG_CALIB_MEASURED;
        ERG_LOGI(&rt->log, "auto: calibrated %s in %.3f s (%zu shapes)", d->info.name,
                 erg_time_s() - t0, c->n_rows);
    }
    return ERG_OK;
}

/* Costs of devices[i] when none are cached, when asked to redo them, or
 * when they were cut short and 1.5 times the time they had is left (a
 * session with the same budget does not spend it again for the same
 * result): calibrated now, in order (the CPU, devices[0], first), each
 * within its share of the budget. *changed: something was measured, so
 * the cache is written. */
static erg_status calibrate_missing(erg_model *m, bool reference_math, const erg_calib_request *req,
                                    erg_device_costs *costs, bool *found, size_t n,
                                    erg_calib_outcome *outcome, bool *changed, erg_diag *diag) {
    erg_runtime *rt = m->rt;
    double copy_rate = -1, t_begin = erg_time_s();
    calib_deadline dl = {req && req->budget_s > 0 ? t_begin + req->budget_s : INFINITY, true};
    bool cut_short = req && req->cut_short;
    size_t total = 0, done = 0;
    bool npu = false;
    for (size_t i = 0; i < n; i++) {
        total += !found[i];
        npu |= rt->devices[i].info.kind == ERG_DEVICE_NPU;
        dl.until_both &= !(found[i] && both_phases(&costs[i]));
    }
    for (size_t i = 0; i < n; i++) {
        erg_device_costs *c = &costs[i];
        bool redo =
            found[i] && c->partial && cut_short && dl.at - erg_time_s() > 1.5 * c->partial_s;
        if (found[i] && !redo) {
            /* A device cached without costs could not run the whole graph. */
            outcome[i] = c->n_rows ? ERG_CALIB_CACHED : ERG_CALIB_LEFT_OUT;
            continue;
        }
        const char *name = rt->devices[i].info.name;
        if (req && req->progress)
            req->progress(req->user, done++, total, name);
        if (!redo && erg_time_s() > dl.at && !dl.until_both) {
            outcome[i] = ERG_CALIB_OVER_BUDGET;
            erg_device_costs_free(c, &rt->alloc);
            ERG_LOGI(&rt->log, "auto: %s is left out: the calibration budget (%.0f ms) was spent",
                     name, req->budget_s * 1e3);
            continue;
        }
        /* Cut short before: what it had stays unless this run measures something. */
        erg_device_costs before = *c;
        c->rows = NULL;
        c->n_rows = c->cap_rows = 0;
        if (redo)
            ERG_LOGI(&rt->log, "auto: %s was calibrated in part; measuring it again", name);
        /* A fair share of what is left, so one slow device (lavapipe)
         * cannot spend the budget of those after it; what it leaves goes
         * to them. */
        size_t left = 0;
        for (size_t j = i; j < n; j++)
            left += !found[j] || costs[j].partial;
        double now = erg_time_s();
        calib_deadline mine = {cut_short ? now + (dl.at - now) / (double)(left ? left : 1) : INFINITY,
                               dl.until_both};
        erg_status st = measure(m, reference_math, i, npu, &mine, &copy_rate, c, &outcome[i], diag);
        if (st == ERG_OK && redo && outcome[i] == ERG_CALIB_OVER_BUDGET) {
            erg_device_costs_free(c, &rt->alloc);
            *c = before;
            outcome[i] = ERG_CALIB_CACHED;
        } else {
            erg_device_costs_free(&before, &rt->alloc);
        }
        ERG_RETURN_IF_ERROR(st);
        *changed |= outcome[i] != ERG_CALIB_CACHED;
        dl.until_both &= !both_phases(c);
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
    for (size_t i = 0; i < n; i++)
        if (found[i] && req && req->recalibrate && req->recalibrate[i]) {
            erg_device_costs_free(&costs[i], &rt->alloc);
            found[i] = false;
        }
    bool changed = false;
    ERG_RETURN_IF_ERROR(
        calibrate_missing(m, reference_math, req, costs, found, n, outcome, &changed, diag));
    /* A device the budget stopped before it measured anything has no
     * entry, so the next run measures it; one it stopped later is saved
     * flagged partial. */
    erg_device_costs keep[ERG_PART_MAX_DEVICES];
    size_t n_keep = 0;
    for (size_t i = 0; i < n; i++)
        if (outcome[i] != ERG_CALIB_OVER_BUDGET)
            keep[n_keep++] = costs[i];
    erg_diag why;
    if (changed && have_path && erg_calib_cache_save(path, keep, n_keep, &why) != ERG_OK)
        ERG_LOGW(&rt->log, "calibration not cached: %s", why.msg);
    return ERG_OK;
}

erg_status erg_rt_calib_budget(double *budget_s, erg_diag *diag) {
    const char *env = getenv("ERG_CALIB_BUDGET_MS");
    *budget_s = ERG_CALIB_BUDGET_DEFAULT_MS / 1e3;
    if (!env || !*env)
        return ERG_OK;
    long long ms = strtoll(env, NULL, 10);
    /* Digits only: "-5", "20s" and "1e3" are refused rather than guessed at. */
    if (env[strspn(env, "0123456789")] != '\0' || ms > 24LL * 3600 * 1000)
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "ERG_CALIB_BUDGET_MS is '%s'; it takes whole milliseconds from 0 (no "
                        "limit) to 86400000",
                        env);
    *budget_s = (double)ms / 1e3;
    return ERG_OK;
}

void erg_rt_calibration_update(erg_model *m, const erg_device_costs *costs, size_t n) {
    erg_runtime *rt = m->rt;
    char path[640];
    erg_diag why;
    if (cache_path(m, path, sizeof path, &why) != ERG_OK)
        return;
    size_t nd = rt->n_devices < ERG_PART_MAX_DEVICES ? rt->n_devices : ERG_PART_MAX_DEVICES;
    erg_device_costs cached[ERG_PART_MAX_DEVICES], keep[ERG_PART_MAX_DEVICES];
    bool found[ERG_PART_MAX_DEVICES] = {false};
    memset(cached, 0, sizeof cached);
    for (size_t i = 0; i < nd; i++) {
        snprintf(cached[i].device, sizeof cached[i].device, "%s", rt->devices[i].info.name);
        identity_of(&rt->devices[i], cached[i].identity, sizeof cached[i].identity);
    }
    /* One writer at a time in this process: each reads what the last wrote. */
    pthread_mutex_lock(&m->lock);
    erg_status st = erg_calib_cache_load(path, &rt->alloc, cached, found, nd, &why);
    size_t n_keep = 0;
    for (size_t i = 0; st == ERG_OK && i < nd; i++) {
        const erg_device_costs *use = found[i] ? &cached[i] : NULL;
        for (size_t k = 0; k < n; k++)
            if (strcmp(costs[k].identity, cached[i].identity) == 0)
                use = &costs[k];
        if (use)
            keep[n_keep++] = *use;
    }
    if (st == ERG_OK)
        st = erg_calib_cache_save(path, keep, n_keep, &why);
    pthread_mutex_unlock(&m->lock);
    if (st != ERG_OK)
        ERG_LOGW(&rt->log, "refined costs not cached: %s", why.msg);
    for (size_t i = 0; i < nd; i++)
        erg_device_costs_free(&cached[i], &rt->alloc);
}
