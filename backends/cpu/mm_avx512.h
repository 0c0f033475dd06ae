/*
 * mm_avx512.h: the AVX-512 matmul kernels of the quantized types (q4_0, q8_0
 * with Q8A activations; q4_k, q6_k with Q8K), shared by the avx512 and
 * avx512vnni levels. The includer defines MM_AVX512_VNNI to 0 or 1 first:
 * with VNNI, vpdpbusd / vpdpwssd replace the maddubs + madd (+ add) chains.
 *
 * The structure is that of the AVX2 kernels (mm_avx2_q8a.c,
 * mm_avx2_kquants.c), twice as wide:
 *  - legacy quants: a 512-bit vector holds the same 16 positions of 4
 *    consecutive blocks, one block per 128-bit lane (lo: elements 0..15,
 *    hi: 16..31); per-row accumulators; the d_w scales of 4 rows x 4 blocks
 *    come from one F16C conversion and are spread per row with an in-lane
 *    permute; the m_w * s_a terms of the 4 rows share one accumulator;
 *  - K-quants: with three or more columns, the same kq_group buffer
 *    (mm_kq_unpack.h), 64 elements per step, and the 4-row reduction into
 *    [r0 r1 r2 r3] per 128-bit lane; with one or two, the 256-bit direct
 *    path of mm_kq_unpack.h.
 */
#ifndef ERG_CPU_MM_AVX512_H
#define ERG_CPU_MM_AVX512_H

#ifndef MM_AVX512_VNNI
#error "define MM_AVX512_VNNI (0 or 1) before including mm_avx512.h"
#endif

#include "backends/cpu/mm_kq_unpack.h"

/* ---- legacy quants (q4_0, q8_0) --------------------------------------------- */

#define Q8A_TILE_COLS 2
#define Q8A_PF_ROWS 4

/* One column's activations for 4 blocks: lo/hi layout, d = [d0 x4 | d1 x4 |
 * d2 x4 | d3 x4], s likewise; for q8_0 with VNNI, off = -128 * (sum of the
 * activations of each dpbusd lane), the correction of the unsigned trick. */
typedef struct a512_quad {
    __m512i lo, hi, off;
    __m512 d, s;
} a512_quad;

typedef struct w512_quad {
    __m512i lo, hi;
} w512_quad;

typedef struct acc512_row {
    __m512 c[Q8A_TILE_COLS];
} acc512_row;

static const uint8_t zero512_w_block[sizeof(erg_block_q8_0)];
static const erg_cpu_block_q8a zero512_a_block;

/* [16 bytes at p[0] | p[1] | p[2] | p[3]] */
MM_INLINE __m512i load_quad16(const uint8_t *const p[4]) {
    __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p[0]));
    v = _mm512_mask_broadcast_i32x4(v, 0x00F0, _mm_loadu_si128((const __m128i *)p[1]));
    v = _mm512_mask_broadcast_i32x4(v, 0x0F00, _mm_loadu_si128((const __m128i *)p[2]));
    return _mm512_mask_broadcast_i32x4(v, 0xF000, _mm_loadu_si128((const __m128i *)p[3]));
}

/* [*p[0] x4 | *p[1] x4 | *p[2] x4 | *p[3] x4] */
MM_INLINE __m512 load_quad_ps(const float *const p[4]) {
    __m512 v = _mm512_broadcastss_ps(_mm_load_ss(p[0]));
    v = _mm512_mask_broadcastss_ps(v, 0x00F0, _mm_load_ss(p[1]));
    v = _mm512_mask_broadcastss_ps(v, 0x0F00, _mm_load_ss(p[2]));
    return _mm512_mask_broadcastss_ps(v, 0xF000, _mm_load_ss(p[3]));
}

/* The f16 at byte offset off of block k of row r (blk[k][r]), as
 * [rows 0..3 of block 0 | of block 1 | of block 2 | of block 3]. */
MM_INLINE __m512 gather16_f16(const uint8_t *blk[4][MM_GROUP_ROWS], size_t off) {
    uint64_t h[4];
    for (int k = 0; k < 4; k++)
        h[k] = mm_pack4_f16(blk[k][0] + off, blk[k][1] + off, blk[k][2] + off, blk[k][3] + off);
    return _mm512_cvtph_ps(
        _mm256_setr_epi64x((long long)h[0], (long long)h[1], (long long)h[2], (long long)h[3]));
}

MM_INLINE a512_quad load_a512_quad(erg_dtype t, const erg_cpu_block_q8a *const a[4]) {
    a512_quad x;
    const uint8_t *lo[4], *hi[4];
    const float *d[4], *s[4];
    for (int k = 0; k < 4; k++) {
        lo[k] = (const uint8_t *)a[k]->qs;
        hi[k] = (const uint8_t *)a[k]->qs + 16;
        d[k] = &a[k]->d;
        s[k] = &a[k]->s;
    }
    x.lo = load_quad16(lo);
    x.hi = load_quad16(hi);
    x.d = load_quad_ps(d);
    x.s = t == ERG_DT_Q4_0 ? load_quad_ps(s) : _mm512_setzero_ps();
    x.off = _mm512_setzero_si512();
#if MM_AVX512_VNNI
    if (t == ERG_DT_Q8_0) {
        const __m512i bias = _mm512_set1_epi8((char)0x80); /* 128 as an unsigned byte */
        __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(x.off, bias, x.lo), bias, x.hi);
        x.off = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
    }
#endif
    return x;
}

MM_INLINE w512_quad load_w512_quad(erg_dtype t, const uint8_t *const blk[4]) {
    w512_quad w;
    const uint8_t *qs[4], *qs2[4];
    for (int k = 0; k < 4; k++) {
        qs[k] = blk[k] +
                (t == ERG_DT_Q4_0 ? offsetof(erg_block_q4_0, qs) : offsetof(erg_block_q8_0, qs));
        qs2[k] = qs[k] + 16;
    }
    if (t == ERG_DT_Q4_0) {
        const __m512i low4 = _mm512_set1_epi8(0x0F);
        __m512i x = load_quad16(qs);
        w.lo = _mm512_and_si512(x, low4);
        w.hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low4);
    } else {
        w.lo = load_quad16(qs);
        w.hi = load_quad16(qs2);
    }
    return w;
}

/* sum q * a per block and lane group: int32 [block k x4] for k = 0..3. */
MM_INLINE __m512i dot512_quad(erg_dtype t, const w512_quad *w, const a512_quad *a) {
#if MM_AVX512_VNNI
    if (t == ERG_DT_Q8_0) { /* (w + 128) * a, minus 128 * a from off */
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        __m512i s = _mm512_dpbusd_epi32(a->off, _mm512_xor_si512(w->lo, flip), a->lo);
        return _mm512_dpbusd_epi32(s, _mm512_xor_si512(w->hi, flip), a->hi);
    }
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w->lo, a->lo), w->hi,
                               a->hi);
#else
    const __m512i ones = _mm512_set1_epi16(1);
    if (t == ERG_DT_Q8_0) { /* |w| * (a negated where w < 0) */
        const __m512i zero = _mm512_setzero_si512();
        __m512i alo = _mm512_mask_sub_epi8(a->lo, _mm512_movepi8_mask(w->lo), zero, a->lo);
        __m512i ahi = _mm512_mask_sub_epi8(a->hi, _mm512_movepi8_mask(w->hi), zero, a->hi);
        __m512i lo = _mm512_maddubs_epi16(_mm512_abs_epi8(w->lo), alo);
        __m512i hi = _mm512_maddubs_epi16(_mm512_abs_epi8(w->hi), ahi);
        return _mm512_add_epi32(_mm512_madd_epi16(lo, ones), _mm512_madd_epi16(hi, ones));
    }
    __m512i p =
        _mm512_add_epi16(_mm512_maddubs_epi16(w->lo, a->lo), _mm512_maddubs_epi16(w->hi, a->hi));
    return _mm512_madd_epi16(p, ones);
#endif
}

/* Lanes [r x4] of every 128-bit lane: row r's values for the 4 blocks. */
#define row512_lanes(v, r) _mm512_permutevar_ps(v, _mm512_set1_epi32(r))

MM_INLINE void row512_step(erg_dtype t, int rn, int r, const uint8_t *const blk[4],
                           const a512_quad *x, const __m512 *dx, acc512_row *acc, size_t pf_ahead) {
    _mm_prefetch((const char *)blk[0] + pf_ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)blk[2] + pf_ahead, _MM_HINT_T0);
    w512_quad w = load_w512_quad(t, blk);
    for (int j = 0; j < rn; j++) {
        __m512 v = _mm512_cvtepi32_ps(dot512_quad(t, &w, &x[j]));
        acc->c[j] = _mm512_fmadd_ps(row512_lanes(dx[j], r), v, acc->c[j]);
    }
}

/* 4 blocks (blk[k][r]: block k of row r) of the 4 rows against rn columns
 * (a[j][k]: block k of column j). */
MM_INLINE void q8a512_step(erg_dtype t, int rn, const uint8_t *blk[4][MM_GROUP_ROWS],
                           const erg_cpu_block_q8a *a[Q8A_TILE_COLS][4], acc512_row *acc0,
                           acc512_row *acc1, acc512_row *acc2, acc512_row *acc3, acc512_row *macc,
                           size_t pf_ahead) {
    __m512 d = gather16_f16(blk, 0); /* d is the first field of both block types */
    a512_quad x[Q8A_TILE_COLS];
    __m512 dx[Q8A_TILE_COLS];
    for (int j = 0; j < rn; j++) {
        x[j] = load_a512_quad(t, a[j]);
        dx[j] = _mm512_mul_ps(d, x[j].d);
        if (t == ERG_DT_Q4_0) /* m_w = -8 d_w */
            macc->c[j] =
                _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(-8.0f)), x[j].s, macc->c[j]);
    }
    acc512_row *acc[MM_GROUP_ROWS] = {acc0, acc1, acc2, acc3};
    for (int r = 0; r < MM_GROUP_ROWS; r++) {
        const uint8_t *row_blk[4] = {blk[0][r], blk[1][r], blk[2][r], blk[3][r]};
        row512_step(t, rn, r, row_blk, x, dx, acc[r], pf_ahead);
    }
}

MM_INLINE void q8a512_tile(erg_dtype t, int rn, int64_t nb, const uint8_t *const w[MM_GROUP_ROWS],
                           int n, const int64_t row[MM_GROUP_ROWS], const uint8_t *a, size_t lda,
                           float *c, size_t ldc, size_t pf_ahead) {
    const size_t bs = t == ERG_DT_Q4_0 ? sizeof(erg_block_q4_0) : sizeof(erg_block_q8_0);
    acc512_row acc0, acc1, acc2, acc3, macc;
    for (int j = 0; j < Q8A_TILE_COLS; j++)
        acc0.c[j] = acc1.c[j] = acc2.c[j] = acc3.c[j] = macc.c[j] = _mm512_setzero_ps();
    const uint8_t *blk[4][MM_GROUP_ROWS];
    const erg_cpu_block_q8a *ab[Q8A_TILE_COLS][4];
    for (int64_t b = 0; b < nb; b += 4) {
        /* the last step of a row whose block count is not a multiple of 4
         * continues with zero blocks */
        for (int k = 0; k < 4; k++) {
            for (int r = 0; r < MM_GROUP_ROWS; r++)
                blk[k][r] = b + k < nb ? w[r] + (size_t)(b + k) * bs : zero512_w_block;
            for (int j = 0; j < rn; j++)
                ab[j][k] = b + k < nb ? (const erg_cpu_block_q8a *)(a + (size_t)j * lda) + b + k
                                      : &zero512_a_block;
        }
        q8a512_step(t, rn, blk, ab, &acc0, &acc1, &acc2, &acc3, &macc, pf_ahead);
    }
    const acc512_row *acc[MM_GROUP_ROWS] = {&acc0, &acc1, &acc2, &acc3};
    for (int j = 0; j < rn; j++) {
        float m[16];
        _mm512_storeu_ps(m, macc.c[j]);
        for (int i = 0; i < n; i++)
            c[row[i] + (size_t)j * ldc] =
                _mm512_reduce_add_ps(acc[i]->c[j]) + ((m[i] + m[i + 4]) + (m[i + 8] + m[i + 12]));
    }
}

MM_INLINE void gemm_q8a512(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                           const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    const int64_t nb = k / ERG_QK;
    for (int64_t i = 0; i < mm_group_count(nr, MM_GROUP_ROWS); i++) {
        const uint8_t *rows[MM_GROUP_ROWS];
        int64_t row[MM_GROUP_ROWS];
        int n = mm_group_rows(i, nr, MM_GROUP_ROWS, w, ldw, rows, row);
        int64_t col = 0;
        for (; col + Q8A_TILE_COLS <= nc; col += Q8A_TILE_COLS)
            q8a512_tile(t, Q8A_TILE_COLS, nb, rows, n, row, (const uint8_t *)a + (size_t)col * lda,
                        lda, c + (size_t)col * ldc, ldc, Q8A_PF_ROWS * ldw);
        if (col < nc)
            q8a512_tile(t, 1, nb, rows, n, row, (const uint8_t *)a + (size_t)col * lda, lda,
                        c + (size_t)col * ldc, ldc, Q8A_PF_ROWS * ldw);
    }
}

static void gemm512_q4_0(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                         size_t lda, int64_t nc, float *c, size_t ldc) {
    gemm_q8a512(ERG_DT_Q4_0, k, w, ldw, nr, a, lda, nc, c, ldc);
}

static void gemm512_q8_0(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                         size_t lda, int64_t nc, float *c, size_t ldc) {
    gemm_q8a512(ERG_DT_Q8_0, k, w, ldw, nr, a, lda, nc, c, ldc);
}

/* ---- K-quants (q4_k, q6_k) ----------------------------------------------------- */

#define KQ512_COLS 64
#define KQ512_PF_ROWS 4

/* [r0 r1 r2 r3] in every 128-bit lane: the sums of that lane of v0..v3. */
MM_INLINE __m512i reduce4_epi32_512(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
    __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
    __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
    return _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
}

/* The multipliers of 64 elements (two 32-element chunks c2, c2 + 1) of row r. */
MM_INLINE __m512i kq512_scales(erg_dtype t, const kq_group *g, int r, int c2) {
    if (t == ERG_DT_Q6_K) /* the two chunks' vectors are adjacent */
        return _mm512_load_si512((const void *)g->scale16[r][c2]);
    return _mm512_inserti64x4(_mm512_set1_epi32((int)g->scale_pair[r][c2]),
                              _mm256_set1_epi32((int)g->scale_pair[r][c2 + 1]), 1);
}

MM_INLINE __m512i kq512_dot(__m512i acc, __m512i q, __m512i a, __m512i sc) {
#if MM_AVX512_VNNI
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q, a), sc);
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(q, a), sc));
#endif
}

/* The group's 4 rows against rn (1 or 2) columns of one super-block. */
MM_INLINE void kq512_cols(erg_dtype t, int rn, const kq_group *g, const erg_block_q8_k *const a[2],
                          __m512 *acc[2]) {
    __m512i s[2][MM_GROUP_ROWS];
    for (int j = 0; j < rn; j++)
        for (int r = 0; r < MM_GROUP_ROWS; r++)
            s[j][r] = _mm512_setzero_si512();
    for (int c = 0; c < 4; c++) {
        __m512i av[2];
        for (int j = 0; j < rn; j++)
            av[j] = _mm512_loadu_si512((const void *)(a[j]->qs + 64 * c));
        for (int r = 0; r < MM_GROUP_ROWS; r++) {
            __m512i q = _mm512_load_si512((const void *)(g->q[r] + 64 * c));
            __m512i sc = kq512_scales(t, g, r, 2 * c);
            for (int j = 0; j < rn; j++)
                s[j][r] = kq512_dot(s[j][r], q, av[j], sc);
        }
    }
    const __m512 d = _mm512_broadcast_f32x8(g->d), dm = _mm512_broadcast_f32x8(g->dm);
    for (int j = 0; j < rn; j++) {
        __m256i bsums = loadu32(a[j]->bsums);
        __m512i corr[MM_GROUP_ROWS];
        for (int r = 0; r < MM_GROUP_ROWS; r++)
            corr[r] = _mm512_zextsi256_si512(
                _mm256_madd_epi16(_mm256_load_si256((const __m256i *)g->corr[r]), bsums));
        __m512 da = _mm512_set1_ps(a[j]->d);
        if (t == ERG_DT_Q6_K) {
            for (int r = 0; r < MM_GROUP_ROWS; r++)
                s[j][r] = _mm512_sub_epi32(s[j][r], corr[r]);
        } else {
            __m512i m = reduce4_epi32_512(corr[0], corr[1], corr[2], corr[3]);
            *acc[j] = _mm512_fnmadd_ps(_mm512_mul_ps(dm, da), _mm512_cvtepi32_ps(m), *acc[j]);
        }
        __m512i v = reduce4_epi32_512(s[j][0], s[j][1], s[j][2], s[j][3]);
        *acc[j] = _mm512_fmadd_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(v), *acc[j]);
    }
}

MM_INLINE void gemm_kq512(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                          const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    const int64_t nsb = k / ERG_QK_K;
    kq_group g;
    __m512 acc[KQ512_COLS];
    for (int64_t i = 0; i < mm_group_count(nr, MM_GROUP_ROWS); i++) {
        const uint8_t *rows[MM_GROUP_ROWS];
        int64_t row[MM_GROUP_ROWS];
        int n = mm_group_rows(i, nr, MM_GROUP_ROWS, w, ldw, rows, row);
        for (int64_t c0 = 0; c0 < nc; c0 += KQ512_COLS) {
            int ncols = nc - c0 < KQ512_COLS ? (int)(nc - c0) : KQ512_COLS;
            for (int j = 0; j < ncols; j++)
                acc[j] = _mm512_setzero_ps();
            for (int64_t sb = 0; sb < nsb; sb++) {
                unpack_group(t, &g, rows, sb, KQ512_PF_ROWS * ldw);
                for (int j = 0; j < ncols; j += 2) {
                    int rn = ncols - j >= 2 ? 2 : 1;
                    const erg_block_q8_k *ac[2];
                    __m512 *accp[2];
                    for (int l = 0; l < 2; l++) {
                        int jl = rn == 2 ? j + l : j;
                        ac[l] =
                            (const erg_block_q8_k *)((const uint8_t *)a + (size_t)(c0 + jl) * lda) +
                            sb;
                        accp[l] = &acc[jl];
                    }
                    if (rn == 2)
                        kq512_cols(t, 2, &g, ac, accp);
                    else
                        kq512_cols(t, 1, &g, ac, accp);
                }
            }
            for (int j = 0; j < ncols; j++) {
                float v[16];
                _mm512_storeu_ps(v, acc[j]);
                for (int r = 0; r < n; r++)
                    c[row[r] + (size_t)(c0 + j) * ldc] = (v[r] + v[r + 4]) + (v[r + 8] + v[r + 12]);
            }
        }
    }
}

/* One or two columns (decode) take the 256-bit direct path of
 * mm_kq_unpack.h; more columns the 512-bit buffered one above. */
MM_INLINE void gemm_kq512_any(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                              const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    if (nc == 1)
        gemm_kquant_direct(t, 1, k, w, ldw, nr, a, lda, c, ldc);
    else if (nc == 2)
        gemm_kquant_direct(t, 2, k, w, ldw, nr, a, lda, c, ldc);
    else
        gemm_kq512(t, k, w, ldw, nr, a, lda, nc, c, ldc);
}

static void gemm512_q4_k(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                         size_t lda, int64_t nc, float *c, size_t ldc) {
    gemm_kq512_any(ERG_DT_Q4_K, k, w, ldw, nr, a, lda, nc, c, ldc);
}

static void gemm512_q6_k(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                         size_t lda, int64_t nc, float *c, size_t ldc) {
    gemm_kq512_any(ERG_DT_Q6_K, k, w, ldw, nr, a, lda, nc, c, ldc);
}

/* Sets the quantized kernels above in the table. */
static void mm_avx512_set_quant_kernels(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_Q4_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm512_q4_0};
    k->matmul[ERG_DT_Q8_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm512_q8_0};
    k->matmul[ERG_DT_Q4_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm512_q4_k};
    k->matmul[ERG_DT_Q6_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm512_q6_k};
    /* The AVX2 q8_0x8 and q4_kx8 kernels were measured against the AVX2
     * kernels only: these levels keep their own for q8_0 and q4_k. */
    k->matmul_packed[ERG_CPU_PACK_Q8_0X8] = (erg_cpu_matmul_kernel){ERG_ACT_F32, NULL};
    k->matmul_packed[ERG_CPU_PACK_Q4_KX8] = (erg_cpu_matmul_kernel){ERG_ACT_F32, NULL};
}

#endif
