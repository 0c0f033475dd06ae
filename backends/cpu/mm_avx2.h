/*
 * mm_avx2.h: what the AVX2 matmul files (mm_avx2*.c) share; the AVX-512
 * files use it too. Include only from files compiled with the AVX2 flags
 * (or a superset).
 *
 * The quantized kernels work on groups of 4 weight rows that share every
 * activation load. Where a kernel keeps one int32 vector per row, it reduces
 * the 4 vectors into one, [r0 r1 r2 r3 | r0 r1 r2 r3], each 128-bit half
 * holding the sums of that half of the 4 inputs, so that one float FMA
 * scales the 4 rows and the halves are added once, at the end.
 */
#ifndef ERG_CPU_MM_AVX2_H
#define ERG_CPU_MM_AVX2_H

#include "backends/cpu/kernels.h"

#include <immintrin.h>
#include <stdbool.h>
#include <string.h>

/* Rows a group covers; a group with fewer real rows repeats one of them
 * (mm_group_rows) and stores only the real ones. */
#define MM_GROUP_ROWS 4

#define MM_INLINE static inline __attribute__((always_inline))


/* Sets the kernels of the quantized families (mm_avx2_q8a.c,
 * mm_avx2_kquants.c) and of the packed layouts (mm_avx2_packed.c,
 * mm_avx2_packed_q4k.c). */
void erg_cpu_mm_init_avx2_q8a(erg_cpu_kernels *k);
void erg_cpu_mm_init_avx2_kquants(erg_cpu_kernels *k);
void erg_cpu_mm_init_avx2_packed(erg_cpu_kernels *k);
void erg_cpu_mm_init_avx2_packed_q4k(erg_cpu_kernels *k);

/* [sum of each 128-bit half of v0, v1, v2, v3] as described above. Unpacks
 * and adds: hadd is several times slower on some CPUs (AMD Zen). */
MM_INLINE __m256i mm_reduce4_epi32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
    /* [v0_0+v0_2, v1_0+v1_2, v0_1+v0_3, v1_1+v1_3] per half, then the same for v2, v3 */
    __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v0, v1), _mm256_unpackhi_epi32(v0, v1));
    __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v2, v3), _mm256_unpackhi_epi32(v2, v3));
    return _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
}

/* Deals nr rows to groups of g (<= 4) rows, one from each g-th of the rows:
 * group i takes rows i, i + q, i + 2q, ... (q = ceil(nr / g)); a row past the
 * end repeats row i and is not stored. Successive groups then read g
 * sequential streams far apart in memory, which the hardware prefetchers
 * follow much better than g short rows side by side (about twice the
 * bandwidth from DRAM on AMD Zen 3). Returns the number of real rows (a
 * prefix of the g). */
MM_INLINE int mm_group_rows(int64_t i, int64_t nr, int g, const void *w, size_t ldw,
                            const uint8_t *rows[], int64_t row[]) {
    const int64_t q = (nr + g - 1) / g;
    int n = 0;
    for (int r = 0; r < g; r++) {
        bool real = i + r * q < nr;
        row[r] = real ? i + r * q : i;
        n += real;
        rows[r] = (const uint8_t *)w + (size_t)row[r] * ldw;
    }
    return n;
}

/* The number of groups of g rows. */
MM_INLINE int64_t mm_group_count(int64_t nr, int g) { return (nr + g - 1) / g; }

/* Adds the two halves of a group accumulator and writes the first n rows to
 * c[row[r]]. */
MM_INLINE void mm_store_group(float *c, const int64_t row[MM_GROUP_ROWS], __m256 acc, int n) {
    float v[MM_GROUP_ROWS];
    _mm_storeu_ps(v, _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
    for (int r = 0; r < n; r++)
        c[row[r]] = v[r];
}

/* Four f16 values packed into 64 bits, for one F16C conversion of several. */
MM_INLINE uint64_t mm_pack4_f16(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2,
                                const uint8_t *p3) {
    uint16_t h0, h1, h2, h3;
    memcpy(&h0, p0, 2);
    memcpy(&h1, p1, 2);
    memcpy(&h2, p2, 2);
    memcpy(&h3, p3, 2);
    uint64_t v = (uint64_t)h0 | (uint64_t)h1 << 16 | (uint64_t)h2 << 32 | (uint64_t)h3 << 48;
    /* keep the packing in integer registers: the compiler would otherwise
     * turn it into a chain of vector shuffles, the scarcer resource */
    __asm__("" : "+r"(v));
    return v;
}

/* The f16 at byte offset off of the blocks lo[r] (low half) and hi[r] (high
 * half) for the 4 rows r of a group: [lo0 lo1 lo2 lo3 | hi0 hi1 hi2 hi3]. */
MM_INLINE __m256 mm_gather_f16(const uint8_t *const lo[4], const uint8_t *const hi[4], size_t off) {
    uint64_t l = mm_pack4_f16(lo[0] + off, lo[1] + off, lo[2] + off, lo[3] + off);
    uint64_t h = mm_pack4_f16(hi[0] + off, hi[1] + off, hi[2] + off, hi[3] + off);
    return _mm256_cvtph_ps(
        _mm_unpacklo_epi64(_mm_cvtsi64_si128((long long)l), _mm_cvtsi64_si128((long long)h)));
}

#endif
