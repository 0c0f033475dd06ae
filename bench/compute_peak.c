/* The host CPU's arithmetic peak: every thread of a pool runs a tight loop
 * of independent multiply-adds with the widest instructions the CPU has, in
 * the two forms erg's matmul kernels use: fp32 FMA (F16 and F32 weights)
 * and int8 dot products (quantized weights on int8 activations). Prefill is
 * arithmetic, so the benchmark reports it against these, measured in the
 * same run as the machine's state drifts. */
#include "bench/bench.h"

#include "backends/cpu/threadpool.h"
#include "hal/cpu_info.h"
#include "hal/timer.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/* Independent accumulators: more than the multiply-add latency times the
 * pipes that issue them, so the loop is bound by throughput alone. */
#define CHAINS 12
#define ITERATIONS (1u << 18)
#define PASSES 5

/* One kernel: runs ITERATIONS iterations of CHAINS multiply-adds and
 * returns something of the results, so none of the work can be dropped. */
typedef float (*peak_kernel)(void);

/* The empty asm makes the compiler treat v as changed where it stands, so
 * a product of loop-invariant operands is computed again for every chain
 * instead of once. */
#define KEEP(v, c) __asm__ volatile("" : "+" c(v))

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static float f32_avx2(void) {
    __m256 acc[CHAINS], a = _mm256_set1_ps(1.0f), b = _mm256_set1_ps(1e-9f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm256_set1_ps((float)c);
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm256_fmadd_ps(a, b, acc[c]);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm256_add_ps(acc[0], acc[c]);
    return _mm256_cvtss_f32(acc[0]);
}

/* The int8 form without VNNI: u8 x s8 pairs to int16 (maddubs), int16
 * pairs to int32 (madd with ones), then add: 32 multiply-adds. */
__attribute__((target("avx2"))) static float int8_avx2(void) {
    __m256i acc[CHAINS], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm256_setzero_si256();
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++) {
            KEEP(a, "x"); /* else one product would serve every chain */
            acc[c] = _mm256_add_epi32(
                acc[c], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
        }
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm256_add_epi32(acc[0], acc[c]);
    return (float)_mm256_cvtsi256_si32(acc[0]);
}

__attribute__((target("avxvnni"))) static float int8_avxvnni(void) {
    __m256i acc[CHAINS], a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm256_setzero_si256();
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm256_dpbusd_avx_epi32(acc[c], a, b);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm256_add_epi32(acc[0], acc[c]);
    return (float)_mm256_cvtsi256_si32(acc[0]);
}

__attribute__((target("avx512f"))) static float f32_avx512(void) {
    __m512 acc[CHAINS], a = _mm512_set1_ps(1.0f), b = _mm512_set1_ps(1e-9f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm512_set1_ps((float)c);
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(a, b, acc[c]);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm512_add_ps(acc[0], acc[c]);
    return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx512f,avx512vnni"))) static float int8_avx512vnni(void) {
    __m512i acc[CHAINS], a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm512_setzero_si512();
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm512_dpbusd_epi32(acc[c], a, b);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = _mm512_add_epi32(acc[0], acc[c]);
    return (float)_mm512_reduce_add_epi32(acc[0]);
}
#endif

#if defined(__aarch64__)
static float f32_neon(void) {
    float32x4_t acc[CHAINS], a = vdupq_n_f32(1.0f), b = vdupq_n_f32(1e-9f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = vdupq_n_f32((float)c);
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = vfmaq_f32(acc[c], a, b);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = vaddq_f32(acc[0], acc[c]);
    return vaddvq_f32(acc[0]);
}

/* Without the dot product: widening multiplies of both halves (16
 * multiply-adds), accumulated pairwise into int32. */
static float int8_neon(void) {
    int32x4_t acc[CHAINS];
    int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-2);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = vdupq_n_s32(0);
    for (unsigned i = 0; i < ITERATIONS; i++) {
        for (int c = 0; c < CHAINS; c++) {
            KEEP(a, "w"); /* else one product would serve every chain */
            int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(b));
            p = vmlal_high_s8(p, a, b);
            acc[c] = vpadalq_s16(acc[c], p);
        }
    }
    for (int c = 1; c < CHAINS; c++)
        acc[0] = vaddq_s32(acc[0], acc[c]);
    return (float)vaddvq_s32(acc[0]);
}

__attribute__((target("arch=armv8.2-a+dotprod"))) static float int8_dotprod(void) {
    int32x4_t acc[CHAINS];
    int8x16_t a = vdupq_n_s8(3), b = vdupq_n_s8(-2);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = vdupq_n_s32(0);
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = vdotq_s32(acc[c], a, b);
    for (int c = 1; c < CHAINS; c++)
        acc[0] = vaddq_s32(acc[0], acc[c]);
    return (float)vaddvq_s32(acc[0]);
}
#endif

#if !defined(__x86_64__) && !defined(__aarch64__)
static float f32_scalar(void) {
    float acc[CHAINS];
    for (int c = 0; c < CHAINS; c++)
        acc[c] = (float)c;
    for (unsigned i = 0; i < ITERATIONS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = acc[c] * 1.0f + 1e-9f;
    return acc[0] + acc[CHAINS - 1];
}
#endif

typedef struct peak_form {
    peak_kernel run;
    double ops_per_iteration; /* multiply-adds count 2 */
    const char *isa;
} peak_form;

static void pick_forms(uint32_t f, peak_form *f32, peak_form *int8) {
#if defined(__x86_64__)
    bool avx2 = (f & ERG_CPU_FEATURE_AVX2) && (f & ERG_CPU_FEATURE_FMA);
    if (f & ERG_CPU_FEATURE_AVX512F)
        *f32 = (peak_form){f32_avx512, CHAINS * 16 * 2, "avx512 fma"};
    else if (avx2)
        *f32 = (peak_form){f32_avx2, CHAINS * 8 * 2, "avx2 fma"};
    if ((f & ERG_CPU_FEATURE_AVX512F) && (f & ERG_CPU_FEATURE_AVX512VNNI))
        *int8 = (peak_form){int8_avx512vnni, CHAINS * 64 * 2, "avx512 vnni"};
    else if (f & ERG_CPU_FEATURE_AVXVNNI)
        *int8 = (peak_form){int8_avxvnni, CHAINS * 32 * 2, "avx-vnni"};
    else if (avx2)
        *int8 = (peak_form){int8_avx2, CHAINS * 32 * 2, "avx2 maddubs"};
#elif defined(__aarch64__)
    *f32 = (peak_form){f32_neon, CHAINS * 4 * 2, "neon fma"};
    if (f & ERG_CPU_FEATURE_DOTPROD)
        *int8 = (peak_form){int8_dotprod, CHAINS * 16 * 2, "neon sdot"};
    else
        *int8 = (peak_form){int8_neon, CHAINS * 16 * 2, "neon smull"};
#else
    (void)f;
    (void)int8;
    *f32 = (peak_form){f32_scalar, CHAINS * 2, "scalar"};
#endif
}

typedef struct peak_pass {
    erg_threadpool *pool;
    peak_kernel run;
    float sink[256];
    double seconds;
} peak_pass;

static void run_slice(void *arg, int ith, int nth) {
    (void)nth;
    peak_pass *p = arg;
    erg_threadpool_barrier(p->pool); /* start together */
    uint64_t t0 = erg_time_ns();
    p->sink[ith] = p->run();
    erg_threadpool_barrier(p->pool); /* the slowest thread ends the pass */
    if (ith == 0)
        p->seconds = (double)(erg_time_ns() - t0) * 1e-9;
}

/* Best of PASSES: ops per second over all threads. */
static double measure(erg_threadpool *pool, const peak_form *form, float *sink) {
    if (!form->run)
        return 0;
    peak_pass p = {.pool = pool, .run = form->run};
    double best = 0;
    for (int i = 0; i < PASSES; i++) {
        erg_threadpool_run(pool, run_slice, &p);
        double ops = form->ops_per_iteration * ITERATIONS * erg_threadpool_size(pool);
        if (p.seconds > 0 && ops / p.seconds > best)
            best = ops / p.seconds;
        for (int t = 0; t < erg_threadpool_size(pool); t++)
            *sink += p.sink[t];
    }
    return best;
}

erg_status erg_compute_peak_measure(int n_threads, erg_compute_peak *out) {
    memset(out, 0, sizeof *out);
    if (n_threads < 1 || n_threads > 256)
        return ERG_INVALID_ARGUMENT;
    erg_cpu_info info;
    erg_cpu_info_probe(&info);
    peak_form f32 = {0}, int8 = {0};
    pick_forms(info.features, &f32, &int8);
    erg_threadpool *pool;
    erg_status st = erg_threadpool_create(NULL, n_threads, &pool, NULL);
    if (st != ERG_OK)
        return st;
    float sink = 0;
    out->f32_gflops = measure(pool, &f32, &sink) * 1e-9;
    out->int8_gops = measure(pool, &int8, &sink) * 1e-9;
    out->f32_isa = f32.isa ? f32.isa : "none";
    out->int8_isa = int8.isa ? int8.isa : "none";
    /* The results must be used, or the loops could be optimised away. */
    volatile float keep = sink;
    (void)keep;
    erg_threadpool_free(pool);
    return ERG_OK;
}
