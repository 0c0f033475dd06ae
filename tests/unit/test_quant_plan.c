/*
 * test_quant_plan: per-tensor type choice against llama.cpp's
 * llama_tensor_get_type for Llama-family names, and the file-type names.
 */
#include "model/quantize.h"
#include "tests/test.h"

#include <stdio.h>

enum { N_LAYER = 28, MAX_T = 16 + 9 * N_LAYER };

typedef struct {
    char name[64];
    int n_dims;
    int64_t ne[2];
} tensor;

typedef struct {
    tensor t[MAX_T];
    const char *names[MAX_T];
    int n;
} model;

static void add(model *m, const char *name, int n_dims, int64_t ne0, int64_t ne1) {
    tensor *t = &m->t[m->n];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    m->names[m->n] = t->name;
    m->n++;
}

/* A Llama-family model in llama-quantize's order (non-layer tensors by name,
 * then each layer's by name). n_embd, n_ff are the row lengths. */
static void make_model(model *m, int n_layer, int64_t n_embd, int64_t n_ff, bool tied) {
    m->n = 0;
    if (!tied)
        add(m, "output.weight", 2, n_embd, 1000);
    add(m, "output_norm.weight", 1, n_embd, 1);
    add(m, "rope_freqs.weight", 1, 32, 1);
    add(m, "token_embd.weight", 2, n_embd, 1000);
    for (int l = 0; l < n_layer; l++) {
        static const char *const parts[] = {"attn_k", "attn_norm", "attn_output", "attn_q",
                                            "attn_v", "ffn_down", "ffn_gate", "ffn_norm",
                                            "ffn_up"};
        for (int p = 0; p < 9; p++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s.weight", l, parts[p]);
            if (strstr(parts[p], "norm"))
                add(m, name, 1, n_embd, 1);
            else if (strcmp(parts[p], "ffn_down") == 0)
                add(m, name, 2, n_ff, n_embd);
            else
                add(m, name, 2, n_embd, strcmp(parts[p], "attn_v") == 0 ? 128 : n_embd);
        }
    }
}

/* Chooses every tensor's type in order; types[i] for m->t[i]. */
static void plan_types(model *m, erg_ftype ftype, int n_layer, bool llama_70b, erg_dtype *types) {
    erg_quant_plan plan;
    erg_quant_plan_init(&plan, ftype, n_layer, m->names, m->n);
    plan.llama_70b = llama_70b;
    for (int i = 0; i < m->n; i++)
        types[i] = erg_quant_choose_type(&plan, m->t[i].name, m->t[i].n_dims, m->t[i].ne,
                                         ERG_DT_F32);
}

static erg_dtype type_of(const model *m, const erg_dtype *types, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return types[i];
    return (erg_dtype)-1;
}

static erg_dtype layer_type(const model *m, const erg_dtype *types, int l, const char *part) {
    char name[64];
    snprintf(name, sizeof name, "blk.%d.%s.weight", l, part);
    return type_of(m, types, name);
}

#define CHECK_TYPE(got, want)                                                              \
    CHECK_MSG((got) == (want), "got %s, want %s", erg_dtype_name(got), erg_dtype_name(want))

/* use_more_bits(i, 28) = i < 3 || i >= 24 || (i - 3) % 3 == 2, worked out */
static bool more_bits_28(int l) {
    static const int layers[] = {0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        if (layers[i] == l)
            return true;
    return false;
}

static model m; /* large: not on the stack */
static erg_dtype types[MAX_T];

static void test_q4_k_m(void) {
    make_model(&m, N_LAYER, 512, 1536, false);
    plan_types(&m, ERG_FTYPE_MOSTLY_Q4_K_M, N_LAYER, false, types);
    for (int l = 0; l < N_LAYER; l++) {
        erg_dtype more = more_bits_28(l) ? ERG_DT_Q6_K : ERG_DT_Q4_K;
        CHECK_TYPE(layer_type(&m, types, l, "attn_v"), more);
        CHECK_TYPE(layer_type(&m, types, l, "ffn_down"), more);
        CHECK_TYPE(layer_type(&m, types, l, "attn_q"), ERG_DT_Q4_K);
        CHECK_TYPE(layer_type(&m, types, l, "attn_k"), ERG_DT_Q4_K);
        CHECK_TYPE(layer_type(&m, types, l, "attn_output"), ERG_DT_Q4_K);
        CHECK_TYPE(layer_type(&m, types, l, "ffn_gate"), ERG_DT_Q4_K);
        CHECK_TYPE(layer_type(&m, types, l, "ffn_up"), ERG_DT_Q4_K);
        CHECK_TYPE(layer_type(&m, types, l, "attn_norm"), ERG_DT_F32);
        CHECK_TYPE(layer_type(&m, types, l, "ffn_norm"), ERG_DT_F32);
    }
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
    CHECK_TYPE(type_of(&m, types, "token_embd.weight"), ERG_DT_Q4_K);
    CHECK_TYPE(type_of(&m, types, "output_norm.weight"), ERG_DT_F32);
    CHECK_TYPE(type_of(&m, types, "rope_freqs.weight"), ERG_DT_F32);

    /* Q5_K_M: the same layers get Q6_K, the rest Q5_K */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q5_K_M, N_LAYER, false, types);
    for (int l = 0; l < N_LAYER; l++)
        CHECK_TYPE(layer_type(&m, types, l, "ffn_down"),
                   more_bits_28(l) ? ERG_DT_Q6_K : ERG_DT_Q5_K);
    CHECK_TYPE(layer_type(&m, types, 4, "attn_q"), ERG_DT_Q5_K);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
}

static void test_k_s_and_q6_k(void) {
    make_model(&m, N_LAYER, 512, 1536, false);
    /* Q4_K_S: the first 4 attn_v get Q5_K, ffn_down Q5_K in layers < 28/8 = 3 */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q4_K_S, N_LAYER, false, types);
    for (int l = 0; l < N_LAYER; l++) {
        CHECK_TYPE(layer_type(&m, types, l, "attn_v"), l < 4 ? ERG_DT_Q5_K : ERG_DT_Q4_K);
        CHECK_TYPE(layer_type(&m, types, l, "ffn_down"), l < 3 ? ERG_DT_Q5_K : ERG_DT_Q4_K);
    }
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
    /* Q5_K_S: no per-layer changes */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q5_K_S, N_LAYER, false, types);
    CHECK_TYPE(layer_type(&m, types, 0, "attn_v"), ERG_DT_Q5_K);
    CHECK_TYPE(layer_type(&m, types, 27, "ffn_down"), ERG_DT_Q5_K);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
    /* Q6_K: everything Q6_K */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q6_K, N_LAYER, false, types);
    CHECK_TYPE(layer_type(&m, types, 0, "attn_v"), ERG_DT_Q6_K);
    CHECK_TYPE(type_of(&m, types, "token_embd.weight"), ERG_DT_Q6_K);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
}

static void test_legacy_and_plain(void) {
    make_model(&m, N_LAYER, 512, 1536, false);
    /* q4_0: output Q6_K, everything else q4_0 (no per-layer rules) */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q4_0, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
    CHECK_TYPE(type_of(&m, types, "token_embd.weight"), ERG_DT_Q4_0);
    CHECK_TYPE(layer_type(&m, types, 0, "attn_v"), ERG_DT_Q4_0);
    CHECK_TYPE(layer_type(&m, types, 0, "ffn_down"), ERG_DT_Q4_0);
    CHECK_TYPE(layer_type(&m, types, 0, "attn_norm"), ERG_DT_F32);
    /* q8_0: the output keeps q8_0 */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q8_0, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q8_0);
    CHECK_TYPE(layer_type(&m, types, 2, "ffn_down"), ERG_DT_Q8_0);
    /* q5_1 */
    plan_types(&m, ERG_FTYPE_MOSTLY_Q5_1, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_Q6_K);
    CHECK_TYPE(layer_type(&m, types, 2, "attn_q"), ERG_DT_Q5_1);
    /* f16 / bf16 / f32 files: every matrix the file's type, 1-D tensors kept */
    plan_types(&m, ERG_FTYPE_MOSTLY_F16, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "output.weight"), ERG_DT_F16);
    CHECK_TYPE(layer_type(&m, types, 1, "attn_v"), ERG_DT_F16);
    CHECK_TYPE(layer_type(&m, types, 1, "ffn_norm"), ERG_DT_F32);
    plan_types(&m, ERG_FTYPE_MOSTLY_BF16, N_LAYER, false, types);
    CHECK_TYPE(layer_type(&m, types, 1, "ffn_up"), ERG_DT_BF16);
    erg_quant_plan plan;
    erg_quant_plan_init(&plan, ERG_FTYPE_ALL_F32, N_LAYER, m.names, m.n);
    const int64_t ne[2] = {512, 512};
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q.weight", 2, ne, ERG_DT_F16),
               ERG_DT_F32);
}

static void test_tied_embedding(void) {
    /* without output.weight the embedding doubles as the output and gets its rule */
    make_model(&m, N_LAYER, 512, 1536, true);
    plan_types(&m, ERG_FTYPE_MOSTLY_Q4_K_M, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "token_embd.weight"), ERG_DT_Q6_K);
    CHECK_TYPE(layer_type(&m, types, 3, "attn_v"), ERG_DT_Q4_K);
    plan_types(&m, ERG_FTYPE_MOSTLY_Q8_0, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "token_embd.weight"), ERG_DT_Q8_0);
    plan_types(&m, ERG_FTYPE_MOSTLY_Q4_1, N_LAYER, false, types);
    CHECK_TYPE(type_of(&m, types, "token_embd.weight"), ERG_DT_Q6_K);
}

static void test_fallbacks(void) {
    erg_quant_plan plan;
    const char *names[] = {"output.weight", "blk.0.attn_v.weight"};
    const int64_t w1000[2] = {1000, 64}, w288[2] = {288, 64}, w1056[2] = {1056, 64};
    /* 1000 % 256 != 0: q4_k -> q5_0, but 1000 % 32 != 0 too: F16 (llama.cpp's
     * "must use F16 due to unusual shape") */
    erg_quant_plan_init(&plan, ERG_FTYPE_MOSTLY_Q4_K_M, 1, names, 2);
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q.weight", 2, w1000, ERG_DT_F32),
               ERG_DT_F16);
    /* 288 = 9 * 32: q4_k -> q5_0; q5_k -> q5_1; q6_k -> q8_0 */
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q.weight", 2, w288, ERG_DT_F32),
               ERG_DT_Q5_0);
    /* attn_v of layer 0 of 1 is a use_more_bits layer: q6_k -> q8_0 */
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_v.weight", 2, w288, ERG_DT_F32),
               ERG_DT_Q8_0);
    /* output whose rows do not fit the file's block size: Q8_0 */
    CHECK_TYPE(erg_quant_choose_type(&plan, "output.weight", 2, w288, ERG_DT_F32), ERG_DT_Q8_0);
    erg_quant_plan_init(&plan, ERG_FTYPE_MOSTLY_Q5_K_S, 1, names, 2);
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.ffn_up.weight", 2, w1056, ERG_DT_F32),
               ERG_DT_Q5_1);
    erg_quant_plan_init(&plan, ERG_FTYPE_MOSTLY_Q6_K, 1, names, 2);
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.ffn_up.weight", 2, w1056, ERG_DT_F32),
               ERG_DT_Q8_0);
    /* legacy file types with rows of 32: no fallback */
    erg_quant_plan_init(&plan, ERG_FTYPE_MOSTLY_Q4_0, 1, names, 2);
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.ffn_up.weight", 2, w288, ERG_DT_F32),
               ERG_DT_Q4_0);
}

static void test_not_quantized(void) {
    erg_quant_plan plan;
    const char *names[] = {"token_embd.weight"};
    erg_quant_plan_init(&plan, ERG_FTYPE_MOSTLY_Q4_K_M, 1, names, 1);
    const int64_t row[2] = {512, 1}, mat[2] = {512, 512};
    /* a 2-D tensor of one row counts as 1-D (ggml_n_dims) */
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q.weight", 2, row, ERG_DT_F32),
               ERG_DT_F32);
    /* biases, norms and names not ending in "weight" keep their type */
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q.bias", 2, mat, ERG_DT_F16),
               ERG_DT_F16);
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q_norm.weight", 2, mat, ERG_DT_F32),
               ERG_DT_F32);
    CHECK_TYPE(erg_quant_choose_type(&plan, "rope_freqs.weight", 1, row, ERG_DT_F32),
               ERG_DT_F32);
    CHECK_TYPE(erg_quant_choose_type(&plan, "blk.0.attn_q.weight", 2, mat, ERG_DT_BF16),
               ERG_DT_Q4_K);
}

static void test_llama_70b(void) {
    /* LLM_TYPE_70B: attn_v Q4_K -> Q5_K (the use_more_bits layers keep Q6_K) */
    make_model(&m, N_LAYER, 512, 1536, false);
    plan_types(&m, ERG_FTYPE_MOSTLY_Q4_K_M, N_LAYER, true, types);
    CHECK_TYPE(layer_type(&m, types, 3, "attn_v"), ERG_DT_Q5_K);
    CHECK_TYPE(layer_type(&m, types, 5, "attn_v"), ERG_DT_Q6_K);
    CHECK_TYPE(layer_type(&m, types, 3, "ffn_down"), ERG_DT_Q4_K);
}

static void test_ftype_names(void) {
    CHECK_EQ_INT(erg_ftype_parse("Q4_K_M"), ERG_FTYPE_MOSTLY_Q4_K_M);
    CHECK_EQ_INT(erg_ftype_parse("q4_k"), ERG_FTYPE_MOSTLY_Q4_K_M);
    CHECK_EQ_INT(erg_ftype_parse("q5_k"), ERG_FTYPE_MOSTLY_Q5_K_M);
    CHECK_EQ_INT(erg_ftype_parse("q4_k_s"), ERG_FTYPE_MOSTLY_Q4_K_S);
    CHECK_EQ_INT(erg_ftype_parse("bf16"), ERG_FTYPE_MOSTLY_BF16);
    CHECK_EQ_INT(erg_ftype_parse("f32"), ERG_FTYPE_ALL_F32);
    CHECK_EQ_INT(erg_ftype_parse("q3_k_m"), -1);
    CHECK_EQ_INT(erg_ftype_parse(""), -1);
    CHECK_EQ_INT(erg_ftype_parse(NULL), -1);
    const erg_ftype all[] = {
        ERG_FTYPE_ALL_F32,       ERG_FTYPE_MOSTLY_F16,    ERG_FTYPE_MOSTLY_Q4_0,
        ERG_FTYPE_MOSTLY_Q4_1,   ERG_FTYPE_MOSTLY_Q8_0,   ERG_FTYPE_MOSTLY_Q5_0,
        ERG_FTYPE_MOSTLY_Q5_1,   ERG_FTYPE_MOSTLY_Q4_K_S, ERG_FTYPE_MOSTLY_Q4_K_M,
        ERG_FTYPE_MOSTLY_Q5_K_S, ERG_FTYPE_MOSTLY_Q5_K_M, ERG_FTYPE_MOSTLY_Q6_K,
        ERG_FTYPE_MOSTLY_BF16};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK_EQ_INT(erg_ftype_parse(erg_ftype_name(all[i])), all[i]);
    CHECK(strcmp(erg_ftype_name(ERG_FTYPE_MOSTLY_Q5_K_S), "q5_k_s") == 0);
    CHECK(strcmp(erg_ftype_name((erg_ftype)5), "unknown") == 0);
    CHECK_TYPE(erg_ftype_base_type(ERG_FTYPE_MOSTLY_Q4_K_S), ERG_DT_Q4_K);
    CHECK_TYPE(erg_ftype_base_type(ERG_FTYPE_MOSTLY_Q5_K_M), ERG_DT_Q5_K);
    CHECK_TYPE(erg_ftype_base_type(ERG_FTYPE_MOSTLY_Q8_0), ERG_DT_Q8_0);
    CHECK_TYPE(erg_ftype_base_type(ERG_FTYPE_MOSTLY_BF16), ERG_DT_BF16);
}

int main(void) {
    test_q4_k_m();
    test_k_s_and_q6_k();
    test_legacy_and_plain();
    test_tied_embedding();
    test_fallbacks();
    test_not_quantized();
    test_llama_70b();
    test_ftype_names();
    return erg_test_result("test_quant_plan");
}
