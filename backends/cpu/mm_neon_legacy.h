/*
 * mm_neon_legacy.h: the NEON matmul kernels of q4_1, q5_0 and q5_1 (Q8A
 * activations), shared by the neon and dotprod levels like mm_neon.h: the
 * includer defines MM_NEON_DOTPROD to 0 or 1 first, and dot32_s8 uses sdot
 * where the level has it.
 *
 * As in mm_scalar.c, the quant values are used as stored (q4_1 0..15, q5_0
 * and q5_1 0..31: they fit in int8, so dot32_s8 applies) and the offset
 * enters through the activation sum: d_w * (d_a * sum q a) + m_w * s_a, m_w
 * the stored minimum of q4_1 / q5_1 and -16 d_w for q5_0. A tile is one row
 * times up to TILE_COLS columns, each weight block unpacked once for all of
 * them. The integer dot product is exact and the float expression is the
 * scalar level's in the same order, so results match it bit for bit.
 */
#ifndef ERG_CPU_MM_NEON_LEGACY_H
#define ERG_CPU_MM_NEON_LEGACY_H

#include "backends/cpu/mm_neon.h"

#include <string.h>

/* The 5th bits of a q5 block's 32 values: bit j of the little-endian qh is
 * element j's, so lanes 0..15 (lo) take bytes 0 and 1 and lanes 16..31 (hi)
 * bytes 2 and 3, each lane testing its own bit; 0x10 where set. */
static inline void legacy_high_bits(const uint8_t *qh_bytes, uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t idx_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t idx_hi[16] = {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint32_t qh;
    memcpy(&qh, qh_bytes, 4);
    const uint8x16_t q = vreinterpretq_u8_u32(vdupq_n_u32(qh)), bits = vld1q_u8(bit);
    const uint8x16_t five = vdupq_n_u8(0x10);
    *lo = vandq_u8(vtstq_u8(vqtbl1q_u8(q, vld1q_u8(idx_lo)), bits), five);
    *hi = vandq_u8(vtstq_u8(vqtbl1q_u8(q, vld1q_u8(idx_hi)), bits), five);
}

/* Block b of a row of type t (q4_1, q5_0 or q5_1): its 32 values as stored
 * (elements 0..15 in lo, 16..31 in hi), its scale and its offset term. */
static inline void legacy_unpack(erg_dtype t, const uint8_t *w, int64_t b, int8x16_t *lo,
                                 int8x16_t *hi, float *dw, float *mw) {
    const uint8_t *qs, *qh = NULL;
    if (t == ERG_DT_Q4_1) {
        const erg_block_q4_1 *x = (const erg_block_q4_1 *)w + b;
        qs = x->qs;
        *dw = erg_f16_to_f32(x->d);
        *mw = erg_f16_to_f32(x->m);
    } else if (t == ERG_DT_Q5_0) {
        const erg_block_q5_0 *x = (const erg_block_q5_0 *)w + b;
        qs = x->qs, qh = x->qh;
        *dw = erg_f16_to_f32(x->d);
        *mw = -16.0f * *dw;
    } else {
        const erg_block_q5_1 *x = (const erg_block_q5_1 *)w + b;
        qs = x->qs, qh = x->qh;
        *dw = erg_f16_to_f32(x->d);
        *mw = erg_f16_to_f32(x->m);
    }
    uint8x16_t bytes = vld1q_u8(qs);
    uint8x16_t l = vandq_u8(bytes, vdupq_n_u8(0x0f)), h = vshrq_n_u8(bytes, 4);
    if (qh) {
        uint8x16_t bl, bh;
        legacy_high_bits(qh, &bl, &bh);
        l = vorrq_u8(l, bl);
        h = vorrq_u8(h, bh);
    }
    *lo = vreinterpretq_s8_u8(l);
    *hi = vreinterpretq_s8_u8(h);
}

/* One row of weight type t times rn columns, nb blocks. */
static inline void legacy_row(erg_dtype t, int rn, int64_t nb, const uint8_t *w, const uint8_t *a,
                              size_t lda, float *c, size_t ldc) {
    float s[TILE_COLS] = {0};
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t lo, hi;
        float dw, mw;
        legacy_unpack(t, w, b, &lo, &hi, &dw, &mw);
        for (int j = 0; j < rn; j++) {
            const erg_cpu_block_q8a *ab = (const erg_cpu_block_q8a *)(a + (size_t)j * lda) + b;
            s[j] += dw * (ab->d * (float)dot32_s8(lo, hi, ab->qs)) + mw * ab->s;
        }
    }
    for (int j = 0; j < rn; j++)
        c[(size_t)j * ldc] = s[j];
}

static inline void gemm_legacy(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                               const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t r = 0; r < nr; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * ldw;
        for (int64_t col = 0; col < nc; col += TILE_COLS) {
            int rn = nc - col < TILE_COLS ? (int)(nc - col) : TILE_COLS;
            legacy_row(t, rn, k / ERG_QK, wr, (const uint8_t *)a + (size_t)col * lda, lda,
                       c + r + (size_t)col * ldc, ldc);
        }
    }
}

/* One entry point per type, so the type is a constant inside each. */
#define GEMM_LEGACY(name, type)                                                                    \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_legacy(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                      \
    }
GEMM_LEGACY(q4_1, ERG_DT_Q4_1)
GEMM_LEGACY(q5_0, ERG_DT_Q5_0)
GEMM_LEGACY(q5_1, ERG_DT_Q5_1)
#undef GEMM_LEGACY

/* Sets the level's q4_1, q5_0 and q5_1 kernels. */
static inline void mm_neon_set_legacy_kernels(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_Q4_1] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_1};
    k->matmul[ERG_DT_Q5_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q5_0};
    k->matmul[ERG_DT_Q5_1] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q5_1};
}

#endif
