/* Device "auto": each device's costs from calibration (cached), the step
 * graphs placed by cost, and the devices the placement uses opened as the
 * session's targets, sharing one memory for the KV cache and activations. */
#include "runtime/internal.h"

#include "graph/fuse.h"
#include "graph/validate.h"
#include "hal/cache_dir.h"
#include "hal/timer.h"
#include "scheduler/auto_place.h"
#include "scheduler/placement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_PREFILL 32    /* tokens of the prefill placed at create */

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
    double t0 = erg_time_s();
    erg_status st = decide_fusion(s, nt, used, &why);
    a->fusion_cost_s += erg_time_s() - t0; /* part of placing again (auto_refine.c) */
    if (st != ERG_OK) {
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
    /* The other variant's devices too where it is within ERG_AUTO_NEAR_TIE
     * of the best: refinement from real runs may come to prefer it
     * (auto_refine.c), and can only move work to devices the session
     * opened. */
    bool near = st == ERG_OK && placed[!best] &&
                objective(&a->goal, &r[!best]) <=
                    (1 + ERG_AUTO_NEAR_TIE) * objective(&a->goal, &r[best]);
    for (size_t i = 0; near && i < g[!best].n_nodes; i++)
        if (!erg_op_is_view(g[!best].nodes[i].op))
            used[assign[!best][i]] = true;
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
    double t_select = erg_time_s();
    erg_calib_outcome outcome[ERG_PART_MAX_DEVICES];
    erg_calib_request req = {.cut_short = true};
    ERG_RETURN_IF_ERROR(erg_rt_calib_budget(&req.budget_s, diag));
    ERG_RETURN_IF_ERROR(
        erg_rt_calibration(s->model, s->reference_math, &req, a->costs, outcome, n, diag));
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
        req.recalibrate = all;
        ERG_RETURN_IF_ERROR(
            erg_rt_calibration(s->model, s->reference_math, &req, a->costs, outcome, n, diag));
        st = plan(s, used, diag);
    }
    ERG_RETURN_IF_ERROR(st);
    s->stats.selection_seconds = erg_time_s() - t_select;
    for (size_t i = 0; i < n; i++)
        s->stats.selection_calibrated |=
            outcome[i] == ERG_CALIB_MEASURED || outcome[i] == ERG_CALIB_PARTIAL;
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
    ERG_RETURN_IF_ERROR(erg_auto_refine_begin(s, diag));
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
    erg_auto_refine_store(s);
    for (size_t i = 0; i < ERG_PART_MAX_DEVICES; i++)
        erg_device_costs_free(&s->sched->costs[i], a);
    for (int p = 0; p < ERG_PROFILE_PHASES; p++) {
        erg_free(a, s->sched->phase[p].assign);
        erg_free(a, s->sched->phase[p].slot_of);
        erg_free(a, s->sched->phase[p].slots);
    }
    erg_free(a, s->sched->node_s);
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
            ph->n_slots = 0;
        } else {
            erg_auto_device devs[ERG_PART_MAX_DEVICES];
            size_t n = auto_devices(s, devs);
            double t0 = erg_time_s();
            a->placed_with_s = a->extra_handover_s;
            ERG_RETURN_IF_ERROR(erg_auto_place(g, phase, devs, n, a->weight_bytes, &a->goal, al,
                                               ph->assign, &ph->result, diag));
            /* What placing the phase again costs: this and the fusion
             * decision made for its graph. */
            ph->place_cost_s = erg_time_s() - t0 + a->fusion_cost_s;
            ph->run_s = 0;
            a->fusion_cost_s = 0;
            char parts[512];
            describe(s, g, ph->assign, parts, sizeof parts);
            ERG_LOGI(&s->model->rt->log,
                     "auto: %s graph of %zu nodes (%u tokens) placed in %.2f ms (%s, %zu labels); "
                     "predicted %.3f ms, %.3f mJ; %s",
                     erg_profile_phase_name(phase), g->n_nodes, nt, (erg_time_s() - t0) * 1e3,
                     ph->result.exact ? "exact" : "label budget reached", ph->result.n_labels,
                     ph->result.seconds * 1e3, ph->result.joules * 1e3, parts);
            ERG_RETURN_IF_ERROR(erg_auto_refine_map(s, ph, g, phase, diag));
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

void erg_session_auto_observe(erg_session *s, const erg_graph *g, const uint8_t *assign,
                              const double *node_seconds, double wall_s,
                              const erg_exec_stats *es, uint32_t n_subgraphs) {
    erg_session_auto *a = s->sched;
    if (n_subgraphs < 2 || forced_interleave())
        return;
    /* The host's time beyond the nodes' own: the measured parts' wall (of a
     * partly simulated step, its wall less the time spent simulating, which
     * is no device's) less their nodes' times, against what calibration
     * puts there (each node's launch overhead, each subgraph's handover).
     * Node times themselves are refined per shape (auto_refine.c). */
    double beyond = es->simulated_seconds > 0 ? es->device_seconds : wall_s, expected = 0;
    for (size_t i = 0, prev = SIZE_MAX; i < g->n_nodes; i++) {
        if (erg_op_is_view(g->nodes[i].op))
            continue;
        const erg_device_costs *c = &a->costs[assign[i]];
        if (prev != SIZE_MAX && assign[i] != prev)
            expected += c->handover_s;
        prev = assign[i];
        if (s->targets[assign[i]].device->info.simulated)
            continue;
        if (isfinite(node_seconds[i]))
            beyond -= node_seconds[i];
        expected += c->node_overhead_s;
    }
    /* What calibration missed, per handover, averaged with what was
     * learned before. */
    double seen = fmax(0, beyond - expected) / (double)(n_subgraphs - 1);
    a->extra_handover_s = 0.5 * (a->extra_handover_s + seen);
    pthread_mutex_lock(&s->model->lock);
    s->model->auto_extra_handover_s = a->extra_handover_s;
    pthread_mutex_unlock(&s->model->lock);
    /* A phase is placed again where the change, over this step's
     * handovers, is more than ERG_AUTO_DRIFT of its predicted time, and
     * paced as refinement is: once its steps have run
     * ERG_AUTO_REPLACE_RATIO times what placing it took. */
    double change = fabs(a->extra_handover_s - a->placed_with_s) * (double)(n_subgraphs - 1);
    if (change > 0.2 * a->placed_with_s * (double)(n_subgraphs - 1)) {
        for (int p = 0; p < ERG_PROFILE_PHASES; p++) {
            erg_auto_phase *ph = &a->phase[p];
            if (!ph->structure || change <= ERG_AUTO_DRIFT * ph->result.seconds ||
                ph->run_s < ERG_AUTO_REPLACE_RATIO * ph->place_cost_s)
                continue;
            ERG_LOGI(&s->model->rt->log,
                     "auto: handovers cost %.1f us more than calibrated; placing %s again",
                     a->extra_handover_s * 1e6, erg_profile_phase_name((erg_profile_phase)p));
            ph->structure = 0;
        }
    }
}
