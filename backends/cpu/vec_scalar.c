/*
 * vec_scalar.c: the portable vector kernels. They set every entry of the
 * table (the SIMD levels override the hot ones) and favour accuracy over
 * speed: reductions accumulate in double, exp_sum evaluates in double.
 */
#include "backends/cpu/kernels.h"
#include "backends/cpu/vec_math.h"

#include <math.h>

static void quantize_q8a(const float *x, void *vy, int64_t k) {
    erg_cpu_block_q8a *y = vy;
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float amax = 0.0f;
        for (int i = 0; i < 32; i++)
            amax = fmaxf(amax, fabsf(x[i]));
        float d, id;
        erg_q8_scales(amax, &d, &id);
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int q = (int)nearbyintf(x[i] * id);
            y[b].qs[i] = (int8_t)q;
            sum += q;
        }
        y[b].d = d;
        y[b].s = d * (float)sum;
    }
}

static void quantize_q8k(const float *x, void *vy, int64_t k) {
    erg_block_q8_k *y = vy;
    for (int64_t b = 0; b < k / ERG_QK_K; b++, x += ERG_QK_K) {
        float amax = 0.0f;
        for (int i = 0; i < ERG_QK_K; i++)
            amax = fmaxf(amax, fabsf(x[i]));
        float d, id;
        erg_q8_scales(amax, &d, &id);
        for (int j = 0; j < ERG_QK_K / 16; j++) {
            int sum = 0;
            for (int i = 16 * j; i < 16 * j + 16; i++) {
                int q = (int)nearbyintf(x[i] * id);
                y[b].qs[i] = (int8_t)q;
                sum += q;
            }
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = d;
    }
}

/* Row conversions: the reference dequantisation, one entry per type. */
#define ERG_REF_TO_F32_(name, type)                                                                \
    static void name##_to_f32(const void *x, float *y, int64_t k) {                                \
        erg_dequantize_row(type, x, y, k);                                                         \
    }
ERG_REF_TO_F32_(f32, ERG_DT_F32)
ERG_REF_TO_F32_(f16, ERG_DT_F16)
ERG_REF_TO_F32_(bf16, ERG_DT_BF16)
ERG_REF_TO_F32_(q4_0, ERG_DT_Q4_0)
ERG_REF_TO_F32_(q4_1, ERG_DT_Q4_1)
ERG_REF_TO_F32_(q5_0, ERG_DT_Q5_0)
ERG_REF_TO_F32_(q5_1, ERG_DT_Q5_1)
ERG_REF_TO_F32_(q8_0, ERG_DT_Q8_0)
ERG_REF_TO_F32_(q4_k, ERG_DT_Q4_K)
ERG_REF_TO_F32_(q5_k, ERG_DT_Q5_K)
ERG_REF_TO_F32_(q6_k, ERG_DT_Q6_K)
#undef ERG_REF_TO_F32_

static void f32_to_f16(const float *x, erg_f16 *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = erg_f32_to_f16(x[i]);
}

static void f32_to_bf16(const float *x, erg_bf16 *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = erg_f32_to_bf16(x[i]);
}

static void add(int64_t n, float *y, const float *a, const float *b) {
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

static void mul(int64_t n, float *y, const float *a, const float *b) {
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

static void scale(int64_t n, float *y, const float *x, float s) {
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * s;
}

/* x * sigmoid(t), with exp(-|t|) <= 1 so that nothing overflows:
 * sigmoid(t) = 1 / (1 + e) for t >= 0 and e / (1 + e) for t < 0. */
static float mul_sigmoid(float x, float t) {
    float e = expf(-fabsf(t));
    return (t < 0.0f ? x * e : x) / (1.0f + e);
}

static void silu(int64_t n, float *y, const float *x) {
    for (int64_t i = 0; i < n; i++)
        y[i] = mul_sigmoid(x[i], x[i]);
}

static void gelu(int64_t n, float *y, const float *x) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = mul_sigmoid(v, v * (ERG_GELU_C1 + ERG_GELU_C2 * v * v));
    }
}

static void swiglu(int64_t n, float *y, const float *gate, const float *up) {
    for (int64_t i = 0; i < n; i++)
        y[i] = mul_sigmoid(gate[i], gate[i]) * up[i];
}

static float dot_f32(int64_t n, const float *x, const float *y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i] * y[i];
    return (float)sum;
}

static double sum_sq(int64_t n, const float *x) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i] * x[i];
    return sum;
}

static float max(int64_t n, const float *x) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        m = fmaxf(m, x[i]);
    return m;
}

/* The argument is formed in double, where x * scale is exact, so the only
 * error is exp's own. */
static double exp_sum(int64_t n, float *y, const float *x, float scale, float m) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        y[i] = (float)exp((double)x[i] * scale - m);
        sum += y[i];
    }
    return sum;
}

void erg_cpu_vec_init_scalar(erg_cpu_kernels *k) {
    k->quantize_q8a = quantize_q8a;
    k->quantize_q8k = quantize_q8k;
    k->to_f32[ERG_DT_F32] = f32_to_f32;
    k->to_f32[ERG_DT_F16] = f16_to_f32;
    k->to_f32[ERG_DT_BF16] = bf16_to_f32;
    k->to_f32[ERG_DT_Q4_0] = q4_0_to_f32;
    k->to_f32[ERG_DT_Q4_1] = q4_1_to_f32;
    k->to_f32[ERG_DT_Q5_0] = q5_0_to_f32;
    k->to_f32[ERG_DT_Q5_1] = q5_1_to_f32;
    k->to_f32[ERG_DT_Q8_0] = q8_0_to_f32;
    k->to_f32[ERG_DT_Q4_K] = q4_k_to_f32;
    k->to_f32[ERG_DT_Q5_K] = q5_k_to_f32;
    k->to_f32[ERG_DT_Q6_K] = q6_k_to_f32;
    k->f32_to_f16 = f32_to_f16;
    k->f32_to_bf16 = f32_to_bf16;
    k->add = add;
    k->mul = mul;
    k->scale = scale;
    k->silu = silu;
    k->gelu = gelu;
    k->swiglu = swiglu;
    k->dot_f32 = dot_f32;
    k->sum_sq = sum_sq;
    k->max = max;
    k->exp_sum = exp_sum;
}
