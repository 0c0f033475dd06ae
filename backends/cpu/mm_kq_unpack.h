/*
 * mm_kq_unpack.h: unpacking of K-quant super-blocks (q4_k, q5_k, q6_k) for
 * the matmul kernels, shared by the AVX2 and AVX-512 levels (include only
 * from files compiled with AVX2 flags or a superset).
 *
 * For each group of 4 rows and each 256-element super-block, the weights are
 * unpacked once into a small buffer on the stack (kq_group): unsigned values
 * (0..15, 0..31, 0..63), the 16-bit multipliers that maddubs' output lanes
 * need (the sub-block scales), and the multipliers of the activation's 16
 * group sums (bsums) that apply the minimum (q4_k, q5_k) or the -32 offset
 * (q6_k). Every activation column then reuses the buffer, so unpacking costs
 * once per weight however many columns there are. With one or two columns
 * (decode), the AVX-512 levels use gemm_kquant_direct, which decodes
 * straight into the dot products. The AVX2 level has its own decode
 * (mm_avx2_kquants.c, kq_decode_row: each load of stored values feeds all
 * its chunks, 13% fewer instructions for q6_k); AVX-512 keeps this one until
 * the other is measured on a CPU that runs AVX-512.
 */
#ifndef ERG_CPU_MM_KQ_UNPACK_H
#define ERG_CPU_MM_KQ_UNPACK_H

#include "backends/cpu/mm_avx2.h"

#include <stddef.h>

typedef struct kq_group {
    _Alignas(64) uint8_t q[MM_GROUP_ROWS][ERG_QK_K];
    /* q6_k: per 32 elements, [scale of elements 0..15 x8 | scale of 16..31 x8] */
    _Alignas(64) int16_t scale16[MM_GROUP_ROWS][8][16];
    /* q4_k, q5_k: per 32 elements, the scale in both halves of a 32-bit word */
    uint32_t scale_pair[MM_GROUP_ROWS][8];
    /* multiplier of each of the 16 bsums */
    _Alignas(32) int16_t corr[MM_GROUP_ROWS][16];
    __m256 d, dm; /* per row, both halves: d, and the factor of the corr sum */
} kq_group;

MM_INLINE void store32(void *p, __m256i v) { _mm256_store_si256((__m256i *)p, v); }

MM_INLINE __m256i loadu32(const void *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* The 8 6-bit scales and mins of a q4_k / q5_k block (see erg_k_scale_min),
 * as bytes sc[0..7], m[0..7]. */
MM_INLINE void k_scales_mins(const uint8_t *packed, uint64_t *sc, uint64_t *m) {
    uint32_t u[3];
    memcpy(u, packed, 12);
    const uint32_t six = 0x3f3f3f3f, four = 0x0f0f0f0f, two = 0x03030303;
    uint32_t sc_hi = (u[2] & four) | ((u[0] >> 6) & two) << 4;
    uint32_t m_hi = ((u[2] >> 4) & four) | ((u[1] >> 6) & two) << 4;
    *sc = (uint64_t)(u[0] & six) | (uint64_t)sc_hi << 32;
    *m = (uint64_t)(u[1] & six) | (uint64_t)m_hi << 32;
}

/* The scales of one super-block, decoded once and then spread per chunk of
 * 32 elements by kq_scale. */
typedef struct kq_scales {
    __m256i lo, hi; /* the scales as int16 in both 128-bit halves: q4_k, q5_k: the 8 in lo;
                     * q6_k: 0..7 in lo, 8..15 in hi */
    __m256i corr;   /* multipliers of the 16 bsums */
} kq_scales;

MM_INLINE void kq_scales_get(erg_dtype t, const uint8_t *blk, kq_scales *s) {
    if (t == ERG_DT_Q6_K) {
        __m256i s16 = _mm256_cvtepi8_epi16(
            _mm_loadu_si128((const __m128i *)((const erg_block_q6_k *)blk)->scales));
        s->lo = _mm256_permute4x64_epi64(s16, 0x44);
        s->hi = _mm256_permute4x64_epi64(s16, 0xEE);
        s->corr = _mm256_slli_epi16(s16, 5); /* the -32 offset: 32 * scale_g per bsum_g */
        return;
    }
    /* q4_k and q5_k keep their scales at the same offset */
    uint64_t sc, m;
    k_scales_mins(((const erg_block_q4_k *)blk)->scales, &sc, &m);
    s->lo = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
    s->hi = s->lo;
    /* min j weighs the sub-block sum of a: bsums 2j and 2j+1 */
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m));
    s->corr = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
}

/* The 16 multipliers of maddubs' output lanes for elements 32c..32c+31:
 * one scale for q4_k / q5_k, [scale 2c x8 | scale 2c+1 x8] for q6_k. */
MM_INLINE __m256i kq_scale(erg_dtype t, const kq_scales *s, int c) {
    if (t != ERG_DT_Q6_K) /* int16 lane c of lo everywhere */
        return _mm256_shuffle_epi8(s->lo, _mm256_set1_epi16((short)(2 * c | (2 * c + 1) << 8)));
    const int i = 4 * (c & 3); /* byte offset of int16 lane 2 (c mod 4) */
    const __m256i pick = _mm256_set_m128i(_mm_set1_epi16((short)((i + 2) | (i + 3) << 8)),
                                          _mm_set1_epi16((short)(i | (i + 1) << 8)));
    return _mm256_shuffle_epi8(c < 4 ? s->lo : s->hi, pick);
}

/* The 32 unsigned values (0..15, 0..31, 0..63) of elements 32c..32c+31. */
MM_INLINE __m256i kq_values(erg_dtype t, const uint8_t *blk, int c) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    if (t == ERG_DT_Q6_K) {
        /* half c / 4 of 128 elements: ql 64 bytes (low nibbles: elements
         * 0..63, high nibbles: 64..127), qh 32 bytes (bits 2p, 2p + 1: the
         * top bits of the 32 elements of part p) */
        const erg_block_q6_k *b = (const erg_block_q6_k *)blk;
        const int half = c / 4, part = c % 4;
        __m256i l = loadu32(b->ql + 64 * half + 32 * (part & 1));
        l = part & 2 ? _mm256_srli_epi16(l, 4) : l;
        __m256i h = _mm256_srli_epi16(loadu32(b->qh + 32 * half), 2 * part);
        return _mm256_or_si256(_mm256_and_si256(l, low4),
                               _mm256_and_si256(_mm256_slli_epi16(h, 4), _mm256_set1_epi8(0x30)));
    }
    /* q4_k / q5_k: 32 bytes of qs per 64 elements, low nibbles first */
    const uint8_t *qs =
        t == ERG_DT_Q4_K ? ((const erg_block_q4_k *)blk)->qs : ((const erg_block_q5_k *)blk)->qs;
    __m256i x = loadu32(qs + 32 * (c / 2));
    __m256i v = _mm256_and_si256(c & 1 ? _mm256_srli_epi16(x, 4) : x, low4);
    if (t == ERG_DT_Q5_K) { /* bit c of qh[l] is the 5th bit of element 32c + l */
        __m256i h = _mm256_srli_epi16(loadu32(((const erg_block_q5_k *)blk)->qh), c);
        v = _mm256_or_si256(v, _mm256_and_si256(_mm256_slli_epi16(h, 4), _mm256_set1_epi8(0x10)));
    }
    return v;
}

/* d and the factor of the corr sum of the blocks blk[r], per row:
 * [r0 r1 r2 r3 | r0 r1 r2 r3]. */
MM_INLINE void kq_gather_d(erg_dtype t, const uint8_t *const blk[MM_GROUP_ROWS], __m256 *d,
                           __m256 *dm) {
    if (t == ERG_DT_Q6_K) {
        *d = *dm = mm_gather_f16(blk, blk, offsetof(erg_block_q6_k, d));
    } else { /* same layout of d and dmin in q4_k and q5_k */
        *d = mm_gather_f16(blk, blk, offsetof(erg_block_q4_k, d));
        *dm = mm_gather_f16(blk, blk, offsetof(erg_block_q4_k, dmin));
    }
}

/* Unpacks super-block sb of the group's 4 rows (and prefetches the rows
 * pf_ahead bytes further on). */
MM_INLINE void unpack_group(erg_dtype t, kq_group *g, const uint8_t *const w[4], int64_t sb,
                            size_t pf_ahead) {
    const uint8_t *blk[MM_GROUP_ROWS];
    for (int r = 0; r < MM_GROUP_ROWS; r++) {
        blk[r] = w[r] + (size_t)sb * erg_dtype_block_bytes(t);
        for (size_t l = 0; l < erg_dtype_block_bytes(t); l += 64)
            _mm_prefetch((const char *)blk[r] + pf_ahead + l, _MM_HINT_T0);
        kq_scales s;
        kq_scales_get(t, blk[r], &s);
#pragma GCC unroll 8
        for (int c = 0; c < 8; c++) {
            store32(g->q[r] + 32 * c, kq_values(t, blk[r], c));
            if (t == ERG_DT_Q6_K)
                store32(g->scale16[r][c], kq_scale(t, &s, c));
        }
        if (t != ERG_DT_Q6_K) /* scale j as the int16 pair of word j */
            _mm256_storeu_si256((__m256i *)g->scale_pair[r],
                                _mm256_blend_epi32(_mm256_unpacklo_epi16(s.lo, s.lo),
                                                   _mm256_unpackhi_epi16(s.lo, s.lo), 0xF0));
        store32(g->corr[r], s.corr);
    }
    kq_gather_d(t, blk, &g->d, &g->dm);
}

/* ---- one or two columns (decode): no buffer ---------------------------------- */

/* Software prefetch, this many rows ahead (the next groups' rows). */
#define KQ_DIRECT_PF_ROWS 4

/* Adds d_a * (d * sum - dm * corr) of the 4 rows (s[j][r], corr[j][r]) to
 * the accumulators of the rn columns. */
MM_INLINE void kq_finish(erg_dtype t, int rn, __m256 d, __m256 dm, __m256i s[2][MM_GROUP_ROWS],
                         __m256i corr[2][MM_GROUP_ROWS], const erg_block_q8_k *const a[2],
                         __m256 *acc[2]) {
    for (int j = 0; j < rn; j++) {
        __m256 da = _mm256_broadcast_ss(&a[j]->d);
        if (t == ERG_DT_Q6_K) { /* same scale: subtract the offset in integers */
            for (int r = 0; r < MM_GROUP_ROWS; r++)
                s[j][r] = _mm256_sub_epi32(s[j][r], corr[j][r]);
        } else {
            __m256i m = mm_reduce4_epi32(corr[j][0], corr[j][1], corr[j][2], corr[j][3]);
            *acc[j] = _mm256_fnmadd_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(m), *acc[j]);
        }
        __m256i v = mm_reduce4_epi32(s[j][0], s[j][1], s[j][2], s[j][3]);
        *acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(v), *acc[j]);
    }
}

/* The group's super-blocks blk[r] decoded on the fly against rn (1 or 2)
 * columns, without the buffer: with one or two columns, its stores and
 * loads would cost more than the decoding they save. */
MM_INLINE void direct_cols(erg_dtype t, int rn, const uint8_t *const blk[MM_GROUP_ROWS],
                           const erg_block_q8_k *const a[2], __m256 *acc[2]) {
    __m256i s[2][MM_GROUP_ROWS], corr[2][MM_GROUP_ROWS];
#pragma GCC unroll 4
    for (int r = 0; r < MM_GROUP_ROWS; r++) {
        kq_scales sc;
        kq_scales_get(t, blk[r], &sc);
        for (int j = 0; j < rn; j++)
            s[j][r] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int c = 0; c < 8; c++) {
            __m256i q = kq_values(t, blk[r], c), m = kq_scale(t, &sc, c);
            for (int j = 0; j < rn; j++)
                s[j][r] = _mm256_add_epi32(
                    s[j][r],
                    _mm256_madd_epi16(_mm256_maddubs_epi16(q, loadu32(a[j]->qs + 32 * c)), m));
        }
        for (int j = 0; j < rn; j++)
            corr[j][r] = _mm256_madd_epi16(sc.corr, loadu32(a[j]->bsums));
    }
    __m256 d, dm;
    kq_gather_d(t, blk, &d, &dm);
    kq_finish(t, rn, d, dm, s, corr, a, acc);
}

/* One or two columns: every super-block decoded straight into the dot. */
MM_INLINE void gemm_kquant_direct(erg_dtype t, int rn, int64_t k, const void *w, size_t ldw,
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
            const uint8_t *blk[MM_GROUP_ROWS];
            for (int r = 0; r < MM_GROUP_ROWS; r++) {
                blk[r] = rows[r] + (size_t)sb * bs;
                for (size_t l = 0; l < bs; l += 64)
                    _mm_prefetch((const char *)blk[r] + KQ_DIRECT_PF_ROWS * ldw + l, _MM_HINT_T0);
            }
            const erg_block_q8_k *ac[2];
            for (int j = 0; j < 2; j++)
                ac[j] =
                    (const erg_block_q8_k *)((const uint8_t *)a + (size_t)(j < rn ? j : 0) * lda) +
                    sb;
            direct_cols(t, rn, blk, ac, accp);
        }
        for (int j = 0; j < rn; j++)
            mm_store_group(c + (size_t)j * ldc, row, acc[j], n);
    }
}

#endif
