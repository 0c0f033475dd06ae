/*
 * bench.h: erg bench, the same model on every device: prefill (pp) and
 * decode (tg) tokens per second, median and spread over repetitions after a
 * warm-up, and decode speed next to the memory-bandwidth roofline measured
 * in the same run.
 */
#ifndef ERG_BENCH_BENCH_H
#define ERG_BENCH_BENCH_H

#include "erg/erg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ERG_BENCH_MAX_LIST 16

typedef struct erg_bench_params {
    const char *models[ERG_BENCH_MAX_LIST];
    size_t n_models;
    int n_prompt[ERG_BENCH_MAX_LIST]; /* pp tests (0 entries: none) */
    size_t n_n_prompt;
    int n_gen[ERG_BENCH_MAX_LIST];    /* tg tests */
    size_t n_n_gen;
    int reps;
    int threads;
    const char *devices[ERG_BENCH_MAX_LIST]; /* names, "auto" allowed */
    size_t n_devices;
    bool progress;                   /* a progress line on stderr */
    bool no_fusion;                  /* run the graphs as built (no fusion passes) */
    bool strict;                     /* a node the device cannot run is an error, not a CPU fallback */
    /* Each test runs fused and unfused on one device, their repetitions
     * interleaved, so the two see the same machine state (records come in
     * pairs: fused, then unfused). */
    bool compare_fusion;
} erg_bench_params;

typedef struct erg_bench_record {
    char model[256];       /* file name */
    char model_type[24];   /* the file's type, e.g. "q4_0" */
    double model_gib;      /* weights */
    char device[32];
    char test[24];         /* "pp128", "tg64" */
    int n_prompt, n_gen, threads, reps;
    double tps_median, tps_stddev;
    double ms_per_token;
    /* Decode only: bytes of weights read per token; the memory bandwidth
     * measured right before each timed run (median); the roofline (that
     * bandwidth over those bytes) and the median of each run's share of it. */
    double bytes_per_token;
    double mem_bw_gbps;
    double roofline_tps;
    double roofline_fraction;
    /* Kernel launches per token (decode: per decoded token), and where the
     * device has timers, the host's share of each launch: (wall time -
     * device time) / launches. Negative when unknown. */
    double dispatches_per_token;
    double host_us_per_dispatch;
    /* Whether the fusion passes ran, how many fused nodes they made (in the
     * graph of one step), and the activation memory of the run's peak step
     * (decode: the last, longest-context step; prefill: the prompt's step):
     * the planned arena, one buffer per tensor, and the liveness lower
     * bound. */
    bool fusion;
    uint32_t n_fused;
    uint64_t activation_bytes, activation_naive_bytes, activation_lower_bound_bytes;
    /* Set when the device cannot run the model; the numbers are then 0. */
    char unsupported[160];
} erg_bench_record;

typedef struct erg_bench_results {
    erg_bench_record *records;
    size_t n, cap;
    int mem_bw_threads;
    bool compare_fusion; /* records in (fused, unfused) pairs */
    char error[512];    /* why the run stopped, if it did */
} erg_bench_results;

/* Runs every (model, device, test). Stops at the first failure with the
 * sentence in results->error. */
erg_status erg_bench_run(erg_runtime *rt, const erg_bench_params *p, erg_bench_results *results);
void erg_bench_results_free(erg_bench_results *r);

/* Read bandwidth of main memory with n_threads threads: one pass over a
 * 512 MiB buffer (far larger than the caches) takes about 20 ms and gives
 * GB/s. The benchmark takes the best of three passes right before each
 * timed decode run, so the roofline follows the machine's state (shared
 * machines drift). */
typedef struct erg_membw erg_membw;
erg_status erg_membw_open(int n_threads, erg_membw **out);
double erg_membw_pass(erg_membw *m);
void erg_membw_close(erg_membw *m);

/* Bytes of weights one decoded token reads: every weight tensor, except
 * that only one row of the token embedding is read (all of it when it is
 * also the output projection). */
double erg_bench_decode_bytes(const erg_model *model);

/* The built-in default models: made by the model maker on first use and
 * cached in $ERG_CACHE_DIR/models. Fills paths (up to cap), returns count,
 * or -1 with the reason in err. */
int erg_bench_default_models(const char **paths, int cap, char *err, size_t err_size);

typedef enum { BENCH_OUT_TABLE, BENCH_OUT_JSON } erg_bench_output;
void erg_bench_print(const erg_bench_results *r, erg_bench_output out);

#endif
