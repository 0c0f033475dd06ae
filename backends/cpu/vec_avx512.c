/*
 * vec_avx512.c: AVX-512 (F, BW, VL, DQ) vector kernels, 16 floats a vector.
 *
 * The same algorithms as vec_avx2.c, which this level starts from (the
 * dequantisers of the block types it does not override come from there).
 * Tails use masked loads and stores, so every element goes through the same
 * vector code. Reductions keep 4 independent float accumulators and fold them
 * into double lanes every REDUCE_CHUNK elements.
 */
#include "backends/cpu/kernels.h"
#include "backends/cpu/vec_math.h"

#include <immintrin.h>
#include <math.h>

#define REDUCE_CHUNK 512

/* ---- helpers --------------------------------------------------------------- */

/* Lanes i < n (n in 0..16). */
static inline __mmask16 tail_mask(int64_t n) { return (__mmask16)((1u << n) - 1u); }

/* Adds the 16 float lanes of v into the 8 double lanes of acc. */
static inline __m512d add_widened(__m512d acc, __m512 v) {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
    return _mm512_add_pd(acc, _mm512_add_pd(lo, hi));
}

/* exp(x); the method and its constants are in vec_math.h. scalef applies 2^n
 * with one rounding, subnormal and overflowing results included. */
static inline __m512 exp_ps(__m512 x) {
    /* max/min return their second operand when one is NaN: NaN passes. */
    x = _mm512_min_ps(_mm512_set1_ps(ERG_EXP_HI), _mm512_max_ps(_mm512_set1_ps(ERG_EXP_LO), x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(ERG_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ERG_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(ERG_LN2_LO), r);
    __m512 p = _mm512_set1_ps(ERG_EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ERG_EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ERG_EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ERG_EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ERG_EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(ERG_EXP_P5));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* x * sigmoid(t), computed from e = exp(-|t|) so that nothing overflows. */
static inline __m512 mul_sigmoid_ps(__m512 x, __m512 t) {
    __m512 e = exp_ps(_mm512_or_ps(t, _mm512_set1_ps(-0.0f)));
    __mmask16 neg = _mm512_movepi32_mask(_mm512_castps_si512(t)); /* t's sign bit */
    __m512 num = _mm512_mask_mul_ps(x, neg, x, e);
    return _mm512_div_ps(num, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

static inline __m512 silu_ps(__m512 x) { return mul_sigmoid_ps(x, x); }

static inline __m512 gelu_ps(__m512 x) {
    __m512 t = _mm512_fmadd_ps(_mm512_set1_ps(ERG_GELU_C2), _mm512_mul_ps(x, x),
                               _mm512_set1_ps(ERG_GELU_C1));
    return mul_sigmoid_ps(x, _mm512_mul_ps(x, t));
}

/* ---- activation quantisers ------------------------------------------------- */

/* Quantises 16 floats with factor id into qs (round to nearest even: the
 * default MXCSR mode, as nearbyintf) and returns their sum. */
static inline int quantize16(__m512 v, __m512 id, int8_t *qs) {
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, id));
    _mm_storeu_si128((__m128i *)qs, _mm512_cvtsepi32_epi8(q));
    return _mm512_reduce_add_epi32(q);
}

static void quantize_q8a(const float *x, void *vy, int64_t k) {
    erg_cpu_block_q8a *y = vy;
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float d, id;
        erg_q8_scales(_mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1))), &d,
                      &id);
        __m512 vid = _mm512_set1_ps(id);
        int sum = quantize16(v0, vid, y[b].qs) + quantize16(v1, vid, y[b].qs + 16);
        y[b].d = d;
        y[b].s = d * (float)sum;
    }
}

static void quantize_q8k(const float *x, void *vy, int64_t k) {
    erg_block_q8_k *y = vy;
    for (int64_t b = 0; b < k / ERG_QK_K; b++, x += ERG_QK_K) {
        __m512 m0 = _mm512_setzero_ps(), m1 = m0;
        for (int i = 0; i < ERG_QK_K; i += 32) {
            m0 = _mm512_max_ps(m0, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
            m1 = _mm512_max_ps(m1, _mm512_abs_ps(_mm512_loadu_ps(x + i + 16)));
        }
        float d, id;
        erg_q8_scales(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)), &d, &id);
        __m512 vid = _mm512_set1_ps(id);
        for (int j = 0; j < ERG_QK_K / 16; j++)
            y[b].bsums[j] = (int16_t)quantize16(_mm512_loadu_ps(x + 16 * j), vid, y[b].qs + 16 * j);
        y[b].d = d;
    }
}

/* ---- conversions ----------------------------------------------------------- */

static void f16_to_f32(const void *vx, float *y, int64_t k) {
    const erg_f16 *x = vx;
    for (int64_t i = 0; i < k; i += 16) {
        __mmask16 m = tail_mask(k - i < 16 ? k - i : 16);
        __m256i h = _mm256_maskz_loadu_epi16(m, x + i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(h));
    }
}

static void bf16_to_f32(const void *vx, float *y, int64_t k) {
    const erg_bf16 *x = vx;
    for (int64_t i = 0; i < k; i += 16) {
        __mmask16 m = tail_mask(k - i < 16 ? k - i : 16);
        __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, x + i));
        _mm512_mask_storeu_ps(y + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
    }
}

static void q8_0_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q8_0 *x = vx;
    for (int64_t b = 0; b < k / ERG_QK; b++, y += ERG_QK) {
        __m512 d = _mm512_set1_ps(erg_f16_to_f32(x[b].d));
        for (int h = 0; h < 2; h++) {
            __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(x[b].qs + 16 * h)));
            _mm512_storeu_ps(y + 16 * h, _mm512_mul_ps(d, _mm512_cvtepi32_ps(q)));
        }
    }
}

static void f32_to_f16(const float *x, erg_f16 *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}

/* Same rule as erg_f32_to_bf16: add 0x7fff + the lowest kept bit, keep the top
 * half; NaN keeps its top half with the quiet bit set. */
static void f32_to_bf16(const float *x, erg_bf16 *y, int64_t n) {
    const __m512i one = _mm512_set1_epi32(1), round = _mm512_set1_epi32(0x7fff);
    const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    const __m512i quiet = _mm512_set1_epi32(0x40);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, x + i));
        __m512i top = _mm512_srli_epi32(u, 16);
        __m512i r = _mm512_srli_epi32(
            _mm512_add_epi32(_mm512_add_epi32(u, round), _mm512_and_si512(top, one)), 16);
        __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs_mask), inf);
        r = _mm512_mask_or_epi32(r, nan, top, quiet);
        _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtepi32_epi16(r));
    }
}

/* ---- elementwise ----------------------------------------------------------- */

static void add(int64_t n, float *y, const float *a, const float *b) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void mul(int64_t n, float *y, const float *a, const float *b) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

static void scale(int64_t n, float *y, const float *x, float s) {
    __m512 vs = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
    }
}

static void silu(int64_t n, float *y, const float *x) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        _mm512_mask_storeu_ps(y + i, m, silu_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void gelu(int64_t n, float *y, const float *x) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        _mm512_mask_storeu_ps(y + i, m, gelu_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void swiglu(int64_t n, float *y, const float *gate, const float *up) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        __m512 v = _mm512_mul_ps(silu_ps(_mm512_maskz_loadu_ps(m, gate + i)),
                                 _mm512_maskz_loadu_ps(m, up + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

/* ---- reductions ------------------------------------------------------------ */

/* Each chunk: 4 accumulators over whole groups of 64, then the chunk's last
 * < 64 elements 16 at a time (masked) into the first. */
static float dot_f32(int64_t n, const float *x, const float *y) {
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    while (i < n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 64 <= end; i += 64) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
        }
        for (; i < end; i += 16) {
            __mmask16 m = tail_mask(end - i < 16 ? end - i : 16);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i),
                                 a0);
        }
        acc = add_widened(acc, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
    return (float)_mm512_reduce_add_pd(acc);
}

static double sum_sq(int64_t n, const float *x) {
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    while (i < n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 64 <= end; i += 64) {
            __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
            __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
            a0 = _mm512_fmadd_ps(v0, v0, a0);
            a1 = _mm512_fmadd_ps(v1, v1, a1);
            a2 = _mm512_fmadd_ps(v2, v2, a2);
            a3 = _mm512_fmadd_ps(v3, v3, a3);
        }
        for (; i < end; i += 16) {
            __mmask16 m = tail_mask(end - i < 16 ? end - i : 16);
            __m512 v = _mm512_maskz_loadu_ps(m, x + i);
            a0 = _mm512_fmadd_ps(v, v, a0);
        }
        acc = add_widened(acc, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
    return _mm512_reduce_add_pd(acc);
}

static float max(int64_t n, const float *x) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 m0 = ninf, m1 = ninf, m2 = ninf, m3 = ninf;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
        m2 = _mm512_max_ps(m2, _mm512_loadu_ps(x + i + 32));
        m3 = _mm512_max_ps(m3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i < 16 ? n - i : 16);
        m0 = _mm512_max_ps(m0, _mm512_mask_loadu_ps(ninf, m, x + i));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
}

/* The FMA forms x * scale - m with one rounding, so a large x * scale close
 * to m loses no precision to cancellation. */
static double exp_sum(int64_t n, float *y, const float *x, float scale, float m) {
    const __m512 vs = _mm512_set1_ps(scale), vm = _mm512_set1_ps(-m);
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    while (i < n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        for (; i + 32 <= end; i += 32) {
            __m512 e0 = exp_ps(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), vs, vm));
            __m512 e1 = exp_ps(_mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), vs, vm));
            _mm512_storeu_ps(y + i, e0);
            _mm512_storeu_ps(y + i + 16, e1);
            s0 = _mm512_add_ps(s0, e0);
            s1 = _mm512_add_ps(s1, e1);
        }
        for (; i < end; i += 16) {
            __mmask16 mask = tail_mask(end - i < 16 ? end - i : 16);
            __m512 v = _mm512_maskz_loadu_ps(mask, x + i);
            __m512 e = _mm512_maskz_mov_ps(mask, exp_ps(_mm512_fmadd_ps(v, vs, vm)));
            _mm512_mask_storeu_ps(y + i, mask, e);
            s0 = _mm512_add_ps(s0, e);
        }
        acc = add_widened(acc, _mm512_add_ps(s0, s1));
    }
    return _mm512_reduce_add_pd(acc);
}

void erg_cpu_vec_init_avx512(erg_cpu_kernels *k) {
    k->quantize_q8a = quantize_q8a;
    k->quantize_q8k = quantize_q8k;
    k->to_f32[ERG_DT_F16] = f16_to_f32;
    k->to_f32[ERG_DT_BF16] = bf16_to_f32;
    k->to_f32[ERG_DT_Q8_0] = q8_0_to_f32;
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
