/* The fusion passes: each fires on its pattern and leaves near misses
 * alone (a second reader, an output, mismatched operands, a device that
 * lacks the fused op), and on real model graphs they cut the nodes per
 * layer as expected while the graph stays valid. Numerical equality of fused
 * and unfused ops is the conformance suite's job (every backend). */
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "graph/builder.h"
#include "graph/fuse.h"
#include "graph/validate.h"
#include "model/build_graph.h"

#include <stdio.h>
#include <string.h>

static int count_op(const erg_graph *g, erg_op op) {
    int n = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        n += g->nodes[i].op == op;
    return n;
}

/* Fuses g with every op legal; returns the fused-node count. */
static uint32_t fuse_all(erg_graph *g) {
    erg_diag d;
    erg_fuse_stats st;
    CHECK_STATUS(erg_graph_validate(g, &d), ERG_OK);
    CHECK_STATUS(erg_graph_fuse(g, NULL, NULL, &st, &d), ERG_OK);
    uint32_t n = 0;
    for (int op = 0; op < ERG_OP_COUNT; op++)
        n += st.n_fused[op];
    CHECK_EQ_INT(st.nodes_after, (int64_t)g->n_nodes);
    return n;
}

static int32_t f32_input(erg_graph *g, const char *name, int64_t n0, int64_t n1) {
    int64_t ne[2] = {n0, n1};
    return erg_gb_input(g, name, ERG_DT_F32, 2, ne);
}

static int32_t weight(erg_graph *g, erg_dtype dt, int64_t k, int64_t n) {
    static char bytes[1 << 16]; /* never read: the passes look at shapes only */
    int64_t ne[2] = {k, n};
    return erg_gb_weight(g, "w", dt, 2, ne, 0, bytes);
}

static void check_rms_norm_mul(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int32_t x = f32_input(&g, "x", 64, 3), w = f32_input(&g, "w", 64, 1);
    int32_t y = erg_gb_mul(&g, erg_gb_rms_norm(&g, x, 1e-6f), w);
    erg_gb_mark_output(&g, y);
    CHECK_EQ_INT(fuse_all(&g), 1);
    CHECK_EQ_INT(g.n_nodes, 1);
    CHECK(g.nodes[0].op == ERG_OP_RMS_NORM_MUL && g.nodes[0].dst == y);
    CHECK(g.nodes[0].src[0] == x && g.nodes[0].src[1] == w);
    CHECK_NEAR(g.nodes[0].fparams[ERG_RMS_NORM_F_EPS], 1e-6, 1e-12);

    /* The norm is read twice (or is an output): it must stay. */
    erg_graph_clear(&g);
    x = f32_input(&g, "x", 64, 3);
    w = f32_input(&g, "w", 64, 1);
    int32_t n = erg_gb_rms_norm(&g, x, 1e-6f);
    erg_gb_mark_output(&g, erg_gb_add(&g, erg_gb_mul(&g, n, w), n));
    CHECK_EQ_INT(fuse_all(&g), 0);
    erg_graph_clear(&g);
    x = f32_input(&g, "x", 64, 3);
    w = f32_input(&g, "w", 64, 1);
    n = erg_gb_rms_norm(&g, x, 1e-6f);
    erg_gb_mark_output(&g, n);
    erg_gb_mark_output(&g, erg_gb_mul(&g, n, w));
    CHECK_EQ_INT(fuse_all(&g), 0);
    erg_graph_free(&g);
}

static void check_matmul_add(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int32_t w = weight(&g, ERG_DT_Q4_0, 64, 16), x = f32_input(&g, "x", 64, 3);
    int32_t b = f32_input(&g, "b", 16, 1), r = f32_input(&g, "r", 16, 3);
    int32_t y = erg_gb_add(&g, erg_gb_matmul(&g, w, x), b); /* bias */
    int32_t z = erg_gb_add(&g, r, erg_gb_matmul(&g, w, x)); /* residual first */
    erg_gb_mark_output(&g, y);
    erg_gb_mark_output(&g, z);
    CHECK_EQ_INT(fuse_all(&g), 2);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL_ADD), 2);
    CHECK_EQ_INT(g.n_nodes, 2);
    CHECK(g.nodes[0].src[2] == b && g.nodes[1].src[2] == r);

    /* A broadcast first operand cannot take the product's place; a product
     * read twice must stay. */
    erg_graph_clear(&g);
    w = weight(&g, ERG_DT_Q4_0, 64, 16);
    x = f32_input(&g, "x", 64, 1);
    r = f32_input(&g, "r", 16, 3);
    erg_gb_mark_output(&g, erg_gb_add(&g, r, erg_gb_matmul(&g, w, x)));
    int32_t p = erg_gb_matmul(&g, w, x);
    erg_gb_mark_output(&g, erg_gb_add(&g, p, p));
    CHECK_EQ_INT(fuse_all(&g), 0);
    erg_graph_free(&g);
}

static void check_swiglu(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int32_t wg = weight(&g, ERG_DT_Q4_K, 256, 32), wu = weight(&g, ERG_DT_Q4_K, 256, 32);
    int32_t x = f32_input(&g, "x", 256, 2);
    int32_t h = erg_gb_mul(&g, erg_gb_silu(&g, erg_gb_matmul(&g, wg, x)), erg_gb_matmul(&g, wu, x));
    erg_gb_mark_output(&g, h);
    CHECK_EQ_INT(fuse_all(&g), 1);
    CHECK_EQ_INT(g.n_nodes, 1);
    CHECK(g.nodes[0].op == ERG_OP_MATMUL_SWIGLU && g.nodes[0].dst == h);
    CHECK(g.nodes[0].src[0] == wg && g.nodes[0].src[1] == x && g.nodes[0].src[2] == wu);

    /* The SWIGLU op form fuses too. */
    erg_graph_clear(&g);
    wg = weight(&g, ERG_DT_Q8_0, 256, 32);
    wu = weight(&g, ERG_DT_Q8_0, 256, 32);
    x = f32_input(&g, "x", 256, 2);
    erg_gb_mark_output(&g, erg_gb_swiglu(&g, erg_gb_matmul(&g, wg, x), erg_gb_matmul(&g, wu, x)));
    CHECK_EQ_INT(fuse_all(&g), 1);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL_SWIGLU), 1);

    /* Weights of different types: no one kernel; only SiLU x mul folds. */
    erg_graph_clear(&g);
    wg = weight(&g, ERG_DT_Q4_K, 256, 32);
    wu = weight(&g, ERG_DT_Q6_K, 256, 32);
    x = f32_input(&g, "x", 256, 2);
    erg_gb_mark_output(
        &g, erg_gb_mul(&g, erg_gb_silu(&g, erg_gb_matmul(&g, wg, x)), erg_gb_matmul(&g, wu, x)));
    CHECK_EQ_INT(fuse_all(&g), 1);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL_SWIGLU), 0);
    CHECK_EQ_INT(count_op(&g, ERG_OP_SWIGLU), 1);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL), 2);

    /* Different activations: the products cannot share a read of x. */
    erg_graph_clear(&g);
    wg = weight(&g, ERG_DT_Q4_K, 256, 32);
    wu = weight(&g, ERG_DT_Q4_K, 256, 32);
    x = f32_input(&g, "x", 256, 2);
    int32_t x2 = f32_input(&g, "x2", 256, 2);
    erg_gb_mark_output(
        &g, erg_gb_mul(&g, erg_gb_silu(&g, erg_gb_matmul(&g, wg, x)), erg_gb_matmul(&g, wu, x2)));
    fuse_all(&g);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL_SWIGLU), 0);
    erg_graph_free(&g);
}

/* A device without MATMUL_QKV. */
static bool no_qkv(void *ctx, const erg_graph *g, const erg_node *n) {
    (void)ctx;
    (void)g;
    return n->op != ERG_OP_MATMUL_QKV;
}

/* Q [64], K and V [16] rows of one x, each read by a SCALE (Q through its
 * heads' RESHAPE), the scales outputs. Returns the Q reshape. */
static int32_t projections(erg_graph *g, erg_dtype dt_v, int32_t *x) {
    int32_t wq = weight(g, ERG_DT_Q4_0, 256, 64), wk = weight(g, ERG_DT_Q4_0, 256, 16);
    int32_t wv = weight(g, dt_v, 256, 16);
    *x = f32_input(g, "x", 256, 3);
    int64_t heads[3] = {16, 4, 3};
    int32_t qh = erg_gb_reshape(g, erg_gb_matmul(g, wq, *x), 3, heads);
    erg_gb_mark_output(g, erg_gb_scale(g, qh, 2.0f));
    erg_gb_mark_output(g, erg_gb_scale(g, erg_gb_matmul(g, wk, *x), 2.0f));
    erg_gb_mark_output(g, erg_gb_scale(g, erg_gb_matmul(g, wv, *x), 2.0f));
    return qh;
}

static void check_qkv(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int32_t x, qh = projections(&g, ERG_DT_Q4_0, &x);
    CHECK_EQ_INT(fuse_all(&g), 1);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL), 0);
    /* The fused node first, then a view per product, then their readers. */
    CHECK_EQ_INT(g.n_nodes, 1 + 3 + 1 + 3);
    const erg_node *n = &g.nodes[0];
    CHECK(n->op == ERG_OP_MATMUL_QKV && n->src[1] == x);
    const erg_tensor *flat = &g.tensors[n->dst];
    CHECK_EQ_INT(flat->ne[0], (64 + 16 + 16) * 3);
    CHECK_EQ_INT(flat->ne[1], 1);
    static const int64_t rows[3] = {64, 16, 16}, offsets[3] = {0, 64 * 3 * 4, 80 * 3 * 4};
    for (int p = 0; p < 3; p++) {
        const erg_tensor *v = &g.tensors[g.nodes[1 + p].dst];
        CHECK(g.nodes[1 + p].op == ERG_OP_VIEW && v->view_src == n->dst);
        CHECK_EQ_INT(v->view_offset, offsets[p]);
        CHECK_EQ_INT(v->ne[0], rows[p]);
        CHECK_EQ_INT(v->ne[1], 3);
        CHECK_EQ_INT(v->nb[1], rows[p] * 4);
    }
    /* The heads' RESHAPE of Q now aliases the flat result. */
    CHECK(g.tensors[qh].view_src == n->dst && g.tensors[qh].view_offset == 0);
    /* then the RESHAPE, Q's scale, and K's scale, which reads K's view */
    CHECK(g.nodes[1 + 3 + 2].op == ERG_OP_SCALE && g.nodes[1 + 3 + 2].src[0] == g.nodes[2].dst);

    /* V of another type (Q4_K_M files): left alone. */
    erg_graph_clear(&g);
    projections(&g, ERG_DT_Q6_K, &x);
    CHECK_EQ_INT(fuse_all(&g), 0);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL), 3);

    /* A device without the op keeps the matmuls. */
    erg_graph_clear(&g);
    projections(&g, ERG_DT_Q4_0, &x);
    erg_fuse_stats st;
    erg_diag d;
    CHECK_STATUS(erg_graph_fuse(&g, no_qkv, NULL, &st, &d), ERG_OK);
    CHECK_EQ_INT(st.n_rejected, 1);
    CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL), 3);
    CHECK_EQ_INT(g.n_nodes, 7);

    /* A fourth matmul of x, or a product that is an output: left alone. */
    erg_graph_clear(&g);
    projections(&g, ERG_DT_Q4_0, &x);
    erg_gb_mark_output(&g, erg_gb_matmul(&g, weight(&g, ERG_DT_Q4_0, 256, 8), x));
    CHECK_EQ_INT(fuse_all(&g), 0);
    erg_graph_clear(&g);
    int32_t wq = weight(&g, ERG_DT_F16, 256, 8);
    x = f32_input(&g, "x", 256, 1);
    erg_gb_mark_output(&g, erg_gb_matmul(&g, wq, x));
    erg_gb_mark_output(&g, erg_gb_matmul(&g, wq, x));
    erg_gb_mark_output(&g, erg_gb_matmul(&g, wq, x));
    CHECK_EQ_INT(fuse_all(&g), 0);
    erg_graph_free(&g);
}

static void check_rope_store(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    static uint16_t cache[64 * 16 * 2];
    int64_t kne[3] = {64, 2, 3}, cne[3] = {64, 16, 2}, n3 = 3;
    int32_t k = erg_gb_input(&g, "k", ERG_DT_F32, 3, kne);
    int32_t pos = erg_gb_input(&g, "pos", ERG_DT_I32, 1, &n3);
    int32_t kc = erg_gb_state(&g, "cache", ERG_DT_F16, 3, cne, 0, cache);
    size_t nb[3] = {2, 16 * 128, 128};
    int32_t dst = erg_gb_view(&g, kc, -1, 3, kne, nb, 5 * 128);
    int32_t r = erg_gb_rope(&g, k, pos, -1, 64, ERG_ROPE_NEOX, 10000.0f, 1.0f);
    int32_t st = erg_gb_cpy(&g, r, dst);
    CHECK_EQ_INT(fuse_all(&g), 1);
    const erg_node *n = &g.nodes[g.n_nodes - 1];
    CHECK(n->op == ERG_OP_ROPE_STORE && n->dst == st && n->n_src == 3);
    CHECK(n->src[0] == k && n->src[1] == pos && n->src[2] == dst);
    CHECK_EQ_INT(n->iparams[ERG_ROPE_I_MODE], ERG_ROPE_NEOX);
    CHECK_NEAR(n->fparams[ERG_ROPE_F_FREQ_BASE], 10000.0, 1e-3);

    /* The rotated keys are read again: the F32 result must stay. */
    erg_graph_clear(&g);
    k = erg_gb_input(&g, "k", ERG_DT_F32, 3, kne);
    pos = erg_gb_input(&g, "pos", ERG_DT_I32, 1, &n3);
    kc = erg_gb_state(&g, "cache", ERG_DT_F16, 3, cne, 0, cache);
    dst = erg_gb_view(&g, kc, -1, 3, kne, nb, 0);
    r = erg_gb_rope(&g, k, pos, -1, 64, ERG_ROPE_NEOX, 10000.0f, 1.0f);
    erg_gb_cpy(&g, r, dst);
    erg_gb_mark_output(&g, r);
    CHECK_EQ_INT(fuse_all(&g), 0);
    erg_graph_free(&g);
}

/* q's rope moves into ATTENTION: rows [64, H=4, nt=3] taken from a wider
 * flat projection at an offset (as MATMUL_QKV's views are), rotated,
 * permuted to [64, 3, 4] and attended to. */
static void check_attention_rope(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int64_t flat_ne = 64 * 4 * 3 + 100, qne[3] = {64, 4, 3}, kne[3] = {64, 9, 2}, n3 = 3;
    int64_t vne[3] = {9, 64, 2}, fne = 32;
    for (int variant = 0; variant < 3; variant++) {
        erg_graph_clear(&g);
        int32_t flat = erg_gb_input(&g, "qkv", ERG_DT_F32, 1, &flat_ne);
        size_t qnb[3] = {4, 64 * 4, 64 * 4 * 4};
        int32_t x = erg_gb_view(&g, flat, -1, 3, qne, qnb, 100 * 4);
        int32_t pos = erg_gb_input(&g, "pos", ERG_DT_I32, 1, &n3);
        int32_t ff = variant == 1 ? erg_gb_input(&g, "ff", ERG_DT_F32, 1, &fne) : -1;
        int32_t k = erg_gb_input(&g, "k", ERG_DT_F32, 3, kne);
        int32_t v = erg_gb_input(&g, "v", ERG_DT_F32, 3, vne);
        int32_t r = erg_gb_rope(&g, x, pos, ff, 64, ERG_ROPE_NEOX, 5e5f, 0.5f);
        int32_t q = erg_gb_permute(&g, r, 0, 2, 1, 3);
        int32_t y = erg_gb_attention(&g, q, k, v, 0.125f, true, 6);
        erg_gb_mark_output(&g, y);
        if (variant == 2) { /* the rotated q is read again: it must stay */
            erg_gb_mark_output(&g, r);
            CHECK_EQ_INT(fuse_all(&g), 0);
            CHECK_EQ_INT(count_op(&g, ERG_OP_ROPE), 1);
            continue;
        }
        CHECK_EQ_INT(fuse_all(&g), 1);
        CHECK_EQ_INT(count_op(&g, ERG_OP_ROPE), 0);
        const erg_node *n = &g.nodes[g.n_nodes - 1];
        CHECK(n->op == ERG_OP_ATTENTION && n->dst == y && n->src[0] == q);
        CHECK_EQ_INT(n->n_src, ff >= 0 ? 5 : 4);
        CHECK(n->src[1] == k && n->src[2] == v && n->src[3] == pos);
        CHECK(ff < 0 || n->src[4] == ff);
        CHECK_EQ_INT(n->iparams[ERG_ATTENTION_I_CAUSAL], 1);
        CHECK_EQ_INT(n->iparams[ERG_ATTENTION_I_N_PAST], 6);
        CHECK_EQ_INT(n->iparams[ERG_ATTENTION_I_ROPE_N_DIMS], 64);
        CHECK_EQ_INT(n->iparams[ERG_ATTENTION_I_ROPE_MODE], ERG_ROPE_NEOX);
        CHECK_NEAR(n->fparams[ERG_ATTENTION_F_SCALE], 0.125, 1e-9);
        CHECK_NEAR(n->fparams[ERG_ATTENTION_F_ROPE_FREQ_BASE], 5e5, 1e-1);
        CHECK_NEAR(n->fparams[ERG_ATTENTION_F_ROPE_FREQ_SCALE], 0.5, 1e-9);
        /* q is now the permute of the unrotated rows: the flat input's
         * storage at their offset, with their strides swapped. */
        const erg_tensor *tq = &g.tensors[q];
        CHECK(tq->kind == ERG_TENSOR_VIEW && tq->view_src == flat);
        CHECK_EQ_INT((int64_t)tq->view_offset, 400);
        CHECK_EQ_INT((int64_t)tq->nb[1], 64 * 4 * 4);
        CHECK_EQ_INT((int64_t)tq->nb[2], 64 * 4);
        CHECK(g.nodes[g.tensors[q].producer].src[0] == x);
    }
    erg_graph_free(&g);
}

/* A device without the attention kernel. */
static bool no_attention(void *ctx, const erg_graph *g, const erg_node *n) {
    (void)ctx;
    (void)g;
    return n->op != ERG_OP_ATTENTION;
}

/* A device whose attention does not rotate q. */
static bool no_attention_rope(void *ctx, const erg_graph *g, const erg_node *n) {
    (void)ctx;
    (void)g;
    return n->op != ERG_OP_ATTENTION || n->n_src == 3;
}

/* Counts the fused graph's ops on a tiny model of arch (2 layers, 5 tokens
 * after 3); per layer the unfused ops become: RMS_NORM_MUL x2 (x4 with QK
 * norms), one ROPE_STORE, one ATTENTION (rotating q), MATMUL_SWIGLU, MATMUL_ADD for
 * the output and down projections (and each bias), and MATMUL_QKV for the
 * unbiased Q, K and V projections. */
static void check_model(erg_arch arch, erg_fuse_legal_fn legal, const char *label) {
    char path[256];
    if (!test_make_model(arch, ERG_FTYPE_MOSTLY_Q4_0, 11, path, sizeof path)) {
        CHECK(false);
        return;
    }
    erg_diag d;
    erg_model_data *m = NULL;
    CHECK_STATUS(erg_model_data_open(NULL, path, false, &m, &d), ERG_OK);
    void *slots[2] = {NULL, NULL};
    erg_kv_cache kv = {ERG_DT_F16, 64, slots, slots};
    erg_build_params bp = {5, 3, 1, &kv};
    erg_build_result br;
    erg_graph g;
    erg_graph_init(&g, NULL);
    CHECK_STATUS(erg_model_build_graph(m, &bp, &g, &br, &d), ERG_OK);
    CHECK_STATUS(erg_graph_validate(&g, &d), ERG_OK);
    size_t before = g.n_nodes;
    erg_fuse_stats st;
    CHECK_STATUS(erg_graph_fuse(&g, legal, NULL, &st, &d), ERG_OK);
    uint32_t layers = m->hp.n_layer;
    bool qk_norm = m->hp.qk_norm;
    bool rope_in_attention = legal != no_attention_rope;
    if (legal != no_attention) {
        CHECK_EQ_INT(count_op(&g, ERG_OP_ATTENTION), layers);
        CHECK_EQ_INT(count_op(&g, ERG_OP_ROPE_STORE), layers);
        /* q's rope went into ATTENTION, k's into ROPE_STORE, unless the
         * device lacks the rotating attention */
        CHECK_EQ_INT(count_op(&g, ERG_OP_ROPE), rope_in_attention ? 0 : layers);
        for (size_t i = 0; i < g.n_nodes; i++)
            if (g.nodes[i].op == ERG_OP_ATTENTION)
                CHECK_EQ_INT(g.nodes[i].n_src, rope_in_attention ? 4 : 3);
        CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL_SWIGLU), layers);
        CHECK_EQ_INT(count_op(&g, ERG_OP_RMS_NORM_MUL), (qk_norm ? 4 : 2) * layers + 1);
        CHECK_EQ_INT(count_op(&g, ERG_OP_SOFTMAX), 0);
        CHECK_EQ_INT(count_op(&g, ERG_OP_SILU), 0);
        CHECK_EQ_INT(count_op(&g, ERG_OP_RMS_NORM), 0);
        CHECK(count_op(&g, ERG_OP_MATMUL_ADD) >= 2 * (int)layers);
        /* Qwen2's projections have biases: MATMUL_ADD took them. */
        CHECK_EQ_INT(count_op(&g, ERG_OP_MATMUL_QKV), arch == ERG_ARCH_QWEN2 ? 0 : layers);
    } else {
        CHECK_EQ_INT(count_op(&g, ERG_OP_ATTENTION), 0);
        CHECK_EQ_INT(count_op(&g, ERG_OP_SOFTMAX), layers);
        CHECK(st.n_rejected >= layers);
    }
    CHECK(g.tensors[br.logits].producer >= 0);
    printf("%s: %zu nodes -> %zu\n", label, before, g.n_nodes);
    CHECK(g.n_nodes < before);
    erg_graph_free(&g);
    erg_model_data_free(m);
    remove(path);
}


int main(void) {
    check_rms_norm_mul();
    check_matmul_add();
    check_swiglu();
    check_qkv();
    check_rope_store();
    check_attention_rope();
    check_model(ERG_ARCH_LLAMA, NULL, "llama");
    check_model(ERG_ARCH_LLAMA, no_attention_rope, "llama without the rope of q in ATTENTION");
    check_model(ERG_ARCH_QWEN2, NULL, "qwen2");
    check_model(ERG_ARCH_QWEN3, NULL, "qwen3");
    check_model(ERG_ARCH_QWEN3, no_attention, "qwen3 without ATTENTION");
    return erg_test_result("test_fuse");
}
