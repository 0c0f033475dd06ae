/*
 * mm_avx2.c: the AVX2 (+ FMA, F16C) matmul table, and the float weight types
 * (f32, f16, bf16) with F32 activations.
 *
 * Float weights are converted 8 at a time on the fly (F16C for f16, a shift
 * for bf16) and multiplied in a register tile of 3 rows x up to 4 columns:
 * each converted weight vector serves 4 columns, each activation load 3 rows,
 * and the 12 accumulators are summed across lanes once, at the end. The 3
 * rows of a tile come from the three thirds of the matrix (mm_group_rows).
 * The quantized types live in mm_avx2_q8a.c and mm_avx2_kquants.c.
 */
#include "backends/cpu/mm_avx2.h"

#define TILE_ROWS 3
#define TILE_COLS 4

MM_INLINE __m256 load_w8(erg_dtype t, const uint8_t *row, int64_t i) {
    switch (t) {
    case ERG_DT_F32:
        return _mm256_loadu_ps((const float *)row + i);
    case ERG_DT_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const erg_f16 *)row + i)));
    default: { /* bf16: the upper half of an f32 */
        __m256i h =
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const erg_bf16 *)row + i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
    }
    }
}

MM_INLINE float load_w1(erg_dtype t, const uint8_t *row, int64_t i) {
    erg_f16 h;
    switch (t) {
    case ERG_DT_F32: {
        float f;
        memcpy(&f, row + 4 * i, 4);
        return f;
    }
    case ERG_DT_F16:
        memcpy(&h, row + 2 * i, 2);
        return _cvtsh_ss(h);
    default:
        memcpy(&h, row + 2 * i, 2);
        return erg_bf16_to_f32(h);
    }
}

MM_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Rows w[0..TILE_ROWS) times rn columns over the whole k; the first n rows'
 * results go to c[row[i] + j * ldc]. */
MM_INLINE void float_tile(erg_dtype t, int rn, int64_t k, const uint8_t *const w[TILE_ROWS], int n,
                          const int64_t row[TILE_ROWS], const uint8_t *a, size_t lda, float *c,
                          size_t ldc) {
    __m256 acc[TILE_ROWS][TILE_COLS];
    for (int i = 0; i < TILE_ROWS; i++)
        for (int j = 0; j < rn; j++)
            acc[i][j] = _mm256_setzero_ps();
    const int64_t k8 = k & ~(int64_t)7;
    for (int64_t p = 0; p < k8; p += 8) {
        __m256 wv[TILE_ROWS];
        for (int i = 0; i < TILE_ROWS; i++)
            wv[i] = load_w8(t, w[i], p);
        for (int j = 0; j < rn; j++) {
            __m256 av = _mm256_loadu_ps((const float *)(a + (size_t)j * lda) + p);
            for (int i = 0; i < TILE_ROWS; i++)
                acc[i][j] = _mm256_fmadd_ps(wv[i], av, acc[i][j]);
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < rn; j++) {
            const float *av = (const float *)(a + (size_t)j * lda);
            float s = hsum_ps(acc[i][j]);
            for (int64_t p = k8; p < k; p++)
                s += load_w1(t, w[i], p) * av[p];
            c[row[i] + (size_t)j * ldc] = s;
        }
}

/* Columns outer, rows inner: a tile's few activation columns stay in L1
 * while the weight rows stream past from L2 (f16 rows are half the bytes of
 * the F32 columns, and the rows of a prefill block fit in L2, its columns
 * not always). */
MM_INLINE void gemm_float(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                          const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t col = 0; col < nc; col += TILE_COLS) {
        const uint8_t *ac = (const uint8_t *)a + (size_t)col * lda;
        float *cc = c + (size_t)col * ldc;
        for (int64_t i = 0; i < mm_group_count(nr, TILE_ROWS); i++) {
            const uint8_t *rows[TILE_ROWS];
            int64_t row[TILE_ROWS];
            int n = mm_group_rows(i, nr, TILE_ROWS, w, ldw, rows, row);
            /* constant tile sizes, so each case keeps its accumulators in registers */
            switch (nc - col < TILE_COLS ? (int)(nc - col) : TILE_COLS) {
            case 1:
                float_tile(t, 1, k, rows, n, row, ac, lda, cc, ldc);
                break;
            case 2:
                float_tile(t, 2, k, rows, n, row, ac, lda, cc, ldc);
                break;
            case 3:
                float_tile(t, 3, k, rows, n, row, ac, lda, cc, ldc);
                break;
            default:
                float_tile(t, 4, k, rows, n, row, ac, lda, cc, ldc);
                break;
            }
        }
    }
}

#define GEMM_FLOAT(name, type)                                                                     \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_float(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                       \
    }
GEMM_FLOAT(f32, ERG_DT_F32)
GEMM_FLOAT(f16, ERG_DT_F16)
GEMM_FLOAT(bf16, ERG_DT_BF16)
#undef GEMM_FLOAT

void erg_cpu_mm_init_avx2(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_F32] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_f32};
    k->matmul[ERG_DT_F16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_f16};
    k->matmul[ERG_DT_BF16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_bf16};
    erg_cpu_mm_init_avx2_q8a(k);
    erg_cpu_mm_init_avx2_kquants(k);
    erg_cpu_mm_init_avx2_packed(k);
    erg_cpu_mm_init_avx2_packed_q4k(k);
}
