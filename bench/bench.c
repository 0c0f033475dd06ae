/* The benchmark loop: for each model and device, the accuracy run against
 * the CPU's reference path, then each pp and tg test (at each depth) runs
 * once to warm up, then `reps` times; medians and spreads are kept, with
 * the joules of the timed runs and the peak memory of the test. */
#include "bench/bench.h"

#include "base/diag.h"
#include "bench/accuracy.h"
#include "bench/energy.h"
#include "bench/peak_memory.h"
#include "hal/timer.h"
#include "model/quantize.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BW_PASSES 3
/* Prompt positions the accuracy run compares (fewer when the tests are
 * shorter): enough for top-1 agreement to mean something, and short enough
 * for the slow reference path. */
#define ACCURACY_TOKENS 16

static erg_status fail(erg_bench_results *r, erg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static erg_status fail(erg_bench_results *r, erg_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return st;
}

void erg_bench_results_note(erg_bench_results *r, const char *fmt, ...) {
    if (r->n_notes == sizeof r->notes / sizeof r->notes[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[r->n_notes++], sizeof r->notes[0], fmt, ap);
    va_end(ap);
}

const char *erg_bench_status_name(erg_bench_status s) {
    switch (s) {
    case ERG_BENCH_OK:
        return "ok";
    case ERG_BENCH_FAILED:
        return "failed";
    case ERG_BENCH_UNSUPPORTED:
        return "unsupported";
    }
    return "failed";
}

double erg_bench_decode_bytes(const erg_model *model) {
    double bytes = 0;
    bool tied = true;
    double embd_bytes = 0, embd_row = 0;
    for (size_t i = 0; i < erg_model_tensor_count(model); i++) {
        erg_tensor_info t = {.struct_size = sizeof t};
        if (erg_model_tensor_get_info(model, i, &t) != ERG_OK)
            continue;
        if (strcmp(t.name, "token_embd.weight") == 0) {
            embd_bytes = (double)t.n_bytes;
            embd_row = (double)t.n_bytes / (double)(t.dims[1] ? t.dims[1] : 1);
            continue;
        }
        if (strcmp(t.name, "output.weight") == 0)
            tied = false;
        bytes += (double)t.n_bytes;
    }
    return bytes + (tied ? embd_bytes : embd_row);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *v, int n) {
    double sorted[64];
    memcpy(sorted, v, (size_t)n * sizeof *v);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

static void summarize(const double *tps, int n, double *median, double *stddev) {
    double mean = 0, var = 0;
    *median = median_of(tps, n);
    for (int i = 0; i < n; i++)
        mean += tps[i] / n;
    for (int i = 0; i < n; i++)
        var += (tps[i] - mean) * (tps[i] - mean);
    *stddev = n > 1 ? sqrt(var / (n - 1)) : 0.0;
}

/* Appends n zeroed records (a test's fused and unfused pair, or one);
 * returns the first, or NULL when out of memory. */
static erg_bench_record *new_records(erg_bench_results *r, size_t n) {
    if (r->n + n > r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        erg_bench_record *grown = realloc(r->records, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->records = grown;
        r->cap = cap;
    }
    erg_bench_record *rec = &r->records[r->n];
    memset(rec, 0, n * sizeof *rec);
    r->n += n;
    return rec;
}

/* Sessions of one model on one device: one, or with compare_fusion the
 * fused one and the unfused one. */
#define MAX_VARIANTS 2

/* The progress bar's count of runs (warm-ups and repetitions). */
typedef struct progress_count {
    size_t done, total;
} progress_count;

typedef struct run_ctx {
    const erg_bench_params *p;
    erg_bench_results *r;
    erg_session *s[MAX_VARIANTS];
    const char *label[MAX_VARIANTS];
    int n_variants;
    int failed;          /* the variant whose run failed */
    const int32_t *tokens;
    float *logits;
    uint32_t n_batch;
    erg_membw *bw;       /* NULL: no decode tests */
    const erg_compute_peak *peak; /* zeros: no prefill tests, or the probe failed */
    double decode_bytes; /* weight bytes one decode step reads */
    erg_bench_energy *energy;
    bool mixed;          /* device auto: the scheduler may use several devices */
    double warm_create_ms, selection_ms; /* auto: its warm start (0: not measured) */
    progress_count *count;
} run_ctx;

static void progress(const run_ctx *c, int v, const char *test, int rep) {
    c->count->done++;
    if (!c->p->progress)
        return;
    enum { WIDTH = 24 };
    int filled = (int)(WIDTH * c->count->done / (c->count->total ? c->count->total : 1));
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %s: %s %s", bar, c->count->done, c->count->total,
            c->label[v], test, rep ? "" : "warm-up");
    if (rep)
        fprintf(stderr, "rep %d/%d", rep, c->p->reps);
    fflush(stderr);
}

/* What one run counted: kernel launches, the time the device's timers saw
 * (0 without timers), the joules a simulated device reported, and the
 * activation memory of its peak step with that step's naive and
 * lower-bound figures. */
typedef struct run_counts {
    double dispatches, device_seconds, simulated_joules, simulated_seconds;
    uint64_t activation, naive, lower_bound;
    uint32_t n_fused;
} run_counts;

static void add_counts(const erg_session *s, run_counts *k) {
    erg_session_stats st = {.struct_size = sizeof st};
    if (erg_session_get_stats(s, &st) != ERG_OK)
        return;
    k->dispatches += st.n_dispatches;
    k->device_seconds += st.device_seconds;
    k->simulated_joules += st.simulated_joules;
    k->simulated_seconds += st.simulated_seconds;
    if (st.activation_bytes > k->activation) {
        k->activation = st.activation_bytes;
        k->naive = st.activation_naive_bytes;
        k->lower_bound = st.activation_lower_bound_bytes;
    }
    k->n_fused = st.n_fused > k->n_fused ? st.n_fused : k->n_fused;
}

static erg_status session_failed(run_ctx *c, int v, erg_status st) {
    c->failed = v;
    return fail(c->r, st, "%s: %s", c->label[v], erg_session_last_error(c->s[v]));
}

/* Fills the KV cache with `depth` tokens (not timed), in batches. */
static erg_status fill_depth(run_ctx *c, int v, int depth) {
    erg_status st = ERG_OK;
    for (int done = 0; done < depth && st == ERG_OK; done += (int)c->n_batch) {
        int n = depth - done < (int)c->n_batch ? depth - done : (int)c->n_batch;
        st = erg_session_eval(c->s[v], &c->tokens[done], (size_t)n, ERG_LOGITS_NONE, NULL, 0);
    }
    return st;
}

/* What one timed run took. */
typedef struct run_time {
    double seconds, first_seconds; /* all of it; until the first logits */
    run_counts counts;
} run_time;

/* One run of variant v at `depth`: n tokens as one prompt (pp) or one at a
 * time (tg). With sum, the run is a timed one: its joules are added. */
static erg_status timed_run(run_ctx *c, int v, int n, bool prompt, int depth,
                            erg_bench_energy_sum *sum, run_time *t) {
    erg_session *s = c->s[v];
    erg_session_reset(s);
    *t = (run_time){0};
    erg_status st = fill_depth(c, v, depth);
    if (st != ERG_OK)
        return session_failed(c, v, st);
    const int32_t *tokens = &c->tokens[depth];
    if (sum)
        erg_bench_energy_begin(c->energy);
    double t0 = erg_time_s();
    if (prompt) {
        st = erg_session_eval(s, tokens, (size_t)n, ERG_LOGITS_LAST, c->logits, SIZE_MAX);
        add_counts(s, &t->counts);
        t->first_seconds = erg_time_s() - t0;
    }
    for (int i = 0; !prompt && i < n && st == ERG_OK; i++) {
        st = erg_session_eval(s, &tokens[i], 1, ERG_LOGITS_LAST, c->logits, SIZE_MAX);
        add_counts(s, &t->counts);
        if (i == 0)
            t->first_seconds = erg_time_s() - t0;
    }
    t->seconds = erg_time_s() - t0;
    if (sum) {
        /* Busy time: the device's timers where it has them, else the wall.
         * A mixed placement's timers cover only its non-CPU parts, and a
         * GPU API on the host's cores leaves out its host-side work, while
         * the host works throughout: the wall for both. */
        bool wall = c->mixed || c->energy->host_cores || t->counts.device_seconds <= 0;
        double busy = wall ? t->seconds : t->counts.device_seconds;
        /* Partly simulated: the measured parts are the evals' device_seconds
         * (their wall time less the time spent simulating), on the host. */
        bool sim = t->counts.simulated_seconds > 0;
        double real = sim ? t->counts.device_seconds : t->seconds;
        erg_bench_energy_end(c->energy, sim ? real : busy, real, t->counts.simulated_joules,
                             t->counts.simulated_seconds, sum);
    }
    return st == ERG_OK ? ERG_OK : session_failed(c, v, st);
}

/* The timed runs of one variant of a test, one entry per repetition. */
typedef struct variant_runs {
    double tps[64], first[64], bw[64], share[64], host_us[64];
    erg_bench_energy_sum energy;
    run_counts counts; /* of the last run */
} variant_runs;

static erg_status timed_rep(run_ctx *c, int v, int n, bool prompt, int depth, int k,
                            variant_runs *w) {
    /* Decode is bound by memory bandwidth: measure it right before the run
     * it is compared with (the best of a few passes, so a hiccup in one
     * pass cannot flatter the share). */
    w->bw[k] = 0.0;
    for (int pass = 0; !prompt && pass < BW_PASSES; pass++) {
        double g = erg_membw_pass(c->bw);
        w->bw[k] = g > w->bw[k] ? g : w->bw[k];
    }
    run_time t;
    ERG_RETURN_IF_ERROR(timed_run(c, v, n, prompt, depth, &w->energy, &t));
    const run_counts *rc = &t.counts;
    w->counts = t.counts;
    w->tps[k] = n / t.seconds;
    w->first[k] = t.first_seconds;
    w->host_us[k] = rc->device_seconds > 0 && rc->dispatches > 0 && rc->simulated_seconds <= 0
                        ? 1e6 * (t.seconds - rc->device_seconds) / rc->dispatches
                        : -1.0;
    w->share[k] = !prompt ? w->tps[k] * c->decode_bytes / (w->bw[k] * 1e9) : 0.0;
    return ERG_OK;
}

static void fill_record(const run_ctx *c, int v, const variant_runs *w, int n, bool prompt,
                        erg_bench_record *rec) {
    int reps = c->p->reps;
    rec->reps = reps;
    summarize(w->tps, reps, &rec->tps_median, &rec->tps_stddev);
    rec->ms_per_token = 1000.0 / rec->tps_median;
    rec->ttft_ms = 1000.0 * median_of(w->first, reps);
    rec->dispatches_per_token = w->counts.dispatches / n;
    rec->host_us_per_dispatch = median_of(w->host_us, reps);
    rec->n_fused = w->counts.n_fused;
    rec->warm_create_ms = c->warm_create_ms;
    rec->selection_ms = c->selection_ms;
    rec->activation_bytes = w->counts.activation;
    rec->activation_naive_bytes = w->counts.naive;
    rec->activation_lower_bound_bytes = w->counts.lower_bound;
    double joules = erg_bench_energy_joules(c->energy, &w->energy);
    erg_energy_source source = erg_bench_energy_source(c->energy, &w->energy);
    double tokens = (double)n * reps;
    double seconds = erg_bench_energy_delay_s(&w->energy);
    rec->joules_per_token = joules / tokens;
    rec->avg_power_w = seconds > 0 ? joules / seconds : 0.0;
    rec->edp_per_token = rec->joules_per_token * (seconds / tokens);
    snprintf(rec->energy_source, sizeof rec->energy_source, "%s",
             erg_energy_source_name(source));
    rec->energy_measured = erg_energy_source_measured(source);
    if (erg_session_placement(c->s[v], rec->placement, sizeof rec->placement) != ERG_OK)
        rec->placement[0] = '\0';
    if (!prompt) {
        rec->bytes_per_token = c->decode_bytes;
        rec->mem_bw_gbps = median_of(w->bw, reps);
        rec->roofline_tps = rec->mem_bw_gbps * 1e9 / c->decode_bytes;
        rec->roofline_fraction = median_of(w->share, reps);
    }
}

/* One test on every variant: a warm-up each, then the repetitions
 * interleaved, so drift on a shared machine reaches all variants alike. */
static erg_status run_test(run_ctx *c, int n, bool prompt, int depth, erg_bench_record *recs) {
    variant_runs w[MAX_VARIANTS];
    memset(w, 0, sizeof w);
    erg_bench_peak_reset(c->r->peak_memory_method, sizeof c->r->peak_memory_method);
    for (int v = 0; v < c->n_variants; v++) {
        run_time t;
        progress(c, v, recs[v].test, 0);
        ERG_RETURN_IF_ERROR(timed_run(c, v, n, prompt, depth, NULL, &t));
    }
    for (int k = 0; k < c->p->reps; k++)
        for (int j = 0; j < c->n_variants; j++) {
            /* Which variant goes first alternates: neither always inherits
             * the caches and clocks the other left. */
            int v = (j + k) % c->n_variants;
            progress(c, v, recs[v].test, k + 1);
            ERG_RETURN_IF_ERROR(timed_rep(c, v, n, prompt, depth, k, &w[v]));
        }
    /* The bandwidth probe's buffer is the bench's, not the model's. */
    uint64_t peak = erg_bench_peak_read(), probe = erg_membw_resident_bytes(c->bw);
    peak = peak > probe ? peak - probe : 0;
    for (int v = 0; v < c->n_variants; v++) {
        fill_record(c, v, &w[v], n, prompt, &recs[v]);
        recs[v].peak_memory_bytes = peak;
    }
    return ERG_OK;
}

/* Opens the device's sessions: fused unless --no-fusion, and with
 * compare_fusion an unfused one too. */
static erg_status open_sessions(erg_model *model, const erg_bench_params *p, const char *device,
                                uint32_t n_ctx, uint32_t n_batch, run_ctx *c) {
    c->n_variants = p->compare_fusion ? 2 : 1;
    for (int v = 0; v < c->n_variants; v++) {
        erg_session_options so = ERG_SESSION_OPTIONS_INIT;
        so.device = device;
        so.n_ctx = n_ctx;
        so.n_batch = n_batch;
        so.no_fusion = v == 1 || p->no_fusion;
        so.strict_device = p->strict;
        so.policy = p->policy;
        if (erg_session_create(model, &so, &c->s[v]) != ERG_OK)
            return ERG_DEVICE;
    }
    return ERG_OK;
}

/* Device auto's warm start: creates after the device's own, so with the
 * chosen devices open (what an app's later start pays beyond opening
 * them), the least of three whose calibration was all cached, and what
 * choosing the placement took in that one. A create that measured (a
 * device cached in part gets measured again while time allows) does not
 * count; after WARM_TRIES creates without three warm ones, the figure is
 * what the warm ones gave, or none. */
#define WARM_TRIES 6
static erg_status warm_start(erg_model *model, const erg_bench_params *p, uint32_t n_ctx,
                             uint32_t n_batch, run_ctx *c) {
    int warm = 0;
    for (int k = 0; k < WARM_TRIES && warm < 3; k++) {
        erg_session_options so = ERG_SESSION_OPTIONS_INIT;
        so.device = "auto";
        so.n_ctx = n_ctx;
        so.n_batch = n_batch;
        so.no_fusion = p->no_fusion;
        so.policy = p->policy;
        erg_session *s = NULL;
        double t0 = erg_time_s();
        if (erg_session_create(model, &so, &s) != ERG_OK)
            return ERG_DEVICE;
        double ms = (erg_time_s() - t0) * 1e3;
        erg_session_stats st = {.struct_size = sizeof st};
        erg_status gs = erg_session_get_stats(s, &st);
        erg_session_destroy(s);
        ERG_RETURN_IF_ERROR(gs);
        if (st.selection_calibrated)
            continue;
        if (warm++ == 0 || ms < c->warm_create_ms) {
            c->warm_create_ms = ms;
            c->selection_ms = st.selection_seconds * 1e3;
        }
    }
    if (!warm)
        erg_bench_results_note(c->r, "auto: no warm create in %d (calibration still measuring)",
                               WARM_TRIES);
    return ERG_OK;
}

/* The logits of the accuracy prompt on the CPU's reference path (exact
 * dequantisation, F32 activations). */
static erg_status reference_logits(erg_model *model, const int32_t *tokens, int n, float *out,
                                   char *why, size_t why_size) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = "cpu";
    so.n_ctx = (uint32_t)n;
    so.n_batch = (uint32_t)n;
    so.reference_math = true;
    erg_session *s = NULL;
    erg_status st = erg_session_create(model, &so, &s);
    if (st != ERG_OK) {
        snprintf(why, why_size, "%s", erg_model_last_error(model));
        return st;
    }
    st = erg_session_eval(s, tokens, (size_t)n, ERG_LOGITS_ALL, out, SIZE_MAX);
    if (st != ERG_OK)
        snprintf(why, why_size, "%s", erg_session_last_error(s));
    erg_session_destroy(s);
    return st;
}

/* The accuracy prompt on every variant of the device, against ref. */
typedef struct accuracy_run {
    const float *ref; /* NULL: no reference */
    float *dev;
    int n;
    uint32_t n_vocab;
    erg_bench_accuracy acc[MAX_VARIANTS];
} accuracy_run;

static erg_status measure_accuracy(run_ctx *c, accuracy_run *a) {
    for (int v = 0; v < c->n_variants && a->ref; v++) {
        erg_session_reset(c->s[v]);
        erg_status st = erg_session_eval(c->s[v], c->tokens, (size_t)a->n, ERG_LOGITS_ALL, a->dev,
                                         SIZE_MAX);
        if (st != ERG_OK)
            return session_failed(c, v, st);
        st = erg_bench_accuracy_compare(a->ref, a->dev, (size_t)a->n, a->n_vocab, &a->acc[v]);
        if (st != ERG_OK)
            return fail(c->r, st, "%s: the logits of the accuracy prompt are not finite",
                        c->label[v]);
    }
    return ERG_OK;
}

/* One test of the list: n tokens, prefill or decode, at a depth. */
typedef struct test_spec {
    int n, depth;
    bool prompt;
} test_spec;

static size_t list_tests(const erg_bench_params *p, test_spec *out) {
    size_t k = 0;
    for (size_t d = 0; d < (p->n_n_depth ? p->n_n_depth : 1); d++) {
        int depth = p->n_n_depth ? p->n_depth[d] : 0;
        for (size_t i = 0; i < p->n_n_prompt; i++)
            out[k++] = (test_spec){p->n_prompt[i], depth, true};
        for (size_t i = 0; i < p->n_n_gen; i++)
            out[k++] = (test_spec){p->n_gen[i], depth, false};
    }
    return k;
}

#define MAX_TESTS (2 * ERG_BENCH_MAX_LIST * ERG_BENCH_MAX_LIST)

/* What every record of a model shares. */
typedef struct model_ctx {
    erg_runtime *rt;
    erg_model *model;
    const char *base;
    erg_model_info mi;
    test_spec tests[MAX_TESTS];
    size_t n_tests;
    accuracy_run acc;
} model_ctx;

static void start_record(const model_ctx *m, const run_ctx *c, const char *device,
                         const char *backend, const test_spec *t, size_t v,
                         erg_bench_record *rec) {
    const erg_bench_params *p = c->p;
    snprintf(rec->model, sizeof rec->model, "%s", m->base);
    snprintf(rec->model_type, sizeof rec->model_type, "%s",
             erg_ftype_name((erg_ftype)m->mi.file_type));
    rec->model_gib = (double)m->mi.weight_bytes / 1073741824.0;
    snprintf(rec->device, sizeof rec->device, "%s", device);
    snprintf(rec->backend, sizeof rec->backend, "%s", backend);
    int len = snprintf(rec->test, sizeof rec->test, "%s%d", t->prompt ? "pp" : "tg", t->n);
    if (t->depth > 0 && len > 0 && (size_t)len < sizeof rec->test)
        snprintf(rec->test + len, sizeof rec->test - (size_t)len, "@d%d", t->depth);
    rec->n_prompt = t->prompt ? t->n : 0;
    rec->n_gen = t->prompt ? 0 : t->n;
    rec->n_depth = t->depth;
    rec->threads = p->threads;
    rec->reps = p->reps;
    rec->fusion = v == 0 && !p->no_fusion;
    if (m->acc.ref && c->s[v]) {
        rec->have_accuracy = true;
        rec->accuracy_tokens = m->acc.n;
        rec->top1_agreement = m->acc.acc[v].top1_agreement;
        rec->kl_divergence = m->acc.acc[v].kl_divergence;
        rec->nrmse = m->acc.acc[v].nrmse;
    }
}

/* The backend of the runtime's device named `device`; "mixed" for auto. */
static void backend_of(erg_runtime *rt, const char *device, char *out, size_t size) {
    snprintf(out, size, "%s", strcmp(device, "auto") == 0 ? "mixed" : "");
    for (size_t i = 0; !out[0] && i < erg_runtime_device_count(rt); i++) {
        erg_device_info info = {.struct_size = sizeof info};
        if (erg_runtime_device_info(rt, i, &info) == ERG_OK && strcmp(info.name, device) == 0)
            snprintf(out, size, "%s", info.backend);
    }
}

/* Opens what a device's runs need, in order; the first failure is the
 * device's reason. */
static erg_bench_status prepare_device(model_ctx *m, run_ctx *c, const char *device,
                                       uint32_t n_ctx, char *reason, size_t size) {
    c->warm_create_ms = c->selection_ms = 0;
    erg_status st = open_sessions(m->model, c->p, device, n_ctx, c->n_batch, c);
    if (st == ERG_OK && strcmp(device, "auto") == 0)
        st = warm_start(m->model, c->p, n_ctx, c->n_batch, c);
    if (st != ERG_OK) {
        snprintf(reason, size, "%s", erg_model_last_error(m->model));
        return ERG_BENCH_FAILED;
    }
    char why[256];
    if (erg_bench_energy_open(m->rt, erg_session_device(c->s[0]), c->energy, why, sizeof why) !=
        ERG_OK) {
        snprintf(reason, size, "energy meter: %.200s", why);
        return ERG_BENCH_FAILED;
    }
    st = measure_accuracy(c, &m->acc);
    if (st != ERG_OK) {
        snprintf(reason, size, "%s", c->r->error);
        c->r->error[0] = '\0';
        return st == ERG_UNSUPPORTED ? ERG_BENCH_UNSUPPORTED : ERG_BENCH_FAILED;
    }
    erg_bench_energy_idle(c->energy);
    return ERG_BENCH_OK;
}

/* Every test of one device; a device that fails gives records saying why. */
static erg_status bench_device(model_ctx *m, run_ctx *c, const char *device, uint32_t n_ctx) {
    const erg_bench_params *p = c->p;
    erg_bench_results *r = c->r;
    char reason[sizeof r->error] = "";
    erg_bench_status status = prepare_device(m, c, device, n_ctx, reason, sizeof reason);
    char name[32], backend[16];
    snprintf(name, sizeof name, "%s",
             strcmp(device, "auto") == 0 || !c->s[0] ? device : erg_session_device(c->s[0]));
    backend_of(m->rt, name, backend, sizeof backend);
    /* Prefill on the CPU is set against the CPU's arithmetic peak. */
    bool cpu_prefill = strcmp(backend, "cpu") == 0;
    size_t nv = p->compare_fusion ? 2 : 1;
    for (size_t t = 0; t < m->n_tests; t++) {
        erg_bench_record *recs = new_records(r, nv);
        if (!recs)
            return fail(r, ERG_OUT_OF_MEMORY, "bench records");
        for (size_t v = 0; v < nv; v++)
            start_record(m, c, name, backend, &m->tests[t], v, &recs[v]);
        if (status == ERG_BENCH_OK) {
            erg_status st = run_test(c, m->tests[t].n, m->tests[t].prompt, m->tests[t].depth,
                                     recs);
            double ops = m->tests[t].prompt
                             ? erg_bench_prefill_ops(m->model, m->tests[t].n, m->tests[t].depth)
                             : 0;
            for (size_t v = 0; v < nv && st == ERG_OK && cpu_prefill; v++)
                erg_bench_set_arith(&recs[v], c->peak, ops);
            if (st != ERG_OK) {
                /* This test and the device's later ones say why. */
                status = st == ERG_UNSUPPORTED ? ERG_BENCH_UNSUPPORTED : ERG_BENCH_FAILED;
                snprintf(reason, sizeof reason, "%s", r->error);
                r->error[0] = '\0';
            }
        } else {
            c->count->done += (size_t)(p->reps + 1) * nv;
        }
        for (size_t v = 0; v < nv && status != ERG_BENCH_OK; v++) {
            memset(&recs[v], 0, sizeof recs[v]);
            start_record(m, c, name, backend, &m->tests[t], v, &recs[v]);
            recs[v].have_accuracy = false;
            recs[v].status = status;
            snprintf(recs[v].reason, sizeof recs[v].reason, "%s", reason);
        }
    }
    return ERG_OK;
}

static erg_status bench_model(erg_runtime *rt, const erg_bench_params *p, const char *path,
                              erg_membw *bw, const erg_compute_peak *peak, progress_count *count,
                              erg_bench_results *r) {
    model_ctx *m = calloc(1, sizeof *m);
    if (!m)
        return fail(r, ERG_OUT_OF_MEMORY, "bench buffers");
    m->rt = rt;
    if (erg_model_load(rt, path, NULL, &m->model) != ERG_OK) {
        free(m);
        return fail(r, ERG_IO, "%s", erg_runtime_last_error(rt));
    }
    m->mi.struct_size = sizeof m->mi;
    erg_model_get_info(m->model, &m->mi);
    m->base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    m->n_tests = list_tests(p, m->tests);
    int max_n = 1, max_depth = 0;
    for (size_t t = 0; t < m->n_tests; t++) {
        max_n = m->tests[t].n > max_n ? m->tests[t].n : max_n;
        max_depth = m->tests[t].depth > max_depth ? m->tests[t].depth : max_depth;
    }
    m->acc.n = max_n < ACCURACY_TOKENS ? max_n : ACCURACY_TOKENS;
    m->acc.n = m->acc.n < 2 ? 2 : m->acc.n;
    m->acc.n_vocab = m->mi.n_vocab;
    uint32_t n_batch = (uint32_t)(max_n > m->acc.n ? max_n : m->acc.n);
    uint32_t n_ctx = (uint32_t)max_depth + n_batch;
    size_t n_logits = (size_t)m->acc.n * m->mi.n_vocab;
    int32_t *tokens = malloc(n_ctx * sizeof *tokens);
    float *logits = malloc((size_t)m->mi.n_vocab * sizeof *logits);
    float *ref = malloc(n_logits * sizeof *ref);
    m->acc.dev = malloc(n_logits * sizeof *m->acc.dev);
    erg_status st = tokens && logits && ref && m->acc.dev
                        ? ERG_OK
                        : fail(r, ERG_OUT_OF_MEMORY, "bench buffers");
    /* A fixed pseudo-random prompt, the same for every device. */
    uint32_t x = 12345;
    for (uint32_t i = 0; st == ERG_OK && i < n_ctx; i++) {
        x = x * 1664525u + 1013904223u;
        tokens[i] = (int32_t)((x >> 8) % m->mi.n_vocab);
    }
    char why[256];
    if (st == ERG_OK && p->progress) {
        fprintf(stderr, "\r\033[K%s: the reference path's logits", m->base);
        fflush(stderr);
    }
    if (st == ERG_OK) {
        if (reference_logits(m->model, tokens, m->acc.n, ref, why, sizeof why) == ERG_OK)
            m->acc.ref = ref;
        else
            erg_bench_results_note(r, "%s: no accuracy figures: the reference run failed: %s",
                                   m->base, why);
    }
    for (size_t d = 0; d < p->n_devices && st == ERG_OK; d++) {
        char label[MAX_VARIANTS][320];
        snprintf(label[0], sizeof label[0], "%s on %s", m->base, p->devices[d]);
        snprintf(label[1], sizeof label[1], "%s on %s without fusion", m->base, p->devices[d]);
        erg_bench_energy energy;
        memset(&energy, 0, sizeof energy);
        run_ctx c = {.p = p, .r = r, .label = {label[0], label[1]}, .tokens = tokens,
                     .logits = logits, .n_batch = n_batch, .bw = bw, .peak = peak,
                     .decode_bytes = erg_bench_decode_bytes(m->model), .energy = &energy,
                     .mixed = strcmp(p->devices[d], "auto") == 0, .count = count};
        st = bench_device(m, &c, p->devices[d], n_ctx);
        erg_bench_energy_close(&energy);
        for (int v = 0; v < MAX_VARIANTS; v++)
            erg_session_destroy(c.s[v]);
    }
    if (p->progress)
        fprintf(stderr, "\r\033[K");
    free(tokens);
    free(logits);
    free(ref);
    free(m->acc.dev);
    erg_model_destroy(m->model);
    free(m);
    return st;
}

erg_status erg_bench_run(erg_runtime *rt, const erg_bench_params *p, erg_bench_results *r) {
    r->records = NULL;
    r->n = r->cap = 0;
    r->error[0] = '\0';
    if (p->reps < 1 || p->reps > 64)
        return fail(r, ERG_INVALID_ARGUMENT, "repetitions must be 1..64, not %d", p->reps);
    r->mem_bw_threads = p->threads;
    r->compare_fusion = p->compare_fusion;
    snprintf(r->peak_memory_method, sizeof r->peak_memory_method, "none");
    erg_membw *bw = NULL;
    if (p->n_n_gen > 0 && erg_membw_open(p->threads, &bw) != ERG_OK)
        return fail(r, ERG_OUT_OF_MEMORY, "could not set up the memory bandwidth probe");
    size_t n_tests = (p->n_n_depth ? p->n_n_depth : 1) * (p->n_n_prompt + p->n_n_gen);
    progress_count count = {0, p->n_models * p->n_devices * n_tests * (size_t)(p->reps + 1) *
                                   (p->compare_fusion ? 2 : 1)};
    /* Once, before any model is loaded: right after one, the kernel is
     * still reclaiming the pages its packing released, and the probe reads
     * low. */
    erg_compute_peak peak = {0};
    if (p->n_n_prompt > 0 && erg_compute_peak_measure(p->threads, &peak) != ERG_OK)
        memset(&peak, 0, sizeof peak);
    erg_status st = ERG_OK;
    for (size_t m = 0; m < p->n_models && st == ERG_OK; m++)
        st = bench_model(rt, p, p->models[m], bw, &peak, &count, r);
    erg_membw_close(bw);
    erg_bench_compare_auto(r);
    return st;
}

void erg_bench_results_free(erg_bench_results *r) {
    free(r->records);
    memset(r, 0, sizeof *r);
}
