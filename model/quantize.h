/*
 * quantize.h: converting F32 weights into the quantized types, the way
 * llama.cpp's reference quantisers do (same block layouts, same rounding and
 * scale search), and choosing each tensor's type for a file type the way
 * llama-quantize does.
 */
#ifndef ERG_MODEL_QUANTIZE_H
#define ERG_MODEL_QUANTIZE_H

#include "base/alloc.h"
#include "base/diag.h"
#include "graph/dtype.h"

#include <stdbool.h>
#include <stdint.h>

/* Whether erg can write weights of type t (f32, f16, bf16, q4_0, q4_1,
 * q5_0, q5_1, q8_0, q4_k, q5_k, q6_k). */
bool erg_quantize_supported(erg_dtype t);

/* Converts n_rows rows of n_per_row floats into type t (n_per_row a multiple
 * of t's block size). Returns the bytes written (n_rows * row size). */
size_t erg_quantize_rows(erg_dtype t, const float *src, void *dst, int64_t n_rows,
                         int64_t n_per_row);

/* Row quantisers, one per type, as llama.cpp's quantize_row_<type>_ref: k
 * floats (a multiple of the block size) into k / block_size blocks at dst
 * (any alignment). erg_quantize_rows dispatches to these. */
void erg_quantize_row_q4_0(const float *x, void *dst, int64_t k);
void erg_quantize_row_q4_1(const float *x, void *dst, int64_t k);
void erg_quantize_row_q5_0(const float *x, void *dst, int64_t k);
void erg_quantize_row_q5_1(const float *x, void *dst, int64_t k);
void erg_quantize_row_q8_0(const float *x, void *dst, int64_t k);
void erg_quantize_row_q4_k(const float *x, void *dst, int64_t k);
void erg_quantize_row_q5_k(const float *x, void *dst, int64_t k);
void erg_quantize_row_q6_k(const float *x, void *dst, int64_t k);

/* Packs the eight 6-bit scales and mins (each 0..63) of a Q4_K/Q5_K block
 * into the 12 bytes that erg_k_scale_min unpacks. */
void erg_k_pack_scale_min(const uint8_t sc[8], const uint8_t m[8],
                          uint8_t out[ERG_K_SCALE_SIZE]);

/* llama.cpp's file types (general.file_type). */
typedef enum erg_ftype {
    ERG_FTYPE_ALL_F32 = 0,
    ERG_FTYPE_MOSTLY_F16 = 1,
    ERG_FTYPE_MOSTLY_Q4_0 = 2,
    ERG_FTYPE_MOSTLY_Q4_1 = 3,
    ERG_FTYPE_MOSTLY_Q8_0 = 7,
    ERG_FTYPE_MOSTLY_Q5_0 = 8,
    ERG_FTYPE_MOSTLY_Q5_1 = 9,
    ERG_FTYPE_MOSTLY_Q4_K_S = 14,
    ERG_FTYPE_MOSTLY_Q4_K_M = 15,
    ERG_FTYPE_MOSTLY_Q5_K_S = 16,
    ERG_FTYPE_MOSTLY_Q5_K_M = 17,
    ERG_FTYPE_MOSTLY_Q6_K = 18,
    ERG_FTYPE_MOSTLY_BF16 = 32
} erg_ftype;

/* Parses "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
 * "q4_k" (= q4_k_m), "q4_k_s", "q4_k_m", "q5_k" (= q5_k_m), "q5_k_s",
 * "q5_k_m", "q6_k" (case-insensitive); -1 if unknown. */
int erg_ftype_parse(const char *name);
const char *erg_ftype_name(erg_ftype ftype);
/* The type most matrices get. */
erg_dtype erg_ftype_base_type(erg_ftype ftype);

/*
 * Per-file state of the type choice: llama-quantize walks the tensors in
 * order and counts attn_v / ffn_down tensors to decide which layers get more
 * bits. erg_quant_plan_init fills it from the tensor names; set llama_70b
 * after it where it applies, then call erg_quant_choose_type for every tensor
 * in the order llama-quantize writes them (by layer, see erg_quantize_file).
 */
typedef struct erg_quant_plan {
    erg_ftype ftype;
    int n_layer;
    bool has_output;    /* the file has output.weight (else the embedding is tied) */
    bool llama_70b;     /* llama.cpp's LLM_TYPE_70B: arch llama, 80 layers, n_head_kv < n_head */
    int n_attention_wv; /* attn_v tensors, counted by erg_quant_plan_init */
    int n_ffn_down;     /* = n_layer, as llama.cpp sets it */
    int i_attention_wv; /* running counters */
    int i_ffn_down;
} erg_quant_plan;

/* Initialises a plan; names are all tensor names of the file (for counting). */
void erg_quant_plan_init(erg_quant_plan *plan, erg_ftype ftype, int n_layer,
                         const char *const *names, int n_names);

/* The type llama-quantize gives tensor `name` of shape ne[0..n_dims-1] whose
 * source type is src_type. 1-D tensors and non-weights keep their type
 * (F32), as do tensors llama.cpp never quantizes. A K-quant choice for a
 * tensor whose rows are not a multiple of 256 falls back the way llama.cpp
 * does (q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0), and to F16 where rows are
 * not even a multiple of 32. */
erg_dtype erg_quant_choose_type(erg_quant_plan *plan, const char *name, int n_dims,
                                const int64_t *ne, erg_dtype src_type);

/* Converts a GGUF file of F32/F16/BF16 weights to ftype, as llama-quantize
 * does: same keys (general.file_type updated), same tensor order, types from
 * erg_quant_choose_type. Uses n_threads threads (0: 1). */
erg_status erg_quantize_file(const erg_allocator *alloc, const char *in_path,
                             const char *out_path, erg_ftype ftype, int n_threads,
                             erg_diag *diag);

#endif
