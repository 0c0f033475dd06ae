/*
 * mm_avx2_kquants.c: AVX2 matmul of the K-quants (q4_k, q5_k, q6_k) with Q8K
 * activations.
 *
 * Each group of 4 rows is unpacked one super-block at a time into a kq_group
 * (mm_kq_unpack.h), which every activation column then reuses:
 *     q4_k, q5_k: d_a * (d * sum_j sc_j sum_{i in j} q_i a_i - dmin * sum_g m_{g/2} bsum_g)
 *     q6_k:       d_a * d * (sum_g sc_g sum_{i in g} q_i a_i - 32 * sum_g sc_g bsum_g)
 * All sums are exact in int32 (at most 256 * 63 * 127 * 128 < 2^31).
 *
 * Decode (one or two columns) decodes each super-block straight into the
 * dot products (kq_decode_row), each load of stored values unpacked into
 * all the chunks it holds: about 100 instructions a row's q6_k super-block,
 * 12% fewer than the generic path of mm_kq_unpack.h (q4_k's usual path is
 * the packed q4_kx8, mm_avx2_packed_q4k.c).
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

/* ---- decode ------------------------------------------------------------------- */

/* The multipliers of maddubs' lanes for chunk c (32 elements) of a row,
 * computed once per super-block. */
typedef struct kq_row_scales {
    __m256i s16;  /* q6_k: the 16 scales as int16; q4_k, q5_k: the 8, twice */
    __m256i half; /* q6_k: s16's half of the current 128 elements, in both halves */
} kq_row_scales;

MM_INLINE __m256i row_scale(erg_dtype t, const kq_row_scales *s, int c) {
    if (t != ERG_DT_Q6_K) /* scale c in every lane */
        return _mm256_shuffle_epi8(s->s16, _mm256_set1_epi16((short)(2 * c | (2 * c + 1) << 8)));
    const int i = 4 * (c & 3); /* [scale 2c x8 | scale 2c+1 x8] */
    const __m256i pick = _mm256_set_m128i(_mm_set1_epi16((short)((i + 2) | (i + 3) << 8)),
                                          _mm_set1_epi16((short)(i | (i + 1) << 8)));
    return _mm256_shuffle_epi8(s->half, pick);
}

/* Adds the chunk's products (values v, multipliers m) to s[j] for rn columns.
 * The empty asm keeps the sums a chain: left alone, the compiler sums the
 * 8 chunks as a tree of products computed ahead, runs out of registers and
 * spills them to the stack. */
MM_INLINE void chunk_dot(int rn, __m256i v, __m256i m, const erg_block_q8_k *const a[2], int c,
                         __m256i s[2]) {
    for (int j = 0; j < rn; j++) {
        s[j] = _mm256_add_epi32(
            s[j], _mm256_madd_epi16(_mm256_maddubs_epi16(v, loadu32(a[j]->qs + 32 * c)), m));
        __asm__("" : "+x"(s[j]));
    }
}

/* One row's super-block blk against rn columns: s[j] gets sum_c sc_c q.a
 * (minus the q6_k offset), corr[j] the int32 lanes of the q4_k / q5_k
 * minimum's term. */
MM_INLINE void kq_decode_row(erg_dtype t, int rn, const uint8_t *blk,
                             const erg_block_q8_k *const a[2], __m256i s[2], __m256i corr[2]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    kq_row_scales sc;
    __m256i cm; /* multipliers of the 16 bsums */
    for (int j = 0; j < rn; j++)
        s[j] = _mm256_setzero_si256();
    if (t == ERG_DT_Q6_K) {
        const erg_block_q6_k *b = (const erg_block_q6_k *)blk;
        const __m256i top2 = _mm256_set1_epi8(0x30);
        sc.s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
        cm = _mm256_slli_epi16(sc.s16, 5); /* the -32 offset: 32 * scale_g per bsum_g */
        for (int h = 0; h < 2; h++) {
            /* ql: 64 bytes, low nibbles elements 0..63, high 64..127; qh: bits 2p,
             * 2p + 1 of byte l the top bits of element 32p + l */
            __m256i l0 = loadu32(b->ql + 64 * h), l1 = loadu32(b->ql + 64 * h + 32);
            __m256i qh = loadu32(b->qh + 32 * h);
            /* (Two constant immediates: -O0 does not fold h's.) */
            sc.half = h ? _mm256_permute4x64_epi64(sc.s16, 0xEE)
                        : _mm256_permute4x64_epi64(sc.s16, 0x44);
            __m256i v0 = _mm256_or_si256(_mm256_and_si256(l0, low4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 4), top2));
            chunk_dot(rn, v0, row_scale(t, &sc, 0), a, 4 * h, s);
            __m256i v1 = _mm256_or_si256(_mm256_and_si256(l1, low4),
                                         _mm256_and_si256(_mm256_slli_epi16(qh, 2), top2));
            chunk_dot(rn, v1, row_scale(t, &sc, 1), a, 4 * h + 1, s);
            __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4),
                                         _mm256_and_si256(qh, top2));
            chunk_dot(rn, v2, row_scale(t, &sc, 2), a, 4 * h + 2, s);
            __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(qh, 2), top2));
            chunk_dot(rn, v3, row_scale(t, &sc, 3), a, 4 * h + 3, s);
        }
        for (int j = 0; j < rn; j++)
            corr[j] = _mm256_madd_epi16(cm, loadu32(a[j]->bsums));
        return;
    }
    /* q4_k and q5_k keep their scales at the same offset */
    uint64_t scb, mb;
    k_scales_mins(((const erg_block_q4_k *)blk)->scales, &scb, &mb);
    sc.s16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)scb)));
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mb));
    cm = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    const uint8_t *qs =
        t == ERG_DT_Q4_K ? ((const erg_block_q4_k *)blk)->qs : ((const erg_block_q5_k *)blk)->qs;
    __m256i qh = t == ERG_DT_Q5_K ? loadu32(((const erg_block_q5_k *)blk)->qh) : low4;
    const __m256i bit5 = _mm256_set1_epi8(0x10);
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++) { /* 32 bytes of qs: chunk 2p low nibbles, 2p + 1 high */
        __m256i x = loadu32(qs + 32 * p);
        __m256i v0 = _mm256_and_si256(x, low4);
        __m256i v1 = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
        if (t == ERG_DT_Q5_K) { /* bit c of qh[l]: the 5th bit of element 32c + l */
            __m256i h0 =
                p < 2 ? _mm256_slli_epi16(qh, 4 - 2 * p) : _mm256_srli_epi16(qh, 2 * p - 4);
            __m256i h1 =
                p < 2 ? _mm256_slli_epi16(qh, 3 - 2 * p) : _mm256_srli_epi16(qh, 2 * p - 3);
            v0 = _mm256_or_si256(v0, _mm256_and_si256(h0, bit5));
            v1 = _mm256_or_si256(v1, _mm256_and_si256(h1, bit5));
        }
        chunk_dot(rn, v0, row_scale(t, &sc, 2 * p), a, 2 * p, s);
        chunk_dot(rn, v1, row_scale(t, &sc, 2 * p + 1), a, 2 * p + 1, s);
    }
    for (int j = 0; j < rn; j++)
        corr[j] = _mm256_madd_epi16(cm, loadu32(a[j]->bsums));
}

/* One or two columns: rows in groups of 4 (mm_group_rows), every
 * super-block decoded straight into the dot products. */
MM_INLINE void gemm_kq_decode(erg_dtype t, int rn, int64_t k, const void *w, size_t ldw,
                              int64_t nr, const void *a, size_t lda, float *c, size_t ldc) {
    const int64_t nsb = k / ERG_QK_K;
    const size_t bs = erg_dtype_block_bytes(t);
    for (int64_t i = 0; i < mm_group_count(nr, MM_GROUP_ROWS); i++) {
        const uint8_t *rows[MM_GROUP_ROWS];
        int64_t row[MM_GROUP_ROWS];
        int n = mm_group_rows(i, nr, MM_GROUP_ROWS, w, ldw, rows, row);
        __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        __m256 *accp[2] = {&acc[0], &acc[1]};
        for (int64_t sb = 0; sb < nsb; sb++) {
            const erg_block_q8_k *ac[2];
            for (int j = 0; j < 2; j++)
                ac[j] =
                    (const erg_block_q8_k *)((const uint8_t *)a + (size_t)(j < rn ? j : 0) * lda) +
                    sb;
            const uint8_t *blk[MM_GROUP_ROWS];
            __m256i s[2][MM_GROUP_ROWS], corr[2][MM_GROUP_ROWS];
#pragma GCC unroll 4
            for (int r = 0; r < MM_GROUP_ROWS; r++) {
                blk[r] = rows[r] + (size_t)sb * bs;
                for (size_t l = 0; l < bs; l += 64)
                    _mm_prefetch((const char *)blk[r] + KQ_DIRECT_PF_ROWS * ldw + l, _MM_HINT_T0);
                __m256i sr[2], cr[2];
                kq_decode_row(t, rn, blk[r], ac, sr, cr);
                for (int j = 0; j < rn; j++) {
                    s[j][r] = sr[j];
                    corr[j][r] = cr[j];
                }
            }
            __m256 d, dm;
            kq_gather_d(t, blk, &d, &dm);
            kq_finish(t, rn, d, dm, s, corr, ac, accp);
        }
        for (int j = 0; j < rn; j++)
            mm_store_group(c + (size_t)j * ldc, row, acc[j], n);
    }
}

MM_INLINE void gemm_kquant(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                           const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    if (nc == 1)
        gemm_kq_decode(t, 1, k, w, ldw, nr, a, lda, c, ldc);
    else if (nc == 2)
        gemm_kq_decode(t, 2, k, w, ldw, nr, a, lda, c, ldc);
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
