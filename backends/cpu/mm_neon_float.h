/*
 * mm_neon_float.h: the NEON matmul kernels of the float weight types (f32,
 * f16, bf16) on F32 activations, for the neon level (dotprod inherits them:
 * the dot-product extension has nothing for floats).
 *
 * Weights are converted 8 at a time on the fly (vcvt_f32_f16 for f16, a
 * widening shift for bf16) and multiplied with vfmaq_f32 in a register tile
 * of 2 rows x up to 4 columns, two vectors (8 partial sums, as many as the
 * scalar level keeps) per output: each converted weight vector serves 4
 * columns, each activation load 2 rows, and the 16 accumulators use half the
 * register file. Lanes are summed once, at the end. The summation order is
 * not the scalar level's, so results agree with it within rounding, not bit
 * for bit (test_cpu_matmul's tolerance).
 */
#ifndef ERG_CPU_MM_NEON_FLOAT_H
#define ERG_CPU_MM_NEON_FLOAT_H

#include "backends/cpu/kernels.h"

#include <arm_neon.h>
#include <string.h>

#define FLOAT_TILE_ROWS 2
#define FLOAT_TILE_COLS 4

/* Weights p .. p + 7 of a row, as two vectors of 4 floats. */
static inline void float_load_w8(erg_dtype t, const uint8_t *row, int64_t p, float32x4_t v[2]) {
    switch (t) {
    case ERG_DT_F32: {
        const float *x = (const float *)row + p;
        v[0] = vld1q_f32(x);
        v[1] = vld1q_f32(x + 4);
        break;
    }
    case ERG_DT_F16: {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *)row + p));
        v[0] = vcvt_f32_f16(vget_low_f16(h));
        v[1] = vcvt_high_f32_f16(h);
        break;
    }
    default: { /* bf16: the upper half of an f32 */
        uint16x8_t h = vld1q_u16((const uint16_t *)row + p);
        v[0] = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        v[1] = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
        break;
    }
    }
}

/* Weight p of a row (the tail past the last multiple of 8). */
static inline float float_load_w1(erg_dtype t, const uint8_t *row, int64_t p) {
    uint16_t h;
    switch (t) {
    case ERG_DT_F32: {
        float f;
        memcpy(&f, row + 4 * p, 4);
        return f;
    }
    case ERG_DT_F16:
        memcpy(&h, row + 2 * p, 2);
        return erg_f16_to_f32(h);
    default:
        memcpy(&h, row + 2 * p, 2);
        return erg_bf16_to_f32(h);
    }
}

/* Rows w[0..FLOAT_TILE_ROWS) times cn columns over the whole k; the first n
 * rows' results go to c[i + j * ldc] (n < FLOAT_TILE_ROWS: the last rows of
 * the matrix, the missing row computed on a repeat of the first and
 * dropped). cn is a constant at every call, so the accumulators stay in
 * registers. */
static inline __attribute__((always_inline)) void
float_tile(erg_dtype t, int cn, int64_t k, const uint8_t *const w[FLOAT_TILE_ROWS], int n,
           const uint8_t *a, size_t lda, float *c, size_t ldc) {
    float32x4_t acc[FLOAT_TILE_ROWS][FLOAT_TILE_COLS][2];
    for (int i = 0; i < FLOAT_TILE_ROWS; i++)
        for (int j = 0; j < cn; j++)
            acc[i][j][0] = acc[i][j][1] = vdupq_n_f32(0.0f);
    const int64_t k8 = k & ~(int64_t)7;
    for (int64_t p = 0; p < k8; p += 8) {
        float32x4_t wv[FLOAT_TILE_ROWS][2];
        for (int i = 0; i < FLOAT_TILE_ROWS; i++)
            float_load_w8(t, w[i], p, wv[i]);
        for (int j = 0; j < cn; j++) {
            const float *av = (const float *)(a + (size_t)j * lda) + p;
            float32x4_t a0 = vld1q_f32(av), a1 = vld1q_f32(av + 4);
            for (int i = 0; i < FLOAT_TILE_ROWS; i++) {
                acc[i][j][0] = vfmaq_f32(acc[i][j][0], wv[i][0], a0);
                acc[i][j][1] = vfmaq_f32(acc[i][j][1], wv[i][1], a1);
            }
        }
    }
    /* lanes summed with constant indices only, so acc can live in registers */
    float sum[FLOAT_TILE_ROWS][FLOAT_TILE_COLS];
    for (int i = 0; i < FLOAT_TILE_ROWS; i++)
        for (int j = 0; j < cn; j++)
            sum[i][j] = vaddvq_f32(vaddq_f32(acc[i][j][0], acc[i][j][1]));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < cn; j++) {
            const float *av = (const float *)(a + (size_t)j * lda);
            float s = sum[i][j];
            for (int64_t p = k8; p < k; p++)
                s += float_load_w1(t, w[i], p) * av[p];
            c[i + (size_t)j * ldc] = s;
        }
}

/* Columns outer, rows inner: a tile's few activation columns stay in L1
 * while the weight rows stream past. */
static inline __attribute__((always_inline)) void
gemm_float(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
           size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t col = 0; col < nc; col += FLOAT_TILE_COLS) {
        const uint8_t *ac = (const uint8_t *)a + (size_t)col * lda;
        for (int64_t r = 0; r < nr; r += FLOAT_TILE_ROWS) {
            const uint8_t *w0 = (const uint8_t *)w + (size_t)r * ldw;
            int n = nr - r < FLOAT_TILE_ROWS ? (int)(nr - r) : FLOAT_TILE_ROWS;
            const uint8_t *rows[FLOAT_TILE_ROWS] = {w0, n > 1 ? w0 + ldw : w0};
            float *cc = c + r + (size_t)col * ldc;
            switch (nc - col < FLOAT_TILE_COLS ? (int)(nc - col) : FLOAT_TILE_COLS) {
            case 1:
                float_tile(t, 1, k, rows, n, ac, lda, cc, ldc);
                break;
            case 2:
                float_tile(t, 2, k, rows, n, ac, lda, cc, ldc);
                break;
            case 3:
                float_tile(t, 3, k, rows, n, ac, lda, cc, ldc);
                break;
            default:
                float_tile(t, 4, k, rows, n, ac, lda, cc, ldc);
                break;
            }
        }
    }
}

/* One entry point per type, so the type is a constant inside each. */
#define GEMM_FLOAT(name, type)                                                                     \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_float(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                       \
    }
GEMM_FLOAT(f32, ERG_DT_F32)
GEMM_FLOAT(f16, ERG_DT_F16)
GEMM_FLOAT(bf16, ERG_DT_BF16)
#undef GEMM_FLOAT

/* Sets the level's f32, f16 and bf16 kernels. */
static inline void mm_neon_set_float_kernels(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_F32] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_f32};
    k->matmul[ERG_DT_F16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_f16};
    k->matmul[ERG_DT_BF16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_bf16};
}

#endif
