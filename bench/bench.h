/*
 * bench.h: erg bench, the same model on every device: prefill (pp) and
 * decode (tg) tokens per second, median and spread over repetitions after a
 * warm-up, time to first token, joules per token with their source, EDP,
 * peak memory, accuracy against the CPU's exact reference path, and decode
 * speed next to the memory-bandwidth roofline measured in the same run.
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
    int n_depth[ERG_BENCH_MAX_LIST];  /* tokens in the KV cache before each test (none: 0) */
    size_t n_n_depth;
    int reps;
    int threads;
    const char *devices[ERG_BENCH_MAX_LIST]; /* names, "auto" allowed */
    size_t n_devices;
    bool progress;                   /* a progress line on stderr */
    bool no_fusion;                  /* run the graphs as built (no fusion passes) */
    bool strict;                     /* a node the device cannot run is an error, not a CPU fallback */
    erg_policy policy;               /* the scheduler's objective for device "auto" */
    /* Each test runs fused and unfused on one device, their repetitions
     * interleaved, so the two see the same machine state (records come in
     * pairs: fused, then unfused). */
    bool compare_fusion;
} erg_bench_params;

typedef enum erg_bench_status {
    ERG_BENCH_OK = 0,
    ERG_BENCH_FAILED,      /* the device failed (session, eval): reason says why */
    ERG_BENCH_UNSUPPORTED  /* the device cannot run the model (--strict) */
} erg_bench_status;

/* "ok", "failed", "unsupported". */
const char *erg_bench_status_name(erg_bench_status s);

typedef struct erg_bench_record {
    char model[256];       /* file name */
    char model_type[24];   /* the file's type, e.g. "q4_0" */
    double model_gib;      /* weights */
    char device[32];       /* as named ("auto" for the scheduler's placement) */
    char backend[16];      /* "cpu", "vulkan", …; "mixed" for auto */
    char placement[160];   /* auto: where the last eval's nodes ran, "cpu=212,vulkan:0=36" */
    char test[32];         /* "pp128", "tg64", "tg64@d512" */
    int n_prompt, n_gen, n_depth, threads, reps;
    double tps_median, tps_stddev;
    double ms_per_token;
    /* The median time from the start of a test's first eval to its logits:
     * for pp the prompt's eval, for tg the first decode step. */
    double ttft_ms;
    /* Joules per token and their average power over the timed runs; source
     * is erg_energy_source_name's ("estimate", "simulated", "rapl" …). */
    double joules_per_token, avg_power_w, edp_per_token;
    char energy_source[16];
    bool energy_measured;
    /* Process peak RSS over the test (warm-up and repetitions). */
    uint64_t peak_memory_bytes;
    /* Against the CPU's exact reference path on the same prompt (one
     * figure per model and device, repeated on its records). */
    bool have_accuracy;
    int accuracy_tokens;
    double top1_agreement, kl_divergence, nrmse;
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
    /* Prefill on the CPU backend: operations per second (a multiply-add
     * counts 2: erg_bench_prefill_ops) against the CPU's arithmetic peak in
     * the form its kernels compute the weights' type (int8 dot products for
     * quantized types, fp32 FMA for F32/F16/BF16), measured with the test's
     * threads once at the start of the run, before any model is loaded.
     * 0: not measured. */
    double prefill_gops;
    double arith_peak_gops;
    double arith_fraction;
    char arith_isa[24];
    /* auto only: its EDP over the lowest EDP of a single device on the same
     * model, test and fusion setting, and that device (0, "": none ran). */
    double edp_vs_best;
    char best_device[32];
    /* auto only: a create after the device's own (calibration cached, the
     * chosen devices open), the least of three, and what choosing the
     * placement took in it (0: not measured). */
    double warm_create_ms, selection_ms;
    /* Not ERG_BENCH_OK: the numbers are 0 and reason says why. */
    erg_bench_status status;
    char reason[512];
} erg_bench_record;

typedef struct erg_bench_results {
    erg_bench_record *records;
    size_t n, cap;
    int mem_bw_threads;
    bool compare_fusion; /* records in (fused, unfused) pairs */
    char peak_memory_method[64]; /* how peak_memory_bytes was taken */
    char notes[8][256];  /* what the report must say: devices left out, threads */
    size_t n_notes;
    char error[512];    /* why the run stopped, if it did */
} erg_bench_results;

/* Adds a note the reports print under the table (up to 8; more are dropped). */
void erg_bench_results_note(erg_bench_results *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Runs every (model, device, test). A device that fails (its own memory
 * running out included) gives records with status failed and its reason,
 * and the rest goes on; the run stops only when a model cannot be loaded or
 * the bench's own buffers cannot be allocated, with the sentence in
 * results->error. results must be zeroed (or hold notes) on entry. */
erg_status erg_bench_run(erg_runtime *rt, const erg_bench_params *p, erg_bench_results *results);
void erg_bench_results_free(erg_bench_results *r);

/* Fills edp_vs_best and best_device of every auto record (erg_bench_run
 * does, once every device has run). */
void erg_bench_compare_auto(erg_bench_results *r);

/* Read bandwidth of main memory with n_threads threads: one pass over a
 * 512 MiB buffer (far larger than the caches) takes about 20 ms and gives
 * GB/s. The benchmark takes the best of three passes right before each
 * timed decode run, so the roofline follows the machine's state (shared
 * machines drift). */
typedef struct erg_membw erg_membw;
erg_status erg_membw_open(int n_threads, erg_membw **out);
double erg_membw_pass(erg_membw *m);
/* The probe's buffer, resident while it is open: peak memory leaves it out. */
size_t erg_membw_resident_bytes(const erg_membw *m);
void erg_membw_close(erg_membw *m);

/* The host CPU's arithmetic peak with n_threads threads, best of five
 * passes of about 10 ms each: fp32 multiply-adds (2 flops each) with the
 * widest FMA it has, and int8 multiply-adds (2 ops each) with its best dot
 * product (AVX-512 VNNI, AVX-VNNI, AVX2 maddubs, NEON sdot or smull).
 * Prefill is compared with these; the isa strings name the instructions. */
typedef struct erg_compute_peak {
    double f32_gflops;
    double int8_gops;
    const char *f32_isa;
    const char *int8_isa;
} erg_compute_peak;
erg_status erg_compute_peak_measure(int n_threads, erg_compute_peak *out);

/* Operations of a prefill of n_prompt tokens after n_depth in the cache
 * (a multiply-add counts 2): its matmuls, the output projection of the last
 * position only, and causal attention. 0 if the model has no info. */
double erg_bench_prefill_ops(const erg_model *model, int n_prompt, int n_depth);
/* Fills a prefill record's arithmetic figures from a measured peak and its
 * test's operations (nothing where either is unknown). */
void erg_bench_set_arith(erg_bench_record *rec, const erg_compute_peak *peak, double ops);

/* Bytes of weights one decoded token reads: every weight tensor, except
 * that only one row of the token embedding is read (all of it when it is
 * also the output projection). */
double erg_bench_decode_bytes(const erg_model *model);

/* The built-in default model(s): made by the model maker on first use and
 * cached in $ERG_CACHE_DIR/models. Fills paths (up to cap), returns count,
 * or -1 with the reason in err. */
int erg_bench_default_models(const char **paths, int cap, char *err, size_t err_size);

typedef enum {
    BENCH_OUT_TABLE,
    BENCH_OUT_JSON,
    BENCH_OUT_MD,
    BENCH_OUT_CSV,
    BENCH_OUT_JSONL
} erg_bench_output;
void erg_bench_print(const erg_bench_results *r, erg_bench_output out);

/* The chart of a run (tokens/s, joules/token, EDP per device) as SVG.
 * ERG_IO with the reason in err when the file cannot be written. */
erg_status erg_bench_write_svg(const erg_bench_results *r, const char *path, char *err,
                               size_t err_size);

#endif
