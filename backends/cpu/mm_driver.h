/*
 * mm_driver.h: the matmul driver shared by MATMUL, MATMUL_ADD, MATMUL_SWIGLU
 * and MATMUL_QKV: dst[n, m, b2, b3] = sum_k W[k, n, b2/r2, b3/r3] * X[k, m, b2, b3]
 * for one weight, or for two weights of one type and shape that read the
 * same activations (MATMUL_SWIGLU's gate and up), or for weights of one
 * type and row length stacked (MATMUL_QKV): their rows are cut as one
 * matrix's, never a block across two, and each weight's product is stored
 * contiguous ([N_i, M]) after the previous one's.
 *
 * Phase 0 converts the activation columns X into the format the weight
 * type's kernel reads (8-bit blocks for quantized weights) into the node's
 * scratch, once for both weights: split across threads, or, for a few
 * columns (decode), by every thread for itself so that no barrier is needed.
 * Phase 1 cuts the output into blocks of rows x columns that threads take
 * from a shared counter, runs the kernel on each (weights the device packed
 * use the packed kernel) and hands each finished block to the op's epilogue
 * while it is still in cache.
 *
 * With reference_math, quantized weights are instead dequantised exactly,
 * a few rows at a time, and multiplied in F32 with the F32 activations.
 */
#ifndef ERG_CPU_MM_DRIVER_H
#define ERG_CPU_MM_DRIVER_H

#include "backends/cpu/cpu_ops.h"

typedef struct erg_cpu_mm_weight {
    const erg_tensor *t;
    const char *data;
    const erg_cpu_packed_weight *packed; /* the weight in a packed layout, or NULL */
    erg_cpu_matmul_kernel kern;
} erg_cpu_mm_weight;

typedef struct erg_cpu_mm erg_cpu_mm;

/*
 * Called on each block of the product as soon as it is computed: rows
 * [r0, r0 + nr) x columns [c0, c0 + nc) of batch (b2, b3). y is the block's
 * first element in dst (columns N floats apart) and holds the first weight's
 * product; y2 holds the second weight's (columns nr floats apart), or is NULL.
 */
typedef void (*erg_cpu_mm_epilogue)(const erg_cpu_op_args *a, const erg_cpu_mm *m, int64_t b2,
                                    int64_t b3, int64_t r0, int64_t nr, int64_t c0, int64_t nc,
                                    float *y, const float *y2);

struct erg_cpu_mm {
    erg_cpu_mm_weight w[3];
    int n_w;
    bool stacked;     /* the weights' rows are stacked (MATMUL_QKV) */
    int64_t row0[4];  /* weight i's rows are [row0[i], row0[i + 1]) (one weight: [0, N)) */
    const erg_tensor *x, *y;
    const char *xd;
    char *yd;
    int64_t K, N, M, B2, B3, r2, r3;
    bool reference;   /* dequantise rows, F32 activations */
    bool convert;     /* phase 0 converts the activations */
    bool private_act; /* few columns: each thread converts them all for itself */
    erg_cpu_act_format act_format;
    size_t act_row;   /* bytes of one converted activation column */
    erg_cpu_mm_epilogue epilogue; /* NULL: none */
};

/* The product of weights w_ids[0..n_w) (src ids; two: the same type and
 * shape) with the node's src1, into its dst. */
void erg_cpu_mm_init(erg_cpu_mm *m, const erg_cpu_op_args *a, int n_w, const int32_t *w_ids,
                     erg_cpu_mm_epilogue epilogue);
/* The products of n_w (up to 3) 2-D weights of one type and row length
 * with the node's 2-D src1, stacked: into the node's flat dst, one after
 * another. */
void erg_cpu_mm_init_stacked(erg_cpu_mm *m, const erg_cpu_op_args *a, int n_w,
                             const int32_t *w_ids);

/* The erg_cpu_op entries of a matmul-like op, given its erg_cpu_mm. */
size_t erg_cpu_mm_work_size(const erg_cpu_op_args *a, const erg_cpu_mm *m);
bool erg_cpu_mm_phase_barrier(const erg_cpu_mm *m);
void erg_cpu_mm_run(const erg_cpu_op_args *a, const erg_cpu_mm *m, int phase);
/* Whether the kernels multiply weights of w's dtype. */
bool erg_cpu_mm_supports(const erg_tensor *w, const erg_cpu_kernels *k, erg_diag *why);

#define ERG_CPU_MM_PHASES 2

#endif
