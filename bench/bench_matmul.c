/*
 * bench_matmul: single-thread speed of the CPU matmul kernels, for comparing
 * kernels and SIMD levels (a tool, not a test).
 *
 *   bench_matmul [-t TYPE] [-k K] [-n N] [-l LEVEL] [-r RUNS] [--hot] [--packed]
 *                [--mmap]
 *
 * For the weight type TYPE (default q4_0) and an N x K weight matrix
 * (default 3072 x 1024), on every level the CPU runs (or only LEVEL):
 *   nc = 1    GB/s of weight bytes streamed (decode: one activation column).
 *             The matrix is copied until the copies exceed the last-level
 *             cache and successive calls walk through the copies, so the
 *             weights come from memory as in a real decode; --hot reuses one.
 *   nc = 128  GOP/s, 2 * K * N * nc / time (prefill: compute bound).
 * --packed times the kernel of the packed layout the CPU backend gives the
 * type (pack.h) on the packed copy, where there is one; GB/s still counts
 * the bytes of the plain rows, so that layouts compare on the same work.
 * --mmap reads the plain weights from a private mapping of a file, as a
 * model's weights are read when they are not packed (an unlinked file in
 * /tmp).
 * Each figure is the median of RUNS timings (default 7). Times are the CPU
 * time of the thread, so other processes on a shared machine slow the
 * figures only through the caches and memory they share, not by taking the
 * core away.
 */
#include "backends/cpu/kernels.h"
#include "backends/cpu/pack.h"
#include "graph/dtype.h"
#include "hal/cpu_info.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define PREFILL_COLS 128
#define COLD_BYTES (256u << 20) /* well above any last-level cache here */
#define MIN_SAMPLE_S 0.02       /* repeat calls until one timing lasts this long */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static float rng_float(void) { return (float)((double)rng_u32() / 2147483648.0 - 1.0); }

/* Random weight rows; float types get real values, quantized types random
 * bytes (their timing does not depend on the values). */
static void fill_weights(erg_dtype t, uint8_t *w, size_t bytes) {
    if (t == ERG_DT_F32) {
        for (size_t i = 0; i < bytes / 4; i++)
            ((float *)w)[i] = rng_float();
    } else if (t == ERG_DT_F16) {
        for (size_t i = 0; i < bytes / 2; i++)
            ((erg_f16 *)w)[i] = erg_f32_to_f16(rng_float());
    } else if (t == ERG_DT_BF16) {
        for (size_t i = 0; i < bytes / 2; i++)
            ((erg_bf16 *)w)[i] = erg_f32_to_bf16(rng_float());
    } else {
        for (size_t i = 0; i < bytes; i++)
            w[i] = (uint8_t)rng_u32();
    }
}

static void fill_acts(erg_cpu_act_format f, uint8_t *a, int64_t k, int64_t nc, size_t lda) {
    for (int64_t c = 0; c < nc; c++) {
        uint8_t *col = a + (size_t)c * lda;
        if (f == ERG_ACT_F32) {
            for (int64_t i = 0; i < k; i++)
                ((float *)col)[i] = rng_float();
        } else if (f == ERG_ACT_Q8A) {
            erg_cpu_block_q8a *b = (erg_cpu_block_q8a *)col;
            for (int64_t i = 0; i < k / 32; i++) {
                int sum = 0;
                for (int j = 0; j < 32; j++)
                    sum += b[i].qs[j] = (int8_t)((int)(rng_u32() % 255) - 127);
                b[i].d = 0.01f;
                b[i].s = 0.01f * (float)sum;
            }
        } else {
            erg_block_q8_k *b = (erg_block_q8_k *)col;
            for (int64_t i = 0; i < k / ERG_QK_K; i++) {
                b[i].d = 0.01f;
                for (int g = 0; g < ERG_QK_K / 16; g++) {
                    int sum = 0;
                    for (int j = 0; j < 16; j++)
                        sum += b[i].qs[16 * g + j] = (int8_t)((int)(rng_u32() % 255) - 127);
                    b[i].bsums[g] = (int16_t)sum;
                }
            }
        }
    }
}

static double thread_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Median seconds per gemm call over `runs` samples; calls cycle through
 * `copies` weight matrices `wbytes` apart. */
static double time_gemm(erg_cpu_gemm_fn gemm, int64_t k, const uint8_t *w, size_t wbytes,
                        int copies, size_t ldw, int64_t nr, const uint8_t *a, size_t lda,
                        int64_t nc, float *c, int runs) {
    double samples[64];
    int calls = 1, next = 0;
    gemm(k, w, ldw, nr, a, lda, nc, c, (size_t)nr); /* warm-up */
    for (;;) {                                      /* calibrate the calls per sample */
        double t0 = thread_time_s();
        for (int i = 0; i < calls; i++, next = (next + 1) % copies)
            gemm(k, w + (size_t)next * wbytes, ldw, nr, a, lda, nc, c, (size_t)nr);
        if (thread_time_s() - t0 >= MIN_SAMPLE_S || calls >= (1 << 20))
            break;
        calls *= 2;
    }
    for (int s = 0; s < runs; s++) {
        double t0 = thread_time_s();
        for (int i = 0; i < calls; i++, next = (next + 1) % copies)
            gemm(k, w + (size_t)next * wbytes, ldw, nr, a, lda, nc, c, (size_t)nr);
        samples[s] = (thread_time_s() - t0) / calls;
    }
    qsort(samples, (size_t)runs, sizeof(double), cmp_double);
    return samples[runs / 2];
}

static void usage(void) {
    fprintf(stderr, "usage: bench_matmul [-t TYPE] [-k K] [-n N] [-l LEVEL] [-r RUNS] [--hot] "
                    "[--packed] [--mmap]\n");
}

int main(int argc, char **argv) {
    const char *type_name = "q4_0", *level_name = NULL;
    int64_t k = 1024, n = 3072;
    int runs = 7;
    int hot = 0, packed = 0, mapped = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--hot") == 0) {
            hot = 1;
            continue;
        }
        if (strcmp(arg, "--packed") == 0) {
            packed = 1;
            continue;
        }
        if (strcmp(arg, "--mmap") == 0) {
            mapped = 1;
            continue;
        }
        if (!val || arg[0] != '-' || strlen(arg) != 2) {
            usage();
            return 2;
        }
        switch (arg[1]) {
        case 't':
            type_name = val;
            break;
        case 'k':
            k = atoll(val);
            break;
        case 'n':
            n = atoll(val);
            break;
        case 'l':
            level_name = val;
            break;
        case 'r':
            runs = atoi(val);
            break;
        default:
            usage();
            return 2;
        }
        i++;
    }
    int t = erg_dtype_from_name(type_name);
    const erg_dtype_traits *tr = t >= 0 ? erg_dtype_get(t) : NULL;
    if (!tr || !tr->weight_type) {
        fprintf(stderr, "bench_matmul: unknown weight type '%s'\n", type_name);
        return 2;
    }
    if (k <= 0 || n <= 0 || k % tr->block_size || runs < 1 || runs > 64) {
        fprintf(stderr, "bench_matmul: need K > 0 a multiple of %u, N > 0, 1 <= RUNS <= 64\n",
                tr->block_size);
        return 2;
    }
    int only = level_name ? erg_cpu_level_parse(level_name) : -1;
    if (level_name && only < 0) {
        fprintf(stderr, "bench_matmul: unknown level '%s'\n", level_name);
        return 2;
    }

    erg_cpu_info info;
    erg_cpu_info_probe(&info);
    size_t ldw = erg_dtype_row_size((erg_dtype)t, k), wbytes = ldw * (size_t)n;
    int copies = hot ? 1 : (int)((COLD_BYTES + wbytes - 1) / wbytes);
    uint8_t *w = malloc(wbytes * (size_t)copies);
    float *c = malloc((size_t)n * PREFILL_COLS * sizeof(float));
    if (!w || !c) {
        fprintf(stderr, "bench_matmul: out of memory\n");
        return 1;
    }
    fill_weights((erg_dtype)t, w, wbytes);
    for (int i = 1; i < copies; i++)
        memcpy(w + (size_t)i * wbytes, w, wbytes);
    if (mapped) { /* the copies through a file and back as a private mapping */
        char path[] = "/tmp/bench_matmul_XXXXXX";
        int fd = mkstemp(path);
        size_t all = wbytes * (size_t)copies;
        void *m = MAP_FAILED;
        if (fd >= 0) {
            unlink(path);
            if (write(fd, w, all) == (ssize_t)all)
                m = mmap(NULL, all, PROT_READ, MAP_PRIVATE, fd, 0);
            close(fd);
        }
        if (m == MAP_FAILED) {
            fprintf(stderr, "bench_matmul: could not map the weights from %s\n", path);
            return 1;
        }
        free(w);
        w = m;
    }
    /* the packed copies, each group_bytes * n / 8 (plain bytes still count) */
    erg_cpu_pack pk = packed ? erg_cpu_pack_choose((erg_dtype)t, k, n) : ERG_CPU_PACK_NONE;
    if (packed && pk == ERG_CPU_PACK_NONE) {
        fprintf(stderr, "bench_matmul: no packed layout for %s K=%lld N=%lld\n", tr->name,
                (long long)k, (long long)n);
        return 2;
    }
    size_t pldw = erg_cpu_pack_group_bytes(pk, k), pbytes = pldw * (size_t)(n / ERG_CPU_PACK_ROWS);
    uint8_t *pw = packed ? malloc(pbytes * (size_t)copies) : NULL;
    if (packed && !pw) {
        fprintf(stderr, "bench_matmul: out of memory\n");
        return 1;
    }
    for (int i = 0; packed && i < copies; i++)
        erg_cpu_pack_rows(pk, w + (size_t)i * wbytes, ldw, n, k, pw + (size_t)i * pbytes);

    printf("%s%s%s  K=%lld N=%lld  weights %.2f MB%s  single thread, median of %d\n", tr->name,
           packed ? " packed" : "", mapped ? " mmap" : "", (long long)k, (long long)n,
           (double)wbytes / 1e6, hot ? " (hot: one copy)" : " (cold: copies cycled)", runs);
    printf("%-11s %12s %12s %14s\n", "level", "nc=1 us", "nc=1 GB/s", "nc=128 GOP/s");
    for (int l = 0; l < ERG_CPU_LEVEL_COUNT; l++) {
        if ((only >= 0 && l != only) || !erg_cpu_level_supported((erg_cpu_level)l, info.features))
            continue;
        const erg_cpu_kernels *kern = erg_cpu_kernels_for((erg_cpu_level)l);
        if (!kern || !kern->matmul[t].gemm || (packed && !kern->matmul_packed[pk].gemm))
            continue;
        erg_cpu_matmul_kernel mk = packed ? kern->matmul_packed[pk] : kern->matmul[t];
        const uint8_t *bw = packed ? pw : w;
        size_t bldw = packed ? pldw : ldw, bbytes = packed ? pbytes : wbytes;
        size_t lda = erg_cpu_act_row_size(mk.act_format, k);
        uint8_t *a = malloc(lda * PREFILL_COLS);
        if (!a)
            return 1;
        fill_acts(mk.act_format, a, k, PREFILL_COLS, lda);
        double t1 = time_gemm(mk.gemm, k, bw, bbytes, copies, bldw, n, a, lda, 1, c, runs);
        double t128 =
            time_gemm(mk.gemm, k, bw, bbytes, 1, bldw, n, a, lda, PREFILL_COLS, c, runs);
        printf("%-11s %12.1f %12.2f %14.2f\n", kern->name, t1 * 1e6, (double)wbytes / t1 / 1e9,
               2.0 * (double)k * (double)n * PREFILL_COLS / t128 / 1e9);
        free(a);
    }
    if (mapped)
        munmap(w, wbytes * (size_t)copies);
    else
        free(w);
    free(pw);
    free(c);
    return 0;
}
