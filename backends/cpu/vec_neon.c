/*
 * vec_neon.c: AArch64 Advanced SIMD (NEON) vector kernels, 4 floats a vector.
 * NEON is part of every ARMv8-A core, so this file needs no extra flags.
 *
 * The activation quantisers give the scalar level's bytes exactly: amax is
 * exact in any order, and vcvtnq rounds to nearest even as nearbyintf does.
 * exp and what uses it follow vec_math.h's approximation, like the x86
 * levels; a row's tail goes through a zero-padded vector, so an element's
 * value never depends on where it sits in the row. Reductions keep float
 * partial sums and fold them into doubles every REDUCE_CHUNK elements.
 */
#include "backends/cpu/kernels.h"
#include "backends/cpu/vec_math.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define REDUCE_CHUNK 256

/* ---- helpers --------------------------------------------------------------- */

/* exp(x); the method and its constants are in vec_math.h. */
static inline float32x4_t exp_f32x4(float32x4_t x) {
    /* FMAX/FMIN return NaN when an operand is NaN: NaN passes. */
    x = vminq_f32(vdupq_n_f32(ERG_EXP_HI), vmaxq_f32(vdupq_n_f32(ERG_EXP_LO), x));
    float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(ERG_LOG2E)));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(ERG_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(ERG_LN2_LO));
    float32x4_t p = vdupq_n_f32(ERG_EXP_P0);
    p = vfmaq_f32(vdupq_n_f32(ERG_EXP_P1), p, r);
    p = vfmaq_f32(vdupq_n_f32(ERG_EXP_P2), p, r);
    p = vfmaq_f32(vdupq_n_f32(ERG_EXP_P3), p, r);
    p = vfmaq_f32(vdupq_n_f32(ERG_EXP_P4), p, r);
    p = vfmaq_f32(vdupq_n_f32(ERG_EXP_P5), p, r);
    p = vfmaq_f32(r, p, vmulq_f32(r, r));
    p = vaddq_f32(p, vdupq_n_f32(1.0f));
    /* 2^n = 2^n1 * 2^n2 with both halves inside the normal exponent range. */
    int32x4_t ni = vcvtq_s32_f32(n);
    int32x4_t n1 = vshrq_n_s32(ni, 1);
    int32x4_t n2 = vsubq_s32(ni, n1);
    int32x4_t bias = vdupq_n_s32(127);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

/* x * sigmoid(t), computed from e = exp(-|t|) so that nothing overflows. */
static inline float32x4_t mul_sigmoid_f32x4(float32x4_t x, float32x4_t t) {
    float32x4_t e = exp_f32x4(vnegq_f32(vabsq_f32(t)));
    /* t's sign bit picks x * e */
    uint32x4_t neg = vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(t), 31));
    float32x4_t num = vbslq_f32(neg, vmulq_f32(x, e), x);
    return vdivq_f32(num, vaddq_f32(vdupq_n_f32(1.0f), e));
}

static inline float32x4_t silu_f32x4(float32x4_t x) { return mul_sigmoid_f32x4(x, x); }

static inline float32x4_t gelu_f32x4(float32x4_t x) {
    float32x4_t t =
        vfmaq_f32(vdupq_n_f32(ERG_GELU_C1), vdupq_n_f32(ERG_GELU_C2), vmulq_f32(x, x));
    return mul_sigmoid_f32x4(x, vmulq_f32(x, t));
}

/* Loads the n < 4 floats of a row's tail, zero-padded. */
static inline float32x4_t load_tail(const float *x, int64_t n) {
    float buf[4] = {0};
    memcpy(buf, x, (size_t)n * sizeof *x);
    return vld1q_f32(buf);
}

static inline void store_tail(float *y, float32x4_t v, int64_t n) {
    float buf[4];
    vst1q_f32(buf, v);
    memcpy(y, buf, (size_t)n * sizeof *y);
}

/* Adds the 4 float lanes of v into the 2 double lanes of acc. */
static inline float64x2_t add_widened(float64x2_t acc, float32x4_t v) {
    return vaddq_f64(acc, vaddq_f64(vcvt_f64_f32(vget_low_f32(v)), vcvt_high_f64_f32(v)));
}

/* ---- activation quantisers ------------------------------------------------- */

/* max |x[i]| over n (a multiple of 16) floats; maxnm ignores NaN as fmaxf does. */
static inline float amax_f32(const float *x, int n) {
    float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0, m2 = m0, m3 = m0;
    for (int i = 0; i < n; i += 16) {
        m0 = vmaxnmq_f32(m0, vabsq_f32(vld1q_f32(x + i)));
        m1 = vmaxnmq_f32(m1, vabsq_f32(vld1q_f32(x + i + 4)));
        m2 = vmaxnmq_f32(m2, vabsq_f32(vld1q_f32(x + i + 8)));
        m3 = vmaxnmq_f32(m3, vabsq_f32(vld1q_f32(x + i + 12)));
    }
    return vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(m0, m1), vmaxnmq_f32(m2, m3)));
}

/* Quantises 16 floats with factor id into qs and returns their sum. */
static inline int quantize16(const float *x, float32x4_t id, int8_t *qs) {
    int32x4_t q0 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x), id));
    int32x4_t q1 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + 4), id));
    int32x4_t q2 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + 8), id));
    int32x4_t q3 = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + 12), id));
    int16x8_t lo = vcombine_s16(vmovn_s32(q0), vmovn_s32(q1));
    int16x8_t hi = vcombine_s16(vmovn_s32(q2), vmovn_s32(q3));
    vst1q_s8(qs, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
    return vaddvq_s32(vaddq_s32(vaddq_s32(q0, q1), vaddq_s32(q2, q3)));
}

static void quantize_q8a(const float *x, void *vy, int64_t k) {
    erg_cpu_block_q8a *y = vy;
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        float d, id;
        erg_q8_scales(amax_f32(x, 32), &d, &id);
        float32x4_t vid = vdupq_n_f32(id);
        int sum = quantize16(x, vid, y[b].qs) + quantize16(x + 16, vid, y[b].qs + 16);
        y[b].d = d;
        y[b].s = d * (float)sum;
    }
}

static void quantize_q8k(const float *x, void *vy, int64_t k) {
    erg_block_q8_k *y = vy;
    for (int64_t b = 0; b < k / ERG_QK_K; b++, x += ERG_QK_K) {
        float d, id;
        erg_q8_scales(amax_f32(x, ERG_QK_K), &d, &id);
        float32x4_t vid = vdupq_n_f32(id);
        for (int j = 0; j < ERG_QK_K / 16; j++)
            y[b].bsums[j] = (int16_t)quantize16(x + 16 * j, vid, y[b].qs + 16 * j);
        y[b].d = d;
    }
}

/* ---- conversions ----------------------------------------------------------- */

static void f16_to_f32(const void *vx, float *y, int64_t k) {
    const erg_f16 *x = vx;
    int64_t i = 0;
    for (; i + 4 <= k; i += 4)
        vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
    for (; i < k; i++)
        y[i] = erg_f16_to_f32(x[i]);
}

/* Stores 16 int8 values times d as floats (every product is exact). */
static inline void store16_scaled(float *y, int8x16_t q, float32x4_t d) {
    int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
    vst1q_f32(y, vmulq_f32(d, vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)))));
    vst1q_f32(y + 4, vmulq_f32(d, vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo)))));
    vst1q_f32(y + 8, vmulq_f32(d, vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)))));
    vst1q_f32(y + 12, vmulq_f32(d, vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi)))));
}

static void q8_0_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q8_0 *x = vx;
    for (int64_t b = 0; b < k / ERG_QK; b++, y += ERG_QK) {
        float32x4_t d = vdupq_n_f32(erg_f16_to_f32(x[b].d));
        store16_scaled(y, vld1q_s8(x[b].qs), d);
        store16_scaled(y + 16, vld1q_s8(x[b].qs + 16), d);
    }
}

static void q4_0_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q4_0 *x = vx;
    const int8x16_t eight = vdupq_n_s8(8);
    for (int64_t b = 0; b < k / ERG_QK; b++, y += ERG_QK) {
        uint8x16_t bytes = vld1q_u8(x[b].qs);
        float32x4_t d = vdupq_n_f32(erg_f16_to_f32(x[b].d));
        /* element j < 16 is the low nibble of byte j, element j + 16 the high one */
        store16_scaled(y, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0x0f))), eight),
                       d);
        store16_scaled(y + 16, vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4)), eight), d);
    }
}

/* ---- elementwise ----------------------------------------------------------- */

static void add(int64_t n, float *y, const float *a, const float *b) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}

static void mul(int64_t n, float *y, const float *a, const float *b) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] * b[i];
}

static void scale(int64_t n, float *y, const float *x, float s) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), s));
    for (; i < n; i++)
        y[i] = x[i] * s;
}

static void silu(int64_t n, float *y, const float *x) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, silu_f32x4(vld1q_f32(x + i)));
    if (i < n)
        store_tail(y + i, silu_f32x4(load_tail(x + i, n - i)), n - i);
}

static void gelu(int64_t n, float *y, const float *x) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, gelu_f32x4(vld1q_f32(x + i)));
    if (i < n)
        store_tail(y + i, gelu_f32x4(load_tail(x + i, n - i)), n - i);
}

static void swiglu(int64_t n, float *y, const float *gate, const float *up) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(silu_f32x4(vld1q_f32(gate + i)), vld1q_f32(up + i)));
    if (i < n)
        store_tail(y + i,
                   vmulq_f32(silu_f32x4(load_tail(gate + i, n - i)), load_tail(up + i, n - i)),
                   n - i);
}

/* ---- reductions ------------------------------------------------------------ */

static float dot_f32(int64_t n, const float *x, const float *y) {
    float64x2_t acc = vdupq_n_f64(0.0);
    int64_t i = 0;
    while (i + 16 <= n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 16 <= end; i += 16) {
            a0 = vfmaq_f32(a0, vld1q_f32(x + i), vld1q_f32(y + i));
            a1 = vfmaq_f32(a1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
            a2 = vfmaq_f32(a2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
            a3 = vfmaq_f32(a3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
        }
        acc = add_widened(acc, vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    }
    double sum = vaddvq_f64(acc);
    for (; i < n; i++)
        sum += (double)x[i] * y[i];
    return (float)sum;
}

static double sum_sq(int64_t n, const float *x) {
    float64x2_t acc = vdupq_n_f64(0.0);
    int64_t i = 0;
    while (i + 16 <= n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 16 <= end; i += 16) {
            float32x4_t v0 = vld1q_f32(x + i), v1 = vld1q_f32(x + i + 4);
            float32x4_t v2 = vld1q_f32(x + i + 8), v3 = vld1q_f32(x + i + 12);
            a0 = vfmaq_f32(a0, v0, v0);
            a1 = vfmaq_f32(a1, v1, v1);
            a2 = vfmaq_f32(a2, v2, v2);
            a3 = vfmaq_f32(a3, v3, v3);
        }
        acc = add_widened(acc, vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    }
    double sum = vaddvq_f64(acc);
    for (; i < n; i++)
        sum += (double)x[i] * x[i];
    return sum;
}

static float max(int64_t n, const float *x) {
    float m = -INFINITY;
    int64_t i = 0;
    if (n >= 16) {
        float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (; i + 16 <= n; i += 16) {
            m0 = vmaxnmq_f32(m0, vld1q_f32(x + i));
            m1 = vmaxnmq_f32(m1, vld1q_f32(x + i + 4));
            m2 = vmaxnmq_f32(m2, vld1q_f32(x + i + 8));
            m3 = vmaxnmq_f32(m3, vld1q_f32(x + i + 12));
        }
        m = vmaxnmvq_f32(vmaxnmq_f32(vmaxnmq_f32(m0, m1), vmaxnmq_f32(m2, m3)));
    }
    for (; i < n; i++)
        m = fmaxf(m, x[i]);
    return m;
}

/* The FMA forms x * scale - m with one rounding, so a large x * scale close
 * to m loses no precision to cancellation. */
static double exp_sum(int64_t n, float *y, const float *x, float scale, float m) {
    const float32x4_t vs = vdupq_n_f32(scale), vm = vdupq_n_f32(-m);
    float64x2_t acc = vdupq_n_f64(0.0);
    int64_t i = 0;
    while (i + 8 <= n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
        for (; i + 8 <= end; i += 8) {
            float32x4_t e0 = exp_f32x4(vfmaq_f32(vm, vld1q_f32(x + i), vs));
            float32x4_t e1 = exp_f32x4(vfmaq_f32(vm, vld1q_f32(x + i + 4), vs));
            vst1q_f32(y + i, e0);
            vst1q_f32(y + i + 4, e1);
            s0 = vaddq_f32(s0, e0);
            s1 = vaddq_f32(s1, e1);
        }
        acc = add_widened(acc, vaddq_f32(s0, s1));
    }
    double sum = vaddvq_f64(acc);
    for (; i < n; i += 4) {
        int64_t len = n - i < 4 ? n - i : 4;
        float e[4];
        vst1q_f32(e, exp_f32x4(vfmaq_f32(vm, load_tail(x + i, len), vs)));
        for (int64_t j = 0; j < len; j++) {
            y[i + j] = e[j];
            sum += e[j];
        }
    }
    return sum;
}

void erg_cpu_vec_init_neon(erg_cpu_kernels *k) {
    k->quantize_q8a = quantize_q8a;
    k->quantize_q8k = quantize_q8k;
    k->to_f32[ERG_DT_F16] = f16_to_f32;
    k->to_f32[ERG_DT_Q8_0] = q8_0_to_f32;
    k->to_f32[ERG_DT_Q4_0] = q4_0_to_f32;
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
