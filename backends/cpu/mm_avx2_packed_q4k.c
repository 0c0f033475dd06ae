/*
 * mm_avx2_packed_q4k.c: the AVX2 kernel of q4_kx8 weights (q4_k rows
 * interleaved by 8, kernels.h), with Q8K activations.
 *
 * As for q4_0x8 (mm_avx2_packed.c): one 32-byte load and a mask give 8 rows
 * x 4 nibbles of one sub-block, a broadcast of the 4 matching activation
 * bytes meets them in one maddubs, and the 8 chunks of a sub-block add up
 * exactly in 16 bits (8 x 2 x 15 x 128 < 32768). One madd with the rows'
 * sub-block scales makes int32 per row; per super-block one FMA applies
 * d_w * d_a to the 8 rows and one more dmin_w * d_a * sum_j m_j bsum_j:
 *     row = d_a * (d * sum_j sc_j sum_{i in j} q_i a_i - dmin * sum_j m_j bsum_j)
 * No horizontal sums, no per-row scale decoding (the packing did it), and
 * the unpacked nibbles serve up to 4 columns.
 */
#include "backends/cpu/mm_avx2.h"
#include "backends/cpu/mm_avx2_packed_walk.h"

#include <string.h>

#define MAX_COLS 4
#define PREFETCH_BLOCKS 4 /* super-blocks ahead: 4 x 1184 bytes */

MM_INLINE __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* The 8 rows' scales of one sub-block as [sc | sc << 16] per int32 lane: the
 * multipliers madd needs for both 16-bit halves. */
MM_INLINE __m256i scale_pairs(const uint8_t *p) {
    __m256i x = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
    return _mm256_or_si256(x, _mm256_slli_epi32(x, 16));
}

/* The activation's 8 sub-block sums (bsum 2j + bsum 2j+1) as int16, so that
 * lane {0, 1, 4, 5}[p] of the int32 view holds the pair of sub-blocks 2p,
 * 2p + 1. */
MM_INLINE __m256i sub_sums(const erg_block_q8_k *a) {
    __m256i s = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)a->bsums),
                                  _mm256_set1_epi16(1));
    return _mm256_packs_epi32(s, s);
}

/* sum_j m_j bsum_j of the 8 rows: m[p] holds the rows' mins of pair p as
 * int16 pairs, bs the activation's sub_sums. */
MM_INLINE __m256i min_sum(const __m256i m[4], __m256i bs) {
    __m256i s = _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        static const int lane[4] = {0, 1, 4, 5};
        __m256i b = _mm256_permutevar8x32_epi32(bs, _mm256_set1_epi32(lane[p]));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(m[p], b));
    }
    return s;
}

MM_INLINE void load_mins(const erg_cpu_block_q4_kx8 *blk, __m256i m[4]) {
    for (int p = 0; p < 4; p++)
        m[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)blk->mins[p]));
}

/* 8 rows x nc columns (nc a constant after inlining). c is row 0 of column 0. */
MM_INLINE void tile(int nc, int64_t nb, const erg_cpu_block_q4_kx8 *w,
                    const erg_block_q8_k *const a[MAX_COLS], float *c, size_t ldc) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[MAX_COLS];
    for (int j = 0; j < nc; j++)
        acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const erg_cpu_block_q4_kx8 *blk = w + b;
        for (int l = 0; l < (int)sizeof *blk; l += 64)
            _mm_prefetch((const char *)(blk + PREFETCH_BLOCKS) + l, _MM_HINT_T0);
        __m256i isum[MAX_COLS];
        for (int j = 0; j < nc; j++)
            isum[j] = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
#pragma GCC unroll 2
            for (int half = 0; half < 2; half++) {
                /* one half at a time keeps one 16-bit sum per column live */
                __m256i s[MAX_COLS];
#pragma GCC unroll 8
                for (int cc = 0; cc < 8; cc++) {
                    __m256i v = _mm256_loadu_si256((const __m256i *)blk->qs[p][cc]);
                    v = _mm256_and_si256(half ? _mm256_srli_epi16(v, 4) : v, low4);
                    for (int j = 0; j < nc; j++) {
                        __m256i d = _mm256_maddubs_epi16(
                            v, bcast4(a[j][b].qs + 64 * p + 32 * half + 4 * cc));
                        s[j] = cc == 0 ? d : _mm256_add_epi16(s[j], d);
                        /* keep the sums a chain: left alone, the compiler adds the
                         * products as a tree, computes them all ahead and spills them */
                        __asm__("" : "+x"(s[j]));
                    }
                }
                __m256i sc = scale_pairs(blk->scales[2 * p + half]);
                for (int j = 0; j < nc; j++)
                    isum[j] = _mm256_add_epi32(isum[j], _mm256_madd_epi16(s[j], sc));
            }
        }
        __m256i m[4];
        load_mins(blk, m);
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk->d));
        __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk->dmin));
        for (int j = 0; j < nc; j++) {
            __m256 da = _mm256_set1_ps(a[j][b].d);
            __m256i ms = min_sum(m, sub_sums(&a[j][b]));
            acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[j]), acc[j]);
            acc[j] = _mm256_fnmadd_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(ms), acc[j]);
        }
    }
    for (int j = 0; j < nc; j++)
        _mm256_storeu_ps(c + (size_t)j * ldc, acc[j]);
}

/* One activation column (decode): up to 4 groups of 8 rows at once, from
 * far-apart places in the rows, as the q4_0x8 decode does. */
MM_INLINE void column_streams(int ns, int64_t nb, const erg_cpu_block_q4_kx8 *const w[4],
                              const erg_block_q8_k *a, float *const c[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[4];
    for (int s = 0; s < ns; s++)
        acc[s] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const erg_block_q8_k *ab = &a[b];
        for (int s = 0; s < ns; s++)
            for (int l = 0; l < (int)sizeof *w[s]; l += 64)
                _mm_prefetch((const char *)(w[s] + b + PREFETCH_BLOCKS) + l, _MM_HINT_T0);
        __m256i isum[4];
        for (int s = 0; s < ns; s++)
            isum[s] = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++)
#pragma GCC unroll 2
            for (int half = 0; half < 2; half++) {
                /* each activation broadcast serves every stream */
                __m256i sum[4];
#pragma GCC unroll 8
                for (int q = 0; q < 8; q++) {
                    __m256i x = bcast4(ab->qs + 64 * p + 32 * half + 4 * q);
#pragma GCC unroll 4
                    for (int s = 0; s < ns; s++) {
                        __m256i v = _mm256_loadu_si256((const __m256i *)w[s][b].qs[p][q]);
                        v = _mm256_and_si256(half ? _mm256_srli_epi16(v, 4) : v, low4);
                        __m256i d = _mm256_maddubs_epi16(v, x);
                        sum[s] = q == 0 ? d : _mm256_add_epi16(sum[s], d);
                        __asm__("" : "+x"(sum[s])); /* a chain: see tile */
                    }
                }
#pragma GCC unroll 4
                for (int s = 0; s < ns; s++)
                    isum[s] = _mm256_add_epi32(
                        isum[s],
                        _mm256_madd_epi16(sum[s], scale_pairs(w[s][b].scales[2 * p + half])));
            }
        __m256 da = _mm256_set1_ps(ab->d);
        __m256i bs = sub_sums(ab);
        for (int s = 0; s < ns; s++) {
            __m256i m[4];
            load_mins(w[s] + b, m);
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w[s][b].d));
            __m256 dmw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w[s][b].dmin));
            acc[s] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[s]), acc[s]);
            acc[s] = _mm256_fnmadd_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(min_sum(m, bs)),
                                      acc[s]);
        }
    }
    for (int s = 0; s < ns; s++)
        _mm256_storeu_ps(c[s], acc[s]);
}

ERG_AVX2_PACKED_WALK(q4_kx8, erg_cpu_block_q4_kx8, erg_block_q8_k, ERG_QK_K, column_streams,
                     tile)

void erg_cpu_mm_init_avx2_packed_q4k(erg_cpu_kernels *k) {
    k->matmul_packed[ERG_CPU_PACK_Q4_KX8] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q4_kx8};
}
