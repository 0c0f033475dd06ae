/*
 * quantize_kquants.c: the super-block quantisers q4_k, q5_k and q6_k, with
 * llama.cpp's reference scale search (quantize_row_q*_K_ref, no importance
 * matrix), so the bytes match what llama-quantize writes.
 *
 * q4_k/q5_k: each group of 32 gets an affine fit x ~ scale * l - min, found by
 * trying a range of inverse scales and solving weighted least squares for
 * (scale, min) at each (weights |x| + rms of the group). The eight scales and
 * mins are then quantized to 6 bits against the block's largest, and the
 * elements are re-quantized with the rounded scales.
 *
 * q6_k: each group of 16 gets a symmetric scale from a search around
 * max|x| / 32 weighted by x^2; the sixteen scales are quantized to int8
 * against the largest, and the elements re-quantized likewise.
 *
 * All arithmetic is in float, in llama.cpp's order; rounding to an integer
 * is round-half-even via the 1.5 * 2^23 trick, as llama.cpp does it.
 */
#include "model/quantize.h"

#include <math.h>
#include <string.h>

/* Bytes must match llama.cpp's, so no multiply-add may be fused into one
 * rounding (GCC already keeps them apart in ISO C mode). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define GROUP_MAX_EPS 1e-15f /* below this a group counts as all zeros */

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Round to nearest, ties to even, for |f| < 2^22: adding 1.5 * 2^23 leaves the
 * rounded integer in the low mantissa bits. */
static int nearest_int(float f) {
    float v = f + 12582912.0f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/*
 * Symmetric levels l in [-nmax, nmax-1] for n values with weights x^2: starts
 * from the scale that maps the element of largest magnitude to -nmax, then
 * tries inverse scales -(nmax + 0.1 is) / max for is = -9..9 and keeps the one
 * with the largest (sum w x l)^2 / sum w l^2. Stores l + nmax in L; returns
 * the least-squares scale.
 */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Levels for x = scale * l + min at inverse scale iscale (min <= 0). */
static void affine_levels(int n, int nmax, const float *x, float iscale, float min, uint8_t *L) {
    for (int i = 0; i < n; i++)
        L[i] = (uint8_t)clamp_int(nearest_int(iscale * (x[i] - min)), 0, nmax);
}

static float weighted_sq_error(int n, const float *x, const float *w, const uint8_t *L,
                               float scale, float min) {
    float err = 0;
    for (int i = 0; i < n; i++) {
        float diff = scale * (float)L[i] + min - x[i];
        err += w[i] * (diff * diff);
    }
    return err;
}

/*
 * Affine levels l in [0, nmax] with x ~ scale * l + min, min <= 0: starts from
 * the range fit (max - min) / nmax, then for nstep + 1 inverse scales
 * (rmin + rdelta * is + nmax) / (max - min) solves weighted least squares for
 * (scale, min) (min clamped to 0) and keeps the fit with the smallest weighted
 * squared error. Returns scale; *neg_min = -min.
 */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                              uint8_t *L, float *neg_min, float rmin, float rdelta, int nstep) {
    uint8_t Laux[32];
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *neg_min = -min;
        return 0.0f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    affine_levels(n, nmax, x, iscale, min, L);
    float best_error = weighted_sq_error(n, x, weights, L, scale, min);
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        affine_levels(n, nmax, x, iscale, min, Laux);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            float w = weights[i], l = (float)Laux[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float err = weighted_sq_error(n, x, weights, Laux, this_scale, this_min);
            if (err < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = err;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *neg_min = -min;
    return scale;
}

void erg_k_pack_scale_min(const uint8_t sc[8], const uint8_t m[8], uint8_t out[ERG_K_SCALE_SIZE]) {
    /* groups 0..3: 6 bits in bytes 0..3 (scale) and 4..7 (min); groups 4..7:
     * low 4 bits in bytes 8..11, high 2 bits in the top bits of bytes 0..7 */
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        out[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        out[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
    }
}

/*
 * The part q4_k and q5_k share: fits each group of 32, quantizes the scales
 * and mins to 6 bits, stores them with d and dmin, and re-quantizes the
 * elements into L (0..nmax) with the stored values.
 */
static void quantize_k_superblock(const float *x, int nmax, float rmin, float rdelta, int nstep,
                                  erg_f16 *d_out, erg_f16 *dmin_out, uint8_t scales[12],
                                  uint8_t L[ERG_QK_K]) {
    float weights[32], mins[8], group_scales[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xg = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++)
            sum_x2 += xg[l] * xg[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(xg[l]);
        group_scales[j] =
            make_qkx2_quants(32, nmax, xg, weights, L + 32 * j, &mins[j], rmin, rdelta, nstep);
        if (group_scales[j] > max_scale)
            max_scale = group_scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        /* llama.cpp stores the rounded value in a uint8_t before clamping */
        uint8_t s = (uint8_t)nearest_int(inv_scale * group_scales[j]);
        uint8_t m = (uint8_t)nearest_int(inv_min * mins[j]);
        ls[j] = s < 63 ? s : 63;
        lm[j] = m < 63 ? m : 63;
    }
    erg_k_pack_scale_min(ls, lm, scales);
    *d_out = erg_f32_to_f16(max_scale / 63.f);
    *dmin_out = erg_f32_to_f16(max_min / 63.f);

    /* groups whose stored scale is 0 keep the levels of their own fit */
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        erg_k_scale_min(j, scales, &sc, &m);
        const float d = erg_f16_to_f32(*d_out) * (float)sc;
        if (d == 0.0f)
            continue;
        const float dm = erg_f16_to_f32(*dmin_out) * (float)m;
        for (int i = 0; i < 32; i++)
            L[32 * j + i] = (uint8_t)clamp_int(nearest_int((x[32 * j + i] + dm) / d), 0, nmax);
    }
}

void erg_quantize_row_q4_k(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK_K; i++, x += ERG_QK_K) {
        erg_block_q4_k b;
        uint8_t L[ERG_QK_K];
        quantize_k_superblock(x, 15, -1.0f, 0.1f, 20, &b.d, &b.dmin, b.scales, L);
        /* each 32 bytes: group 2c in the low nibbles, group 2c+1 in the high */
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b.qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}

void erg_quantize_row_q5_k(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK_K; i++, x += ERG_QK_K) {
        erg_block_q5_k b;
        uint8_t L[ERG_QK_K];
        quantize_k_superblock(x, 31, -0.5f, 0.1f, 15, &b.d, &b.dmin, b.scales, L);
        /* low 4 bits as in q4_k; the 5th bit of element l of group g is bit g of qh[l] */
        memset(b.qh, 0, sizeof b.qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                uint8_t lo = L[64 * c + l], hi = L[64 * c + 32 + l];
                b.qs[32 * c + l] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
                b.qh[l] |= (uint8_t)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            }
        }
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}

void erg_quantize_row_q6_k(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK_K; i++, x += ERG_QK_K) {
        erg_block_q6_k b;
        int8_t L[ERG_QK_K];
        float scales[16];
        float max_scale = 0, max_abs_scale = 0;
        for (int g = 0; g < 16; g++) {
            scales[g] = make_qx_quants(16, 32, x + 16 * g, L + 16 * g);
            if (fabsf(scales[g]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[g]);
                max_scale = scales[g];
            }
        }
        memset(&b, 0, sizeof b);
        if (max_abs_scale >= GROUP_MAX_EPS) {
            float iscale = -128.f / max_scale;
            b.d = erg_f32_to_f16(1 / iscale);
            for (int g = 0; g < 16; g++) {
                int s = nearest_int(iscale * scales[g]);
                b.scales[g] = (int8_t)(s < 127 ? s : 127);
            }
            /* groups whose stored scale is 0 keep the levels of their own fit */
            for (int g = 0; g < 16; g++) {
                const float d = erg_f16_to_f32(b.d) * (float)b.scales[g];
                if (d == 0.0f)
                    continue;
                for (int l = 0; l < 16; l++) {
                    int q = clamp_int(nearest_int(x[16 * g + l] / d), -32, 31);
                    L[16 * g + l] = (int8_t)(q + 32);
                }
            }
            /* per 128 elements: ql[l] holds l (low) and l+64 (high), ql[l+32]
             * holds l+32 and l+96; qh[l] holds their 2 high bits at 0,2,4,6 */
            for (int h = 0; h < 2; h++) {
                const int8_t *Lh = L + 128 * h;
                for (int l = 0; l < 32; l++) {
                    uint8_t q0 = (uint8_t)Lh[l], q1 = (uint8_t)Lh[l + 32];
                    uint8_t q2 = (uint8_t)Lh[l + 64], q3 = (uint8_t)Lh[l + 96];
                    b.ql[64 * h + l] = (uint8_t)((q0 & 0xF) | (q2 & 0xF) << 4);
                    b.ql[64 * h + l + 32] = (uint8_t)((q1 & 0xF) | (q3 & 0xF) << 4);
                    b.qh[32 * h + l] =
                        (uint8_t)(q0 >> 4 | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
                }
            }
        }
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}
