/* erg_session: a KV cache on one device, and the evaluation loop: build the
 * step's graph, validate it, plan its memory, run it on the device. */
#include "runtime/internal.h"

#include "graph/fuse.h"
#include "graph/poison.h"
#include "graph/validate.h"
#include "hal/timer.h"
#include "scheduler/auto_place.h"
#include "scheduler/multi_exec.h"
#include "scheduler/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_N_CTX 4096u
#define DEFAULT_N_BATCH 512u
#define ARENA_ALIGN 64

/* The KV cache in memory of the session's device. */
erg_status erg_session_alloc_kv(erg_session *s, erg_dtype dtype, erg_diag *diag) {
    const erg_hparams *hp = &s->model->data->hp;
    const erg_allocator *a = &s->model->rt->alloc;
    size_t kb = erg_kv_layer_bytes(hp, dtype, s->n_ctx, false);
    size_t vb = erg_kv_layer_bytes(hp, dtype, s->n_ctx, true);
    s->kv.dtype = dtype;
    s->kv.n_ctx = s->n_ctx;
    if (!s->kv.k)
        s->kv.k = erg_calloc(a, hp->n_layer, sizeof(void *));
    if (!s->kv.v)
        s->kv.v = erg_calloc(a, hp->n_layer, sizeof(void *));
    s->kv_bytes = (kb + vb) * hp->n_layer;
    /* Positions are written before they are read, so the cache needs no
     * clearing (and its pages stay untouched until used). */
    s->kv_buffer = s->device->backend->host_alloc(s->device->open, s->kv_bytes);
    if (!s->kv.k || !s->kv.v || !s->kv_buffer)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "KV cache of %.1f MiB (%u positions)",
                        (double)s->kv_bytes / 1048576.0, s->n_ctx);
    char *p = s->kv_buffer;
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        s->kv.k[l] = p;
        s->kv.v[l] = p + kb;
        p += kb + vb;
    }
    return ERG_OK;
}

/* A failed create explains itself through the model handle; sessions of one
 * model may be created from several threads, so the sentence is written
 * under the model's lock (and a successful create writes nothing). */
static erg_status create_failed(erg_model *m, erg_status st, const erg_diag *diag) {
    pthread_mutex_lock(&m->lock);
    erg_rt_set_error(m->last_error, st, diag);
    pthread_mutex_unlock(&m->lock);
    return st;
}

static erg_status check_options(const erg_session_options *o, erg_diag *diag) {
    if (o->kv_type != ERG_KV_DEFAULT && o->kv_type != ERG_KV_F16 && o->kv_type != ERG_KV_F32)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "kv_type %d is not F16 or F32",
                        (int)o->kv_type);
    if (o->n_ctx > (1u << 20))
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "n_ctx %u is above the limit of %u", o->n_ctx,
                        1u << 20);
    return ERG_OK;
}

erg_status erg_session_add_target(erg_session *s, erg_rt_device *dev, erg_diag *diag) {
    const erg_model_weights *w;
    ERG_RETURN_IF_ERROR(erg_rt_model_weights(s->model, dev, &w, diag));
    s->stats.weight_copy_bytes += w->bytes;
    s->stats.weight_prepare_seconds += w->seconds;
    erg_session_target *t = &s->targets[s->n_targets];
    erg_exec_options eo = {.reference_math = s->reference_math, .weights = w->weights};
    ERG_RETURN_IF_ERROR(dev->backend->exec_create(dev->open, &eo, &t->exec, diag));
    t->device = dev;
    s->n_targets++;
    return ERG_OK;
}

/* Only auto sessions share memory: an explicit device's CPU fallback reads
 * any host memory. */
erg_status erg_session_register(erg_session *s, void *ptr, size_t size, erg_diag *diag) {
    if (!s->sched)
        return ERG_OK;
    for (size_t i = 0; i < s->n_targets; i++) {
        erg_rt_device *d = s->targets[i].device;
        erg_status st = d == s->device ? ERG_OK : d->backend->host_register(d->open, ptr, size, diag);
        /* All or none: the ones registered before this one are undone. */
        while (st != ERG_OK && i-- > 0)
            if (s->targets[i].device != s->device)
                s->targets[i].device->backend->host_unregister(s->targets[i].device->open, ptr);
        if (st != ERG_OK)
            return st;
    }
    return ERG_OK;
}

void erg_session_unregister(erg_session *s, void *ptr) {
    if (!ptr || !s->sched)
        return;
    for (size_t i = 0; i < s->n_targets; i++) {
        erg_rt_device *d = s->targets[i].device;
        if (d != s->device)
            d->backend->host_unregister(d->open, ptr);
    }
}

static erg_status create_on_device(erg_session *s, const char *name, erg_dtype kv_dtype,
                                   erg_diag *diag) {
    ERG_RETURN_IF_ERROR(erg_rt_device_acquire(s->model->rt, name, &s->device, diag));
    ERG_RETURN_IF_ERROR(erg_session_alloc_kv(s, kv_dtype, diag));
    ERG_RETURN_IF_ERROR(erg_session_add_target(s, s->device, diag));
    s->exec = s->targets[0].exec;
    return ERG_OK;
}

erg_status erg_session_create(erg_model *model, const erg_session_options *options,
                              erg_session **out) {
    if (!out)
        return ERG_INVALID_ARGUMENT;
    *out = NULL;
    if (!model)
        return ERG_INVALID_ARGUMENT;
    erg_diag diag = {{0}};
    erg_session_options o;
    erg_status st = erg_rt_read_options(options, &o, sizeof o, "erg_session_options", &diag);
    if (st == ERG_OK)
        st = check_options(&o, &diag);
    if (st != ERG_OK)
        return create_failed(model, st, &diag);
    const erg_hparams *hp = &model->data->hp;
    erg_runtime *rt = model->rt;
    erg_session *s = erg_calloc(&rt->alloc, 1, sizeof *s);
    if (!s)
        return create_failed(model, erg_fail(&diag, ERG_OUT_OF_MEMORY, "session"), &diag);
    s->model = model;
    s->reference_math = o.reference_math;
    s->strict_device = o.strict_device;
    s->no_fusion = o.no_fusion;
    const char *poison = getenv("ERG_DEBUG_POISON");
    s->poison_freed = o.poison_freed || (poison && strcmp(poison, "1") == 0);
    s->n_ctx = o.n_ctx ? o.n_ctx : (hp->n_ctx_train < DEFAULT_N_CTX ? hp->n_ctx_train : DEFAULT_N_CTX);
    s->n_batch = o.n_batch ? o.n_batch : DEFAULT_N_BATCH;
    if (s->n_batch > s->n_ctx)
        s->n_batch = s->n_ctx;
    s->placed_nodes = erg_calloc(&rt->alloc, rt->n_devices, sizeof *s->placed_nodes);
    if (!s->placed_nodes) {
        erg_free(&rt->alloc, s);
        return create_failed(model, erg_fail(&diag, ERG_OUT_OF_MEMORY, "session"), &diag);
    }
    erg_graph_init(&s->graph, &rt->alloc);
    erg_memory_plan_init(&s->plan, &rt->alloc);
    s->stats.struct_size = sizeof s->stats;

    erg_dtype kv_dtype = o.kv_type == ERG_KV_F32 ? ERG_DT_F32 : ERG_DT_F16;
    const char *name = o.device && *o.device ? o.device : rt->default_device;
    if (strcmp(name, "auto") == 0)
        st = erg_session_auto_create(s, &o, kv_dtype, &diag);
    else
        st = create_on_device(s, name, kv_dtype, &diag);
    if (st != ERG_OK) {
        erg_session_destroy(s);
        return create_failed(model, st, &diag);
    }
    s->stats.kv_bytes = s->kv_bytes;
    ERG_LOGI(&rt->log, "session on %s: n_ctx %u, n_batch %u, KV %s %.1f MiB%s",
             erg_session_device(s), s->n_ctx, s->n_batch, erg_dtype_name(s->kv.dtype),
             (double)s->kv_bytes / 1048576.0, s->reference_math ? ", reference math" : "");
    *out = s;
    return ERG_OK;
}

void erg_session_destroy(erg_session *s) {
    if (!s)
        return;
    const erg_allocator *a = &s->model->rt->alloc;
    erg_session_unregister(s, s->kv_buffer);
    erg_session_unregister(s, s->arena);
    for (size_t i = 0; i < s->n_targets; i++)
        s->targets[i].device->backend->exec_free(s->targets[i].exec);
    erg_session_auto_free(s);
    erg_free(a, s->assign);
    erg_free(a, s->placed_nodes);
    if (s->device && s->device->open) {
        s->device->backend->host_free(s->device->open, s->kv_buffer);
        s->device->backend->host_free(s->device->open, s->arena);
    }
    erg_free(a, s->kv.k);
    erg_free(a, s->kv.v);
    erg_graph_free(&s->graph);
    erg_memory_plan_free(&s->plan);
    erg_free(a, s);
}

const char *erg_session_last_error(const erg_session *s) { return s ? s->last_error : ""; }

static erg_status ensure_arena(erg_session *s, size_t bytes, erg_diag *diag) {
    if (bytes <= s->arena_bytes)
        return ERG_OK;
    erg_rt_device *d = s->device;
    erg_session_unregister(s, s->arena);
    d->backend->host_free(d->open, s->arena);
    s->arena = d->backend->host_alloc(d->open, bytes);
    s->arena_bytes = s->arena ? bytes : 0;
    if (!s->arena)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "activation memory of %.1f MiB",
                        (double)bytes / 1048576.0);
    erg_status st = erg_session_register(s, s->arena, bytes, diag);
    if (st != ERG_OK) {
        d->backend->host_free(d->open, s->arena);
        s->arena = NULL;
        s->arena_bytes = 0;
    }
    return st;
}

/* The CPU executor that runs what the session's device cannot: targets[1].
 * The CPU reads the session's memory where it is. */
static erg_status ensure_fallback(erg_session *s, erg_diag *diag) {
    if (s->n_targets > 1)
        return ERG_OK;
    erg_rt_device *cpu;
    ERG_RETURN_IF_ERROR(erg_rt_device_acquire(s->model->rt, "cpu", &cpu, diag));
    double prep = s->stats.weight_prepare_seconds;
    uint64_t bytes = s->stats.weight_copy_bytes;
    ERG_RETURN_IF_ERROR(erg_session_add_target(s, cpu, diag));
    /* The stats describe the session's device's copy. */
    s->stats.weight_prepare_seconds = prep;
    s->stats.weight_copy_bytes = bytes;
    return ERG_OK;
}

/* Counts the non-view nodes of g each target ran. */
static void count_placed(erg_session *s, const erg_graph *g, const uint8_t *assign) {
    erg_rt_device *devices = s->model->rt->devices;
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!erg_op_is_view(g->nodes[i].op))
            s->placed_nodes[s->targets[assign ? assign[i] : 0].device - devices]++;
}

/* node_seconds: NULL, or per node its time from its device's timers. */
static erg_status run_targets(erg_session *s, const erg_graph *g, const uint8_t *assign,
                              erg_exec_stats *es, double *node_seconds, uint8_t *failed,
                              erg_diag *diag) {
    erg_exec_target targets[ERG_PART_MAX_DEVICES];
    for (size_t i = 0; i < s->n_targets; i++)
        targets[i] = (erg_exec_target){s->targets[i].device->backend, s->targets[i].exec};
    ERG_RETURN_IF_ERROR(erg_multi_run(g, assign, targets, es, node_seconds,
                                      &s->stats.n_subgraphs, failed, diag));
    count_placed(s, g, assign);
    return ERG_OK;
}

/* Auto: a device that fails is dropped and the step placed again on the
 * others (its KV writes are redone at the same positions). */
static erg_status run_auto(erg_session *s, const erg_graph *g, uint32_t nt, erg_exec_stats *es,
                           erg_diag *diag) {
    erg_session_auto *a = s->sched;
    if (!erg_grow_array(&s->model->rt->alloc, (void **)&a->node_s, sizeof *a->node_s,
                        &a->cap_node_s, g->n_nodes + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "node times of %zu nodes", g->n_nodes);
    for (;;) {
        const uint8_t *assign;
        ERG_RETURN_IF_ERROR(erg_session_auto_assign(s, g, nt, &assign, diag));
        uint8_t failed = 0;
        double t0 = erg_time_s();
        erg_status st = erg_session_auto_injected_failure(s, g, assign, &failed, diag);
        if (st == ERG_OK)
            st = run_targets(s, g, assign, es, a->node_s, &failed, diag);
        if (st == ERG_OK) {
            double wall = erg_time_s() - t0;
            erg_session_auto_observe(s, g, assign, a->node_s, wall, es, s->stats.n_subgraphs);
            erg_auto_refine(s, g, nt, a->node_s, wall);
        }
        if (st != ERG_DEVICE)
            return st;
        ERG_RETURN_IF_ERROR(erg_session_auto_drop(s, failed, diag));
    }
}

/* Runs the step's graph: all on the session's device where it can, else
 * placed node by node with the rest on the CPU (an error when strict). */
static erg_status run_placed(erg_session *s, const erg_graph *g, uint32_t nt, erg_exec_stats *es,
                             erg_diag *diag) {
    const erg_backend *b = s->device->backend;
    s->stats.n_nodes_fallback = 0;
    s->stats.n_subgraphs = 1;
    if (s->sched)
        return run_auto(s, g, nt, es, diag);
    if (s->device == &s->model->rt->devices[0]) {
        count_placed(s, g, NULL);
        return erg_backend_run(b, s->device->open, s->exec, g, es, diag);
    }
    if (!erg_grow_array(&s->model->rt->alloc, (void **)&s->assign, 1, &s->assign_cap,
                        g->n_nodes))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "placement of %zu nodes", g->n_nodes);
    erg_placement_report rep;
    erg_place_nodes(g, b, s->device->open, s->assign, &rep);
    if (rep.n_fallback == 0) {
        count_placed(s, g, NULL);
        return erg_backend_run(b, s->device->open, s->exec, g, es, diag);
    }
    if (s->strict_device)
        return erg_placement_strict_error(g, b, &rep, diag);
    ERG_RETURN_IF_ERROR(ensure_fallback(s, diag));
    s->stats.n_nodes_fallback = rep.n_fallback;
    uint8_t failed;
    return run_targets(s, g, s->assign, es, NULL, &failed, diag);
}

/* Fusion legality: the session's device has a kernel for the fused node
 * (where it has none, the unfused nodes stay and may fall back to the CPU). */
static bool device_runs(void *ctx, const erg_graph *g, const erg_node *n) {
    const erg_rt_device *d = ctx;
    erg_diag why;
    return d->backend->supports_node(d->open, g, n, &why);
}

/* Builds, checks, plans and runs one step of nt tokens; copies its logits. */
static erg_status run_step(erg_session *s, const int32_t *tokens, uint32_t nt, uint32_t n_logits,
                           float *logits, erg_diag *diag) {
    const erg_model_data *m = s->model->data;
    erg_graph *g = &s->graph;
    erg_build_params bp = {.n_tokens = nt, .n_past = s->n_past, .n_logits = n_logits, .kv = &s->kv};
    erg_build_result br;
    ERG_RETURN_IF_ERROR(erg_model_build_graph(m, &bp, g, &br, diag));
    ERG_RETURN_IF_ERROR(erg_graph_validate(g, diag));
    erg_fuse_stats fs = {0};
    if (!s->no_fusion && s->sched)
        ERG_RETURN_IF_ERROR(erg_graph_fuse(g, erg_session_auto_runs, s, &fs, diag));
    else if (!s->no_fusion)
        ERG_RETURN_IF_ERROR(erg_graph_fuse(g, device_runs, s->device, &fs, diag));
    ERG_RETURN_IF_ERROR(erg_plan_memory(g, ARENA_ALIGN, &s->plan, diag));
    if (s->poison_freed)
        ERG_RETURN_IF_ERROR(erg_plan_poison(g, &s->plan, diag));
    ERG_RETURN_IF_ERROR(ensure_arena(s, s->plan.arena_bytes, diag));
    erg_memory_plan_bind(&s->plan, g, s->arena);

    int32_t *tok = erg_tensor_host_data(g, br.tokens);
    int32_t *pos = erg_tensor_host_data(g, br.positions);
    memcpy(tok, tokens, nt * sizeof *tok);
    for (uint32_t i = 0; i < nt; i++)
        pos[i] = (int32_t)(s->n_past + i);

    erg_exec_stats es;
    ERG_RETURN_IF_ERROR(run_placed(s, g, nt, &es, diag));
    if (n_logits) {
        const float *src = erg_tensor_host_data(g, br.logits);
        memcpy(logits, src, (size_t)n_logits * m->hp.n_vocab * sizeof *logits);
    }
    s->stats.n_nodes = (uint32_t)g->n_nodes;
    s->stats.n_dispatches += es.n_dispatches;
    s->stats.device_seconds += es.device_seconds;
    s->stats.bytes_copied += es.bytes_copied;
    s->stats.simulated_seconds += es.simulated_seconds;
    s->stats.simulated_joules += es.simulated_joules;
    s->stats.partly_simulated = s->stats.simulated_seconds > 0 &&
                                (s->stats.n_nodes_fallback > 0 || s->n_targets > 1);
    if (s->plan.arena_bytes > s->stats.activation_bytes) {
        s->stats.activation_bytes = s->plan.arena_bytes;
        s->stats.activation_naive_bytes = s->plan.naive_bytes;
        s->stats.activation_lower_bound_bytes = s->plan.lower_bound_bytes;
    }
    s->stats.n_fused = 0;
    for (int op = 0; op < ERG_OP_COUNT; op++)
        s->stats.n_fused += fs.n_fused[op];
    s->n_past += nt;
    return ERG_OK;
}

static erg_status check_eval_args(const erg_session *s, const int32_t *tokens, size_t n_tokens,
                                  erg_logits_mode mode, const float *logits, size_t logits_len,
                                  erg_diag *diag) {
    uint32_t n_vocab = s->model->data->hp.n_vocab;
    if (!tokens || n_tokens == 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "no tokens to evaluate");
    /* Before anything reads the tokens or multiplies their count. */
    if (n_tokens > s->n_ctx - s->n_past)
        return erg_fail(diag, ERG_CONTEXT_FULL,
                        "context full: %u positions used + %zu new tokens > n_ctx %u", s->n_past,
                        n_tokens, s->n_ctx);
    for (size_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= n_vocab)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "token %zu is %d, outside the vocabulary [0, %u)", i, tokens[i],
                            n_vocab);
    if (mode != ERG_LOGITS_NONE && mode != ERG_LOGITS_LAST && mode != ERG_LOGITS_ALL)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "logits mode %d", (int)mode);
    size_t need = mode == ERG_LOGITS_ALL ? n_tokens * n_vocab : mode == ERG_LOGITS_LAST ? n_vocab : 0;
    if (need && (!logits || logits_len < need))
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "logits buffer holds %zu floats; %zu needed (%s)", logits ? logits_len : 0,
                        need, mode == ERG_LOGITS_ALL ? "n_tokens * n_vocab" : "n_vocab");
    return ERG_OK;
}

erg_status erg_session_eval(erg_session *s, const int32_t *tokens, size_t n_tokens,
                            erg_logits_mode mode, float *logits, size_t logits_len) {
    if (!s)
        return ERG_INVALID_ARGUMENT;
    erg_diag diag = {{0}};
    ERG_RETURN_IF_ERROR(erg_rt_set_error(
        s->last_error, check_eval_args(s, tokens, n_tokens, mode, logits, logits_len, &diag),
        &diag));
    double t0 = erg_time_s();
    uint32_t n_vocab = s->model->data->hp.n_vocab, n_past0 = s->n_past;
    s->stats.n_dispatches = 0;
    s->stats.device_seconds = 0;
    s->stats.bytes_copied = 0;
    s->stats.simulated_seconds = 0;
    s->stats.simulated_joules = 0;
    s->stats.predicted_seconds = 0;
    s->stats.predicted_joules = 0;
    s->stats.activation_bytes = 0;
    s->stats.activation_naive_bytes = 0;
    s->stats.activation_lower_bound_bytes = 0;
    memset(s->placed_nodes, 0, s->model->rt->n_devices * sizeof *s->placed_nodes);
    erg_status st = ERG_OK;
    for (size_t off = 0; off < n_tokens && st == ERG_OK; off += s->n_batch) {
        uint32_t nt = (uint32_t)(n_tokens - off < s->n_batch ? n_tokens - off : s->n_batch);
        bool last = off + nt == n_tokens;
        uint32_t n_logits = mode == ERG_LOGITS_ALL ? nt : (mode == ERG_LOGITS_LAST && last ? 1 : 0);
        float *dst = mode == ERG_LOGITS_ALL ? logits + off * n_vocab : logits;
        st = run_step(s, tokens + off, nt, n_logits, dst, &diag);
    }
    if (st != ERG_OK)
        s->n_past = n_past0; /* what was written past n_past0 is never read */
    s->stats.eval_seconds = erg_time_s() - t0;
    return erg_rt_set_error(s->last_error, st, &diag);
}

void erg_session_reset(erg_session *s) {
    if (s)
        s->n_past = 0;
}

erg_status erg_session_truncate(erg_session *s, uint32_t n_keep) {
    if (!s)
        return ERG_INVALID_ARGUMENT;
    erg_diag diag;
    if (n_keep > s->n_past)
        return erg_rt_set_error(s->last_error,
                                erg_fail(&diag, ERG_INVALID_ARGUMENT,
                                         "cannot keep %u positions: the cache holds %u", n_keep,
                                         s->n_past),
                                &diag);
    s->n_past = n_keep;
    return ERG_OK;
}

uint32_t erg_session_n_ctx(const erg_session *s) { return s ? s->n_ctx : 0; }
uint32_t erg_session_n_past(const erg_session *s) { return s ? s->n_past : 0; }
const char *erg_session_device(const erg_session *s) {
    return !s ? "" : s->sched ? "auto" : s->device->info.name;
}

erg_status erg_session_get_stats(const erg_session *s, erg_session_stats *stats) {
    if (!s || !stats || stats->struct_size < sizeof(size_t))
        return ERG_INVALID_ARGUMENT;
    erg_rt_copy_out(stats, stats->struct_size, &s->stats, sizeof s->stats);
    return ERG_OK;
}

erg_status erg_session_placement(const erg_session *s, char *buf, size_t size) {
    if (!s || !buf || size == 0)
        return ERG_INVALID_ARGUMENT;
    const erg_runtime *rt = s->model->rt;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t d = 0; d < rt->n_devices; d++) {
        if (!s->placed_nodes[d])
            continue;
        int n = snprintf(buf + len, size - len, "%s%s=%u", len ? "," : "", rt->devices[d].info.name,
                         s->placed_nodes[d]);
        if (n < 0 || (size_t)n >= size - len) {
            buf[0] = '\0';
            return ERG_INVALID_ARGUMENT;
        }
        len += (size_t)n;
    }
    return ERG_OK;
}
