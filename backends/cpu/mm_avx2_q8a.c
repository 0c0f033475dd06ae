/*
 * mm_avx2_q8a.c: AVX2 matmul of the 32-element weight types (q4_0, q4_1,
 * q5_0, q5_1, q8_0) with Q8A activations.
 *
 * A row is walked two blocks at a time. A vector holds the same 16 positions
 * of both blocks, one block per 128-bit lane: `lo` has elements 0..15, `hi`
 * elements 16..31. That is how the 4-bit types store their nibbles, so a pair
 * of blocks unpacks with two loads, a blend, one shift and two ANDs; the
 * activations are rearranged the same way once per column and shared by the
 * 4 rows of a tile.
 *
 * Products are exact integers: maddubs of the unsigned stored values with the
 * signed activations (q8_0, signed, uses the sign trick), one int32 vector
 * [block 0 x4 | block 1 x4] per (row, column, pair of blocks), one conversion
 * and one FMA with d_w * d_a into the (row, column) accumulator; lanes are
 * summed once, at the end. The offset of q4_0 / q5_0 and the minimum of
 * q4_1 / q5_1 come in through the activation block sum s:
 *     block = d_w * d_a * sum q_i a_i + m_w * s_a,  m_w = -8 d_w, -16 d_w or m,
 * the m_w * s_a of the tile's 4 rows with one FMA per column and pair.
 * The d_w (and m_w) of 4 rows x 2 blocks come from one F16C conversion.
 * The tile's rows are dealt as in mm_group_rows (mm_avx2.h).
 */
#include "backends/cpu/mm_avx2.h"

#include <stddef.h>

/* One column's activations for a pair of blocks, in the lo/hi layout, with
 * d = [d0 x4 | d1 x4] and s = [s0 x4 | s1 x4]. */
typedef struct act_pair {
    __m256i lo, hi;
    __m256 d, s;
} act_pair;

/* Stored values of a pair of weight blocks, lo/hi layout. */
typedef struct w_pair {
    __m256i lo, hi;
} w_pair;

/* Stands in for the block after the last one when a row has an odd count. */
static const uint8_t zero_w_block[sizeof(erg_block_q8_0)];
static const erg_cpu_block_q8a zero_a_block;

/* Register tile: rows x columns with one accumulator each. */
#define TILE_ROWS MM_GROUP_ROWS /* tile_step spells the 4 rows out */
#define TILE_COLS 3             /* gemm_q8a spells the widths 1..3 out */
/* Software prefetch, this many rows ahead (the next tiles' rows). */
#define PF_ROWS 4

/* [16 bytes at p0 | 16 bytes at p1]. Two broadcast loads and a blend: a
 * 128-bit insert would compete with the shuffles for the one lane-crossing
 * unit. */
MM_INLINE __m256i load_pair16(const uint8_t *p0, const uint8_t *p1) {
    return _mm256_blend_epi32(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p0)),
                              _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p1)),
                              0xF0);
}

/* [*p0 x4 | *p1 x4] */
MM_INLINE __m256 load_pair_ps(const float *p0, const float *p1) {
    return _mm256_blend_ps(_mm256_broadcast_ss(p0), _mm256_broadcast_ss(p1), 0xF0);
}

MM_INLINE act_pair load_act_pair(erg_dtype t, const erg_cpu_block_q8a *a0,
                                 const erg_cpu_block_q8a *a1) {
    act_pair p;
    p.lo = load_pair16((const uint8_t *)a0->qs, (const uint8_t *)a1->qs);
    p.hi = load_pair16((const uint8_t *)a0->qs + 16, (const uint8_t *)a1->qs + 16);
    p.d = load_pair_ps(&a0->d, &a1->d);
    p.s = t == ERG_DT_Q8_0 ? _mm256_setzero_ps() : load_pair_ps(&a0->s, &a1->s);
    return p;
}

/* 16 bytes of nibbles per block: low nibbles are elements 0..15. */
MM_INLINE void unpack_nibbles(w_pair *q, const uint8_t *qs0, const uint8_t *qs1) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i x = load_pair16(qs0, qs1);
    q->lo = _mm256_and_si256(x, low4);
    q->hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
}

/* Ors the 5th bits (bit j of the 32-bit qh is element j) in as 0x10. */
MM_INLINE void add_high_bits(w_pair *q, const uint8_t *qh0, const uint8_t *qh1) {
    int h0, h1;
    memcpy(&h0, qh0, 4);
    memcpy(&h1, qh1, 4);
    const __m256i v = _mm256_blend_epi32(_mm256_set1_epi32(h0), _mm256_set1_epi32(h1), 0xF0);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201);
    const __m256i sel_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0,
                                            0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m256i sel_hi = _mm256_add_epi8(sel_lo, _mm256_set1_epi8(2));
    const __m256i b4 = _mm256_set1_epi8(0x10);
    __m256i lo = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, sel_lo), bit), bit);
    __m256i hi = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, sel_hi), bit), bit);
    q->lo = _mm256_or_si256(q->lo, _mm256_and_si256(lo, b4));
    q->hi = _mm256_or_si256(q->hi, _mm256_and_si256(hi, b4));
}

/* Field f of block type T in the blocks b0 and b1. */
#define FIELD(T, f, b) ((b) + offsetof(T, f))

MM_INLINE w_pair load_w_pair(erg_dtype t, const uint8_t *b0, const uint8_t *b1) {
    w_pair q;
    switch (t) {
    case ERG_DT_Q4_0:
        unpack_nibbles(&q, FIELD(erg_block_q4_0, qs, b0), FIELD(erg_block_q4_0, qs, b1));
        break;
    case ERG_DT_Q4_1:
        unpack_nibbles(&q, FIELD(erg_block_q4_1, qs, b0), FIELD(erg_block_q4_1, qs, b1));
        break;
    case ERG_DT_Q5_0:
        unpack_nibbles(&q, FIELD(erg_block_q5_0, qs, b0), FIELD(erg_block_q5_0, qs, b1));
        add_high_bits(&q, FIELD(erg_block_q5_0, qh, b0), FIELD(erg_block_q5_0, qh, b1));
        break;
    case ERG_DT_Q5_1:
        unpack_nibbles(&q, FIELD(erg_block_q5_1, qs, b0), FIELD(erg_block_q5_1, qs, b1));
        add_high_bits(&q, FIELD(erg_block_q5_1, qh, b0), FIELD(erg_block_q5_1, qh, b1));
        break;
    default: {
        const uint8_t *q0 = FIELD(erg_block_q8_0, qs, b0), *q1 = FIELD(erg_block_q8_0, qs, b1);
        q.lo = load_pair16(q0, q1);
        q.hi = load_pair16(q0 + 16, q1 + 16);
        break;
    }
    }
    return q;
}

/* sum q * a per block and lane group: int32 [block 0 x4 | block 1 x4]. */
MM_INLINE __m256i dot_pair(erg_dtype t, const w_pair *w, const act_pair *a) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (t == ERG_DT_Q8_0) {
        /* |w| * (a with w's sign): unsigned x signed, as maddubs needs;
         * each 16-bit pair sum is at most 2 * 128 * 127 and cannot saturate. */
        __m256i lo =
            _mm256_maddubs_epi16(_mm256_sign_epi8(w->lo, w->lo), _mm256_sign_epi8(a->lo, w->lo));
        __m256i hi =
            _mm256_maddubs_epi16(_mm256_sign_epi8(w->hi, w->hi), _mm256_sign_epi8(a->hi, w->hi));
        return _mm256_add_epi32(_mm256_madd_epi16(lo, ones), _mm256_madd_epi16(hi, ones));
    }
    /* Values <= 31, |a| <= 127: each 16-bit lane of lo + hi, a sum over 4
     * elements, is at most 4 * 31 * 127 < 2^15. */
    __m256i p =
        _mm256_add_epi16(_mm256_maddubs_epi16(w->lo, a->lo), _mm256_maddubs_epi16(w->hi, a->hi));
    return _mm256_madd_epi16(p, ones);
}

/* The accumulators of one row of the tile, one per column. Kept as one
 * small struct per row: the compiler keeps small aggregates in registers
 * but leaves larger ones (a whole tile as one array) in memory. */
typedef struct acc_row {
    __m256 c[TILE_COLS];
} acc_row;

/* Lanes [r x4 | r + 4 x4] of v: row r's values for the two blocks. */
#define row_lanes(v, r) _mm256_permutevar_ps(v, _mm256_set1_epi32(r))

/* Row r's pair of blocks (b0, b1) against the rn columns x[]; dx[j] holds
 * d_w * d_a of the 4 rows (mm_gather_f16 layout). */
MM_INLINE void row_step(erg_dtype t, int rn, int r, const uint8_t *b0, const uint8_t *b1,
                        const act_pair *x, const __m256 *dx, acc_row *acc, size_t pf_ahead) {
    _mm_prefetch((const char *)b0 + pf_ahead, _MM_HINT_T0);
    w_pair w = load_w_pair(t, b0, b1);
    for (int j = 0; j < rn; j++) {
        __m256 v = _mm256_cvtepi32_ps(dot_pair(t, &w, &x[j]));
        acc->c[j] = _mm256_fmadd_ps(row_lanes(dx[j], r), v, acc->c[j]);
    }
}

/* One pair of blocks of the 4 rows (block pointers b0[i], b1[i]) against rn
 * columns (a0[j], a1[j]), added to the accumulators. The m_w * s_a terms of
 * the 4 rows go into one accumulator per column, macc, laid out like
 * mm_gather_f16. */
MM_INLINE void tile_step(erg_dtype t, int rn, const uint8_t *const b0[], const uint8_t *const b1[],
                         const erg_cpu_block_q8a *const a0[], const erg_cpu_block_q8a *const a1[],
                         acc_row *acc0, acc_row *acc1, acc_row *acc2, acc_row *acc3, acc_row *macc,
                         size_t pf_ahead) {
    /* d is the first field of every legacy block, m (q4_1, q5_1) the second */
    __m256 d = mm_gather_f16(b0, b1, 0), m = _mm256_setzero_ps();
    if (t == ERG_DT_Q4_1 || t == ERG_DT_Q5_1)
        m = mm_gather_f16(b0, b1, sizeof(erg_f16));
    else if (t == ERG_DT_Q4_0 || t == ERG_DT_Q5_0)
        m = _mm256_mul_ps(d, _mm256_set1_ps(t == ERG_DT_Q4_0 ? -8.0f : -16.0f));
    act_pair x[TILE_COLS];
    __m256 dx[TILE_COLS];
    for (int j = 0; j < rn; j++) {
        x[j] = load_act_pair(t, a0[j], a1[j]);
        dx[j] = _mm256_mul_ps(d, x[j].d);
        if (t != ERG_DT_Q8_0)
            macc->c[j] = _mm256_fmadd_ps(m, x[j].s, macc->c[j]);
    }
    row_step(t, rn, 0, b0[0], b1[0], x, dx, acc0, pf_ahead);
    row_step(t, rn, 1, b0[1], b1[1], x, dx, acc1, pf_ahead);
    row_step(t, rn, 2, b0[2], b1[2], x, dx, acc2, pf_ahead);
    row_step(t, rn, 3, b0[3], b1[3], x, dx, acc3, pf_ahead);
}

MM_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

/* Rows w[0..3] times rn columns over the whole row; the results of the first
 * n rows go to c[row[i] + j * ldc]. */
MM_INLINE void tile(erg_dtype t, int rn, int64_t nb, const uint8_t *const w[TILE_ROWS], int n,
                    const int64_t row[TILE_ROWS], const uint8_t *a, size_t lda, float *c,
                    size_t ldc, size_t pf_ahead) {
    const size_t bs = erg_dtype_block_bytes(t);
    acc_row acc0, acc1, acc2, acc3, macc;
    for (int j = 0; j < TILE_COLS; j++)
        acc0.c[j] = acc1.c[j] = acc2.c[j] = acc3.c[j] = macc.c[j] = _mm256_setzero_ps();
    const uint8_t *b0[TILE_ROWS], *b1[TILE_ROWS];
    const erg_cpu_block_q8a *a0[TILE_COLS], *a1[TILE_COLS];
    int64_t b = 0;
    for (; b + 1 < nb; b += 2) {
        for (int i = 0; i < TILE_ROWS; i++) {
            b0[i] = w[i] + (size_t)b * bs;
            b1[i] = b0[i] + bs;
        }
        for (int j = 0; j < rn; j++) {
            a0[j] = (const erg_cpu_block_q8a *)(a + (size_t)j * lda) + b;
            a1[j] = a0[j] + 1;
        }
        tile_step(t, rn, b0, b1, a0, a1, &acc0, &acc1, &acc2, &acc3, &macc, pf_ahead);
    }
    if (b < nb) { /* odd block count: pair the last block with zeros */
        for (int i = 0; i < TILE_ROWS; i++) {
            b0[i] = w[i] + (size_t)b * bs;
            b1[i] = zero_w_block;
        }
        for (int j = 0; j < rn; j++) {
            a0[j] = (const erg_cpu_block_q8a *)(a + (size_t)j * lda) + b;
            a1[j] = &zero_a_block;
        }
        tile_step(t, rn, b0, b1, a0, a1, &acc0, &acc1, &acc2, &acc3, &macc, pf_ahead);
    }
    const acc_row *acc[TILE_ROWS] = {&acc0, &acc1, &acc2, &acc3};
    for (int j = 0; j < rn; j++) {
        float m[8];
        _mm256_storeu_ps(m, macc.c[j]);
        for (int i = 0; i < n; i++)
            c[row[i] + (size_t)j * ldc] = hsum_ps(acc[i]->c[j]) + (m[i] + m[i + 4]);
    }
}

MM_INLINE void gemm_q8a(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                        const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    const int64_t nb = k / ERG_QK;
    for (int64_t i = 0; i < mm_group_count(nr, MM_GROUP_ROWS); i++) {
        const uint8_t *rows[TILE_ROWS];
        int64_t row[TILE_ROWS];
        int n = mm_group_rows(i, nr, MM_GROUP_ROWS, w, ldw, rows, row);
        for (int64_t col = 0; col < nc; col += TILE_COLS) {
            const uint8_t *ac = (const uint8_t *)a + (size_t)col * lda;
            float *cc = c + (size_t)col * ldc;
            /* constant tile widths, so each case keeps its accumulators in registers */
            switch (nc - col < TILE_COLS ? (int)(nc - col) : TILE_COLS) {
            case 1:
                tile(t, 1, nb, rows, n, row, ac, lda, cc, ldc, PF_ROWS * ldw);
                break;
            case 2:
                tile(t, 2, nb, rows, n, row, ac, lda, cc, ldc, PF_ROWS * ldw);
                break;
            default:
                tile(t, 3, nb, rows, n, row, ac, lda, cc, ldc, PF_ROWS * ldw);
                break;
            }
        }
    }
}

#define GEMM_Q8A(name, type)                                                                       \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_q8a(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                         \
    }
GEMM_Q8A(q4_0, ERG_DT_Q4_0)
GEMM_Q8A(q4_1, ERG_DT_Q4_1)
GEMM_Q8A(q5_0, ERG_DT_Q5_0)
GEMM_Q8A(q5_1, ERG_DT_Q5_1)
GEMM_Q8A(q8_0, ERG_DT_Q8_0)
#undef GEMM_Q8A

void erg_cpu_mm_init_avx2_q8a(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_Q4_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_0};
    k->matmul[ERG_DT_Q4_1] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_1};
    k->matmul[ERG_DT_Q5_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q5_0};
    k->matmul[ERG_DT_Q5_1] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q5_1};
    k->matmul[ERG_DT_Q8_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q8_0};
}
