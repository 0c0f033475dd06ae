/*
 * quantize_legacy.c: the blocks-of-32 quantisers (q4_0, q4_1, q5_0, q5_1,
 * q8_0), with llama.cpp's reference choices so the bytes match what
 * llama-quantize writes without an importance matrix:
 *  - symmetric types take d = (the element of largest magnitude, with its
 *    sign) / -2^(bits-1), so that element maps to the most negative level;
 *    q8_0 takes d = max|x| / 127 and rounds half away from zero;
 *  - affine types take d = (max - min) / (2^bits - 1) and store min as m;
 *  - elements are scaled by 1/d in float and rounded by adding 0.5 (plus the
 *    level bias) and truncating, then clamped to the top level.
 * Element j and j+16 of a block share byte j of qs (low, high nibble); the
 * 5th bits go to bit j and j+16 of the little-endian u32 qh.
 */
#include "model/quantize.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Bytes must match llama.cpp's, so no multiply-add may be fused into one
 * rounding (GCC already keeps them apart in ISO C mode). */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static int min_int(int a, int b) { return a < b ? a : b; }

/* The element of largest magnitude (the first one on ties), with its sign. */
static float signed_absmax(const float *x) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < ERG_QK; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void min_max(const float *x, float *mn, float *mx) {
    *mn = FLT_MAX;
    *mx = -FLT_MAX;
    for (int j = 0; j < ERG_QK; j++) {
        if (x[j] < *mn)
            *mn = x[j];
        if (x[j] > *mx)
            *mx = x[j];
    }
}

static float inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

/* The level of an element already scaled by 1/d: v + bias truncated toward
 * zero, clamped to top. A separate step from the scaling, as in llama.cpp, so
 * that no compiler fuses the multiply and add into one rounding. */
static int level(float v, float bias, int top) { return min_int(top, (int8_t)(v + bias)); }

/* Packs 32 levels of at most 5 bits: low nibbles into qs, 5th bits into qh. */
static void pack_5bit(const uint8_t *lv, uint8_t qs[ERG_QK / 2], uint8_t qh[4]) {
    uint32_t h = 0;
    for (int j = 0; j < ERG_QK / 2; j++) {
        qs[j] = (uint8_t)((lv[j] & 0x0F) | (lv[j + ERG_QK / 2] & 0x0F) << 4);
        h |= (uint32_t)(lv[j] >> 4 & 1) << j;
        h |= (uint32_t)(lv[j + ERG_QK / 2] >> 4 & 1) << (j + ERG_QK / 2);
    }
    for (int b = 0; b < 4; b++)
        qh[b] = (uint8_t)(h >> (8 * b));
}

void erg_quantize_row_q4_0(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK; i++, x += ERG_QK) {
        erg_block_q4_0 b;
        const float d = signed_absmax(x) / -8;
        const float id = inverse(d);
        b.d = erg_f32_to_f16(d);
        for (int j = 0; j < ERG_QK / 2; j++) {
            /* truncating x/d + 8.5 rounds x/d + 8 half up */
            int lo = level(x[j] * id, 8.5f, 15);
            int hi = level(x[j + ERG_QK / 2] * id, 8.5f, 15);
            b.qs[j] = (uint8_t)(lo | hi << 4);
        }
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}

void erg_quantize_row_q4_1(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK; i++, x += ERG_QK) {
        erg_block_q4_1 b;
        float mn, mx;
        min_max(x, &mn, &mx);
        const float d = (mx - mn) / 15;
        const float id = inverse(d);
        b.d = erg_f32_to_f16(d);
        b.m = erg_f32_to_f16(mn);
        for (int j = 0; j < ERG_QK / 2; j++) {
            int lo = level((x[j] - mn) * id, 0.5f, 15);
            int hi = level((x[j + ERG_QK / 2] - mn) * id, 0.5f, 15);
            b.qs[j] = (uint8_t)(lo | hi << 4);
        }
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}

void erg_quantize_row_q5_0(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK; i++, x += ERG_QK) {
        erg_block_q5_0 b;
        uint8_t lv[ERG_QK];
        const float d = signed_absmax(x) / -16;
        const float id = inverse(d);
        b.d = erg_f32_to_f16(d);
        for (int j = 0; j < ERG_QK; j++)
            lv[j] = (uint8_t)level(x[j] * id, 16.5f, 31);
        pack_5bit(lv, b.qs, b.qh);
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}

void erg_quantize_row_q5_1(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK; i++, x += ERG_QK) {
        erg_block_q5_1 b;
        uint8_t lv[ERG_QK];
        float mn, mx;
        min_max(x, &mn, &mx);
        const float d = (mx - mn) / 31;
        const float id = inverse(d);
        b.d = erg_f32_to_f16(d);
        b.m = erg_f32_to_f16(mn);
        /* llama.cpp does not clamp here: (max - min) / d rounds to 31 */
        for (int j = 0; j < ERG_QK; j++)
            lv[j] = (uint8_t)level((x[j] - mn) * id, 0.5f, 255);
        pack_5bit(lv, b.qs, b.qh);
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}

void erg_quantize_row_q8_0(const float *x, void *dst, int64_t k) {
    for (int64_t i = 0; i < k / ERG_QK; i++, x += ERG_QK) {
        erg_block_q8_0 b;
        float amax = 0.0f;
        for (int j = 0; j < ERG_QK; j++)
            amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        const float d = amax / 127;
        const float id = inverse(d);
        b.d = erg_f32_to_f16(d);
        for (int j = 0; j < ERG_QK; j++)
            b.qs[j] = (int8_t)roundf(x[j] * id);
        memcpy((uint8_t *)dst + i * sizeof b, &b, sizeof b);
    }
}
