/*
 * model.h: a loaded model: its GGUF file, its architecture and
 * hyperparameters, and where each weight is. Loading validates everything a
 * graph builder relies on (names, shapes, dtypes), so building never meets a
 * surprise. See docs/architectures.md for the keys and tensors.
 */
#ifndef ERG_MODEL_MODEL_H
#define ERG_MODEL_MODEL_H

#include "graph/ir.h"
#include "model/gguf.h"

typedef enum erg_arch { ERG_ARCH_LLAMA, ERG_ARCH_QWEN2, ERG_ARCH_QWEN3, ERG_ARCH_COUNT } erg_arch;

typedef struct erg_hparams {
    erg_arch arch;
    uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv;
    uint32_t head_dim, head_dim_v; /* of Q/K and of V */
    uint32_t n_ff, n_ctx_train, n_rot;
    float rms_eps, rope_freq_base, rope_freq_scale;
    erg_rope_mode rope_mode;
    bool qkv_bias;  /* qwen2 */
    bool qk_norm;   /* qwen3 */
} erg_hparams;

/* Index (into the GGUF tensor table) of each weight of a layer; -1 absent. */
typedef struct erg_layer_weights {
    int32_t attn_norm, wq, wk, wv, wo, bq, bk, bv, q_norm, k_norm;
    int32_t ffn_norm, ffn_gate, ffn_up, ffn_down;
} erg_layer_weights;

typedef struct erg_model_data {
    const erg_allocator *alloc;
    erg_gguf *gguf;
    erg_hparams hp;
    int32_t tok_embd, output_norm, output, rope_freqs; /* output -1: tied to tok_embd */
    erg_layer_weights *layers;
    uint64_t n_params, weight_bytes;
} erg_model_data;

/* Opens a GGUF file and validates it as a model. */
erg_status erg_model_data_open(const erg_allocator *alloc, const char *path, bool no_mmap,
                               erg_model_data **out, erg_diag *diag);
/* Validates an opened GGUF as a model; takes ownership of gguf either way. */
erg_status erg_model_data_from_gguf(const erg_allocator *alloc, erg_gguf *gguf,
                                    erg_model_data **out, erg_diag *diag);
void erg_model_data_free(erg_model_data *m);

const char *erg_arch_name(erg_arch arch);
/* Parses an architecture name; -1 if unsupported. */
int erg_arch_parse(const char *name);
/* "llama, qwen2, qwen3" */
const char *erg_arch_supported_list(void);

#endif
