/*
 * mm_avx2_packed_walk.h: how the AVX2 kernels of every packed layout
 * (kernels.h) walk a matrix, written once for all of them.
 *
 * One column (decode): the row groups are dealt into up to four streams
 * read side by side (groups i, i + q, i + 2q, i + 3q), so four memory
 * streams are in flight per thread. Several columns: each row group meets
 * tiles of up to MAX_COLS columns, so an unpacked weight vector serves
 * them all. The widths reach the layout's kernels as constants (a switch),
 * so each inlined copy keeps its accumulators in registers.
 *
 * ERG_AVX2_PACKED_WALK(name, block_t, act_t, qk, streams, tile) defines
 * gemv_<name> and gemm_<name> (the erg_cpu_gemm_fn) over the layout's
 *   streams(ns, nb, const block_t *const w[4], const void *a, float *c[4])
 *   tile(n, nb, const block_t *wg, const act_t *const ac[], float *c, ldc)
 * with qk the weight type's block size and MAX_COLS defined by the includer.
 */
#ifndef ERG_CPU_MM_AVX2_PACKED_WALK_H
#define ERG_CPU_MM_AVX2_PACKED_WALK_H

#define ERG_AVX2_PACKED_WALK(name, block_t, act_t, qk, streams, tile)                             \
    static void gemv_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,      \
                            float *c) {                                                         \
        const int64_t nb = k / (qk), ng = nr / ERG_CPU_PACK_ROWS, q = (ng + 3) / 4;             \
        for (int64_t i = 0; i < q; i++) {                                                      \
            const block_t *ws[4] = {NULL, NULL, NULL, NULL};                                   \
            float *cs[4] = {NULL, NULL, NULL, NULL};                                           \
            int ns = 0;                                                                        \
            for (int64_t g = i; g < ng && ns < 4; g += q, ns++) {                              \
                ws[ns] = (const block_t *)((const uint8_t *)w + (size_t)g * ldw);              \
                cs[ns] = c + g * ERG_CPU_PACK_ROWS;                                            \
            }                                                                                  \
            switch (ns) {                                                                      \
            case 1: streams(1, nb, ws, a, cs); break;                                          \
            case 2: streams(2, nb, ws, a, cs); break;                                          \
            case 3: streams(3, nb, ws, a, cs); break;                                          \
            default: streams(4, nb, ws, a, cs); break;                                         \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,      \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                     \
        const int64_t nb = k / (qk);                                                           \
        if (nc == 1) {                                                                         \
            gemv_##name(k, w, ldw, nr, a, c);                                                  \
            return;                                                                            \
        }                                                                                      \
        for (int64_t g = 0; g < nr / ERG_CPU_PACK_ROWS; g++) {                                 \
            const block_t *wg = (const block_t *)((const uint8_t *)w + (size_t)g * ldw);       \
            float *cg = c + g * ERG_CPU_PACK_ROWS;                                             \
            for (int64_t col = 0; col < nc; col += MAX_COLS) {                                 \
                const act_t *ac[MAX_COLS];                                                     \
                int n = nc - col < MAX_COLS ? (int)(nc - col) : MAX_COLS;                      \
                for (int j = 0; j < n; j++)                                                    \
                    ac[j] = (const act_t *)((const uint8_t *)a + (size_t)(col + j) * lda);     \
                float *cc = cg + (size_t)col * ldc;                                            \
                switch (n) {                                                                   \
                case 1: tile(1, nb, wg, ac, cc, ldc); break;                                   \
                case 2: tile(2, nb, wg, ac, cc, ldc); break;                                   \
                case 3: tile(3, nb, wg, ac, cc, ldc); break;                                   \
                default: tile(4, nb, wg, ac, cc, ldc); break;                                  \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

#endif
