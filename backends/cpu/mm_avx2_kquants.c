/*
 * mm_avx2_kquants.c: AVX2 matmul of the K-quants (q4_k, q5_k, q6_k) with Q8K
 * activations.
 *
 * Each group of 4 rows is unpacked one super-block at a time into a kq_group
 * (mm_kq_unpack.h), which every activation column then reuses:
 *     q4_k, q5_k: d_a * (d * sum_j sc_j sum_{i in j} q_i a_i - dmin * sum_g m_{g/2} bsum_g)
 *     q6_k:       d_a * d * (sum_g sc_g sum_{i in g} q_i a_i - 32 * sum_g sc_g bsum_g)
 * All sums are exact in int32 (at most 256 * 63 * 127 * 128 < 2^31).
 */
#include "backends/cpu/mm_kq_unpack.h"

/* Columns whose accumulators are kept while a row group walks its super-blocks. */
#define KQ_COLS 64
/* Software prefetch, this many rows ahead (the next groups' rows). */
#define KQ_PF_ROWS 4

/* The group's 4 rows, unpacked in g, against rn (1 or 2) columns of one
 * super-block. */
MM_INLINE void group_cols(erg_dtype t, int rn, const kq_group *g, const erg_block_q8_k *const a[2],
                          __m256 *acc[2]) {
    __m256i s[2][MM_GROUP_ROWS], corr[2][MM_GROUP_ROWS];
    for (int j = 0; j < rn; j++)
        for (int r = 0; r < MM_GROUP_ROWS; r++)
            s[j][r] = _mm256_setzero_si256();
    for (int c = 0; c < 8; c++) {
        __m256i av[2];
        for (int j = 0; j < rn; j++)
            av[j] = loadu32(a[j]->qs + 32 * c);
        for (int r = 0; r < MM_GROUP_ROWS; r++) {
            __m256i q = _mm256_load_si256((const __m256i *)(g->q[r] + 32 * c));
            __m256i sc = t == ERG_DT_Q6_K ? _mm256_load_si256((const __m256i *)g->scale16[r][c])
                                          : _mm256_set1_epi32((int)g->scale_pair[r][c]);
            for (int j = 0; j < rn; j++)
                s[j][r] = _mm256_add_epi32(s[j][r],
                                           _mm256_madd_epi16(_mm256_maddubs_epi16(q, av[j]), sc));
        }
    }
    for (int j = 0; j < rn; j++) {
        __m256i bsums = loadu32(a[j]->bsums);
        for (int r = 0; r < MM_GROUP_ROWS; r++)
            corr[j][r] = _mm256_madd_epi16(_mm256_load_si256((const __m256i *)g->corr[r]), bsums);
    }
    kq_finish(t, rn, g->d, g->dm, s, corr, a, acc);
}

/* Three or more columns: each super-block of a row group is unpacked once
 * into the buffer, then multiplied with every column. */
MM_INLINE void gemm_kquant_buffered(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                                    const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    const int64_t nsb = k / ERG_QK_K;
    kq_group g;
    __m256 acc[KQ_COLS];
    for (int64_t i = 0; i < mm_group_count(nr, MM_GROUP_ROWS); i++) {
        const uint8_t *rows[MM_GROUP_ROWS];
        int64_t row[MM_GROUP_ROWS];
        int n = mm_group_rows(i, nr, MM_GROUP_ROWS, w, ldw, rows, row);
        for (int64_t c0 = 0; c0 < nc; c0 += KQ_COLS) {
            int ncols = nc - c0 < KQ_COLS ? (int)(nc - c0) : KQ_COLS;
            for (int j = 0; j < ncols; j++)
                acc[j] = _mm256_setzero_ps();
            for (int64_t sb = 0; sb < nsb; sb++) {
                unpack_group(t, &g, rows, sb, KQ_PF_ROWS * ldw);
                int j = 0;
                for (; j + 2 <= ncols; j += 2) {
                    const erg_block_q8_k *ac[2] = {
                        (const erg_block_q8_k *)((const uint8_t *)a + (size_t)(c0 + j) * lda) + sb,
                        (const erg_block_q8_k *)((const uint8_t *)a + (size_t)(c0 + j + 1) * lda) +
                            sb};
                    __m256 *accp[2] = {&acc[j], &acc[j + 1]};
                    group_cols(t, 2, &g, ac, accp);
                }
                if (j < ncols) {
                    const erg_block_q8_k *ac[2] = {
                        (const erg_block_q8_k *)((const uint8_t *)a + (size_t)(c0 + j) * lda) + sb,
                        NULL};
                    __m256 *accp[2] = {&acc[j], NULL};
                    group_cols(t, 1, &g, ac, accp);
                }
            }
            for (int j = 0; j < ncols; j++)
                mm_store_group(c + (size_t)(c0 + j) * ldc, row, acc[j], n);
        }
    }
}

MM_INLINE void gemm_kquant(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                           const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    if (nc == 1)
        gemm_kquant_direct(t, 1, k, w, ldw, nr, a, lda, c, ldc);
    else if (nc == 2)
        gemm_kquant_direct(t, 2, k, w, ldw, nr, a, lda, c, ldc);
    else
        gemm_kquant_buffered(t, k, w, ldw, nr, a, lda, nc, c, ldc);
}

#define GEMM_KQ(name, type)                                                                        \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_kquant(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                      \
    }
GEMM_KQ(q4_k, ERG_DT_Q4_K)
GEMM_KQ(q5_k, ERG_DT_Q5_K)
GEMM_KQ(q6_k, ERG_DT_Q6_K)
#undef GEMM_KQ

void erg_cpu_mm_init_avx2_kquants(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_Q4_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q4_k};
    k->matmul[ERG_DT_Q5_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q5_k};
    k->matmul[ERG_DT_Q6_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q6_k};
}
