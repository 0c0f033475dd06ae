/*
 * vec_avx2.c: AVX2 + FMA + F16C vector kernels, 8 floats a vector.
 *
 * Elementwise kernels whose value depends on an approximation (exp and what
 * uses it) run their tails through masked loads and stores, so an element's
 * value never depends on where it sits in the row. Reductions keep 4
 * independent float accumulators and fold them into double lanes every
 * REDUCE_CHUNK elements, which bounds the float rounding error of long rows.
 */
#include "backends/cpu/kernels.h"
#include "backends/cpu/vec_math.h"

#include <immintrin.h>
#include <math.h>

#define REDUCE_CHUNK 256

/* ---- helpers --------------------------------------------------------------- */

static inline float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Adds the 8 float lanes of v into the 4 double lanes of acc. */
static inline __m256d add_widened(__m256d acc, __m256 v) {
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    return _mm256_add_pd(acc, _mm256_add_pd(lo, hi));
}

static inline double hsum_pd(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* Lanes i < n (n in 0..8) set to all ones. */
static inline __m256i tail_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* exp(x); the method and its constants are in vec_math.h. */
static inline __m256 exp_ps(__m256 x) {
    /* max/min return their second operand when one is NaN: NaN passes. */
    x = _mm256_min_ps(_mm256_set1_ps(ERG_EXP_HI), _mm256_max_ps(_mm256_set1_ps(ERG_EXP_LO), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(ERG_LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ERG_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(ERG_LN2_LO), r);
    __m256 p = _mm256_set1_ps(ERG_EXP_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ERG_EXP_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ERG_EXP_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ERG_EXP_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ERG_EXP_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(ERG_EXP_P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    /* 2^n = 2^n1 * 2^n2 with both halves inside the normal exponent range. */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    __m256i bias = _mm256_set1_epi32(127);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/* x * sigmoid(t), computed from e = exp(-|t|) so that nothing overflows. */
static inline __m256 mul_sigmoid_ps(__m256 x, __m256 t) {
    __m256 e = exp_ps(_mm256_or_ps(t, _mm256_set1_ps(-0.0f)));
    __m256 num = _mm256_blendv_ps(x, _mm256_mul_ps(x, e), t); /* t's sign bit picks x * e */
    return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

static inline __m256 silu_ps(__m256 x) { return mul_sigmoid_ps(x, x); }

static inline __m256 gelu_ps(__m256 x) {
    __m256 t = _mm256_fmadd_ps(_mm256_set1_ps(ERG_GELU_C2), _mm256_mul_ps(x, x),
                               _mm256_set1_ps(ERG_GELU_C1));
    return mul_sigmoid_ps(x, _mm256_mul_ps(x, t));
}

/* ---- activation quantisers ------------------------------------------------- */

static inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* Quantises 32 floats with factor id into qs (round to nearest even: the
 * default MXCSR mode, as nearbyintf). *lo and *hi get lane-wise partial sums
 * of qs[0..15] and qs[16..31]. */
static inline void quantize32(const float *x, __m256 id, int8_t *qs, __m256i *lo, __m256i *hi) {
    __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
    __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
    __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id));
    __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id));
    *lo = _mm256_add_epi32(q0, q1);
    *hi = _mm256_add_epi32(q2, q3);
    /* The packs work per 128-bit lane; the dword permute restores the order. */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, p);
}

static void quantize_q8a(const float *x, void *vy, int64_t k) {
    erg_cpu_block_q8a *y = vy;
    for (int64_t b = 0; b < k / 32; b++, x += 32) {
        __m256 m = _mm256_max_ps(
            _mm256_max_ps(abs_ps(_mm256_loadu_ps(x)), abs_ps(_mm256_loadu_ps(x + 8))),
            _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 16)), abs_ps(_mm256_loadu_ps(x + 24))));
        float d, id;
        erg_q8_scales(hmax_ps(m), &d, &id);
        __m256i lo, hi;
        quantize32(x, _mm256_set1_ps(id), y[b].qs, &lo, &hi);
        y[b].d = d;
        y[b].s = d * (float)hsum_epi32(_mm256_add_epi32(lo, hi));
    }
}

static void quantize_q8k(const float *x, void *vy, int64_t k) {
    erg_block_q8_k *y = vy;
    for (int64_t b = 0; b < k / ERG_QK_K; b++, x += ERG_QK_K) {
        __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
        for (int i = 0; i < ERG_QK_K; i += 16) {
            m0 = _mm256_max_ps(m0, abs_ps(_mm256_loadu_ps(x + i)));
            m1 = _mm256_max_ps(m1, abs_ps(_mm256_loadu_ps(x + i + 8)));
        }
        float d, id;
        erg_q8_scales(hmax_ps(_mm256_max_ps(m0, m1)), &d, &id);
        __m256 vid = _mm256_set1_ps(id);
        for (int j = 0; j < ERG_QK_K / 32; j++) {
            __m256i lo, hi;
            quantize32(x + 32 * j, vid, y[b].qs + 32 * j, &lo, &hi);
            y[b].bsums[2 * j] = (int16_t)hsum_epi32(lo);
            y[b].bsums[2 * j + 1] = (int16_t)hsum_epi32(hi);
        }
        y[b].d = d;
    }
}

/* ---- conversions ----------------------------------------------------------- */

static void f16_to_f32(const void *vx, float *y, int64_t k) {
    const erg_f16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < k; i++)
        y[i] = erg_f16_to_f32(x[i]);
}

static void bf16_to_f32(const void *vx, float *y, int64_t k) {
    const erg_bf16 *x = vx;
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (; i < k; i++)
        y[i] = erg_bf16_to_f32(x[i]);
}

/* Stores 32 int8 values as floats, the first 16 times s0 and the last 16 times s1. */
static inline void store32_scaled2(float *y, __m256i q, __m256 s0, __m256 s1) {
    __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    _mm256_storeu_ps(y, _mm256_mul_ps(s0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
    _mm256_storeu_ps(
        y + 8, _mm256_mul_ps(s0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(s1, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
    _mm256_storeu_ps(
        y + 24, _mm256_mul_ps(s1, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

/* Stores 32 int8 values times d as floats (every product is exact). */
static inline void store32_scaled(float *y, __m256i q, __m256 d) { store32_scaled2(y, q, d, d); }

static void q8_0_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q8_0 *x = vx;
    for (int64_t b = 0; b < k / ERG_QK; b++, y += ERG_QK)
        store32_scaled(y, _mm256_loadu_si256((const __m256i *)x[b].qs),
                       _mm256_set1_ps(erg_f16_to_f32(x[b].d)));
}

static void q4_0_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q4_0 *x = vx;
    const __m128i low4 = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
    for (int64_t b = 0; b < k / ERG_QK; b++, y += ERG_QK) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)x[b].qs);
        /* element j < 16 is the low nibble of byte j, element j + 16 the high one */
        __m128i lo = _mm_sub_epi8(_mm_and_si128(bytes, low4), eight);
        __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), low4), eight);
        store32_scaled(y, _mm256_set_m128i(hi, lo), _mm256_set1_ps(erg_f16_to_f32(x[b].d)));
    }
}

static void q4_k_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q4_k *x = vx;
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    for (int64_t b = 0; b < k / ERG_QK_K; b++) {
        float d = erg_f16_to_f32(x[b].d), dmin = erg_f16_to_f32(x[b].dmin);
        /* 4 groups of 64: 32 bytes, low nibbles with scale 2g, high with 2g + 1 */
        for (int g = 0; g < 4; g++, y += 64) {
            __m256i bytes = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * g));
            __m256i nib[2] = {_mm256_and_si256(bytes, low4),
                              _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4)};
            for (int h = 0; h < 2; h++) {
                uint8_t sc, m;
                erg_k_scale_min(2 * g + h, x[b].scales, &sc, &m);
                /* d * sc * q is exact, so the result is one rounding of the subtraction */
                __m256 d1 = _mm256_set1_ps(d * sc), m1 = _mm256_set1_ps(dmin * m);
                __m128i lo = _mm256_castsi256_si128(nib[h]),
                        hi = _mm256_extracti128_si256(nib[h], 1);
                __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
                for (int p = 0; p < 4; p++) {
                    __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[p]));
                    _mm256_storeu_ps(y + 32 * h + 8 * p, _mm256_sub_ps(_mm256_mul_ps(d1, q), m1));
                }
            }
        }
    }
}

static void q6_k_to_f32(const void *vx, float *y, int64_t k) {
    const erg_block_q6_k *x = vx;
    const __m256i low4 = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(3),
                  off = _mm256_set1_epi8(32);
    for (int64_t b = 0; b < k / ERG_QK_K; b++) {
        float d = erg_f16_to_f32(x[b].d);
        /* 2 halves of 128: 64 bytes of low 4 bits, 32 bytes of high 2 bits */
        for (int half = 0; half < 2; half++, y += 128) {
            const uint8_t *ql = x[b].ql + 64 * half, *qh = x[b].qh + 32 * half;
            const int8_t *sc = x[b].scales + 8 * half;
            __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)qh);
            /* quarter r holds elements 32r..32r+31 of the half */
            __m256i lows[4] = {_mm256_and_si256(l0, low4), _mm256_and_si256(l1, low4),
                               _mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                               _mm256_and_si256(_mm256_srli_epi16(l1, 4), low4)};
            for (int r = 0; r < 4; r++) {
                __m256i hb = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * r)), three);
                __m256i q =
                    _mm256_sub_epi8(_mm256_or_si256(lows[r], _mm256_slli_epi16(hb, 4)), off);
                /* (d * sc) * q, in the reference's order: the product may round */
                store32_scaled2(y + 32 * r, q, _mm256_set1_ps(d * sc[2 * r]),
                                _mm256_set1_ps(d * sc[2 * r + 1]));
            }
        }
    }
}

static void f32_to_f16(const float *x, erg_f16 *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = erg_f32_to_f16(x[i]);
}

/* Same rule as erg_f32_to_bf16: add 0x7fff + the lowest kept bit, keep the top
 * half; NaN keeps its top half with the quiet bit set. */
static void f32_to_bf16(const float *x, erg_bf16 *y, int64_t n) {
    const __m256i one = _mm256_set1_epi32(1), round = _mm256_set1_epi32(0x7fff);
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_castps_si256(_mm256_loadu_ps(x + i));
        __m256i top = _mm256_srli_epi32(u, 16);
        __m256i r = _mm256_srli_epi32(
            _mm256_add_epi32(_mm256_add_epi32(u, round), _mm256_and_si256(top, one)), 16);
        __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
        r = _mm256_blendv_epi8(r, _mm256_or_si256(top, quiet), nan);
        /* 8 dwords -> 8 words: pack within lanes, then gather the two lane halves */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), _MM_SHUFFLE(3, 1, 2, 0));
        _mm_storeu_si128((__m128i *)(y + i), _mm256_castsi256_si128(p));
    }
    for (; i < n; i++)
        y[i] = erg_f32_to_bf16(x[i]);
}

/* ---- elementwise ----------------------------------------------------------- */

static void add(int64_t n, float *y, const float *a, const float *b) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}

static void mul(int64_t n, float *y, const float *a, const float *b) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++)
        y[i] = a[i] * b[i];
}

static void scale(int64_t n, float *y, const float *x, float s) {
    __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    for (; i < n; i++)
        y[i] = x[i] * s;
}

static void silu(int64_t n, float *y, const float *x) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, silu_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, silu_ps(_mm256_maskload_ps(x + i, m)));
    }
}

static void gelu(int64_t n, float *y, const float *x) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, gelu_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, gelu_ps(_mm256_maskload_ps(x + i, m)));
    }
}

static void swiglu(int64_t n, float *y, const float *gate, const float *up) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(
            y + i, _mm256_mul_ps(silu_ps(_mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        __m256 v =
            _mm256_mul_ps(silu_ps(_mm256_maskload_ps(gate + i, m)), _mm256_maskload_ps(up + i, m));
        _mm256_maskstore_ps(y + i, m, v);
    }
}

/* ---- reductions ------------------------------------------------------------ */

static float dot_f32(int64_t n, const float *x, const float *y) {
    __m256d acc = _mm256_setzero_pd();
    int64_t i = 0;
    while (i + 32 <= n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 32 <= end; i += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
        }
        acc = add_widened(acc, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
    double sum = hsum_pd(acc);
    for (; i < n; i++)
        sum += (double)x[i] * y[i];
    return (float)sum;
}

static double sum_sq(int64_t n, const float *x) {
    __m256d acc = _mm256_setzero_pd();
    int64_t i = 0;
    while (i + 32 <= n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 32 <= end; i += 32) {
            __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
            __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
            a0 = _mm256_fmadd_ps(v0, v0, a0);
            a1 = _mm256_fmadd_ps(v1, v1, a1);
            a2 = _mm256_fmadd_ps(v2, v2, a2);
            a3 = _mm256_fmadd_ps(v3, v3, a3);
        }
        acc = add_widened(acc, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
    double sum = hsum_pd(acc);
    for (; i < n; i++)
        sum += (double)x[i] * x[i];
    return sum;
}

static float max(int64_t n, const float *x) {
    float m = -INFINITY;
    int64_t i = 0;
    if (n >= 32) {
        __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (; i + 32 <= n; i += 32) {
            m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
            m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
            m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + i + 16));
            m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + i + 24));
        }
        m = hmax_ps(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    }
    for (; i < n; i++)
        m = fmaxf(m, x[i]);
    return m;
}

/* The FMA forms x * scale - m with one rounding, so a large x * scale close
 * to m loses no precision to cancellation. */
static double exp_sum(int64_t n, float *y, const float *x, float scale, float m) {
    const __m256 vs = _mm256_set1_ps(scale), vm = _mm256_set1_ps(-m);
    __m256d acc = _mm256_setzero_pd();
    int64_t i = 0;
    while (i + 16 <= n) {
        int64_t end = n - i > REDUCE_CHUNK ? i + REDUCE_CHUNK : n;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        for (; i + 16 <= end; i += 16) {
            __m256 e0 = exp_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), vs, vm));
            __m256 e1 = exp_ps(_mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), vs, vm));
            _mm256_storeu_ps(y + i, e0);
            _mm256_storeu_ps(y + i + 8, e1);
            s0 = _mm256_add_ps(s0, e0);
            s1 = _mm256_add_ps(s1, e1);
        }
        acc = add_widened(acc, _mm256_add_ps(s0, s1));
    }
    for (; i < n; i += 8) {
        __m256i mask = tail_mask(n - i < 8 ? n - i : 8);
        __m256 e = exp_ps(_mm256_fmadd_ps(_mm256_maskload_ps(x + i, mask), vs, vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        _mm256_maskstore_ps(y + i, mask, e);
        acc = add_widened(acc, e);
    }
    return hsum_pd(acc);
}

void erg_cpu_vec_init_avx2(erg_cpu_kernels *k) {
    k->quantize_q8a = quantize_q8a;
    k->quantize_q8k = quantize_q8k;
    k->to_f32[ERG_DT_F16] = f16_to_f32;
    k->to_f32[ERG_DT_BF16] = bf16_to_f32;
    k->to_f32[ERG_DT_Q8_0] = q8_0_to_f32;
    k->to_f32[ERG_DT_Q4_0] = q4_0_to_f32;
    k->to_f32[ERG_DT_Q4_K] = q4_k_to_f32;
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
