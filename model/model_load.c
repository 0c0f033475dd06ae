/* Loading a model: hyperparameters, then every weight by name, each checked
 * for its expected shape and dtype (docs/architectures.md). */
#include "model/hparams.h"
#include "model/model.h"

#include <stdio.h>
#include <string.h>

typedef enum { MATRIX, VECTOR } weight_class;

/* Looks up `name`; checks it is [ne0] (VECTOR, F32) or [ne0, ne1] (MATRIX,
 * any weight type). *out = -1 if absent and not required. */
static erg_status find_weight(const erg_gguf *g, const char *name, bool required,
                              weight_class cls, int64_t ne0, int64_t ne1, int32_t *out,
                              erg_diag *diag) {
    *out = -1;
    const erg_gguf_tensor *t = erg_gguf_find_tensor(g, name);
    if (!t) {
        if (required)
            return erg_fail(diag, ERG_FORMAT, "missing tensor '%s'", name);
        return ERG_OK;
    }
    int n_dims = cls == MATRIX ? 2 : 1;
    int64_t want[4] = {ne0, cls == MATRIX ? ne1 : 1, 1, 1};
    bool shape_ok = true;
    for (int i = 0; i < 4; i++)
        shape_ok = shape_ok && t->ne[i] == want[i];
    if (!shape_ok)
        return erg_fail(diag, ERG_FORMAT,
                        "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld%s%lld]",
                        name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3], (long long)ne0, n_dims == 2 ? ", " : "",
                        n_dims == 2 ? (long long)ne1 : 0LL);
    if (cls == VECTOR && t->dtype != ERG_DT_F32)
        return erg_fail(diag, ERG_UNSUPPORTED, "tensor '%s' is %s; erg reads it as f32 only", name,
                        erg_dtype_name(t->dtype));
    if (cls == MATRIX && !erg_dtype_get((int)t->dtype)->weight_type)
        return erg_fail(diag, ERG_UNSUPPORTED, "tensor '%s' has type %s, which erg does not read",
                        name, erg_dtype_name(t->dtype));
    *out = (int32_t)(t - erg_gguf_tensor_at(g, 0));
    return ERG_OK;
}

static erg_status find_layer(const erg_gguf *g, const erg_hparams *hp, uint32_t il,
                             erg_layer_weights *w, erg_diag *diag) {
    int64_t e = hp->n_embd, q = (int64_t)hp->n_head * hp->head_dim;
    int64_t k = (int64_t)hp->n_head_kv * hp->head_dim, v = (int64_t)hp->n_head_kv * hp->head_dim_v;
    int64_t o_in = (int64_t)hp->n_head * hp->head_dim_v;
    const struct {
        const char *suffix;
        weight_class cls;
        int64_t ne0, ne1;
        bool required;
        int32_t *slot;
    } table[] = {
        {"attn_norm.weight", VECTOR, e, 1, true, &w->attn_norm},
        {"attn_q.weight", MATRIX, e, q, true, &w->wq},
        {"attn_k.weight", MATRIX, e, k, true, &w->wk},
        {"attn_v.weight", MATRIX, e, v, true, &w->wv},
        {"attn_output.weight", MATRIX, o_in, e, true, &w->wo},
        {"attn_q.bias", VECTOR, q, 1, hp->qkv_bias, &w->bq},
        {"attn_k.bias", VECTOR, k, 1, hp->qkv_bias, &w->bk},
        {"attn_v.bias", VECTOR, v, 1, hp->qkv_bias, &w->bv},
        {"attn_q_norm.weight", VECTOR, hp->head_dim, 1, hp->qk_norm, &w->q_norm},
        {"attn_k_norm.weight", VECTOR, hp->head_dim, 1, hp->qk_norm, &w->k_norm},
        {"ffn_norm.weight", VECTOR, e, 1, true, &w->ffn_norm},
        {"ffn_gate.weight", MATRIX, e, hp->n_ff, true, &w->ffn_gate},
        {"ffn_up.weight", MATRIX, e, hp->n_ff, true, &w->ffn_up},
        {"ffn_down.weight", MATRIX, hp->n_ff, e, true, &w->ffn_down},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "blk.%u.%s", il, table[i].suffix);
        ERG_RETURN_IF_ERROR(find_weight(g, name, table[i].required, table[i].cls, table[i].ne0,
                                        table[i].ne1, table[i].slot, diag));
    }
    /* Biases and head norms are used only where the architecture has them. */
    if (!hp->qkv_bias)
        w->bq = w->bk = w->bv = -1;
    if (!hp->qk_norm)
        w->q_norm = w->k_norm = -1;
    return ERG_OK;
}

static erg_status find_weights(erg_model_data *m, erg_diag *diag) {
    const erg_gguf *g = m->gguf;
    erg_hparams *hp = &m->hp;
    const erg_gguf_tensor *emb = erg_gguf_find_tensor(g, "token_embd.weight");
    if (!emb)
        return erg_fail(diag, ERG_FORMAT, "missing tensor 'token_embd.weight'");
    if (emb->ne[1] < 1 || emb->ne[1] > (1 << 24))
        return erg_fail(diag, ERG_FORMAT, "token_embd.weight has %lld rows (vocabulary size)",
                        (long long)emb->ne[1]);
    hp->n_vocab = (uint32_t)emb->ne[1];
    ERG_RETURN_IF_ERROR(
        find_weight(g, "token_embd.weight", true, MATRIX, hp->n_embd, hp->n_vocab, &m->tok_embd, diag));
    ERG_RETURN_IF_ERROR(
        find_weight(g, "output_norm.weight", true, VECTOR, hp->n_embd, 1, &m->output_norm, diag));
    ERG_RETURN_IF_ERROR(
        find_weight(g, "output.weight", false, MATRIX, hp->n_embd, hp->n_vocab, &m->output, diag));
    ERG_RETURN_IF_ERROR(
        find_weight(g, "rope_freqs.weight", false, VECTOR, hp->n_rot / 2, 1, &m->rope_freqs, diag));
    m->layers = erg_calloc(m->alloc, hp->n_layer, sizeof *m->layers);
    if (!m->layers)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "layer table of %u layers", hp->n_layer);
    for (uint32_t il = 0; il < hp->n_layer; il++)
        ERG_RETURN_IF_ERROR(find_layer(g, hp, il, &m->layers[il], diag));
    for (uint64_t i = 0; i < erg_gguf_tensor_count(g); i++) {
        const erg_gguf_tensor *t = erg_gguf_tensor_at(g, i);
        m->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        m->weight_bytes += t->size;
    }
    return ERG_OK;
}

void erg_model_data_free(erg_model_data *m) {
    if (!m)
        return;
    erg_gguf_close(m->gguf);
    erg_free(m->alloc, m->layers);
    erg_free(m->alloc, m);
}

erg_status erg_model_data_from_gguf(const erg_allocator *alloc, erg_gguf *gguf,
                                    erg_model_data **out, erg_diag *diag) {
    *out = NULL;
    erg_model_data *m = erg_calloc(alloc, 1, sizeof *m);
    if (!m) {
        erg_gguf_close(gguf);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "model");
    }
    m->alloc = erg_allocator_or_default(alloc);
    m->gguf = gguf;
    erg_status st = erg_hparams_read(gguf, &m->hp, diag);
    if (st == ERG_OK)
        st = find_weights(m, diag);
    if (st != ERG_OK) {
        erg_model_data_free(m);
        return st;
    }
    *out = m;
    return ERG_OK;
}

erg_status erg_model_data_open(const erg_allocator *alloc, const char *path, bool no_mmap,
                               erg_model_data **out, erg_diag *diag) {
    *out = NULL;
    erg_gguf *g = NULL;
    ERG_RETURN_IF_ERROR(erg_gguf_open_file(alloc, path, no_mmap, &g, diag));
    erg_status st = erg_model_data_from_gguf(alloc, g, out, diag);
    if (st != ERG_OK)
        erg_diag_prefix(diag, "%s", path);
    return st;
}
