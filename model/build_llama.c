/*
 * The graph of the Llama family (llama, qwen2, qwen3), as
 * docs/architectures.md describes it: unfused ops, so that fusion passes and
 * every backend see the plain computation.
 */
#include "model/build_graph.h"

#include "graph/builder.h"

#include <math.h>
#include <string.h>

typedef struct ctx {
    const erg_model_data *m;
    const erg_hparams *hp;
    const erg_build_params *p;
    erg_graph *g;
    int32_t positions;
    int32_t rope_freqs;
} ctx;

static int32_t weight(ctx *c, int32_t index) {
    const erg_gguf_tensor *t = erg_gguf_tensor_at(c->m->gguf, (uint64_t)index);
    char name[ERG_NAME_MAX];
    size_t n = t->name.len < sizeof name - 1 ? t->name.len : sizeof name - 1;
    memcpy(name, t->name.ptr, n);
    name[n] = '\0';
    return erg_gb_weight(c->g, name, t->dtype, (int)t->n_dims, t->ne, index, t->data);
}

static int32_t rms_norm_mul(ctx *c, int32_t x, int32_t w) {
    return erg_gb_mul(c->g, erg_gb_rms_norm(c->g, x, c->hp->rms_eps), weight(c, w));
}

static int32_t linear(ctx *c, int32_t w, int32_t bias, int32_t x) {
    int32_t y = erg_gb_matmul(c->g, weight(c, w), x);
    return bias >= 0 ? erg_gb_add(c->g, y, weight(c, bias)) : y;
}

/* Writes k ([head_dim, n_head_kv, n_tokens]) and v into the layer's cache
 * at n_past and returns views of the whole valid cache for attention:
 * K [head_dim, n_kv, n_head_kv] and V [n_kv, head_dim_v, n_head_kv]. */
static void kv_store_and_view(ctx *c, uint32_t il, int32_t k, int32_t v, int32_t *k_all,
                              int32_t *v_all) {
    erg_graph *g = c->g;
    const erg_hparams *hp = c->hp;
    const erg_kv_cache *kv = c->p->kv;
    size_t es = erg_dtype_get((int)kv->dtype)->type_size;
    int64_t nv = (int64_t)hp->n_head_kv * hp->head_dim_v;
    int64_t nt = c->p->n_tokens, n_past = c->p->n_past, n_kv = n_past + nt, n_ctx = kv->n_ctx;

    int64_t kshape[3] = {hp->head_dim, n_ctx, hp->n_head_kv}, vshape[2] = {n_ctx, nv};
    int32_t kc = erg_gb_state(g, "cache_k", kv->dtype, 3, kshape, (int32_t)(2 * il), kv->k[il]);
    int32_t vc = erg_gb_state(g, "cache_v", kv->dtype, 2, vshape, (int32_t)(2 * il + 1), kv->v[il]);
    erg_gb_name(g, kc, "cache_k.%u", il);
    erg_gb_name(g, vc, "cache_v.%u", il);

    /* K holds each head's positions together: token t of head h goes to row
     * h * n_ctx + n_past + t, so attention streams one block per head. */
    size_t krow = hp->head_dim * es;
    int64_t kdst_ne[3] = {hp->head_dim, hp->n_head_kv, nt};
    size_t kdst_nb[3] = {es, (size_t)n_ctx * krow, krow};
    int32_t kdst = erg_gb_view(g, kc, -1, 3, kdst_ne, kdst_nb, (size_t)n_past * krow);
    int32_t kst = erg_gb_cpy(g, k, kdst);

    /* V is transposed: token t, feature f goes to vc[f * n_ctx + n_past + t]. */
    int32_t vt = erg_gb_permute(g, v, 1, 0, 2, 3); /* [nt, nv] view of v */
    int64_t vdst_ne[2] = {nt, nv};
    size_t vdst_nb[2] = {es, (size_t)n_ctx * es};
    int32_t vdst = erg_gb_view(g, vc, -1, 2, vdst_ne, vdst_nb, (size_t)n_past * es);
    int32_t vst = erg_gb_cpy(g, vt, vdst);

    int64_t kall_ne[3] = {hp->head_dim, n_kv, hp->n_head_kv};
    size_t kall_nb[3] = {es, krow, (size_t)n_ctx * krow};
    *k_all = erg_gb_view(g, kc, kst, 3, kall_ne, kall_nb, 0);
    int64_t vall_ne[3] = {n_kv, hp->head_dim_v, hp->n_head_kv};
    size_t vall_nb[3] = {es, (size_t)n_ctx * es, (size_t)n_ctx * hp->head_dim_v * es};
    *v_all = erg_gb_view(g, vc, vst, 3, vall_ne, vall_nb, 0);
}

static int32_t attention(ctx *c, uint32_t il, int32_t x) {
    erg_graph *g = c->g;
    const erg_hparams *hp = c->hp;
    const erg_layer_weights *w = &c->m->layers[il];
    int64_t nt = c->p->n_tokens;

    int32_t q = linear(c, w->wq, w->bq, x);
    int32_t k = linear(c, w->wk, w->bk, x);
    int32_t v = linear(c, w->wv, w->bv, x);
    int64_t qshape[3] = {hp->head_dim, hp->n_head, nt}, kshape[3] = {hp->head_dim, hp->n_head_kv, nt};
    q = erg_gb_reshape(g, q, 3, qshape);
    k = erg_gb_reshape(g, k, 3, kshape);
    if (hp->qk_norm) {
        q = rms_norm_mul(c, q, w->q_norm);
        k = rms_norm_mul(c, k, w->k_norm);
    }
    q = erg_gb_rope(g, q, c->positions, c->rope_freqs, (int)hp->n_rot, hp->rope_mode,
                    hp->rope_freq_base, hp->rope_freq_scale);
    k = erg_gb_rope(g, k, c->positions, c->rope_freqs, (int)hp->n_rot, hp->rope_mode,
                    hp->rope_freq_base, hp->rope_freq_scale);

    int32_t k_all, v_all;
    kv_store_and_view(c, il, k, v, &k_all, &v_all);

    /* scores [n_kv, nt, n_head] = K . q per head; query head h reads KV head
     * h / (n_head / n_head_kv) through the matmul's broadcast. */
    int32_t qh = erg_gb_permute(g, q, 0, 2, 1, 3); /* [head_dim, nt, n_head] */
    int32_t scores = erg_gb_matmul(g, k_all, qh);
    scores = erg_gb_softmax(g, scores, 1.0f / sqrtf((float)hp->head_dim), true,
                            (int32_t)c->p->n_past);
    int32_t out = erg_gb_matmul(g, v_all, scores);      /* [head_dim_v, nt, n_head] */
    out = erg_gb_permute(g, out, 0, 2, 1, 3);           /* [head_dim_v, n_head, nt] */
    out = erg_gb_cont(g, out, ERG_DT_F32);
    int64_t flat[2] = {(int64_t)hp->head_dim_v * hp->n_head, nt};
    out = erg_gb_reshape(g, out, 2, flat);
    return linear(c, w->wo, -1, out);
}

static int32_t feed_forward(ctx *c, uint32_t il, int32_t x) {
    const erg_layer_weights *w = &c->m->layers[il];
    int32_t gate = linear(c, w->ffn_gate, -1, x);
    int32_t up = linear(c, w->ffn_up, -1, x);
    int32_t h = erg_gb_mul(c->g, erg_gb_silu(c->g, gate), up);
    return linear(c, w->ffn_down, -1, h);
}

size_t erg_kv_layer_bytes(const erg_hparams *hp, erg_dtype dtype, uint32_t n_ctx, bool v) {
    size_t width = (size_t)hp->n_head_kv * (v ? hp->head_dim_v : hp->head_dim);
    return width * n_ctx * erg_dtype_get((int)dtype)->type_size;
}

erg_status erg_model_build_graph(const erg_model_data *m, const erg_build_params *p, erg_graph *g,
                                 erg_build_result *out, erg_diag *diag) {
    erg_graph_clear(g);
    const erg_hparams *hp = &m->hp;
    if (p->n_tokens == 0 || p->n_past + p->n_tokens > p->kv->n_ctx ||
        (p->n_logits != 0 && p->n_logits != 1 && p->n_logits != p->n_tokens))
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "graph of %u tokens after %u in a context of %u, %u logits", p->n_tokens,
                        p->n_past, p->kv->n_ctx, p->n_logits);
    ctx c = {.m = m, .hp = hp, .p = p, .g = g, .rope_freqs = -1};
    int64_t nt = p->n_tokens;
    out->tokens = erg_gb_input(g, "tokens", ERG_DT_I32, 1, &nt);
    out->positions = c.positions = erg_gb_input(g, "positions", ERG_DT_I32, 1, &nt);
    out->logits = -1;
    if (m->rope_freqs >= 0)
        c.rope_freqs = weight(&c, m->rope_freqs);

    int32_t x = erg_gb_get_rows(g, weight(&c, m->tok_embd), out->tokens);
    for (uint32_t il = 0; il < hp->n_layer; il++) {
        int32_t h = rms_norm_mul(&c, x, m->layers[il].attn_norm);
        x = erg_gb_add(g, attention(&c, il, h), x);
        h = rms_norm_mul(&c, x, m->layers[il].ffn_norm);
        x = erg_gb_add(g, feed_forward(&c, il, h), x);
        erg_gb_name(g, x, "layer_out.%u", il);
    }
    if (p->n_logits > 0) {
        if (p->n_logits < p->n_tokens && g->status == ERG_OK) { /* only the last token's row */
            const erg_tensor *tx = &g->tensors[x];
            int64_t ne[2] = {hp->n_embd, 1};
            x = erg_gb_view(g, x, -1, 2, ne, tx->nb, (size_t)(nt - 1) * tx->nb[1]);
        }
        x = rms_norm_mul(&c, x, m->output_norm);
        int32_t logits = linear(&c, m->output >= 0 ? m->output : m->tok_embd, -1, x);
        erg_gb_name(g, logits, "logits");
        erg_gb_mark_output(g, logits);
        out->logits = logits;
    }
    if (g->status != ERG_OK)
        return erg_fail(diag, g->status, "building the %s graph: %s", erg_arch_name(hp->arch),
                        g->diag.msg);
    return ERG_OK;
}
