/* The benchmark loop: for each model and device, each pp and tg test runs
 * once to warm up, then `reps` times; the median and spread are kept. */
#include "bench/bench.h"

#include "base/diag.h"
#include "hal/timer.h"
#include "model/quantize.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BW_PASSES 3

static erg_status fail(erg_bench_results *r, erg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static erg_status fail(erg_bench_results *r, erg_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return st;
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

typedef struct run_ctx {
    const erg_bench_params *p;
    erg_bench_results *r;
    erg_session *s[MAX_VARIANTS];
    const char *label[MAX_VARIANTS];
    int n_variants;
    int failed;          /* the variant whose run failed */
    const int32_t *tokens;
    float *logits;
    erg_membw *bw;       /* NULL: no decode tests */
    double decode_bytes; /* weight bytes one decode step reads */
} run_ctx;

static void progress(const run_ctx *c, int v, const char *test, int rep) {
    if (!c->p->progress)
        return;
    fprintf(stderr, "\r\033[K%s: %s rep %d/%d", c->label[v], test, rep, c->p->reps);
    fflush(stderr);
}

/* What one timed run counted: kernel launches, the time the device's
 * timers saw (0 without timers), and the activation memory of its peak
 * step with that step's naive and lower-bound figures. */
typedef struct run_counts {
    double dispatches, device_seconds;
    uint64_t activation, naive, lower_bound;
    uint32_t n_fused;
} run_counts;

static void add_counts(const erg_session *s, run_counts *k) {
    erg_session_stats st = {.struct_size = sizeof st};
    if (erg_session_get_stats(s, &st) != ERG_OK)
        return;
    k->dispatches += st.n_dispatches;
    k->device_seconds += st.device_seconds;
    if (st.activation_bytes > k->activation) {
        k->activation = st.activation_bytes;
        k->naive = st.activation_naive_bytes;
        k->lower_bound = st.activation_lower_bound_bytes;
    }
    k->n_fused = st.n_fused > k->n_fused ? st.n_fused : k->n_fused;
}

/* One timed run of variant v: n tokens as one prompt (pp) or one at a time (tg). */
static erg_status timed_run(run_ctx *c, int v, int n, bool prompt, double *seconds,
                            run_counts *k) {
    erg_session *s = c->s[v];
    erg_session_reset(s);
    *k = (run_counts){0};
    double t0 = erg_time_s();
    erg_status st = ERG_OK;
    if (prompt) {
        st = erg_session_eval(s, c->tokens, (size_t)n, ERG_LOGITS_LAST, c->logits, SIZE_MAX);
        add_counts(s, k);
    }
    for (int i = 0; !prompt && i < n && st == ERG_OK; i++) {
        st = erg_session_eval(s, &c->tokens[i], 1, ERG_LOGITS_LAST, c->logits, SIZE_MAX);
        add_counts(s, k);
    }
    *seconds = erg_time_s() - t0;
    if (st != ERG_OK) {
        c->failed = v;
        return fail(c->r, st, "%s: %s", c->label[v], erg_session_last_error(s));
    }
    return ERG_OK;
}

/* The timed runs of one variant of a test, one entry per repetition. */
typedef struct variant_runs {
    double tps[64], bw[64], share[64], host_us[64];
    run_counts counts; /* of the last run */
} variant_runs;

static erg_status timed_rep(run_ctx *c, int v, int n, bool prompt, int k, variant_runs *w) {
    /* Decode is bound by memory bandwidth: measure it right before the run
     * it is compared with (the best of a few passes, so a hiccup in one
     * pass cannot flatter the share). */
    w->bw[k] = 0.0;
    for (int pass = 0; !prompt && pass < BW_PASSES; pass++) {
        double g = erg_membw_pass(c->bw);
        w->bw[k] = g > w->bw[k] ? g : w->bw[k];
    }
    double seconds;
    ERG_RETURN_IF_ERROR(timed_run(c, v, n, prompt, &seconds, &w->counts));
    const run_counts *rc = &w->counts;
    w->tps[k] = n / seconds;
    w->host_us[k] = rc->device_seconds > 0 && rc->dispatches > 0
                        ? 1e6 * (seconds - rc->device_seconds) / rc->dispatches
                        : -1.0;
    w->share[k] = !prompt ? w->tps[k] * c->decode_bytes / (w->bw[k] * 1e9) : 0.0;
    return ERG_OK;
}

static void fill_record(const run_ctx *c, const variant_runs *w, const char *test, int n,
                        bool prompt, erg_bench_record *rec) {
    int reps = c->p->reps;
    snprintf(rec->test, sizeof rec->test, "%s", test);
    rec->n_prompt = prompt ? n : 0;
    rec->n_gen = prompt ? 0 : n;
    rec->reps = reps;
    summarize(w->tps, reps, &rec->tps_median, &rec->tps_stddev);
    rec->ms_per_token = 1000.0 / rec->tps_median;
    rec->dispatches_per_token = w->counts.dispatches / n;
    rec->host_us_per_dispatch = median_of(w->host_us, reps);
    rec->n_fused = w->counts.n_fused;
    rec->activation_bytes = w->counts.activation;
    rec->activation_naive_bytes = w->counts.naive;
    rec->activation_lower_bound_bytes = w->counts.lower_bound;
    if (!prompt) {
        rec->bytes_per_token = c->decode_bytes;
        rec->mem_bw_gbps = median_of(w->bw, reps);
        rec->roofline_tps = rec->mem_bw_gbps * 1e9 / c->decode_bytes;
        rec->roofline_fraction = median_of(w->share, reps);
    }
}

/* One test on every variant: a warm-up each, then the repetitions
 * interleaved, so drift on a shared machine reaches all variants alike. */
static erg_status run_test(run_ctx *c, int n, bool prompt, erg_bench_record *recs) {
    char test[24];
    snprintf(test, sizeof test, "%s%d", prompt ? "pp" : "tg", n);
    variant_runs w[MAX_VARIANTS];
    double seconds;
    for (int v = 0; v < c->n_variants; v++) {
        progress(c, v, test, 0);
        ERG_RETURN_IF_ERROR(timed_run(c, v, n, prompt, &seconds, &w[v].counts));
    }
    for (int k = 0; k < c->p->reps; k++)
        for (int j = 0; j < c->n_variants; j++) {
            /* Which variant goes first alternates: neither always inherits
             * the caches and clocks the other left. */
            int v = (j + k) % c->n_variants;
            progress(c, v, test, k + 1);
            ERG_RETURN_IF_ERROR(timed_rep(c, v, n, prompt, k, &w[v]));
        }
    for (int v = 0; v < c->n_variants; v++)
        fill_record(c, &w[v], test, n, prompt, &recs[v]);
    return ERG_OK;
}

/* Opens the device's sessions: fused unless --no-fusion, and with
 * compare_fusion an unfused one too. */
static erg_status open_sessions(erg_model *model, const erg_bench_params *p, const char *device,
                                int max_n, run_ctx *c) {
    c->n_variants = p->compare_fusion ? 2 : 1;
    for (int v = 0; v < c->n_variants; v++) {
        erg_session_options so = ERG_SESSION_OPTIONS_INIT;
        so.device = device;
        so.n_ctx = (uint32_t)max_n;
        so.n_batch = (uint32_t)max_n;
        so.no_fusion = v == 1 || p->no_fusion;
        so.strict_device = p->strict;
        if (erg_session_create(model, &so, &c->s[v]) != ERG_OK)
            return ERG_DEVICE;
    }
    return ERG_OK;
}

static erg_status bench_model(erg_runtime *rt, const erg_bench_params *p, const char *path,
                              erg_membw *bw, erg_bench_results *r) {
    erg_model *model = NULL;
    if (erg_model_load(rt, path, NULL, &model) != ERG_OK)
        return fail(r, ERG_IO, "%s", erg_runtime_last_error(rt));
    erg_model_info mi = {.struct_size = sizeof mi};
    erg_model_get_info(model, &mi);
    int max_n = 1;
    for (size_t i = 0; i < p->n_n_prompt; i++)
        max_n = p->n_prompt[i] > max_n ? p->n_prompt[i] : max_n;
    for (size_t i = 0; i < p->n_n_gen; i++)
        max_n = p->n_gen[i] > max_n ? p->n_gen[i] : max_n;
    int32_t *tokens = malloc((size_t)max_n * sizeof *tokens);
    float *logits = malloc((size_t)mi.n_vocab * sizeof *logits);
    erg_status st = tokens && logits ? ERG_OK : fail(r, ERG_OUT_OF_MEMORY, "bench buffers");
    /* A fixed pseudo-random prompt, the same for every device. */
    uint32_t x = 12345;
    for (int i = 0; st == ERG_OK && i < max_n; i++) {
        x = x * 1664525u + 1013904223u;
        tokens[i] = (int32_t)((x >> 8) % mi.n_vocab);
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    double decode_bytes = erg_bench_decode_bytes(model);
    for (size_t d = 0; d < p->n_devices && st == ERG_OK; d++) {
        char label[MAX_VARIANTS][320];
        snprintf(label[0], sizeof label[0], "%s on %s", base, p->devices[d]);
        snprintf(label[1], sizeof label[1], "%s on %s without fusion", base, p->devices[d]);
        run_ctx c = {p, r, {NULL}, {label[0], label[1]}, 0, 0, tokens, logits, bw, decode_bytes};
        if (open_sessions(model, p, p->devices[d], max_n, &c) != ERG_OK) {
            st = fail(r, ERG_DEVICE, "%s on %s: %s", base, p->devices[d],
                      erg_model_last_error(model));
            for (int v = 0; v < c.n_variants; v++)
                erg_session_destroy(c.s[v]);
            break;
        }
        size_t nv = (size_t)c.n_variants;
        for (int pass = 0; pass < 2 && st == ERG_OK; pass++) {
            bool prompt = pass == 0;
            size_t count = prompt ? p->n_n_prompt : p->n_n_gen;
            for (size_t t = 0; t < count && st == ERG_OK; t++) {
                erg_bench_record *recs = new_records(r, nv);
                if (!recs) {
                    st = fail(r, ERG_OUT_OF_MEMORY, "bench records");
                    break;
                }
                for (size_t v = 0; v < nv; v++) {
                    erg_bench_record *rec = &recs[v];
                    snprintf(rec->model, sizeof rec->model, "%s", base);
                    snprintf(rec->model_type, sizeof rec->model_type, "%s",
                             erg_ftype_name((erg_ftype)mi.file_type));
                    rec->model_gib = (double)mi.weight_bytes / 1073741824.0;
                    snprintf(rec->device, sizeof rec->device, "%s", erg_session_device(c.s[0]));
                    rec->threads = p->threads;
                    rec->fusion = v == 0 && !p->no_fusion;
                }
                st = run_test(&c, prompt ? p->n_prompt[t] : p->n_gen[t], prompt, recs);
                if (st == ERG_UNSUPPORTED) {
                    /* Rows that say why, and on to the next device. */
                    for (size_t v = 0; v < nv; v++)
                        snprintf(recs[v].unsupported, sizeof recs[v].unsupported, "%s",
                                 erg_session_last_error(c.s[c.failed]));
                    r->error[0] = '\0';
                    st = ERG_OK;
                    pass = 2;
                    break;
                }
                if (st != ERG_OK)
                    r->n -= nv;
            }
        }
        for (int v = 0; v < c.n_variants; v++)
            erg_session_destroy(c.s[v]);
    }
    if (p->progress)
        fprintf(stderr, "\r\033[K");
    free(tokens);
    free(logits);
    erg_model_destroy(model);
    return st;
}

erg_status erg_bench_run(erg_runtime *rt, const erg_bench_params *p, erg_bench_results *r) {
    memset(r, 0, sizeof *r);
    if (p->reps < 1 || p->reps > 64)
        return fail(r, ERG_INVALID_ARGUMENT, "repetitions must be 1..64, not %d", p->reps);
    r->mem_bw_threads = p->threads;
    r->compare_fusion = p->compare_fusion;
    erg_membw *bw = NULL;
    if (p->n_n_gen > 0 && erg_membw_open(p->threads, &bw) != ERG_OK)
        return fail(r, ERG_OUT_OF_MEMORY, "could not set up the memory bandwidth probe");
    erg_status st = ERG_OK;
    for (size_t m = 0; m < p->n_models && st == ERG_OK; m++)
        st = bench_model(rt, p, p->models[m], bw, r);
    erg_membw_close(bw);
    return st;
}

void erg_bench_results_free(erg_bench_results *r) {
    free(r->records);
    memset(r, 0, sizeof *r);
}
