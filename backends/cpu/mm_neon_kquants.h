/*
 * mm_neon_kquants.h: the NEON matmul kernels of the K-quants (q4_k, q5_k,
 * q6_k) on Q8K activations, shared by the neon and dotprod levels like
 * mm_neon.h: the includer defines MM_NEON_DOTPROD to 0 or 1 first, and with
 * the dot-product extension one sdot replaces the widening multiply and
 * pairwise add chain.
 *
 * A tile is one row times up to TILE_COLS columns (mm_neon.h): each
 * super-block is unpacked once into 256 int8 values and its scales, then
 * multiplied with every column of the tile.
 *     q4_k, q5_k: d_a * (d * sum_j sc_j sum_{i in j} q_i a_i - dmin * sum_j m_j sum_{i in j} a_i)
 *     q6_k:       d_a * d * sum_g sc_g sum_{i in g} (q_i - 32) a_i
 * The integer sums are exact in int32 (at most 256 * 63 * 127 * 128 < 2^31)
 * and equal mm_scalar.c's (q6_k's -32 is applied to the values here and
 * through bsums there, the same integer); the float expressions are the
 * scalar level's in the same order, so results match it bit for bit.
 */
#ifndef ERG_CPU_MM_NEON_KQUANTS_H
#define ERG_CPU_MM_NEON_KQUANTS_H

#include "backends/cpu/mm_neon.h"

#include <string.h>

/* One super-block, unpacked: values in element order, 16 a vector. */
typedef struct kq_block {
    int8x16_t q[16]; /* q4_k 0..15, q5_k 0..31, q6_k -32..31 */
    int32_t sc[16];  /* scale of sub-block j (32 elements) for q4_k / q5_k, of group g (16) for q6_k */
    int16x8_t m;     /* q4_k / q5_k: the 8 mins */
    float d, dmin;
} kq_block;

/* Partial sums (4 lanes) of q[i] * a[i] over 16 elements. Products fit in
 * 13 bits, so pairs of them fit in int16. */
static inline int32x4_t kq_dot16(int8x16_t q, const int8_t *a) {
    int8x16_t av = vld1q_s8(a);
#if MM_NEON_DOTPROD
    return vdotq_s32(vdupq_n_s32(0), q, av);
#else
    int16x8_t p = vmull_s8(vget_low_s8(q), vget_low_s8(av));
    return vpaddlq_s16(vmlal_s8(p, vget_high_s8(q), vget_high_s8(av)));
#endif
}

/* The 8 6-bit scales and mins of a q4_k / q5_k super-block (erg_k_scale_min
 * for j = 0..7, four bytes at a time). */
static inline void kq_scales_mins(const uint8_t *packed, kq_block *b) {
    uint32_t u[3];
    memcpy(u, packed, 12);
    const uint32_t six = 0x3f3f3f3f, four = 0x0f0f0f0f, two = 0x03030303;
    uint32_t sc[2] = {u[0] & six, (u[2] & four) | ((u[0] >> 6) & two) << 4};
    uint32_t m[2] = {u[1] & six, ((u[2] >> 4) & four) | ((u[1] >> 6) & two) << 4};
    uint8_t scb[8];
    memcpy(scb, sc, 8);
    for (int j = 0; j < 8; j++)
        b->sc[j] = scb[j];
    uint64_t m64;
    memcpy(&m64, m, 8);
    b->m = vreinterpretq_s16_u16(vmovl_u8(vcreate_u8(m64)));
}

/* q4_k / q5_k: 32 bytes of qs per 64 elements, low nibbles first; bit j of
 * qh[l] is the 5th bit of element 32 j + l. */
static inline void kq_unpack_q45k(bool five, const uint8_t *wb, kq_block *b) {
    const uint8_t *qs, *qh = NULL;
    erg_f16 d16, dmin16;
    if (five) {
        const erg_block_q5_k *x = (const erg_block_q5_k *)wb;
        qs = x->qs, qh = x->qh, d16 = x->d, dmin16 = x->dmin;
        kq_scales_mins(x->scales, b);
    } else {
        const erg_block_q4_k *x = (const erg_block_q4_k *)wb;
        qs = x->qs, d16 = x->d, dmin16 = x->dmin;
        kq_scales_mins(x->scales, b);
    }
    const uint8x16_t low4 = vdupq_n_u8(0x0f), bit4 = vdupq_n_u8(0x10);
    uint8x16_t h0 = vdupq_n_u8(0), h1 = h0;
    if (five)
        h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        uint8x16_t x0 = vld1q_u8(qs + 32 * c), x1 = vld1q_u8(qs + 32 * c + 16);
        uint8x16_t v[4] = {vandq_u8(x0, low4), vandq_u8(x1, low4), vshrq_n_u8(x0, 4),
                           vshrq_n_u8(x1, 4)};
        if (five) { /* sub-blocks 2c (v[0], v[1]) and 2c + 1 (v[2], v[3]) */
            v[0] = vorrq_u8(v[0], vandq_u8(vshlq_n_u8(h0, 4), bit4));
            v[1] = vorrq_u8(v[1], vandq_u8(vshlq_n_u8(h1, 4), bit4));
            v[2] = vorrq_u8(v[2], vandq_u8(vshlq_n_u8(h0, 3), bit4));
            v[3] = vorrq_u8(v[3], vandq_u8(vshlq_n_u8(h1, 3), bit4));
            h0 = vshrq_n_u8(h0, 2), h1 = vshrq_n_u8(h1, 2);
        }
        for (int i = 0; i < 4; i++)
            b->q[4 * c + i] = vreinterpretq_s8_u8(v[i]);
    }
    b->d = erg_f16_to_f32(d16);
    b->dmin = erg_f16_to_f32(dmin16);
}

/* q6_k: per 128 elements, ql 64 bytes (low nibbles: elements 0..63, high:
 * 64..127) and qh 32 bytes (bits 2p, 2p + 1: top bits of element 32 p + l). */
static inline void kq_unpack_q6k(const erg_block_q6_k *x, kq_block *b) {
    const uint8x16_t low4 = vdupq_n_u8(0x0f), top2 = vdupq_n_u8(0x30);
    const int8x16_t off = vdupq_n_s8(32);
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) { /* half i / 2, bytes 16 (i % 2) of its l */
        const int half = i / 2, l = 16 * (i % 2);
        uint8x16_t l0 = vld1q_u8(x->ql + 64 * half + l), l1 = vld1q_u8(x->ql + 64 * half + 32 + l);
        uint8x16_t h = vld1q_u8(x->qh + 32 * half + l);
        uint8x16_t v[4] = {
            vorrq_u8(vandq_u8(l0, low4), vandq_u8(vshlq_n_u8(h, 4), top2)),
            vorrq_u8(vandq_u8(l1, low4), vandq_u8(vshlq_n_u8(h, 2), top2)),
            vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h, top2)),
            vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(h, 2), top2)),
        };
        /* part p: elements 128 half + 32 p + l .. + 15 */
        for (int p = 0; p < 4; p++)
            b->q[8 * half + 2 * p + i % 2] = vsubq_s8(vreinterpretq_s8_u8(v[p]), off);
    }
    for (int g = 0; g < 16; g++)
        b->sc[g] = x->scales[g];
    b->d = erg_f16_to_f32(x->d);
}

/* sum_j sc_j sum_{i in j} q_i a_i (q4_k / q5_k) or sum_g sc_g sum_{i in g}
 * q_i a_i (q6_k), exact. */
static inline int32_t kq_dot(erg_dtype t, const kq_block *b, const int8_t *a) {
    int32x4_t acc = vdupq_n_s32(0);
    if (t == ERG_DT_Q6_K) {
#pragma GCC unroll 16
        for (int g = 0; g < 16; g++)
            acc = vmlaq_n_s32(acc, kq_dot16(b->q[g], a + 16 * g), b->sc[g]);
    } else {
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            int32x4_t p = vaddq_s32(kq_dot16(b->q[2 * j], a + 32 * j),
                                    kq_dot16(b->q[2 * j + 1], a + 32 * j + 16));
            acc = vmlaq_n_s32(acc, p, b->sc[j]);
        }
    }
    return vaddvq_s32(acc);
}

/* sum_j m_j * (bsums[2j] + bsums[2j + 1]): a pair of bsums fits in int16. */
static inline int32_t kq_min_sum(const kq_block *b, const int16_t *bsums) {
    int16x8_t s = vpaddq_s16(vld1q_s16(bsums), vld1q_s16(bsums + 8));
    int32x4_t p = vmull_s16(vget_low_s16(s), vget_low_s16(b->m));
    return vaddvq_s32(vmlal_high_s16(p, s, b->m));
}

/* One row of weight type t times rn columns, nsb super-blocks. */
static inline void kq_row(erg_dtype t, int rn, int64_t nsb, const uint8_t *w, const uint8_t *a,
                          size_t lda, float *c, size_t ldc) {
    float s[TILE_COLS] = {0};
    for (int64_t sb = 0; sb < nsb; sb++) {
        kq_block b;
        const uint8_t *wb = w + (size_t)sb * erg_dtype_block_bytes(t);
        if (t == ERG_DT_Q6_K)
            kq_unpack_q6k((const erg_block_q6_k *)wb, &b);
        else
            kq_unpack_q45k(t == ERG_DT_Q5_K, wb, &b);
        for (int j = 0; j < rn; j++) {
            const erg_block_q8_k *ab = (const erg_block_q8_k *)(a + (size_t)j * lda) + sb;
            float sum_q = (float)kq_dot(t, &b, ab->qs);
            if (t == ERG_DT_Q6_K)
                s[j] += ab->d * b.d * sum_q;
            else
                s[j] += ab->d * (b.d * sum_q - b.dmin * (float)kq_min_sum(&b, ab->bsums));
        }
    }
    for (int j = 0; j < rn; j++)
        c[(size_t)j * ldc] = s[j];
}

static inline void gemm_kquant(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                               const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t r = 0; r < nr; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * ldw;
        for (int64_t col = 0; col < nc; col += TILE_COLS) {
            int rn = nc - col < TILE_COLS ? (int)(nc - col) : TILE_COLS;
            kq_row(t, rn, k / ERG_QK_K, wr, (const uint8_t *)a + (size_t)col * lda, lda,
                   c + r + (size_t)col * ldc, ldc);
        }
    }
}

/* One entry point per type, so the type is a constant inside each. */
#define GEMM_KQ(name, type)                                                                        \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_kquant(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                      \
    }
GEMM_KQ(q4_k, ERG_DT_Q4_K)
GEMM_KQ(q5_k, ERG_DT_Q5_K)
GEMM_KQ(q6_k, ERG_DT_Q6_K)
#undef GEMM_KQ

/* Sets the level's q4_k, q5_k and q6_k kernels. */
static inline void mm_neon_set_kquant_kernels(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_Q4_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q4_k};
    k->matmul[ERG_DT_Q5_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q5_k};
    k->matmul[ERG_DT_Q6_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q6_k};
}

#endif
