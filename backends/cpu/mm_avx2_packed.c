/*
 * mm_avx2_packed.c: the AVX2 kernel of q4_0x8 weights (8 rows interleaved,
 * kernels.h). One 32-byte load and a mask give 8 rows x 4 nibbles; a
 * broadcast of the 4 matching activation bytes meets them in one maddubs,
 * whose 16-bit lanes pair up per row. Eight of them add up exactly in 16
 * bits (8 x 2 x 15 x 127 < 32768), one madd makes the 8 per-row sums of a
 * block, and one FMA per (block, column) scales all 8 rows at once: no
 * horizontal sums, and each unpacked weight vector serves up to 4 columns.
 *
 * q8_0x8 (signed bytes, same interleave) multiplies |w| by the activations
 * with w's signs (maddubs wants one unsigned side). A lane of that is up to
 * 2 x 128 x 127, so two of them could overflow 16 bits: each maddubs gets its
 * own madd into int32, still with no horizontal sums and with |w| shared by
 * the columns.
 */
#include "backends/cpu/mm_avx2.h"
#include "backends/cpu/mm_avx2_packed_walk.h"

#include <string.h>

#define MAX_COLS 4
#define PREFETCH_BLOCKS 32

MM_INLINE __m256i broadcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* 8 rows x nc columns (nc a constant after inlining). c is row 0 of column 0. */
MM_INLINE void tile(int nc, int64_t nb, const erg_cpu_block_q4_0x8 *w,
                    const erg_cpu_block_q8a *const a[MAX_COLS], float *c, size_t ldc) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_COLS];
    for (int j = 0; j < nc; j++)
        acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const erg_cpu_block_q4_0x8 *blk = w + b;
        _mm_prefetch((const char *)(blk + PREFETCH_BLOCKS), _MM_HINT_T0);
        _mm_prefetch((const char *)(blk + PREFETCH_BLOCKS) + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)(blk + PREFETCH_BLOCKS) + 128, _MM_HINT_T0);
        __m256i sum[MAX_COLS];
        for (int q = 0; q < 4; q++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)blk->qs[q]);
            __m256i lo = _mm256_and_si256(v, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            /* Unpack one chunk at a time: left alone, the compiler unpacks all
             * four up front and runs out of registers (about 5% slower). */
            __asm__ volatile("" : "+x"(lo), "+x"(hi));
            for (int j = 0; j < nc; j++) {
                const int8_t *x = a[j][b].qs;
                __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, broadcast4(x + 4 * q)),
                                             _mm256_maddubs_epi16(hi, broadcast4(x + 16 + 4 * q)));
                sum[j] = q == 0 ? p : _mm256_add_epi16(sum[j], p);
            }
        }
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk->d));
        for (int j = 0; j < nc; j++) {
            const erg_cpu_block_q8a *ab = &a[j][b];
            /* sum (q - 8) x = sum q x - 8 sum x: in floats, d_a * isum - 8 s_a */
            __m256 isum = _mm256_cvtepi32_ps(_mm256_madd_epi16(sum[j], ones));
            __m256 t = _mm256_fmsub_ps(_mm256_set1_ps(ab->d), isum, _mm256_set1_ps(8.0f * ab->s));
            acc[j] = _mm256_fmadd_ps(dw, t, acc[j]);
        }
    }
    for (int j = 0; j < nc; j++)
        _mm256_storeu_ps(c + (size_t)j * ldc, acc[j]);
}

/* One activation column (decode): up to 4 groups of 8 rows at once, from
 * far-apart places in the rows (groups i, i + q, i + 2q, i + 3q). Several
 * independent streams keep more memory reads in flight than one, and each
 * activation broadcast serves all of them. */
MM_INLINE void column_streams(int ns, int64_t nb, const erg_cpu_block_q4_0x8 *const w[4],
                              const erg_cpu_block_q8a *a, float *const c[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    for (int s = 0; s < ns; s++)
        acc[s] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const erg_cpu_block_q8a *ab = &a[b];
        __m256i sum[4];
        for (int s = 0; s < ns; s++) {
            const char *next = (const char *)(w[s] + b + PREFETCH_BLOCKS);
            _mm_prefetch(next, _MM_HINT_T0);
            _mm_prefetch(next + 64, _MM_HINT_T0);
            _mm_prefetch(next + 128, _MM_HINT_T0);
        }
        for (int q = 0; q < 4; q++) {
            __m256i xl = broadcast4(ab->qs + 4 * q), xh = broadcast4(ab->qs + 16 + 4 * q);
            for (int s = 0; s < ns; s++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)w[s][b].qs[q]);
                __m256i p = _mm256_add_epi16(
                    _mm256_maddubs_epi16(_mm256_and_si256(v, low4), xl),
                    _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low4), xh));
                sum[s] = q == 0 ? p : _mm256_add_epi16(sum[s], p);
            }
        }
        __m256 d = _mm256_set1_ps(ab->d), s8 = _mm256_set1_ps(8.0f * ab->s);
        for (int s = 0; s < ns; s++) {
            __m256 isum = _mm256_cvtepi32_ps(_mm256_madd_epi16(sum[s], ones));
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w[s][b].d));
            acc[s] = _mm256_fmadd_ps(dw, _mm256_fmsub_ps(d, isum, s8), acc[s]);
        }
    }
    for (int s = 0; s < ns; s++)
        _mm256_storeu_ps(c[s], acc[s]);
}

ERG_AVX2_PACKED_WALK(q4_0x8, erg_cpu_block_q4_0x8, erg_cpu_block_q8a, ERG_QK, column_streams,
                     tile)

/* ---- q8_0x8 ------------------------------------------------------------------ */

/* sum_i w_i x_i of 8 rows x 4 values (v: the chunk of w) with 4 activation
 * values broadcast (x), as 8 int32: [row 0 .. row 7]. */
MM_INLINE __m256i dot8x4(__m256i absv, __m256i v, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(absv, _mm256_sign_epi8(x, v)),
                             _mm256_set1_epi16(1));
}

/* 8 rows x nc columns (nc a constant after inlining). c is row 0 of column 0. */
MM_INLINE void tile8(int nc, int64_t nb, const erg_cpu_block_q8_0x8 *w,
                     const erg_cpu_block_q8a *const a[MAX_COLS], float *c, size_t ldc) {
    __m256 acc[MAX_COLS];
    for (int j = 0; j < nc; j++)
        acc[j] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const erg_cpu_block_q8_0x8 *blk = w + b;
        for (int l = 0; l < (int)sizeof *blk; l += 64)
            _mm_prefetch((const char *)(blk + PREFETCH_BLOCKS / 2) + l, _MM_HINT_T0);
        __m256i sum[MAX_COLS];
        for (int q = 0; q < 8; q++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)blk->qs[q]);
            __m256i absv = _mm256_sign_epi8(v, v);
            for (int j = 0; j < nc; j++) {
                __m256i p = dot8x4(absv, v, broadcast4(a[j][b].qs + 4 * q));
                sum[j] = q == 0 ? p : _mm256_add_epi32(sum[j], p);
            }
        }
        __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk->d));
        for (int j = 0; j < nc; j++)
            acc[j] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(a[j][b].d)),
                                     _mm256_cvtepi32_ps(sum[j]), acc[j]);
    }
    for (int j = 0; j < nc; j++)
        _mm256_storeu_ps(c + (size_t)j * ldc, acc[j]);
}

/* One activation column: up to 4 groups of 8 rows at once, as
 * column_streams. */
MM_INLINE void column_streams8(int ns, int64_t nb, const erg_cpu_block_q8_0x8 *const w[4],
                               const erg_cpu_block_q8a *a, float *const c[4]) {
    __m256 acc[4];
    for (int s = 0; s < ns; s++)
        acc[s] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const erg_cpu_block_q8a *ab = &a[b];
        __m256i sum[4];
        for (int s = 0; s < ns; s++)
            for (int l = 0; l < (int)sizeof *w[s]; l += 64)
                _mm_prefetch((const char *)(w[s] + b + PREFETCH_BLOCKS / 2) + l, _MM_HINT_T0);
        for (int q = 0; q < 8; q++) {
            __m256i x = broadcast4(ab->qs + 4 * q);
            for (int s = 0; s < ns; s++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)w[s][b].qs[q]);
                __m256i p = dot8x4(_mm256_sign_epi8(v, v), v, x);
                sum[s] = q == 0 ? p : _mm256_add_epi32(sum[s], p);
            }
        }
        __m256 d = _mm256_set1_ps(ab->d);
        for (int s = 0; s < ns; s++) {
            __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)w[s][b].d));
            acc[s] = _mm256_fmadd_ps(_mm256_mul_ps(dw, d), _mm256_cvtepi32_ps(sum[s]), acc[s]);
        }
    }
    for (int s = 0; s < ns; s++)
        _mm256_storeu_ps(c[s], acc[s]);
}

ERG_AVX2_PACKED_WALK(q8_0x8, erg_cpu_block_q8_0x8, erg_cpu_block_q8a, ERG_QK, column_streams8,
                     tile8)

void erg_cpu_mm_init_avx2_packed(erg_cpu_kernels *k) {
    k->matmul_packed[ERG_CPU_PACK_Q4_0X8] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_0x8};
    k->matmul_packed[ERG_CPU_PACK_Q8_0X8] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q8_0x8};
}
