/*
 * dtype.h: element types of tensors, with ggml's numbering so that GGUF type
 * ids map one to one, and the block layouts of the quantized types, bit for
 * bit as ggml lays them out (little-endian, no padding).
 *
 * A quantized type stores blocks of block_size elements in type_size bytes;
 * a row of n elements (n a multiple of block_size) takes n / block_size *
 * type_size bytes.
 */
#ifndef ERG_GRAPH_DTYPE_H
#define ERG_GRAPH_DTYPE_H

#include "base/fp16.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum erg_dtype {
    ERG_DT_F32 = 0,
    ERG_DT_F16 = 1,
    ERG_DT_Q4_0 = 2,
    ERG_DT_Q4_1 = 3,
    ERG_DT_Q5_0 = 6,
    ERG_DT_Q5_1 = 7,
    ERG_DT_Q8_0 = 8,
    ERG_DT_Q8_1 = 9,
    ERG_DT_Q2_K = 10,
    ERG_DT_Q3_K = 11,
    ERG_DT_Q4_K = 12,
    ERG_DT_Q5_K = 13,
    ERG_DT_Q6_K = 14,
    ERG_DT_Q8_K = 15,
    ERG_DT_I8 = 24,
    ERG_DT_I16 = 25,
    ERG_DT_I32 = 26,
    ERG_DT_I64 = 27,
    ERG_DT_F64 = 28,
    ERG_DT_BF16 = 30,
    ERG_DT_COUNT = 31
} erg_dtype;

#define ERG_QK 32   /* block size of the legacy quants */
#define ERG_QK_K 256 /* super-block size of the K-quants */
#define ERG_K_SCALE_SIZE 12

typedef struct {
    erg_f16 d;
    uint8_t qs[ERG_QK / 2];
} erg_block_q4_0;

typedef struct {
    erg_f16 d;
    erg_f16 m;
    uint8_t qs[ERG_QK / 2];
} erg_block_q4_1;

typedef struct {
    erg_f16 d;
    uint8_t qh[4];
    uint8_t qs[ERG_QK / 2];
} erg_block_q5_0;

typedef struct {
    erg_f16 d;
    erg_f16 m;
    uint8_t qh[4];
    uint8_t qs[ERG_QK / 2];
} erg_block_q5_1;

typedef struct {
    erg_f16 d;
    int8_t qs[ERG_QK];
} erg_block_q8_0;

typedef struct {
    erg_f16 d;
    erg_f16 s; /* d * sum(qs) */
    int8_t qs[ERG_QK];
} erg_block_q8_1;

typedef struct {
    uint8_t scales[ERG_QK_K / 16];
    uint8_t qs[ERG_QK_K / 4];
    erg_f16 d;
    erg_f16 dmin;
} erg_block_q2_k;

typedef struct {
    uint8_t hmask[ERG_QK_K / 8];
    uint8_t qs[ERG_QK_K / 4];
    uint8_t scales[12];
    erg_f16 d;
} erg_block_q3_k;

typedef struct {
    erg_f16 d;
    erg_f16 dmin;
    uint8_t scales[ERG_K_SCALE_SIZE];
    uint8_t qs[ERG_QK_K / 2];
} erg_block_q4_k;

typedef struct {
    erg_f16 d;
    erg_f16 dmin;
    uint8_t scales[ERG_K_SCALE_SIZE];
    uint8_t qh[ERG_QK_K / 8];
    uint8_t qs[ERG_QK_K / 2];
} erg_block_q5_k;

typedef struct {
    uint8_t ql[ERG_QK_K / 2];
    uint8_t qh[ERG_QK_K / 4];
    int8_t scales[ERG_QK_K / 16];
    erg_f16 d;
} erg_block_q6_k;

typedef struct {
    float d;
    int8_t qs[ERG_QK_K];
    int16_t bsums[ERG_QK_K / 16];
} erg_block_q8_k;

_Static_assert(sizeof(erg_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(erg_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(erg_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(erg_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(erg_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(erg_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(erg_block_q2_k) == 84, "q2_k layout");
_Static_assert(sizeof(erg_block_q3_k) == 110, "q3_k layout");
_Static_assert(sizeof(erg_block_q4_k) == 144, "q4_k layout");
_Static_assert(sizeof(erg_block_q5_k) == 176, "q5_k layout");
_Static_assert(sizeof(erg_block_q6_k) == 210, "q6_k layout");
_Static_assert(sizeof(erg_block_q8_k) == 292, "q8_k layout");

typedef struct erg_dtype_traits {
    const char *name;     /* "f32", "q4_0", "q4_k" … (lower case, as llama.cpp prints) */
    uint32_t block_size;  /* elements per block (1 for plain types) */
    uint32_t type_size;   /* bytes per block */
    bool quantized;
    bool weight_type;     /* erg reads weights of this type (matmul, get_rows) */
} erg_dtype_traits;

/* Bytes of one block of a weight type (the element size of plain types).
 * Inline and a switch, so kernels specialised on a constant type fold it. */
static inline size_t erg_dtype_block_bytes(erg_dtype t) {
    switch (t) {
    case ERG_DT_F32: return 4;
    case ERG_DT_F16: case ERG_DT_BF16: return 2;
    case ERG_DT_Q4_0: return sizeof(erg_block_q4_0);
    case ERG_DT_Q4_1: return sizeof(erg_block_q4_1);
    case ERG_DT_Q5_0: return sizeof(erg_block_q5_0);
    case ERG_DT_Q5_1: return sizeof(erg_block_q5_1);
    case ERG_DT_Q8_0: return sizeof(erg_block_q8_0);
    case ERG_DT_Q4_K: return sizeof(erg_block_q4_k);
    case ERG_DT_Q5_K: return sizeof(erg_block_q5_k);
    case ERG_DT_Q6_K: return sizeof(erg_block_q6_k);
    default: return 0;
    }
}

/* Traits of t, or NULL for an id that is not a known type. */
const erg_dtype_traits *erg_dtype_get(int t);
const char *erg_dtype_name(erg_dtype t);
/* Parses a name as erg_dtype_name writes it (case-insensitive); -1 if unknown. */
int erg_dtype_from_name(const char *name);

/* Bytes of a row of n elements; 0 if n is not a multiple of the block size. */
size_t erg_dtype_row_size(erg_dtype t, int64_t n);

/* Reference dequantisation: the exact value of every element of a row of n
 * elements (n a multiple of the block size). Plain types convert. */
void erg_dequantize_row(erg_dtype t, const void *src, float *dst, int64_t n);

/* The same, in double precision, for the test references. */
void erg_dequantize_row_f64(erg_dtype t, const void *src, double *dst, int64_t n);

/* Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block. */
static inline void erg_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

#endif
