/*
 * mm_scalar.c: portable matmul kernels for every weight type, the fallback
 * when the CPU has no SIMD level and the baseline the SIMD levels are
 * compared with.
 *
 * Every kernel computes one (row, column) dot product at a time. Quantized
 * blocks are multiplied in exact integer arithmetic and scaled once per
 * block; float rows keep eight partial sums so the rounding error grows like
 * that of the SIMD kernels rather than like a single running sum.
 */
#include "backends/cpu/kernels.h"

#include <string.h>

/* ---- float weights, F32 activations ------------------------------------ */

#define F32_PARTIALS 8

static inline float dot_float_row(erg_dtype t, int64_t k, const void *w, const float *a) {
    float part[F32_PARTIALS] = {0};
    int64_t i = 0;
    for (; i + F32_PARTIALS <= k; i += F32_PARTIALS) {
        for (int l = 0; l < F32_PARTIALS; l++) {
            float wv;
            if (t == ERG_DT_F32)
                wv = ((const float *)w)[i + l];
            else if (t == ERG_DT_F16)
                wv = erg_f16_to_f32(((const erg_f16 *)w)[i + l]);
            else
                wv = erg_bf16_to_f32(((const erg_bf16 *)w)[i + l]);
            part[l] += wv * a[i + l];
        }
    }
    for (; i < k; i++) {
        float wv = t == ERG_DT_F32   ? ((const float *)w)[i]
                   : t == ERG_DT_F16 ? erg_f16_to_f32(((const erg_f16 *)w)[i])
                                     : erg_bf16_to_f32(((const erg_bf16 *)w)[i]);
        part[i % F32_PARTIALS] += wv * a[i];
    }
    float s = 0.0f;
    for (int l = 0; l < F32_PARTIALS; l++)
        s += part[l];
    return s;
}

/* ---- 32-element blocks, Q8A activations --------------------------------- */

/* The 32 quant values of a 4/5-bit block as stored (unsigned); the offset of
 * the symmetric types is applied through the activation sum s. */
static inline void unpack_q4(const uint8_t *qs, int32_t *q) {
    for (int j = 0; j < 16; j++) {
        q[j] = qs[j] & 0x0F;
        q[j + 16] = qs[j] >> 4;
    }
}

static inline void unpack_q5(const uint8_t *qs, const uint8_t *qh_bytes, int32_t *q) {
    uint32_t qh;
    memcpy(&qh, qh_bytes, 4);
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0x0F) | (int32_t)(((qh >> j) & 1u) << 4);
        q[j + 16] = (qs[j] >> 4) | (int32_t)(((qh >> (j + 16)) & 1u) << 4);
    }
}

static inline int32_t dot32(const int32_t *q, const int8_t *a) {
    int32_t s = 0;
    for (int j = 0; j < 32; j++)
        s += q[j] * a[j];
    return s;
}

/* One weight block times one activation block, for the 32-element types:
 * d_w * (d_a * sum q a) + m_w * s_a, where m_w is -8 d_w / -16 d_w for the
 * offset types and the stored minimum for q4_1 / q5_1. */
static inline float dot_q8a_block(erg_dtype t, const uint8_t *wb, const erg_cpu_block_q8a *ab) {
    int32_t q[32];
    float dw, mw;
    switch (t) {
    case ERG_DT_Q4_0: {
        const erg_block_q4_0 *b = (const erg_block_q4_0 *)wb;
        unpack_q4(b->qs, q);
        dw = erg_f16_to_f32(b->d);
        mw = -8.0f * dw;
        break;
    }
    case ERG_DT_Q4_1: {
        const erg_block_q4_1 *b = (const erg_block_q4_1 *)wb;
        unpack_q4(b->qs, q);
        dw = erg_f16_to_f32(b->d);
        mw = erg_f16_to_f32(b->m);
        break;
    }
    case ERG_DT_Q5_0: {
        const erg_block_q5_0 *b = (const erg_block_q5_0 *)wb;
        unpack_q5(b->qs, b->qh, q);
        dw = erg_f16_to_f32(b->d);
        mw = -16.0f * dw;
        break;
    }
    case ERG_DT_Q5_1: {
        const erg_block_q5_1 *b = (const erg_block_q5_1 *)wb;
        unpack_q5(b->qs, b->qh, q);
        dw = erg_f16_to_f32(b->d);
        mw = erg_f16_to_f32(b->m);
        break;
    }
    default: { /* ERG_DT_Q8_0 */
        const erg_block_q8_0 *b = (const erg_block_q8_0 *)wb;
        for (int j = 0; j < 32; j++)
            q[j] = b->qs[j];
        dw = erg_f16_to_f32(b->d);
        mw = 0.0f;
        break;
    }
    }
    return dw * (ab->d * (float)dot32(q, ab->qs)) + mw * ab->s;
}

static inline float dot_q8a_row(erg_dtype t, int64_t k, const uint8_t *w,
                                const erg_cpu_block_q8a *a) {
    size_t bytes = erg_dtype_block_bytes(t);
    float s = 0.0f;
    for (int64_t b = 0; b < k / ERG_QK; b++)
        s += dot_q8a_block(t, w + (size_t)b * bytes, a + b);
    return s;
}

/* ---- K-quants (256-element super-blocks), Q8K activations --------------- */

/* Sum of q[i] * a[i] over n elements: stored (unsigned) values times
 * activations. A plain loop the compiler vectorises. */
static inline int32_t dot_u8(const uint8_t *q, const int8_t *a, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += q[i] * a[i];
    return s;
}

/* q4_k / q5_k super-block: d_a * (d * sum_j sc_j * sum_{i in j} q_i a_i
 *                                 - dmin * sum_j m_j * sum_{i in j} a_i),
 * with the sub-block sums of a taken from bsums. */
static inline float dot_q45k_block(bool five, const uint8_t *wb, const erg_block_q8_k *ab) {
    const uint8_t *scales, *qs, *qh = NULL;
    erg_f16 d16, dmin16;
    if (five) {
        const erg_block_q5_k *b = (const erg_block_q5_k *)wb;
        scales = b->scales, qs = b->qs, qh = b->qh, d16 = b->d, dmin16 = b->dmin;
    } else {
        const erg_block_q4_k *b = (const erg_block_q4_k *)wb;
        scales = b->scales, qs = b->qs, d16 = b->d, dmin16 = b->dmin;
    }
    /* 32 bytes of qs per 64 elements, low nibbles first; bit j of qh[l] is
     * the 5th bit of element 32 j + l */
    uint8_t q[ERG_QK_K];
    for (int j = 0; j < 4; j++)
        for (int l = 0; l < 32; l++) {
            uint8_t x = qs[32 * j + l], h = five ? qh[l] >> (2 * j) : 0;
            q[64 * j + l] = (uint8_t)((x & 0x0F) | (h & 1) << 4);
            q[64 * j + 32 + l] = (uint8_t)((x >> 4) | (h & 2) << 3);
        }
    int32_t sum_q = 0, sum_m = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        erg_k_scale_min(j, scales, &sc, &m);
        sum_q += sc * dot_u8(q + 32 * j, ab->qs + 32 * j, 32);
        sum_m += m * (ab->bsums[2 * j] + ab->bsums[2 * j + 1]);
    }
    return ab->d * (erg_f16_to_f32(d16) * (float)sum_q - erg_f16_to_f32(dmin16) * (float)sum_m);
}

/* q6_k super-block: d_a * d * sum over 16-element groups g of
 * scale_g * sum (q_i - 32) a_i, the offset applied through bsums. */
static inline float dot_q6k_block(const erg_block_q6_k *b, const erg_block_q8_k *ab) {
    /* per 128 elements: ql 64 bytes (low nibbles: elements 0..63, high:
     * 64..127), qh 32 bytes (bits 2p, 2p + 1: top bits of elements 32 p + l) */
    uint8_t q[ERG_QK_K];
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
        uint8_t *o = q + 128 * half;
        for (int l = 0; l < 32; l++) {
            o[l] = (uint8_t)((ql[l] & 0x0F) | (qh[l] << 4 & 0x30));
            o[l + 32] = (uint8_t)((ql[l + 32] & 0x0F) | (qh[l] << 2 & 0x30));
            o[l + 64] = (uint8_t)((ql[l] >> 4) | (qh[l] & 0x30));
            o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (qh[l] >> 2 & 0x30));
        }
    }
    int32_t sum = 0;
    for (int g = 0; g < 16; g++)
        sum += b->scales[g] * (dot_u8(q + 16 * g, ab->qs + 16 * g, 16) - 32 * ab->bsums[g]);
    return ab->d * erg_f16_to_f32(b->d) * (float)sum;
}

static inline float dot_kquant_row(erg_dtype t, int64_t k, const uint8_t *w,
                                   const erg_block_q8_k *a) {
    float s = 0.0f;
    for (int64_t b = 0; b < k / ERG_QK_K; b++) {
        if (t == ERG_DT_Q6_K)
            s += dot_q6k_block((const erg_block_q6_k *)w + b, a + b);
        else if (t == ERG_DT_Q5_K)
            s += dot_q45k_block(true, w + (size_t)b * sizeof(erg_block_q5_k), a + b);
        else
            s += dot_q45k_block(false, w + (size_t)b * sizeof(erg_block_q4_k), a + b);
    }
    return s;
}

/* ---- packed q4_0x8 ------------------------------------------------------------ */

/* The packed layout holds the same bytes: rebuild row r's block and take the
 * plain block's dot product. */
static void gemm_q4_0x8(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                        size_t lda, int64_t nc, float *c, size_t ldc) {
    int64_t nb = k / ERG_QK;
    for (int64_t col = 0; col < nc; col++) {
        const erg_cpu_block_q8a *ac = (const erg_cpu_block_q8a *)((const char *)a + (size_t)col * lda);
        for (int64_t g = 0; g < nr / ERG_CPU_PACK_ROWS; g++) {
            const erg_cpu_block_q4_0x8 *grp =
                (const erg_cpu_block_q4_0x8 *)((const char *)w + (size_t)g * ldw);
            for (int r = 0; r < ERG_CPU_PACK_ROWS; r++) {
                float s = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    erg_block_q4_0 blk;
                    blk.d = grp[b].d[r];
                    for (int q = 0; q < 4; q++)
                        memcpy(blk.qs + 4 * q, grp[b].qs[q][r], 4);
                    s += dot_q8a_block(ERG_DT_Q4_0, (const uint8_t *)&blk, ac + b);
                }
                c[g * ERG_CPU_PACK_ROWS + r + (size_t)col * ldc] = s;
            }
        }
    }
}

/* ---- the gemm entry points ----------------------------------------------- */

static inline void gemm_generic(erg_dtype t, int64_t k, const void *w, size_t ldw, int64_t nr,
                                const void *a, size_t lda, int64_t nc, float *c, size_t ldc) {
    for (int64_t col = 0; col < nc; col++) {
        const void *ac = (const char *)a + (size_t)col * lda;
        for (int64_t r = 0; r < nr; r++) {
            const uint8_t *wr = (const uint8_t *)w + (size_t)r * ldw;
            float v;
            if (t == ERG_DT_F32 || t == ERG_DT_F16 || t == ERG_DT_BF16)
                v = dot_float_row(t, k, wr, ac);
            else if (t == ERG_DT_Q4_K || t == ERG_DT_Q5_K || t == ERG_DT_Q6_K)
                v = dot_kquant_row(t, k, wr, ac);
            else
                v = dot_q8a_row(t, k, wr, ac);
            c[r + (size_t)col * ldc] = v;
        }
    }
}

/* One entry point per type, so the type is a constant inside each. */
#define GEMM_SCALAR(name, type)                                                                    \
    static void gemm_##name(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,       \
                            size_t lda, int64_t nc, float *c, size_t ldc) {                        \
        gemm_generic(type, k, w, ldw, nr, a, lda, nc, c, ldc);                                     \
    }
GEMM_SCALAR(f32, ERG_DT_F32)
GEMM_SCALAR(f16, ERG_DT_F16)
GEMM_SCALAR(bf16, ERG_DT_BF16)
GEMM_SCALAR(q4_0, ERG_DT_Q4_0)
GEMM_SCALAR(q4_1, ERG_DT_Q4_1)
GEMM_SCALAR(q5_0, ERG_DT_Q5_0)
GEMM_SCALAR(q5_1, ERG_DT_Q5_1)
GEMM_SCALAR(q8_0, ERG_DT_Q8_0)
GEMM_SCALAR(q4_k, ERG_DT_Q4_K)
GEMM_SCALAR(q5_k, ERG_DT_Q5_K)
GEMM_SCALAR(q6_k, ERG_DT_Q6_K)
#undef GEMM_SCALAR

void erg_cpu_mm_init_scalar(erg_cpu_kernels *k) {
    k->matmul[ERG_DT_F32] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_f32};
    k->matmul[ERG_DT_F16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_f16};
    k->matmul[ERG_DT_BF16] = (erg_cpu_matmul_kernel){ERG_ACT_F32, gemm_bf16};
    k->matmul[ERG_DT_Q4_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_0};
    k->matmul[ERG_DT_Q4_1] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_1};
    k->matmul[ERG_DT_Q5_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q5_0};
    k->matmul[ERG_DT_Q5_1] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q5_1};
    k->matmul[ERG_DT_Q8_0] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q8_0};
    k->matmul[ERG_DT_Q4_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q4_k};
    k->matmul[ERG_DT_Q5_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q5_k};
    k->matmul[ERG_DT_Q6_K] = (erg_cpu_matmul_kernel){ERG_ACT_Q8K, gemm_q6_k};
    k->matmul_packed[ERG_CPU_PACK_Q4_0X8] = (erg_cpu_matmul_kernel){ERG_ACT_Q8A, gemm_q4_0x8};
}
