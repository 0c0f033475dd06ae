/*
 * quant_plan.c: file-type names and the per-tensor type choice of
 * llama-quantize (llama_tensor_get_type in llama.cpp's src/llama-quant.cpp),
 * for the file types in erg_ftype and Llama-family tensor names.
 *
 * For these file types llama.cpp's n_gqa() >= 4 rules do not apply (they
 * are for Q2_K, Q3_K and the IQ types), nor do its MoE (n_expert) and Falcon
 * rules; the 70B rule does, through plan->llama_70b.
 */
#include "model/quantize.h"

#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    erg_ftype ftype;
    erg_dtype base;
} ftypes[] = {
    {"f32", ERG_FTYPE_ALL_F32, ERG_DT_F32},
    {"f16", ERG_FTYPE_MOSTLY_F16, ERG_DT_F16},
    {"bf16", ERG_FTYPE_MOSTLY_BF16, ERG_DT_BF16},
    {"q8_0", ERG_FTYPE_MOSTLY_Q8_0, ERG_DT_Q8_0},
    {"q4_0", ERG_FTYPE_MOSTLY_Q4_0, ERG_DT_Q4_0},
    {"q4_1", ERG_FTYPE_MOSTLY_Q4_1, ERG_DT_Q4_1},
    {"q5_0", ERG_FTYPE_MOSTLY_Q5_0, ERG_DT_Q5_0},
    {"q5_1", ERG_FTYPE_MOSTLY_Q5_1, ERG_DT_Q5_1},
    {"q4_k_s", ERG_FTYPE_MOSTLY_Q4_K_S, ERG_DT_Q4_K},
    {"q4_k_m", ERG_FTYPE_MOSTLY_Q4_K_M, ERG_DT_Q4_K},
    {"q5_k_s", ERG_FTYPE_MOSTLY_Q5_K_S, ERG_DT_Q5_K},
    {"q5_k_m", ERG_FTYPE_MOSTLY_Q5_K_M, ERG_DT_Q5_K},
    {"q6_k", ERG_FTYPE_MOSTLY_Q6_K, ERG_DT_Q6_K},
};
#define N_FTYPES (sizeof ftypes / sizeof ftypes[0])

int erg_ftype_parse(const char *name) {
    if (!name)
        return -1;
    /* as in llama-quantize, the bare K names mean the medium mix */
    if (strcasecmp(name, "q4_k") == 0)
        return ERG_FTYPE_MOSTLY_Q4_K_M;
    if (strcasecmp(name, "q5_k") == 0)
        return ERG_FTYPE_MOSTLY_Q5_K_M;
    for (size_t i = 0; i < N_FTYPES; i++)
        if (strcasecmp(name, ftypes[i].name) == 0)
            return (int)ftypes[i].ftype;
    return -1;
}

const char *erg_ftype_name(erg_ftype ftype) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ftype == ftype)
            return ftypes[i].name;
    return "unknown";
}

/* llama_ftype_get_default_type; F32 for a value outside erg_ftype. */
erg_dtype erg_ftype_base_type(erg_ftype ftype) {
    for (size_t i = 0; i < N_FTYPES; i++)
        if (ftypes[i].ftype == ftype)
            return ftypes[i].base;
    return ERG_DT_F32;
}

static bool contains(const char *s, const char *part) { return strstr(s, part) != NULL; }

/* llama.cpp's tensor categories that have rules for these file types,
 * matched on the same names and substrings in the same order. */
typedef enum { CAT_OUTPUT, CAT_TOKEN_EMBD, CAT_ATTN_V, CAT_FFN_DOWN, CAT_OTHER } category;

static category category_of(const char *name) {
    if (strcmp(name, "output.weight") == 0)
        return CAT_OUTPUT;
    if (strcmp(name, "token_embd.weight") == 0)
        return CAT_TOKEN_EMBD;
    if (contains(name, "attn_v.weight"))
        return CAT_ATTN_V;
    /* attn_k/q/output and ffn_up/gate get no rule for these file types */
    if (contains(name, "ffn_up") || contains(name, "ffn_gate"))
        return CAT_OTHER;
    if (contains(name, "ffn_down"))
        return CAT_FFN_DOWN;
    return CAT_OTHER;
}

void erg_quant_plan_init(erg_quant_plan *plan, erg_ftype ftype, int n_layer,
                         const char *const *names, int n_names) {
    memset(plan, 0, sizeof *plan);
    plan->ftype = ftype;
    plan->n_layer = n_layer;
    for (int i = 0; i < n_names; i++) {
        if (!names[i])
            continue;
        category c = category_of(names[i]);
        plan->n_attention_wv += c == CAT_ATTN_V;
        plan->has_output |= c == CAT_OUTPUT;
    }
    /* llama.cpp counts attn_v tensors but takes n_ffn_down from the layer count */
    plan->n_ffn_down = n_layer;
}

/* llama.cpp's use_more_bits: the first and last eighth of the layers and
 * every third layer in between. */
static bool use_more_bits(int i_layer, int n_layers) {
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
           (i_layer - n_layers / 8) % 3 == 2;
}

/* ggml_n_dims: the number of dimensions up to the last one larger than 1. */
static int effective_dims(int n_dims, const int64_t *ne) {
    for (int i = n_dims - 1; i >= 1; i--)
        if (ne[i] > 1)
            return i + 1;
    return 1;
}

/* tensor_allows_quantization, for the names a Llama-family file has (the
 * other exclusions there are for MoE routers, BERT, Mamba, RWKV, T5 and
 * vision tensors). rope_freqs.weight is 1-D and so never quantized. */
static bool allows_quantization(const char *name, int n_dims, const int64_t *ne) {
    size_t len = strlen(name);
    if (effective_dims(n_dims, ne) < 2) /* only matrices (and 3-D expert stacks) */
        return false;
    if (len < 6 || strcmp(name + len - 6, "weight") != 0) /* biases and others stay */
        return false;
    return !contains(name, "_norm.weight"); /* norms stay F32 */
}

/* llama_tensor_get_type_impl for the K and legacy file types. */
static erg_dtype mix_type(erg_quant_plan *p, category cat, erg_dtype t, int64_t ncols) {
    const erg_ftype f = p->ftype;
    if (cat == CAT_OUTPUT || (cat == CAT_TOKEN_EMBD && !p->has_output)) {
        /* output (or the tied embedding): Q8_0 if rows do not fit the file's
         * block size, Q8_0 files keep Q8_0, everything else Q6_K */
        const erg_dtype_traits *tr = erg_dtype_get((int)t);
        if (ncols % tr->block_size != 0)
            return ERG_DT_Q8_0;
        return t == ERG_DT_Q8_0 ? ERG_DT_Q8_0 : ERG_DT_Q6_K;
    }
    if (cat == CAT_ATTN_V) {
        int i = p->i_attention_wv++;
        /* Q4_K_M / Q5_K_M: Q6_K in the use_more_bits layers */
        if ((f == ERG_FTYPE_MOSTLY_Q4_K_M || f == ERG_FTYPE_MOSTLY_Q5_K_M) &&
            use_more_bits(i, p->n_attention_wv))
            t = ERG_DT_Q6_K;
        /* Q4_K_S: Q5_K in the first four attn_v tensors */
        else if (f == ERG_FTYPE_MOSTLY_Q4_K_S && i < 4)
            t = ERG_DT_Q5_K;
        /* LLM_TYPE_70B (8 query heads per KV head): attn_v is small, Q4_K -> Q5_K */
        if (p->llama_70b && (t == ERG_DT_Q3_K || t == ERG_DT_Q4_K))
            t = ERG_DT_Q5_K;
        return t;
    }
    if (cat == CAT_FFN_DOWN) {
        int i = p->i_ffn_down++;
        /* Q4_K_M / Q5_K_M: Q6_K in the use_more_bits layers */
        if ((f == ERG_FTYPE_MOSTLY_Q4_K_M || f == ERG_FTYPE_MOSTLY_Q5_K_M) &&
            use_more_bits(i, p->n_ffn_down))
            t = ERG_DT_Q6_K;
        /* Q4_K_S: Q5_K in the first eighth of the layers */
        else if (f == ERG_FTYPE_MOSTLY_Q4_K_S && i < p->n_ffn_down / 8)
            t = ERG_DT_Q5_K;
        return t;
    }
    return t;
}

/* tensor_type_fallback: K-quant rows must be whole super-blocks. */
static erg_dtype fallback(erg_dtype t, int64_t ncols) {
    const erg_dtype_traits *tr = erg_dtype_get((int)t);
    if (ncols % tr->block_size == 0)
        return t;
    switch (t) {
    case ERG_DT_Q4_K: t = ERG_DT_Q5_0; break;
    case ERG_DT_Q5_K: t = ERG_DT_Q5_1; break;
    case ERG_DT_Q6_K: t = ERG_DT_Q8_0; break;
    default: break; /* legacy types: straight to F16 (the newest llama.cpp refuses instead) */
    }
    /* rows not even a multiple of 32: F16, llama.cpp's "unusual shape" case */
    tr = erg_dtype_get((int)t);
    return ncols % tr->block_size == 0 ? t : ERG_DT_F16;
}

erg_dtype erg_quant_choose_type(erg_quant_plan *plan, const char *name, int n_dims,
                                const int64_t *ne, erg_dtype src_type) {
    if (!name || n_dims < 1 || !allows_quantization(name, n_dims, ne))
        return src_type;
    erg_dtype t = erg_ftype_base_type(plan->ftype);
    const erg_dtype_traits *tr = erg_dtype_get((int)t);
    if (!tr->quantized) /* F32/F16/BF16 files: every matrix gets the file's type */
        return t;
    t = mix_type(plan, category_of(name), t, ne[0]);
    return fallback(t, ne[0]);
}
