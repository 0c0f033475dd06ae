/*
 * builder.h: building graphs. Each call appends tensors/nodes and returns the
 * id of the tensor it defines, or -1 after the graph's first error (then it
 * does nothing). Shape errors are reported with the op and the shapes.
 */
#ifndef ERG_GRAPH_BUILDER_H
#define ERG_GRAPH_BUILDER_H

#include "graph/ir.h"

/* Leaves */
int32_t erg_gb_weight(erg_graph *g, const char *name, erg_dtype dt, int n_dims, const int64_t *ne,
                      int32_t model_index, const void *data);
int32_t erg_gb_input(erg_graph *g, const char *name, erg_dtype dt, int n_dims, const int64_t *ne);
int32_t erg_gb_state(erg_graph *g, const char *name, erg_dtype dt, int n_dims, const int64_t *ne,
                     int32_t slot, void *data);

/* Ops */
int32_t erg_gb_get_rows(erg_graph *g, int32_t table, int32_t ids);
int32_t erg_gb_matmul(erg_graph *g, int32_t w, int32_t x);
int32_t erg_gb_add(erg_graph *g, int32_t a, int32_t b);
int32_t erg_gb_mul(erg_graph *g, int32_t a, int32_t b);
int32_t erg_gb_scale(erg_graph *g, int32_t a, float s);
int32_t erg_gb_rms_norm(erg_graph *g, int32_t a, float eps);
int32_t erg_gb_rope(erg_graph *g, int32_t a, int32_t positions, int32_t freq_factors /* -1 */,
                    int n_dims, erg_rope_mode mode, float freq_base, float freq_scale);
int32_t erg_gb_softmax(erg_graph *g, int32_t a, float scale, bool causal, int32_t n_past);
int32_t erg_gb_silu(erg_graph *g, int32_t a);
int32_t erg_gb_gelu(erg_graph *g, int32_t a);
int32_t erg_gb_swiglu(erg_graph *g, int32_t gate, int32_t up);
/* Writes src (F32, any strides) into dst_view (a view of a state tensor of the
 * same shape, F32/F16/BF16 with contiguous rows); returns a view tensor
 * aliasing dst_view. */
int32_t erg_gb_cpy(erg_graph *g, int32_t src, int32_t dst_view);
/* A contiguous F32 (or other dtype) copy of a possibly strided tensor. */
int32_t erg_gb_cont(erg_graph *g, int32_t a, erg_dtype dt);

/* Fused ops (the fusion passes make them; tests build them directly). */
int32_t erg_gb_rms_norm_mul(erg_graph *g, int32_t a, int32_t w, float eps);
int32_t erg_gb_matmul_add(erg_graph *g, int32_t w, int32_t x, int32_t addend);
int32_t erg_gb_matmul_swiglu(erg_graph *g, int32_t w_gate, int32_t x, int32_t w_up);
/* The three products Wq x, Wk x, Wv x stored one after another (flat F32). */
int32_t erg_gb_matmul_qkv(erg_graph *g, int32_t wq, int32_t x, int32_t wk, int32_t wv);
/* ROPE of a written into dst_view (as erg_gb_cpy); returns a view aliasing it. */
int32_t erg_gb_rope_store(erg_graph *g, int32_t a, int32_t positions, int32_t freq_factors,
                          int32_t dst_view, int n_dims, erg_rope_mode mode, float freq_base,
                          float freq_scale);
/* q [D, nt, H], k [D, n_kv, Hkv], v [n_kv, Dv, Hkv] -> [Dv, H, nt]. */
int32_t erg_gb_attention(erg_graph *g, int32_t q, int32_t k, int32_t v, float scale, bool causal,
                         int32_t n_past);
/* The same with q rotated first as erg_gb_rope would rotate it (positions:
 * one per token of q; freq_factors: -1 for none). */
int32_t erg_gb_attention_rope(erg_graph *g, int32_t q, int32_t k, int32_t v, float scale,
                              bool causal, int32_t n_past, int32_t positions, int32_t freq_factors,
                              int n_dims, erg_rope_mode mode, float freq_base, float freq_scale);
/* Sets every element of a (contiguous F32) to value; returns a view aliasing a. */
int32_t erg_gb_fill(erg_graph *g, int32_t a, float value);

/* Views. `dep` is an ordering-only dependency or -1. */
int32_t erg_gb_reshape(erg_graph *g, int32_t a, int n_dims, const int64_t *ne);
int32_t erg_gb_view(erg_graph *g, int32_t a, int32_t dep, int n_dims, const int64_t *ne,
                    const size_t *nb, size_t offset);
/* axes[i]: where source dim i goes in the result (like ggml_permute). */
int32_t erg_gb_permute(erg_graph *g, int32_t a, int ax0, int ax1, int ax2, int ax3);

/* Names the tensor (printf-style), returns id. */
int32_t erg_gb_name(erg_graph *g, int32_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void erg_gb_mark_output(erg_graph *g, int32_t id);

#endif
