/*
 * build_graph.h: turning a model into the graph of one evaluation step:
 * n_tokens new tokens after n_past tokens already in the KV cache.
 */
#ifndef ERG_MODEL_BUILD_GRAPH_H
#define ERG_MODEL_BUILD_GRAPH_H

#include "model/model.h"

/* The KV cache the graph reads and appends to, one K and one V buffer per
 * layer: K is [head_dim, n_ctx, n_head_kv] (each head's positions together,
 * so attention streams one block per head); V is stored transposed,
 * [n_ctx, n_head_kv * head_dim_v] (a row per feature), so the product with
 * the attention weights reads contiguous rows too. */
typedef struct erg_kv_cache {
    erg_dtype dtype; /* F16 or F32 */
    uint32_t n_ctx;
    void **k;
    void **v;
} erg_kv_cache;

typedef struct erg_build_params {
    uint32_t n_tokens;
    uint32_t n_past;
    uint32_t n_logits; /* 0, 1 (the last token) or n_tokens */
    const erg_kv_cache *kv;
} erg_build_params;

typedef struct erg_build_result {
    int32_t tokens;    /* I32 [n_tokens] input: token ids */
    int32_t positions; /* I32 [n_tokens] input: n_past, n_past + 1, … */
    int32_t logits;    /* F32 [n_vocab, n_logits] output, -1 if n_logits = 0 */
} erg_build_result;

/* Builds the step into g (cleared first). Weights are bound to the model's
 * data; inputs are left for the caller to place and fill. */
erg_status erg_model_build_graph(const erg_model_data *m, const erg_build_params *p, erg_graph *g,
                                 erg_build_result *out, erg_diag *diag);

/* Bytes of one layer's K or V cache. */
size_t erg_kv_layer_bytes(const erg_hparams *hp, erg_dtype dtype, uint32_t n_ctx, bool v);

#endif
