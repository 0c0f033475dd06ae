/*
 * mm_avx512.c: the AVX-512 (F, BW, VL, DQ) matmul table: f32 and f16 weights
 * with F32 activations here, q4_0, q8_0, q4_k and q6_k from mm_avx512.h; the
 * other types keep their AVX2 kernels.
 *
 * Float weights: a register tile of 4 rows x up to 4 columns, 16 floats a
 * vector (F16C for f16); the last k % 16 elements go through masked loads,
 * which read nothing past the row. The 4 rows of a tile come from the four
 * quarters of the matrix (mm_group_rows).
 */
#define MM_AVX512_VNNI 0
#include "backends/cpu/mm_avx512.h"

#define F_TILE_ROWS 4
#define F_TILE_COLS 4

/* 16 weights from element i on, the lanes past mask zero. */
MM_INLINE __m512 load_w16(erg_dtype t, const uint8_t *row, int64_t i, __mmask16 mask) {
    if (t == ERG_DT_F32)
        return _mm512_maskz_loadu_ps(mask, (const float *)row + i);
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (const erg_f16 *)row + i));
}

/* Rows w[0..3] times rn columns over the whole k; the first n rows' results
 * go to c[row[i] + j * ldc]. */
MM_INLINE void float512_tile(erg_dtype t, int rn, int64_t k, const uint8_t *const w[F_TILE_ROWS],
                             int n, const int64_t row[F_TILE_ROWS], const uint8_t *a, size_t lda,
                             float *c, size_t ldc) {
    __m512 acc[F_TILE_ROWS][F_TILE_COLS];
    for (int i = 0; i < F_TILE_ROWS; i++)
        for (int j = 0; j < rn; j++)
            acc[i][j] = _mm512_setzero_ps();
    for (int64_t p = 0; p < k; p += 16) {
        __mmask16 mask = k - p >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k - p)) - 1);
        __m512 wv[F_TILE_ROWS];
        for (int i = 0; i < F_TILE_ROWS; i++)
            wv[i] = load_w16(t, w[i], p, mask);
        for (int j = 0; j < rn; j++) {
            __m512 av = _mm512_maskz_loadu_ps(mask, (const float *)(a + (size_t)j * lda) + p);
            for (int i = 0; i < F_TILE_ROWS; i++)
                acc[i][j] = _mm512_fmadd_ps(wv[i], av, acc[i][j]);
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < rn; j++)
            c[row[i] + (size_t)j * ldc] = _mm512_reduce_add_ps(acc[i][j]);
}

MM_INLINE void gemm_float512(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                             const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t i = 0; i < mm_group_count(nr, F_TILE_ROWS); i++) {
        const uint8_t *rows[F_TILE_ROWS];
        int64_t row[F_TILE_ROWS];
        int n = mm_group_rows(i, nr, F_TILE_ROWS, w, ldw, rows, row);
        for (int64_t col = 0; col < nc; col += F_TILE_COLS) {
            const uint8_t *ac = (const uint8_t *)a + (size_t)col * lda;
            float *cc = c + (size_t)col * ldc;
            /* constant tile sizes, so each case keeps its accumulators in registers */
            switch (nc - col < F_TILE_COLS ? (int)(nc - col) : F_TILE_COLS) {
            case 1:
                float512_tile(t, 1, k, rows, n, row, ac, lda, cc, ldc);
                break;
            case 2:
                float512_tile(t, 2, k, rows, n, row, ac, lda, cc, ldc);
                break;
            case 3:
                float512_tile(t, 3, k, rows, n, row, ac, lda, cc, ldc);
                break;
            default:
                float512_tile(t, 4, k, rows, n, row, ac, lda, cc, ldc);
                break;
            }
        }
    }
}

static void gemm512_f32(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a, size_t lda,
                        int64_t nc, float *c, size_t ldc) {
    gemm_float512(ERG_DT_F32, k, w, ldw, nr, a, lda, nc, c, ldc);
}

static void gemm512_f16(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a, size_t lda,
                        int64_t nc, float *c, size_t ldc) {
    gemm_float512(ERG_DT_F16, k, w, ldw, nr, a, lda, nc, c, ldc);
}

void erg_cpu_mm_init_avx512(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_F32] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm512_f32};
    k->matmul[ERG_DT_F16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm512_f16};
    mm_avx512_set_quant_kernels(k);
}
