/*
 * dequant.c: the reference value of every element of a quantized row, as
 * ggml's dequantize_row_* functions define it.
 *
 * Each block is first decoded into integers and per-group parameters, so
 * that element i of group g is   scale[g] * q[i] (+ offset[g]).
 * scale and offset are always exact in float (an f16 value times an integer
 * of at most 8 bits, or q8_k's f32 scale), so the float path below performs
 * the same roundings, in the same order, as ggml's float code:
 *   q4_0/q5_0/q8_0: q*d          q4_1/q5_1: q*d + m
 *   q2_k/q4_k/q5_k: (d*sc)*q - dmin*m         q3_k/q6_k: (d*sc)*q
 * (a - b and a + (-b) are the same IEEE operation). The double path does the
 * same arithmetic in double precision.
 */
#include "graph/dtype.h"

#include <stdbool.h>
#include <string.h>

/* A block decoded into integers and per-group float parameters. */
typedef struct decoded_block {
    int n;           /* elements in the block */
    int group;       /* elements sharing one scale/offset */
    bool has_offset; /* false: the value is scale * q alone (keeps -0.0 as ggml does) */
    float scale[ERG_QK_K / 16];
    float offset[ERG_QK_K / 16];
    int16_t q[ERG_QK_K];
} decoded_block;

static void decode_q4_0(const erg_block_q4_0 *b, decoded_block *o) {
    o->n = ERG_QK, o->group = ERG_QK, o->has_offset = false;
    o->scale[0] = erg_f16_to_f32(b->d);
    for (int j = 0; j < ERG_QK / 2; j++) {
        o->q[j] = (int16_t)((b->qs[j] & 0x0F) - 8);
        o->q[j + ERG_QK / 2] = (int16_t)((b->qs[j] >> 4) - 8);
    }
}

static void decode_q4_1(const erg_block_q4_1 *b, decoded_block *o) {
    o->n = ERG_QK, o->group = ERG_QK, o->has_offset = true;
    o->scale[0] = erg_f16_to_f32(b->d);
    o->offset[0] = erg_f16_to_f32(b->m);
    for (int j = 0; j < ERG_QK / 2; j++) {
        o->q[j] = (int16_t)(b->qs[j] & 0x0F);
        o->q[j + ERG_QK / 2] = (int16_t)(b->qs[j] >> 4);
    }
}

/* Bit j of the little-endian u32 qh is the 5th bit of element j. */
static uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static void decode_5bit(const uint8_t *qs, uint32_t qh, int bias, int16_t *q) {
    for (int j = 0; j < ERG_QK / 2; j++) {
        int hi0 = (int)((qh >> j) & 1u) << 4;
        int hi1 = (int)((qh >> (j + ERG_QK / 2)) & 1u) << 4;
        q[j] = (int16_t)(((qs[j] & 0x0F) | hi0) - bias);
        q[j + ERG_QK / 2] = (int16_t)(((qs[j] >> 4) | hi1) - bias);
    }
}

static void decode_q5_0(const erg_block_q5_0 *b, decoded_block *o) {
    o->n = ERG_QK, o->group = ERG_QK, o->has_offset = false;
    o->scale[0] = erg_f16_to_f32(b->d);
    decode_5bit(b->qs, load_qh(b->qh), 16, o->q);
}

static void decode_q5_1(const erg_block_q5_1 *b, decoded_block *o) {
    o->n = ERG_QK, o->group = ERG_QK, o->has_offset = true;
    o->scale[0] = erg_f16_to_f32(b->d);
    o->offset[0] = erg_f16_to_f32(b->m);
    decode_5bit(b->qs, load_qh(b->qh), 0, o->q);
}

static void decode_q8_0(const erg_block_q8_0 *b, decoded_block *o) {
    o->n = ERG_QK, o->group = ERG_QK, o->has_offset = false;
    o->scale[0] = erg_f16_to_f32(b->d);
    for (int j = 0; j < ERG_QK; j++)
        o->q[j] = b->qs[j];
}

/* q2_k: 16 groups of 16; scales[g] holds the 4-bit scale (low) and min (high).
 * Each qs byte holds 2-bit quants of four groups, 32 bytes per 128 elements. */
static void decode_q2_k(const erg_block_q2_k *b, decoded_block *o) {
    o->n = ERG_QK_K, o->group = 16, o->has_offset = true;
    float d = erg_f16_to_f32(b->d), dmin = erg_f16_to_f32(b->dmin);
    for (int g = 0; g < 16; g++) {
        o->scale[g] = d * (float)(b->scales[g] & 0xF);
        o->offset[g] = -(dmin * (float)(b->scales[g] >> 4));
    }
    for (int i = 0; i < ERG_QK_K; i++) {
        int half = i / 128, shift = 2 * ((i % 128) / 32), l = i % 32;
        o->q[i] = (int16_t)((b->qs[32 * half + l] >> shift) & 3);
    }
}

/* q3_k: 16 groups of 16 with 6-bit signed scales (bias 32): the low 4 bits in
 * scales[0..7] (group g < 8 low nibble of byte g, else high nibble of byte
 * g-8), the high 2 bits in scales[8 + g%4] at bit 2*(g/4). The 3rd quant bit
 * is in hmask: set means +0, clear means -4. */
static void decode_q3_k(const erg_block_q3_k *b, decoded_block *o) {
    o->n = ERG_QK_K, o->group = 16, o->has_offset = false;
    float d = erg_f16_to_f32(b->d);
    for (int g = 0; g < 16; g++) {
        int lo = g < 8 ? b->scales[g] & 0xF : b->scales[g - 8] >> 4;
        int hi = (b->scales[8 + g % 4] >> (2 * (g / 4))) & 3;
        o->scale[g] = d * (float)((lo | hi << 4) - 32);
    }
    for (int i = 0; i < ERG_QK_K; i++) {
        int half = i / 128, pos = (i % 128) / 32, l = i % 32;
        int low = (b->qs[32 * half + l] >> (2 * pos)) & 3;
        int high = (b->hmask[l] >> (4 * half + pos)) & 1;
        o->q[i] = (int16_t)(low - (high ? 0 : 4));
    }
}

/* q4_k/q5_k: 8 groups of 32 with 6-bit scales and mins (erg_k_scale_min);
 * each 32-byte run of qs holds two groups, low nibbles then high nibbles. */
static void k_scales(const uint8_t *scales, erg_f16 dh, erg_f16 dminh, decoded_block *o) {
    float d = erg_f16_to_f32(dh), dmin = erg_f16_to_f32(dminh);
    for (int g = 0; g < 8; g++) {
        uint8_t sc, m;
        erg_k_scale_min(g, scales, &sc, &m);
        o->scale[g] = d * (float)sc;
        o->offset[g] = -(dmin * (float)m);
    }
}

static void decode_q4_k(const erg_block_q4_k *b, decoded_block *o) {
    o->n = ERG_QK_K, o->group = 32, o->has_offset = true;
    k_scales(b->scales, b->d, b->dmin, o);
    for (int i = 0; i < ERG_QK_K; i++) {
        int g = i / 32, l = i % 32;
        uint8_t byte = b->qs[32 * (g / 2) + l];
        o->q[i] = (int16_t)(g % 2 ? byte >> 4 : byte & 0xF);
    }
}

/* q5_k: as q4_k, plus the 5th bit of element l of group g in bit g of qh[l]. */
static void decode_q5_k(const erg_block_q5_k *b, decoded_block *o) {
    o->n = ERG_QK_K, o->group = 32, o->has_offset = true;
    k_scales(b->scales, b->d, b->dmin, o);
    for (int i = 0; i < ERG_QK_K; i++) {
        int g = i / 32, l = i % 32;
        uint8_t byte = b->qs[32 * (g / 2) + l];
        int low = g % 2 ? byte >> 4 : byte & 0xF;
        int high = (b->qh[l] >> g) & 1;
        o->q[i] = (int16_t)(low | high << 4);
    }
}

/* q6_k: 16 groups of 16 with int8 scales. Per 128 elements: 64 ql bytes
 * (elements l and l+64 share ql[l], l+32 and l+96 share ql[l+32], low then
 * high nibble) and 32 qh bytes (2 bits each for l, l+32, l+64, l+96). */
static void decode_q6_k(const erg_block_q6_k *b, decoded_block *o) {
    o->n = ERG_QK_K, o->group = 16, o->has_offset = false;
    float d = erg_f16_to_f32(b->d);
    for (int g = 0; g < 16; g++)
        o->scale[g] = d * (float)b->scales[g];
    for (int i = 0; i < ERG_QK_K; i++) {
        int half = i / 128, quarter = (i % 128) / 32, l = i % 32;
        const uint8_t *ql = b->ql + 64 * half;
        uint8_t qh = b->qh[32 * half + l];
        uint8_t lbyte = ql[l + 32 * (quarter % 2)];
        int low = quarter < 2 ? lbyte & 0xF : lbyte >> 4;
        int high = (qh >> (2 * quarter)) & 3;
        o->q[i] = (int16_t)((low | high << 4) - 32);
    }
}

static void decode_q8_k(const erg_block_q8_k *b, decoded_block *o) {
    o->n = ERG_QK_K, o->group = ERG_QK_K, o->has_offset = false;
    o->scale[0] = b->d;
    for (int i = 0; i < ERG_QK_K; i++)
        o->q[i] = b->qs[i];
}

/* Decodes the block at p; false for a type without a decoder. The block
 * structs are copied out because src need not be aligned. */
static bool decode_block(erg_dtype t, const uint8_t *p, decoded_block *o) {
#define DECODE(type, fn)                                                                     \
    do {                                                                                     \
        type b_;                                                                             \
        memcpy(&b_, p, sizeof b_);                                                           \
        fn(&b_, o);                                                                          \
    } while (0)
    switch (t) {
    case ERG_DT_Q4_0: DECODE(erg_block_q4_0, decode_q4_0); return true;
    case ERG_DT_Q4_1: DECODE(erg_block_q4_1, decode_q4_1); return true;
    case ERG_DT_Q5_0: DECODE(erg_block_q5_0, decode_q5_0); return true;
    case ERG_DT_Q5_1: DECODE(erg_block_q5_1, decode_q5_1); return true;
    case ERG_DT_Q8_0: DECODE(erg_block_q8_0, decode_q8_0); return true;
    case ERG_DT_Q2_K: DECODE(erg_block_q2_k, decode_q2_k); return true;
    case ERG_DT_Q3_K: DECODE(erg_block_q3_k, decode_q3_k); return true;
    case ERG_DT_Q4_K: DECODE(erg_block_q4_k, decode_q4_k); return true;
    case ERG_DT_Q5_K: DECODE(erg_block_q5_k, decode_q5_k); return true;
    case ERG_DT_Q6_K: DECODE(erg_block_q6_k, decode_q6_k); return true;
    case ERG_DT_Q8_K: DECODE(erg_block_q8_k, decode_q8_k); return true;
    default: return false;
    }
#undef DECODE
}

static bool is_plain_float(erg_dtype t) {
    return t == ERG_DT_F32 || t == ERG_DT_F16 || t == ERG_DT_BF16;
}

/* Element i of a row of a plain float type. */
static float plain_element(erg_dtype t, const uint8_t *src, int64_t i) {
    float f;
    uint16_t h;
    if (t == ERG_DT_F32) {
        memcpy(&f, src + 4 * i, 4);
        return f;
    }
    memcpy(&h, src + 2 * i, 2);
    return t == ERG_DT_F16 ? erg_f16_to_f32(h) : erg_bf16_to_f32(h);
}

/* Unknown types and types without a decoder (q8_1, integers, f64) leave dst
 * untouched: callers check erg_dtype_get(t) first. */
void erg_dequantize_row(erg_dtype t, const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    if (is_plain_float(t)) {
        for (int64_t i = 0; i < n; i++)
            dst[i] = plain_element(t, p, i);
        return;
    }
    const erg_dtype_traits *tr = erg_dtype_get((int)t);
    if (!tr)
        return;
    decoded_block blk;
    for (int64_t base = 0; base + tr->block_size <= n; base += tr->block_size, p += tr->type_size) {
        if (!decode_block(t, p, &blk))
            return;
        for (int i = 0; i < blk.n; i++) {
            int g = i / blk.group;
            float v = blk.scale[g] * (float)blk.q[i];
            dst[base + i] = blk.has_offset ? v + blk.offset[g] : v;
        }
    }
}

void erg_dequantize_row_f64(erg_dtype t, const void *src, double *dst, int64_t n) {
    const uint8_t *p = src;
    if (is_plain_float(t)) {
        for (int64_t i = 0; i < n; i++)
            dst[i] = plain_element(t, p, i);
        return;
    }
    const erg_dtype_traits *tr = erg_dtype_get((int)t);
    if (!tr)
        return;
    decoded_block blk;
    for (int64_t base = 0; base + tr->block_size <= n; base += tr->block_size, p += tr->type_size) {
        if (!decode_block(t, p, &blk))
            return;
        for (int i = 0; i < blk.n; i++) {
            int g = i / blk.group;
            double v = (double)blk.scale[g] * blk.q[i];
            dst[base + i] = blk.has_offset ? v + (double)blk.offset[g] : v;
        }
    }
}
