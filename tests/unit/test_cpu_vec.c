/*
 * test_cpu_vec.c: the CPU vector kernels (vec_<level>.c) of every SIMD level
 * this CPU can run, or of the one level named by ERG_CPU_FEATURES (skipped
 * when the CPU cannot run it). Each entry is compared with a double-precision
 * reference computed here, on lengths 1..70 (every tail), 1000 and 4099,
 * with 64 guard bytes after every output to catch writes past the end.
 * The activation quantisers must match the scalar level bit for bit, and the
 * row conversions must match erg_dequantize_row / base/fp16.h bit for bit.
 */
#include "backends/cpu/kernels.h"
#include "hal/cpu_info.h"
#include "tests/test.h"

#include <float.h>
#include <stdint.h>

/* ---- inputs ----------------------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t seed) { rng_state = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint32_t rng_u32(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float rng_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((rng_u32() >> 8) * (1.0 / 16777216.0));
}

/* Lengths every kernel is run on: 1..70 (every tail), 1000 and 4099. */
#define N_LENGTHS 72
static int64_t length_at(int i) { return i < 70 ? i + 1 : (i == 70 ? 1000 : 4099); }
#define MAX_LEN 4099

/* n uniform values in [lo, hi], then specials[] spread over the row. */
static void fill(float *x, int64_t n, float lo, float hi, const float *specials, int n_specials) {
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_uniform(lo, hi);
    for (int s = 0; s < n_specials && s < n; s++)
        x[(s * 7919) % n] = specials[s];
}

/* ---- guarded outputs ---------------------------------------------------------- */

#define GUARD 64

static void *guarded_alloc(size_t bytes) {
    unsigned char *p = malloc(bytes + GUARD);
    memset(p, 0xA5, bytes + GUARD);
    return p;
}

static bool guard_intact(const void *p, size_t bytes) {
    const unsigned char *g = (const unsigned char *)p + bytes;
    for (int i = 0; i < GUARD; i++)
        if (g[i] != 0xA5)
            return false;
    return true;
}

static void guard_reset(void *p, size_t bytes) { memset((unsigned char *)p + bytes, 0xA5, GUARD); }

static bool same_float(float a, float b) {
    return (isnan(a) && isnan(b)) || erg_f32_bits(a) == erg_f32_bits(b);
}

/* ---- references --------------------------------------------------------------- */

static double sigmoid_ref(double t) { return 1.0 / (1.0 + exp(-t)); }
static double silu_ref(double x) { return x * sigmoid_ref(x); }
/* 0.5 * (1 + tanh(u)) == sigmoid(2u), evaluated without cancellation. */
static double gelu_t(double x) { return 2.0 * sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x); }
static double gelu_ref(double x) { return x * sigmoid_ref(gelu_t(x)); }

/* ---- elementwise ---------------------------------------------------------------- */

/* add, mul, scale are single IEEE operations: results must be exact, in place too. */
static void test_arith(const erg_cpu_kernels *k) {
    static const float specials[] = {0.0f, -0.0f, 1e30f, -1e30f, FLT_MIN, -3.5f, 65504.0f};
    static float a[MAX_LEN], b[MAX_LEN], inplace[MAX_LEN];
    float *y = guarded_alloc(MAX_LEN * sizeof(float));
    int bad_add = 0, bad_mul = 0, bad_scale = 0, bad_alias = 0, bad_guard = 0;
    for (int li = 0; li < N_LENGTHS; li++) {
        int64_t n = length_at(li);
        size_t bytes = (size_t)n * sizeof(float);
        fill(a, n, -100.0f, 100.0f, specials, 7);
        fill(b, n, -100.0f, 100.0f, NULL, 0);
        guard_reset(y, bytes);
        k->add(n, y, a, b);
        for (int64_t i = 0; i < n; i++)
            bad_add += !same_float(y[i], a[i] + b[i]);
        k->mul(n, y, a, b);
        for (int64_t i = 0; i < n; i++)
            bad_mul += !same_float(y[i], a[i] * b[i]);
        k->scale(n, y, a, 0.37f);
        for (int64_t i = 0; i < n; i++)
            bad_scale += !same_float(y[i], a[i] * 0.37f);
        bad_guard += !guard_intact(y, bytes);
        memcpy(inplace, a, bytes);
        k->add(n, inplace, inplace, b);
        k->mul(n, inplace, inplace, b);
        for (int64_t i = 0; i < n; i++)
            bad_alias += !same_float(inplace[i], (a[i] + b[i]) * b[i]);
    }
    CHECK_MSG(bad_add == 0, "%s add: %d results differ from a + b", k->name, bad_add);
    CHECK_MSG(bad_mul == 0, "%s mul: %d results differ from a * b", k->name, bad_mul);
    CHECK_MSG(bad_scale == 0, "%s scale: %d results differ from x * s", k->name, bad_scale);
    CHECK_MSG(bad_alias == 0, "%s add/mul in place: %d results differ", k->name, bad_alias);
    CHECK_MSG(bad_guard == 0, "%s add/mul/scale wrote past the end %d times", k->name, bad_guard);
    free(y);
}

/* Tolerance of silu, gelu, swiglu, relative to the exact value:
 *   1e-6 (exp's own error is < 1e-7, plus a few roundings), plus for gelu
 *   |t| * 2^-22, where t = x * (c1 + c2 x^2) is the sigmoid's argument: its
 *   float evaluation (3 roundings, < 2^-22 relative) is amplified by |t| in
 *   exp(-|t|); plus an absolute 1e-37 for results that underflow (|y| < FLT_MIN). */
static void test_activations(const erg_cpu_kernels *k) {
    static const float specials[] = {0.0f,  -0.0f,  1e-30f, -1e-30f, 20.0f,  -20.0f,
                                     88.0f, -88.0f, 90.0f,  -90.0f,  100.0f, -100.0f,
                                     1e4f,  -1e4f,  1e20f,  -1e20f,  3e38f,  -3e38f};
    static float x[MAX_LEN], u[MAX_LEN], inplace[MAX_LEN];
    float *y = guarded_alloc(MAX_LEN * sizeof(float));
    double worst_silu = 0, worst_gelu = 0, worst_swiglu = 0; /* error / tolerance */
    int nan_seen = 0, bad_guard = 0, bad_alias = 0;
    for (int li = 0; li < N_LENGTHS; li++) {
        int64_t n = length_at(li);
        size_t bytes = (size_t)n * sizeof(float);
        fill(x, n, -30.0f, 30.0f, specials, 18);
        fill(u, n, -1.0f, 1.0f, NULL, 0); /* |silu(3e38) * u| stays finite */
        guard_reset(y, bytes);
        k->silu(n, y, x);
        for (int64_t i = 0; i < n; i++) {
            double ref = silu_ref(x[i]);
            double tol = 1e-6 * fabs(ref) + 1e-37;
            nan_seen += isnan(y[i]);
            worst_silu = fmax(worst_silu, fabs(y[i] - ref) / tol);
        }
        k->gelu(n, y, x);
        for (int64_t i = 0; i < n; i++) {
            double ref = gelu_ref(x[i]);
            double tol = (1e-6 + fabs(gelu_t(x[i])) * 0x1p-22) * fabs(ref) + 1e-37;
            nan_seen += isnan(y[i]);
            worst_gelu = fmax(worst_gelu, fabs(y[i] - ref) / tol);
        }
        k->swiglu(n, y, x, u);
        for (int64_t i = 0; i < n; i++) {
            double ref = silu_ref(x[i]) * u[i];
            double tol = 1e-6 * fabs(ref) + 1e-37 * fabs(u[i]);
            nan_seen += isnan(y[i]);
            worst_swiglu = fmax(worst_swiglu, fabs(y[i] - ref) / tol);
        }
        bad_guard += !guard_intact(y, bytes);
        /* in place: the same values as out of place */
        memcpy(inplace, x, bytes);
        k->silu(n, inplace, inplace);
        k->silu(n, y, x);
        bad_alias += memcmp(inplace, y, bytes) != 0;
        memcpy(inplace, x, bytes);
        k->swiglu(n, inplace, inplace, u);
        k->swiglu(n, y, x, u);
        bad_alias += memcmp(inplace, y, bytes) != 0;
    }
    printf("  %s: silu/gelu/swiglu worst error = %.3f / %.3f / %.3f of tolerance\n", k->name,
           worst_silu, worst_gelu, worst_swiglu);
    CHECK_MSG(worst_silu <= 1.0, "%s silu: error %.3g x tolerance", k->name, worst_silu);
    CHECK_MSG(worst_gelu <= 1.0, "%s gelu: error %.3g x tolerance", k->name, worst_gelu);
    CHECK_MSG(worst_swiglu <= 1.0, "%s swiglu: error %.3g x tolerance", k->name, worst_swiglu);
    CHECK_MSG(nan_seen == 0, "%s: %d NaN results from finite inputs", k->name, nan_seen);
    CHECK_MSG(bad_alias == 0, "%s silu/swiglu in place differ %d times", k->name, bad_alias);
    CHECK_MSG(bad_guard == 0, "%s activations wrote past the end %d times", k->name, bad_guard);

    /* the limits: silu(-100) = -3.8e-42 (subnormal; no inf/inf NaN), gelu(+-20) = 20 / 0 */
    float lim_x[4] = {-100.0f, 20.0f, -20.0f, 0.0f}, lim_y[4];
    k->silu(4, lim_y, lim_x);
    CHECK_MSG(lim_y[0] <= 0.0f && lim_y[0] > -1e-41f && lim_y[1] == 20.0f && lim_y[3] == 0.0f,
              "%s silu(-100, 20, 0) = %g %g %g", k->name, lim_y[0], lim_y[1], lim_y[3]);
    k->gelu(4, lim_y, lim_x);
    CHECK_MSG(lim_y[1] == 20.0f && lim_y[2] == 0.0f && lim_y[3] == 0.0f,
              "%s gelu(20, -20, 0) = %g %g %g", k->name, lim_y[1], lim_y[2], lim_y[3]);
    free(y);
}

/* ---- reductions ----------------------------------------------------------------- */

/* dot: |err| <= 1e-6 * sum|x*y|; sum_sq: rel 1e-6; max: exact.
 * Float lanes may accumulate, so the bounds hold only if the kernel folds its
 * lanes into double often enough: the long positive rows check that. */
static void check_reductions(const erg_cpu_kernels *k, const float *x, const float *y, int64_t n,
                             double *worst_dot, double *worst_sq, int *bad_max) {
    double dot = 0, dot_abs = 0, sq = 0;
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        dot += (double)x[i] * y[i];
        dot_abs += fabs((double)x[i] * y[i]);
        sq += (double)x[i] * x[i];
        mx = fmaxf(mx, x[i]);
    }
    double e_dot = fabs(k->dot_f32(n, x, y) - dot) / (1e-6 * dot_abs + DBL_MIN);
    double e_sq = fabs(k->sum_sq(n, x) - sq) / (1e-6 * sq + DBL_MIN);
    *worst_dot = fmax(*worst_dot, e_dot);
    *worst_sq = fmax(*worst_sq, e_sq);
    *bad_max += k->max(n, x) != mx;
}

static void test_reductions(const erg_cpu_kernels *k) {
    static const float specials[] = {0.0f, -0.0f, -1e3f, 1e3f, -INFINITY, 7.0f};
    enum { LONG = (1 << 19) + 13 };
    float *x = malloc(LONG * sizeof(float)), *y = malloc(LONG * sizeof(float));
    double worst_dot = 0, worst_sq = 0;
    int bad_max = 0;
    for (int li = 0; li < N_LENGTHS; li++) {
        int64_t n = length_at(li);
        fill(x, n, -1.0f, 1.0f, specials + 2, 2);
        fill(y, n, -1.0f, 1.0f, NULL, 0);
        check_reductions(k, x, y, n, &worst_dot, &worst_sq, &bad_max);
        /* max of negative values with -inf, +-0, +-1e3 and 7 spread among them */
        fill(x, n, -5.0f, -1.0f, specials, 6);
        float mx = -INFINITY;
        for (int64_t i = 0; i < n; i++)
            mx = fmaxf(mx, x[i]);
        bad_max += k->max(n, x) != mx;
    }
    /* a long all-positive row: float accumulation errors add up instead of cancelling */
    fill(x, LONG, 0.0f, 1.0f, NULL, 0);
    fill(y, LONG, 0.0f, 1.0f, NULL, 0);
    check_reductions(k, x, y, LONG, &worst_dot, &worst_sq, &bad_max);
    printf("  %s: dot/sum_sq worst error = %.3f / %.3f of tolerance\n", k->name, worst_dot,
           worst_sq);
    CHECK_MSG(worst_dot <= 1.0, "%s dot_f32: error %.3g x tolerance", k->name, worst_dot);
    CHECK_MSG(worst_sq <= 1.0, "%s sum_sq: error %.3g x tolerance", k->name, worst_sq);
    CHECK_MSG(bad_max == 0, "%s max: %d wrong results", k->name, bad_max);
    free(x);
    free(y);
}

/* ---- exp_sum -------------------------------------------------------------------- */

/* Per element: |y - e| <= e * (1e-6 + |a| * 2^-24) + 1e-44, e = exp(a) exact,
 * a = x*scale - m: a is formed in float (one rounding, <= |a| * 2^-24, which
 * exp turns into that relative error), exp itself adds < 1e-7, and results
 * in the subnormal range keep an absolute error of a few 2^-149 (1.4e-45).
 * -inf inputs must give exactly 0. The sum: rel 1e-6 of the exact sum. */
static void test_exp_sum(const erg_cpu_kernels *k) {
    static const float scales[] = {1.0f, 0.125f, 0.08838835f};
    static float x[MAX_LEN];
    float *y = guarded_alloc(MAX_LEN * sizeof(float));
    double worst_elem = 0, worst_sum = 0;
    int bad_masked = 0, bad_guard = 0;
    for (int si = 0; si < 3; si++) {
        float sc = scales[si];
        /* masked, far below, and (with m = 30) arguments -95, -87.5, -100, 0 */
        const float specials[] = {-INFINITY,
                                  -INFINITY,
                                  -1e30f,
                                  (30.0f - 95.0f) / sc,
                                  (30.0f - 87.5f) / sc,
                                  (30.0f - 100.0f) / sc,
                                  30.0f / sc};
        for (int li = 0; li < N_LENGTHS; li++) {
            int64_t n = length_at(li);
            size_t bytes = (size_t)n * sizeof(float);
            fill(x, n, -40.0f / sc, 30.0f / sc, specials, 7);
            float m = -INFINITY;
            for (int64_t i = 0; i < n; i++)
                m = fmaxf(m, x[i] * sc);
            if (m == -INFINITY)
                m = 0.0f;
            guard_reset(y, bytes);
            double sum = k->exp_sum(n, y, x, sc, m), ref_sum = 0;
            for (int64_t i = 0; i < n; i++) {
                if (x[i] == -INFINITY) {
                    bad_masked += y[i] != 0.0f;
                    continue;
                }
                double a = (double)x[i] * sc - m, e = exp(a);
                double tol = e * (1e-6 + fabs(a) * 0x1p-24) + 1e-44;
                worst_elem = fmax(worst_elem, fabs(y[i] - e) / tol);
                ref_sum += e;
            }
            worst_sum = fmax(worst_sum, fabs(sum - ref_sum) / (1e-6 * ref_sum + DBL_MIN));
            bad_guard += !guard_intact(y, bytes);
        }
    }
    printf("  %s: exp_sum worst error = %.3f (elements) / %.3f (sum) of tolerance\n", k->name,
           worst_elem, worst_sum);
    CHECK_MSG(worst_elem <= 1.0, "%s exp_sum elements: error %.3g x tolerance", k->name,
              worst_elem);
    CHECK_MSG(worst_sum <= 1.0, "%s exp_sum: sum error %.3g x tolerance", k->name, worst_sum);
    CHECK_MSG(bad_masked == 0, "%s exp_sum: %d -inf inputs gave nonzero", k->name, bad_masked);
    CHECK_MSG(bad_guard == 0, "%s exp_sum wrote past the end %d times", k->name, bad_guard);
    free(y);
}

/* exp itself, through exp_sum(scale 1, m 0): a dense sweep of [-87, 88.7]
 * must stay within 1.5e-7 relative error (measured: 8.5e-8 for the SIMD
 * polynomial, the scalar level rounds a double exp); past ln(FLT_MAX) the
 * result is inf, below -104 it is 0. */
static void test_exp_accuracy(const erg_cpu_kernels *k) {
    enum { N = 1 << 20 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = -87.0f + (88.7f + 87.0f) * (float)i / (float)(N - 1);
    k->exp_sum(N, y, x, 1.0f, 0.0f);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double e = exp((double)x[i]);
        worst = fmax(worst, fabs(y[i] - e) / e);
    }
    printf("  %s: exp max relative error %.3g\n", k->name, worst);
    CHECK_MSG(worst <= 1.5e-7, "%s exp: max relative error %.3g", k->name, worst);
    float lim_x[6] = {88.8f, 100.0f, 1e30f, -104.0f, -1e30f, 0.0f}, lim_y[6];
    double s = k->exp_sum(6, lim_y, lim_x, 1.0f, 0.0f);
    CHECK_MSG(isinf(lim_y[0]) && isinf(lim_y[1]) && isinf(lim_y[2]) && isinf(s),
              "%s exp overflow: %g %g %g", k->name, lim_y[0], lim_y[1], lim_y[2]);
    CHECK_MSG(lim_y[3] == 0.0f && lim_y[4] == 0.0f && lim_y[5] == 1.0f,
              "%s exp(-104, -1e30, 0) = %g %g %g", k->name, lim_y[3], lim_y[4], lim_y[5]);
    free(x);
    free(y);
}

/* ---- activation quantisers -------------------------------------------------- */

/* Fills n (a multiple of 256) values: uniform [-3, 3], then block-sized
 * regions of special content: all zeros, huge, tiny, one nonzero value. */
static void fill_quant_input(float *x, int64_t n, int block) {
    fill(x, n, -3.0f, 3.0f, NULL, 0);
    int64_t nb = n / block;
    for (int64_t i = 0; i < block; i++) {
        if (nb > 1)
            x[block + i] = 0.0f;
        if (nb > 2)
            x[2 * block + i] = rng_uniform(-1e30f, 1e30f);
        if (nb > 3)
            x[3 * block + i] = rng_uniform(-1e-30f, 1e-30f);
        if (nb > 4)
            x[4 * block + i] = i == 5 ? -0.25f : 0.0f;
    }
}

/* Checks one block: d = amax / 127, |q| <= 127, the largest |x| maps to
 * +-127, and x is reconstructed within d * (0.5 + 3e-5): half a step, plus
 * the float roundings of id = 127/amax and x*id (|x*id| <= 127, so a few
 * ulp of 127 ~ 2.3e-5 steps). Returns the number of failed elements. */
static int check_q8_block(const float *x, int n, float d, const int8_t *qs) {
    float amax = 0;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    int bad = d != amax / 127.0f;
    for (int i = 0; i < n; i++) {
        bad += qs[i] == -128; /* int8 allows it; the quantisers never produce it */
        bad += fabs((double)x[i] - (double)d * qs[i]) > (double)d * (0.5 + 3e-5);
        bad += amax > 0 && fabsf(x[i]) == amax && abs(qs[i]) != 127;
    }
    return bad;
}

static void test_quantize(const erg_cpu_kernels *k, const erg_cpu_kernels *ref) {
    static const int64_t lengths[] = {256, 512, 1024, 4096, 256 * 17};
    float *x = malloc(256 * 17 * sizeof(float));
    int bad_q8a = 0, bad_q8k = 0, diff_q8a = 0, diff_q8k = 0, bad_guard = 0;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        int64_t n = lengths[li];
        size_t bytes_a = erg_cpu_act_row_size(ERG_ACT_Q8A, n);
        size_t bytes_k = erg_cpu_act_row_size(ERG_ACT_Q8K, n);
        erg_cpu_block_q8a *qa = guarded_alloc(bytes_a), *qa_ref = malloc(bytes_a);
        erg_block_q8_k *qk = guarded_alloc(bytes_k), *qk_ref = malloc(bytes_k);
        fill_quant_input(x, n, 32);
        k->quantize_q8a(x, qa, n);
        ref->quantize_q8a(x, qa_ref, n);
        diff_q8a += memcmp(qa, qa_ref, bytes_a) != 0;
        for (int64_t b = 0; b < n / 32; b++) {
            bad_q8a += check_q8_block(x + 32 * b, 32, qa[b].d, qa[b].qs);
            int sum = 0;
            for (int i = 0; i < 32; i++)
                sum += qa[b].qs[i];
            bad_q8a += qa[b].s != qa[b].d * (float)sum;
        }
        fill_quant_input(x, n, ERG_QK_K);
        k->quantize_q8k(x, qk, n);
        ref->quantize_q8k(x, qk_ref, n);
        diff_q8k += memcmp(qk, qk_ref, bytes_k) != 0;
        for (int64_t b = 0; b < n / ERG_QK_K; b++) {
            bad_q8k += check_q8_block(x + ERG_QK_K * b, ERG_QK_K, qk[b].d, qk[b].qs);
            for (int j = 0; j < ERG_QK_K / 16; j++) {
                int sum = 0;
                for (int i = 16 * j; i < 16 * j + 16; i++)
                    sum += qk[b].qs[i];
                bad_q8k += qk[b].bsums[j] != sum;
            }
        }
        bad_guard += !guard_intact(qa, bytes_a) + !guard_intact(qk, bytes_k);
        free(qa), free(qa_ref), free(qk), free(qk_ref);
    }
    CHECK_MSG(diff_q8a == 0, "%s q8a: %d rows differ from the scalar level", k->name, diff_q8a);
    CHECK_MSG(diff_q8k == 0, "%s q8k: %d rows differ from the scalar level", k->name, diff_q8k);
    CHECK_MSG(bad_q8a == 0, "%s q8a: %d wrong values", k->name, bad_q8a);
    CHECK_MSG(bad_q8k == 0, "%s q8k: %d wrong values", k->name, bad_q8k);
    CHECK_MSG(bad_guard == 0, "%s quantisers wrote past the end %d times", k->name, bad_guard);
    free(x);
}

/* With amax = 127, id = d = 1 exactly, so x * id is x: halfway cases must
 * round to even (2.5 -> 2, 3.5 -> 4, -2.5 -> -2, 0.5 -> 0, -1.5 -> -2). */
static void test_quantize_rounding(const erg_cpu_kernels *k) {
    static const float halves[] = {2.5f, 3.5f, -2.5f, 0.5f, -0.5f, -1.5f, 126.5f, 1.4999999f};
    static const int8_t expect[] = {2, 4, -2, 0, 0, -2, 126, 1};
    float x[ERG_QK_K] = {0};
    x[ERG_QK_K - 1] = -127.0f;
    for (int i = 0; i < 8; i++)
        x[i] = x[i + 8] = halves[i]; /* twice: both halves of a vector */
    x[31] = 127.0f;
    erg_cpu_block_q8a qa[ERG_QK_K / 32];
    erg_block_q8_k qk;
    k->quantize_q8a(x, qa, ERG_QK_K);
    k->quantize_q8k(x, &qk, ERG_QK_K);
    int bad = qa[0].d != 1.0f || qk.d != 1.0f || qa[0].qs[31] != 127 || qk.qs[ERG_QK_K - 1] != -127;
    for (int i = 0; i < 16; i++)
        bad += qa[0].qs[i] != expect[i % 8] || qk.qs[i] != expect[i % 8];
    CHECK_MSG(bad == 0, "%s q8a/q8k: halfway cases not rounded to even (%d wrong)", k->name, bad);
}

/* ---- row conversions ---------------------------------------------------------- */

static const erg_dtype weight_types[] = {ERG_DT_F32,  ERG_DT_F16,  ERG_DT_BF16, ERG_DT_Q4_0,
                                         ERG_DT_Q4_1, ERG_DT_Q5_0, ERG_DT_Q5_1, ERG_DT_Q8_0,
                                         ERG_DT_Q4_K, ERG_DT_Q5_K, ERG_DT_Q6_K};

/* Random blocks: random bytes, with every f16 scale field set to a random
 * finite value (offsets of each block type's f16 fields). */
static void fill_blocks(erg_dtype t, uint8_t *p, int64_t nb) {
    const erg_dtype_traits *tr = erg_dtype_get(t);
    for (int64_t i = 0; i < nb * (int64_t)tr->type_size; i++)
        p[i] = (uint8_t)rng_u32();
    int f16_at[2] = {-1, -1};
    switch (t) {
    case ERG_DT_Q4_0:
    case ERG_DT_Q5_0:
    case ERG_DT_Q8_0:
        f16_at[0] = 0;
        break;
    case ERG_DT_Q4_1:
    case ERG_DT_Q5_1:
    case ERG_DT_Q4_K:
    case ERG_DT_Q5_K:
        f16_at[0] = 0, f16_at[1] = 2;
        break;
    case ERG_DT_Q6_K:
        f16_at[0] = (int)offsetof(erg_block_q6_k, d);
        break;
    default:
        return;
    }
    for (int64_t b = 0; b < nb; b++)
        for (int f = 0; f < 2; f++)
            if (f16_at[f] >= 0) {
                erg_f16 h = erg_f32_to_f16(rng_uniform(-0.05f, 0.05f));
                memcpy(p + b * tr->type_size + f16_at[f], &h, 2);
            }
}

/* Lengths to_f32 is run on: plain types every tail length and one row of
 * 65536 (for f16 / bf16: all 65536 values); block types 1, 2, 3, 17 blocks.
 * 0 past the last. */
#define ALL_HALVES 65536
static int64_t to_f32_length(const erg_dtype_traits *tr, int i) {
    static const int blocks[] = {1, 2, 3, 17};
    if (tr->quantized)
        return i < 4 ? (int64_t)tr->block_size * blocks[i] : 0;
    return i < N_LENGTHS ? length_at(i) : i == N_LENGTHS ? ALL_HALVES : 0;
}

/* Every weight type against erg_dequantize_row, bit for bit (NaN == NaN). */
static void test_to_f32(const erg_cpu_kernels *k) {
    uint8_t *src = malloc(ALL_HALVES * 4);
    float *y = guarded_alloc(ALL_HALVES * sizeof(float));
    float *ref = malloc(ALL_HALVES * sizeof(float));
    for (size_t ti = 0; ti < sizeof weight_types / sizeof weight_types[0]; ti++) {
        erg_dtype t = weight_types[ti];
        const erg_dtype_traits *tr = erg_dtype_get(t);
        int bad = 0, bad_guard = 0;
        int64_t n;
        for (int li = 0; (n = to_f32_length(tr, li)) > 0; li++) {
            fill_blocks(t, src, n / tr->block_size);
            if (t == ERG_DT_F32)
                for (int64_t i = 0; i < n; i++)
                    memcpy(src + 4 * i, &(float){rng_uniform(-1e3f, 1e3f)}, 4);
            if (n == ALL_HALVES && t != ERG_DT_F32)
                for (int64_t i = 0; i < n; i++)
                    memcpy(src + 2 * i, &(uint16_t){(uint16_t)i}, 2);
            size_t bytes = (size_t)n * sizeof(float);
            guard_reset(y, bytes);
            k->to_f32[t](src, y, n);
            erg_dequantize_row(t, src, ref, n);
            for (int64_t i = 0; i < n; i++)
                bad += !same_float(y[i], ref[i]);
            bad_guard += !guard_intact(y, bytes);
        }
        CHECK_MSG(bad == 0, "%s to_f32[%s]: %d values differ from erg_dequantize_row", k->name,
                  tr->name, bad);
        CHECK_MSG(bad_guard == 0, "%s to_f32[%s] wrote past the end", k->name, tr->name);
    }
    free(src);
    free(y);
    free(ref);
}

/* f32 -> f16 / bf16 against base/fp16.h, bit for bit: random bit patterns
 * (every class: NaN, inf, subnormal), random values in the half range, and
 * the edge cases, over every tail length and one long row. */
static void test_from_f32(const erg_cpu_kernels *k) {
    enum { LONG = 1 << 18 };
    static const float edges[] = {
        0.0f,     -0.0f,          65504.0f,       65519.99f,    65520.0f, -65520.0f,    0x1p-24f,
        0x1p-25f, 0x1.8p-25f,     0x1p-14f,       0x1.ffcp-15f, INFINITY, -INFINITY,    NAN,
        -NAN,     1.00048828125f, 1.00146484375f, 3.0e38f,      FLT_MIN,  -FLT_TRUE_MIN};
    float *x = malloc(LONG * sizeof(float));
    uint16_t *h = guarded_alloc(LONG * 2), *b = guarded_alloc(LONG * 2);
    int bad_f16 = 0, bad_bf16 = 0, bad_guard = 0;
    for (int li = 0; li <= N_LENGTHS; li++) {
        int64_t n = li < N_LENGTHS ? length_at(li) : LONG;
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = rng_u32();
            x[i] =
                i % 2 ? erg_bits_f32(u) : rng_uniform(-70000.0f, 70000.0f) * (u % 3 ? 1e-4f : 1.0f);
        }
        for (int e = 0; e < 20 && e < n; e++)
            x[(e * 7919) % n] = edges[e];
        if (n > 20) /* a signalling NaN, which must come out quiet */
            x[n - 1] = erg_bits_f32(0x7f800001u);
        guard_reset(h, (size_t)n * 2);
        guard_reset(b, (size_t)n * 2);
        k->f32_to_f16(x, h, n);
        k->f32_to_bf16(x, b, n);
        for (int64_t i = 0; i < n; i++) {
            bad_f16 += h[i] != erg_f32_to_f16(x[i]);
            bad_bf16 += b[i] != erg_f32_to_bf16(x[i]);
        }
        bad_guard += !guard_intact(h, (size_t)n * 2) + !guard_intact(b, (size_t)n * 2);
    }
    CHECK_MSG(bad_f16 == 0, "%s f32_to_f16: %d values differ from erg_f32_to_f16", k->name,
              bad_f16);
    CHECK_MSG(bad_bf16 == 0, "%s f32_to_bf16: %d values differ from erg_f32_to_bf16", k->name,
              bad_bf16);
    CHECK_MSG(bad_guard == 0, "%s f32_to_f16/bf16 wrote past the end %d times", k->name, bad_guard);
    free(x);
    free(h);
    free(b);
}

/* ---- driver ----------------------------------------------------------------------- */

static bool table_complete(const erg_cpu_kernels *k) {
    bool ok = k->quantize_q8a && k->quantize_q8k && k->f32_to_f16 && k->f32_to_bf16 && k->add &&
              k->mul && k->scale && k->silu && k->gelu && k->swiglu && k->dot_f32 && k->sum_sq &&
              k->max && k->exp_sum;
    for (size_t i = 0; i < sizeof weight_types / sizeof weight_types[0]; i++)
        ok = ok && k->to_f32[weight_types[i]];
    return ok;
}

static void test_level(const erg_cpu_kernels *k, const erg_cpu_kernels *scalar) {
    printf("level %s\n", k->name);
    CHECK_MSG(table_complete(k), "%s: vector kernel table has NULL entries", k->name);
    if (!table_complete(k))
        return;
    rng_seed(1);
    test_arith(k);
    test_activations(k);
    test_reductions(k);
    test_exp_sum(k);
    test_exp_accuracy(k);
    test_quantize(k, scalar);
    test_quantize_rounding(k);
    test_to_f32(k);
    test_from_f32(k);
}

int main(void) {
    erg_cpu_info info;
    erg_cpu_info_probe(&info);
    const erg_cpu_kernels *scalar = erg_cpu_kernels_for(ERG_CPU_SCALAR);
    CHECK(scalar != NULL);
    if (!scalar)
        return erg_test_result("test_cpu_vec");
    const char *forced = getenv("ERG_CPU_FEATURES");
    if (forced && *forced) {
        int level = erg_cpu_level_parse(forced);
        CHECK_MSG(level >= 0, "ERG_CPU_FEATURES=%s is not a level", forced);
        if (level < 0)
            return erg_test_result("test_cpu_vec");
        const erg_cpu_kernels *k = erg_cpu_kernels_for((erg_cpu_level)level);
        if (!k || !erg_cpu_level_supported((erg_cpu_level)level, info.features))
            ERG_TEST_SKIP("this CPU (or build) cannot run level %s", forced);
        test_level(k, scalar);
    } else {
        for (int level = 0; level < ERG_CPU_LEVEL_COUNT; level++) {
            const erg_cpu_kernels *k = erg_cpu_kernels_for((erg_cpu_level)level);
            if (k && erg_cpu_level_supported((erg_cpu_level)level, info.features))
                test_level(k, scalar);
            else
                printf("level %s: not run (CPU or build lacks it)\n", erg_cpu_level_name(level));
        }
    }
    return erg_test_result("test_cpu_vec");
}
