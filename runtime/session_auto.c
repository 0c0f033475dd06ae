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

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_N_CTX 64
#define CALIB_PREFILL 16   /* tokens of the calibration prefill */
#define CALIB_DECODE_REPS 3
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

/* Calibration of one device on the model's own step graphs: a prefill of
 * CALIB_PREFILL tokens and CALIB_DECODE_REPS decode steps, each node timed
 * by the device; the device must run every node (strict). */
static erg_status calibrate(erg_model *m, bool reference_math, erg_rt_device *d,
                            erg_device_costs *c, erg_diag *diag) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = d->info.name;
    so.n_ctx = CALIB_N_CTX;
    so.n_batch = CALIB_PREFILL;
    so.strict_device = true;
    so.reference_math = reference_math;
    erg_session *cs;
    erg_status st = erg_session_create(m, &so, &cs);
    if (st != ERG_OK)
        return erg_fail(diag, st, "%s", erg_model_last_error(m));
    uint32_t nv = m->data->hp.n_vocab;
    int32_t tokens[CALIB_PREFILL];
    for (uint32_t i = 0; i < CALIB_PREFILL; i++)
        tokens[i] = (int32_t)((i * 7919u + 1) % nv);
    float *logits = erg_malloc(&m->rt->alloc, nv * sizeof *logits);
    double overhead = INFINITY;
    st = logits ? erg_session_eval(cs, tokens, CALIB_PREFILL, ERG_LOGITS_LAST, logits, nv)
                : erg_fail(diag, ERG_OUT_OF_MEMORY, "logits");
    if (st == ERG_OK)
        st = record(cs, c, ERG_PROFILE_PREFILL, NULL, diag);
    for (int r = 0; r < CALIB_DECODE_REPS && st == ERG_OK; r++) {
        st = erg_session_eval(cs, &tokens[r], 1, ERG_LOGITS_LAST, logits, nv);
        if (st == ERG_OK)
            st = record(cs, c, ERG_PROFILE_DECODE, &overhead, diag);
    }
    if (st == ERG_OK)
        st = measure_handover(cs, &c->handover_s, diag);
    if (st != ERG_OK && !diag->msg[0])
        erg_fail(diag, st, "%s", erg_session_last_error(cs));
    erg_free(&m->rt->alloc, logits);
    erg_session_destroy(cs);
    c->node_overhead_s = isfinite(overhead) ? overhead : 0;
    erg_cost_finish(c);
    return st;
}

/* Costs of devices[i] when none are cached, or when asked to redo them:
 * calibrated now, within the budget. */
static erg_status calibrate_missing(erg_model *m, bool reference_math, const erg_calib_request *req,
                                    erg_device_costs *costs, bool *found, size_t n,
                                    erg_calib_outcome *outcome, erg_diag *diag) {
    erg_runtime *rt = m->rt;
    double copy_rate = -1, t_begin = erg_time_s();
    size_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        total += !found[i];
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
        erg_status st = calibrate(m, reference_math, d, c, &why);
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

bool erg_session_auto_runs(void *session, const erg_graph *g, const erg_node *n) {
    (void)g;
    const erg_session *s = session;
    for (size_t i = 0; i < s->sched->n_costs; i++)
        if (erg_cost_knows_op(&s->sched->costs[i], n->op))
            return true;
    return false;
}

static uint64_t matmul_weight_bytes(const erg_model *m) {
    uint64_t sum = 0, n = erg_gguf_tensor_count(m->data->gguf);
    for (uint64_t i = 0; i < n; i++)
        if (m->weight_descs[i].matmul)
            sum += (uint64_t)m->weight_descs[i].row_bytes * (uint64_t)m->weight_descs[i].ne[1];
    return sum;
}

/* The devices of the placement's targets, from the costs. */
static size_t auto_devices(const erg_session *s, erg_auto_device *out) {
    for (size_t i = 0; i < s->sched->n_costs; i++) {
        const erg_rt_device *d = s->n_targets ? s->targets[i].device : &s->model->rt->devices[i];
        out[i] = (erg_auto_device){&s->sched->costs[i],
                                   s->sched->costs[i].n_rows > 0 && !s->sched->failed[i],
                                   d->info.kind == ERG_DEVICE_CPU ? 0 : d->info.memory_bytes,
                                   s->sched->extra_handover_s};
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
                if (!s->sched->failed[t] && erg_cost_knows_op(&s->sched->costs[t], node->op)) {
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
 * is only addressed, never touched, and marks the devices it uses. */
static erg_status plan_phase(erg_session *s, uint32_t nt, erg_dtype kv_dtype, bool *used,
                             erg_diag *diag) {
    erg_runtime *rt = s->model->rt;
    const erg_hparams *hp = &s->model->data->hp;
    size_t kb = erg_kv_layer_bytes(hp, kv_dtype, s->n_ctx, false);
    size_t vb = erg_kv_layer_bytes(hp, kv_dtype, s->n_ctx, true);
    erg_kv_cache kv = {.dtype = kv_dtype, .n_ctx = s->n_ctx};
    kv.k = erg_calloc(&rt->alloc, hp->n_layer, sizeof(void *));
    kv.v = erg_calloc(&rt->alloc, hp->n_layer, sizeof(void *));
    char *buf = erg_malloc(&rt->alloc, (kb + vb) * hp->n_layer);
    erg_graph g;
    erg_graph_init(&g, &rt->alloc);
    uint8_t *assign = NULL;
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
        st = erg_model_build_graph(s->model->data, &bp, &g, &br, diag);
    if (st == ERG_OK)
        st = erg_graph_validate(&g, diag);
    if (st == ERG_OK && !s->no_fusion)
        st = erg_graph_fuse(&g, erg_session_auto_runs, s, &fs, diag);
    assign = st == ERG_OK ? erg_malloc(&rt->alloc, g.n_nodes + 1) : NULL;
    if (st == ERG_OK && !assign)
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "planning the placement");
    erg_auto_device devs[ERG_PART_MAX_DEVICES];
    size_t n = auto_devices(s, devs);
    erg_part_result r;
    if (st == ERG_OK)
        st = erg_auto_place(&g, nt > 1 ? ERG_PROFILE_PREFILL : ERG_PROFILE_DECODE, devs, n,
                            s->sched->weight_bytes, &s->sched->goal, &rt->alloc, assign, &r, diag);
    for (size_t i = 0; st == ERG_OK && i < g.n_nodes; i++)
        if (!erg_op_is_view(g.nodes[i].op))
            used[assign[i]] = true;
    erg_free(&rt->alloc, assign);
    erg_graph_free(&g);
    erg_free(&rt->alloc, buf);
    erg_free(&rt->alloc, kv.k);
    erg_free(&rt->alloc, kv.v);
    return st;
}

/* Marks the devices the step graphs' placements use (every calibrated
 * device under the interleave hook). */
static erg_status plan(erg_session *s, erg_dtype kv_dtype, bool *used, erg_diag *diag) {
    if (forced_interleave()) {
        for (size_t i = 0; i < s->sched->n_costs; i++)
            used[i] = s->sched->costs[i].n_rows > 0;
        return ERG_OK;
    }
    ERG_RETURN_IF_ERROR(plan_phase(s, 1, kv_dtype, used, diag));
    uint32_t pre = s->n_batch < PLAN_PREFILL ? s->n_batch : PLAN_PREFILL;
    return plan_phase(s, pre, kv_dtype, used, diag);
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
    erg_status st = plan(s, kv_dtype, used, diag);
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
        st = plan(s, kv_dtype, used, diag);
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
            ERG_LOGI(&s->model->rt->log,
                     "auto: %s graph of %zu nodes placed in %.2f ms (%s, %zu labels); predicted "
                     "%.3f ms, %.3f mJ",
                     erg_profile_phase_name(phase), g->n_nodes, (erg_time_s() - t0) * 1e3,
                     ph->result.exact ? "exact" : "label budget reached", ph->result.n_labels,
                     ph->result.seconds * 1e3, ph->result.joules * 1e3);
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
