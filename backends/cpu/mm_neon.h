/*
 * mm_neon.h: the NEON matmul kernels of q4_0 and q8_0 (Q8A activations),
 * shared by the neon and dotprod levels. The includer defines MM_NEON_DOTPROD
 * to 0 or 1 first: with the dot-product extension (ARMv8.2 SDOT), one sdot
 * replaces the widening multiply and pairwise add chain.
 *
 * The weights stay in the file's layout (the levels leave the packed q4_0x8
 * kernel unset, so nothing is repacked). A tile is one row times up to
 * TILE_COLS columns: each weight block is unpacked once for all of them.
 * Per block, the integer dot product is exact and the scaling is the scalar
 * level's expression in the same order, so results match mm_scalar.c bit for
 * bit.
 */
#ifndef ERG_CPU_MM_NEON_H
#define ERG_CPU_MM_NEON_H

#ifndef MM_NEON_DOTPROD
#error "define MM_NEON_DOTPROD (0 or 1) before including mm_neon.h"
#endif

#include "backends/cpu/kernels.h"

#include <arm_neon.h>

#define TILE_COLS 4

/* sum lo[i] * a[i] + hi[i] * a[16 + i]: 32 products of values that fit in
 * int8 (nibbles 0..15 or q8 values); pairs of products fit in int16. */
static inline int32_t dot32_s8(int8x16_t lo, int8x16_t hi, const int8_t *a) {
    int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16);
#if MM_NEON_DOTPROD
    return vaddvq_s32(vdotq_s32(vdotq_s32(vdupq_n_s32(0), lo, a0), hi, a1));
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(lo), vget_low_s8(a0));
    p0 = vmlal_s8(p0, vget_high_s8(lo), vget_high_s8(a0));
    int16x8_t p1 = vmull_s8(vget_low_s8(hi), vget_low_s8(a1));
    p1 = vmlal_s8(p1, vget_high_s8(hi), vget_high_s8(a1));
    return vaddvq_s32(vaddq_s32(vpaddlq_s16(p0), vpaddlq_s16(p1)));
#endif
}

/* One row of weight type t (q4_0 or q8_0) times rn columns. As in
 * mm_scalar.c, q4_0 values are used as stored (0..15) and the -8 offset
 * enters through the activation sums: d_w * (d_a * sum q a) + m_w * s_a. */
static inline void q8a_row(erg_dtype t, int rn, int64_t nb, const uint8_t *w, const uint8_t *a,
                           size_t lda, float *c, size_t ldc) {
    float s[TILE_COLS] = {0};
    for (int64_t b = 0; b < nb; b++) {
        int8x16_t lo, hi;
        float dw, mw;
        if (t == ERG_DT_Q4_0) {
            const erg_block_q4_0 *wb = (const erg_block_q4_0 *)w + b;
            uint8x16_t bytes = vld1q_u8(wb->qs);
            lo = vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0x0f)));
            hi = vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4));
            dw = erg_f16_to_f32(wb->d);
            mw = -8.0f * dw;
        } else {
            const erg_block_q8_0 *wb = (const erg_block_q8_0 *)w + b;
            lo = vld1q_s8(wb->qs);
            hi = vld1q_s8(wb->qs + 16);
            dw = erg_f16_to_f32(wb->d);
            mw = 0.0f;
        }
        for (int j = 0; j < rn; j++) {
            const erg_cpu_block_q8a *ab = (const erg_cpu_block_q8a *)(a + (size_t)j * lda) + b;
            s[j] += dw * (ab->d * (float)dot32_s8(lo, hi, ab->qs)) + mw * ab->s;
        }
    }
    for (int j = 0; j < rn; j++)
        c[(size_t)j * ldc] = s[j];
}

static inline void gemm_q8a(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                            const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t r = 0; r < nr; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * ldw;
        for (int64_t col = 0; col < nc; col += TILE_COLS) {
            int rn = nc - col < TILE_COLS ? (int)(nc - col) : TILE_COLS;
            q8a_row(t, rn, k / ERG_QK, wr, (const uint8_t *)a + (size_t)col * lda, lda,
                    c + r + (size_t)col * ldc, ldc);
        }
    }
}

static void gemm_q4_0(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                      size_t lda, int64_t nc, float *c, size_t ldc) {
    gemm_q8a(ERG_DT_Q4_0, k, w, ldw, nr, a, lda, nc, c, ldc);
}

static void gemm_q8_0(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                      size_t lda, int64_t nc, float *c, size_t ldc) {
    gemm_q8a(ERG_DT_Q8_0, k, w, ldw, nr, a, lda, nc, c, ldc);
}

/* Sets the level's q4_0 and q8_0 kernels; the file's layout is read, so the
 * packed q4_0x8 kernel inherited from the scalar level is unset. */
static inline void mm_neon_set_quant_kernels(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_Q4_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_0};
    k->matmul[ERG_DT_Q8_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q8_0};
    k->matmul_packed[ERG_CPU_PACK_Q4_0X8] = (erg_cpu_matmul_kernel){ERG_ACT_F32, NULL};
}

#endif
