/*
 * kernels.h: the CPU backend's kernel table.
 *
 * One table per SIMD level. A level starts as a copy of the level below it
 * and overrides what it does better (x86-64: scalar <- avx2 <- avx512 <-
 * avx512vnni; AArch64: scalar <- neon <- dotprod), so every entry is always
 * set. The level is picked at run time from the CPU's features, or forced
 * with ERG_CPU_FEATURES, so one binary runs on any x86-64 (or AArch64) and
 * tests cover every path the machine can execute.
 *
 * Kernels work on contiguous rows; the ops (op_*.c) handle strides,
 * broadcasting and threading.
 */
#ifndef ERG_CPU_KERNELS_H
#define ERG_CPU_KERNELS_H

#include "graph/dtype.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum erg_cpu_level {
    ERG_CPU_SCALAR = 0,
    ERG_CPU_AVX2,       /* AVX2 + FMA + F16C */
    ERG_CPU_AVX512,     /* AVX-512 F, BW, VL, DQ */
    ERG_CPU_AVX512VNNI, /* AVX-512 + VNNI */
    ERG_CPU_NEON,       /* AArch64 Advanced SIMD */
    ERG_CPU_DOTPROD,    /* NEON + the ARMv8.2 dot product (SDOT) */
    ERG_CPU_LEVEL_COUNT
} erg_cpu_level;

/*
 * Activation formats the matmul kernels read. Before a matmul, the F32
 * activation columns are converted into the format the weight type asks for
 * (kernels.act_format), one column of k elements at a time.
 */
typedef enum erg_cpu_act_format {
    ERG_ACT_F32 = 0, /* k floats */
    ERG_ACT_Q8A,     /* k/32 erg_cpu_block_q8a */
    ERG_ACT_Q8K      /* k/256 erg_block_q8_k (graph/dtype.h) */
} erg_cpu_act_format;

/* Activation block for the 32-element weight types: x[i] ~= d * qs[i],
 * qs in -127..127, d = max|x| / 127, s = d * sum(qs). */
typedef struct erg_cpu_block_q8a {
    float d;
    float s;
    int8_t qs[32];
} erg_cpu_block_q8a;

_Static_assert(sizeof(erg_cpu_block_q8a) == 40, "q8a layout");

/* Bytes of one activation column of k elements in format f. */
size_t erg_cpu_act_row_size(erg_cpu_act_format f, int64_t k);

/*
 * gemm: c[r + col * ldc] = sum_i W[r][i] * A[col][i]
 *   for r in [0, nr), col in [0, nc).
 * W row r starts at (const char *)w + r * ldw and holds k elements of the
 * weight type; A column col starts at (const char *)a + col * lda and holds
 * k elements in the weight type's activation format. k is a multiple of the
 * weight type's block size. nr and nc are any positive counts; a kernel tiles
 * internally and handles the remainders.
 */
typedef void (*erg_cpu_gemm_fn)(int64_t k, const void *w, size_t ldw, int64_t nr, const void *a,
                                size_t lda, int64_t nc, float *c, size_t ldc);

/*
 * Packed weight layouts: the CPU backend's own copy of a weight matrix in
 * an order its kernels read faster (made once per model, cpu_weights.c).
 *
 * q4_0x8: q4_0 rows interleaved by groups of 8. For each block index b a
 * 144-byte group holds the 8 rows' scales, then 4 chunks of 32 bytes, chunk
 * c holding bytes 4c..4c+3 of each row's qs (row 0 first). The low nibbles
 * of a chunk are elements 4c..4c+3 of the 8 rows, the high nibbles elements
 * 16+4c..16+4c+3: one load and a mask give 8 rows x 4 values, which meet a
 * broadcast of 4 activation values.
 *
 * q8_0x8: q8_0 rows interleaved the same way: a 272-byte group holds the 8
 * rows' scales, then 8 chunks of 32 bytes, chunk c holding bytes 4c..4c+3
 * (elements 4c..4c+3) of each row's qs, row 0 first.
 *
 * q4_kx8: q4_k rows interleaved by 8 per super-block, with the 6-bit scales
 * and minimums unpacked to bytes (32 bytes more than the 8 plain blocks): d
 * and dmin of the 8 rows, scales[j][r] of sub-block j (32 elements),
 * mins[p][r][i] of sub-block 2p + i, then for each pair p of sub-blocks 8
 * chunks of 32 bytes, chunk c holding bytes 32p + 4c .. 32p + 4c + 3 of
 * each row's qs: low nibbles elements 4c.. of sub-block 2p, high nibbles
 * those of sub-block 2p + 1.
 *
 * A packed layout's kernel reads the activation format of its weight type's
 * plain kernel (the matmul driver converts activations once for both).
 */
typedef enum erg_cpu_pack {
    ERG_CPU_PACK_NONE = 0,
    ERG_CPU_PACK_Q4_0X8,
    ERG_CPU_PACK_Q8_0X8,
    ERG_CPU_PACK_Q4_KX8,
    ERG_CPU_PACK_COUNT
} erg_cpu_pack;

#define ERG_CPU_PACK_ROWS 8

typedef struct erg_cpu_block_q4_0x8 {
    erg_f16 d[ERG_CPU_PACK_ROWS];
    uint8_t qs[4][ERG_CPU_PACK_ROWS][4];
} erg_cpu_block_q4_0x8;

_Static_assert(sizeof(erg_cpu_block_q4_0x8) == 8 * sizeof(erg_block_q4_0), "q4_0x8 layout");

typedef struct erg_cpu_block_q8_0x8 {
    erg_f16 d[ERG_CPU_PACK_ROWS];
    int8_t qs[8][ERG_CPU_PACK_ROWS][4];
} erg_cpu_block_q8_0x8;

_Static_assert(sizeof(erg_cpu_block_q8_0x8) == 8 * sizeof(erg_block_q8_0), "q8_0x8 layout");

typedef struct erg_cpu_block_q4_kx8 {
    erg_f16 d[ERG_CPU_PACK_ROWS];
    erg_f16 dmin[ERG_CPU_PACK_ROWS];
    uint8_t scales[8][ERG_CPU_PACK_ROWS];
    uint8_t mins[4][ERG_CPU_PACK_ROWS][2];
    uint8_t qs[4][8][ERG_CPU_PACK_ROWS][4];
} erg_cpu_block_q4_kx8;

_Static_assert(sizeof(erg_cpu_block_q4_kx8) == 8 * sizeof(erg_block_q4_k) + 32, "q4_kx8 layout");

typedef struct erg_cpu_matmul_kernel {
    erg_cpu_act_format act_format;
    erg_cpu_gemm_fn gemm; /* NULL: weight type not supported */
} erg_cpu_matmul_kernel;

typedef struct erg_cpu_kernels {
    erg_cpu_level level;
    const char *name; /* "scalar", "avx2", "avx512", "avx512vnni", "neon", "dotprod" */

    /* Matmul, per weight dtype (index = erg_dtype). */
    erg_cpu_matmul_kernel matmul[ERG_DT_COUNT];
    /* Matmul on packed weights, per layout. Rows come in groups of 8: w is
     * the first group of the rows [r0, r0 + nr), nr a multiple of 8, and ldw
     * the bytes of one group. */
    erg_cpu_matmul_kernel matmul_packed[ERG_CPU_PACK_COUNT];

    /* Activation quantisers: k floats -> format (k a multiple of 32 / 256). */
    void (*quantize_q8a)(const float *x, void *y, int64_t k);
    void (*quantize_q8k)(const float *x, void *y, int64_t k);

    /* Row conversion of any weight type to F32 (exact), for get_rows and the
     * reference path. NULL for a type the level cannot convert. */
    void (*to_f32[ERG_DT_COUNT])(const void *x, float *y, int64_t k);
    /* F32 -> F16 / BF16 (round to nearest even), for KV-cache writes. */
    void (*f32_to_f16)(const float *x, erg_f16 *y, int64_t n);
    void (*f32_to_bf16)(const float *x, erg_bf16 *y, int64_t n);

    /* Elementwise, on rows of n floats; y may alias x (in place). */
    void (*add)(int64_t n, float *y, const float *a, const float *b);
    void (*mul)(int64_t n, float *y, const float *a, const float *b);
    void (*scale)(int64_t n, float *y, const float *x, float s);
    void (*silu)(int64_t n, float *y, const float *x);
    void (*gelu)(int64_t n, float *y, const float *x);
    void (*swiglu)(int64_t n, float *y, const float *gate, const float *up);

    /* Reductions */
    float (*dot_f32)(int64_t n, const float *x, const float *y);
    double (*sum_sq)(int64_t n, const float *x);          /* sum of x^2 */
    float (*max)(int64_t n, const float *x);
    /* y = exp(x * scale - m), returns the sum of y (m: the max of x*scale) */
    double (*exp_sum)(int64_t n, float *y, const float *x, float scale, float m);
} erg_cpu_kernels;

/* The table of a level (built once, then read-only), or NULL if this build
 * or this CPU cannot run that level. */
const erg_cpu_kernels *erg_cpu_kernels_for(erg_cpu_level level);

/* Whether the CPU we run on can execute the level. */
bool erg_cpu_level_supported(erg_cpu_level level, uint32_t cpu_features);
/* The best level the CPU supports. */
erg_cpu_level erg_cpu_level_best(uint32_t cpu_features);
const char *erg_cpu_level_name(erg_cpu_level level);
/* Parses "scalar", "avx2", … ; -1 if unknown. */
int erg_cpu_level_parse(const char *name);

/* Per-level table initialisers. Each fills the entries its level overrides
 * and is called on a copy of the level below. The kernels of a level live in
 * two files compiled with that level's target flags only:
 *   vec_<level>.c  elementwise, reductions, conversions, activation quantisers
 *   mm_<level>.c   matmul kernels for every weight type
 * The x86 levels exist only in x86-64 builds, the ARM levels (vec_neon.c,
 * mm_neon.c, mm_neon_dotprod.c) only in AArch64 builds; other targets run
 * scalar. */
#define ERG_CPU_LEVEL_INITS(X) X(scalar) X(avx2) X(avx512) X(avx512vnni) X(neon) X(dotprod)
#define ERG_CPU_DECLARE_INIT_(lvl)                                                      \
    void erg_cpu_vec_init_##lvl(erg_cpu_kernels *k);                                    \
    void erg_cpu_mm_init_##lvl(erg_cpu_kernels *k);
ERG_CPU_LEVEL_INITS(ERG_CPU_DECLARE_INIT_)
#undef ERG_CPU_DECLARE_INIT_

#endif
