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

static erg_bench_record *new_record(erg_bench_results *r) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        erg_bench_record *grown = realloc(r->records, cap * sizeof *grown);
        if (!grown)
            return NULL;
        r->records = grown;
        r->cap = cap;
    }
    erg_bench_record *rec = &r->records[r->n++];
    memset(rec, 0, sizeof *rec);
    return rec;
}

typedef struct run_ctx {
    const erg_bench_params *p;
    erg_bench_results *r;
    erg_session *s;
    const int32_t *tokens;
    float *logits;
    const char *label;
    erg_membw *bw;       /* NULL: no decode tests */
    double decode_bytes; /* weight bytes one decode step reads */
} run_ctx;

static void progress(const run_ctx *c, const char *test, int rep) {
    if (!c->p->progress)
        return;
    fprintf(stderr, "\r\033[K%s: %s rep %d/%d", c->label, test, rep, c->p->reps);
    fflush(stderr);
}

/* What one timed run counted: kernel launches, and the time the device's
 * timers saw (0 without timers). */
typedef struct run_counts {
    double dispatches, device_seconds;
} run_counts;

static void add_counts(const erg_session *s, run_counts *k) {
    erg_session_stats st = {.struct_size = sizeof st};
    if (erg_session_get_stats(s, &st) == ERG_OK) {
        k->dispatches += st.n_dispatches;
        k->device_seconds += st.device_seconds;
    }
}

/* One timed run: n tokens as one prompt (pp) or one at a time (tg). */
static erg_status timed_run(run_ctx *c, int n, bool prompt, double *seconds, run_counts *k) {
    erg_session_reset(c->s);
    *k = (run_counts){0, 0};
    double t0 = erg_time_s();
    erg_status st = ERG_OK;
    if (prompt) {
        st = erg_session_eval(c->s, c->tokens, (size_t)n, ERG_LOGITS_LAST, c->logits, SIZE_MAX);
        add_counts(c->s, k);
    }
    for (int i = 0; !prompt && i < n && st == ERG_OK; i++) {
        st = erg_session_eval(c->s, &c->tokens[i], 1, ERG_LOGITS_LAST, c->logits, SIZE_MAX);
        add_counts(c->s, k);
    }
    *seconds = erg_time_s() - t0;
    if (st != ERG_OK)
        return fail(c->r, st, "%s: %s", c->label, erg_session_last_error(c->s));
    return ERG_OK;
}

static erg_status run_test(run_ctx *c, int n, bool prompt, erg_bench_record *rec) {
    char test[24];
    snprintf(test, sizeof test, "%s%d", prompt ? "pp" : "tg", n);
    double tps[64], bw[64], share[64], host_us[64], seconds;
    run_counts counts;
    progress(c, test, 0);
    ERG_RETURN_IF_ERROR(timed_run(c, n, prompt, &seconds, &counts)); /* warm-up */
    for (int k = 0; k < c->p->reps; k++) {
        progress(c, test, k + 1);
        /* Decode is bound by memory bandwidth: measure it right before the
         * run it is compared with (the best of a few passes, so a hiccup in
         * one pass cannot flatter the share). */
        bw[k] = 0.0;
        for (int pass = 0; !prompt && pass < BW_PASSES; pass++) {
            double g = erg_membw_pass(c->bw);
            bw[k] = g > bw[k] ? g : bw[k];
        }
        ERG_RETURN_IF_ERROR(timed_run(c, n, prompt, &seconds, &counts));
        tps[k] = n / seconds;
        host_us[k] = counts.device_seconds > 0 && counts.dispatches > 0
                         ? 1e6 * (seconds - counts.device_seconds) / counts.dispatches
                         : -1.0;
        share[k] = !prompt ? tps[k] * c->decode_bytes / (bw[k] * 1e9) : 0.0;
    }
    snprintf(rec->test, sizeof rec->test, "%s", test);
    rec->n_prompt = prompt ? n : 0;
    rec->n_gen = prompt ? 0 : n;
    rec->reps = c->p->reps;
    summarize(tps, c->p->reps, &rec->tps_median, &rec->tps_stddev);
    rec->ms_per_token = 1000.0 / rec->tps_median;
    rec->dispatches_per_token = counts.dispatches / n;
    rec->host_us_per_dispatch = median_of(host_us, c->p->reps);
    if (!prompt) {
        rec->bytes_per_token = c->decode_bytes;
        rec->mem_bw_gbps = median_of(bw, c->p->reps);
        rec->roofline_tps = rec->mem_bw_gbps * 1e9 / c->decode_bytes;
        rec->roofline_fraction = median_of(share, c->p->reps);
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
        erg_session_options so = ERG_SESSION_OPTIONS_INIT;
        so.device = p->devices[d];
        so.n_ctx = (uint32_t)max_n;
        so.n_batch = (uint32_t)max_n;
        erg_session *s = NULL;
        if (erg_session_create(model, &so, &s) != ERG_OK) {
            st = fail(r, ERG_DEVICE, "%s on %s: %s", base, p->devices[d],
                      erg_model_last_error(model));
            break;
        }
        char label[320];
        snprintf(label, sizeof label, "%s on %s", base, p->devices[d]);
        run_ctx c = {p, r, s, tokens, logits, label, bw, decode_bytes};
        for (int pass = 0; pass < 2 && st == ERG_OK; pass++) {
            bool prompt = pass == 0;
            size_t count = prompt ? p->n_n_prompt : p->n_n_gen;
            for (size_t t = 0; t < count && st == ERG_OK; t++) {
                erg_bench_record *rec = new_record(r);
                if (!rec) {
                    st = fail(r, ERG_OUT_OF_MEMORY, "bench records");
                    break;
                }
                snprintf(rec->model, sizeof rec->model, "%s", base);
                snprintf(rec->model_type, sizeof rec->model_type, "%s",
                         erg_ftype_name((erg_ftype)mi.file_type));
                rec->model_gib = (double)mi.weight_bytes / 1073741824.0;
                snprintf(rec->device, sizeof rec->device, "%s", erg_session_device(s));
                rec->threads = p->threads;
                st = run_test(&c, prompt ? p->n_prompt[t] : p->n_gen[t], prompt, rec);
                if (st == ERG_UNSUPPORTED) {
                    /* A row that says why, and on to the next device. */
                    snprintf(rec->unsupported, sizeof rec->unsupported, "%s",
                             erg_session_last_error(s));
                    r->error[0] = '\0';
                    st = ERG_OK;
                    pass = 2;
                    break;
                }
                if (st != ERG_OK)
                    r->n--;
            }
        }
        erg_session_destroy(s);
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
