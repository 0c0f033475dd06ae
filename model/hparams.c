/* Reading and checking a model's hyperparameters from its GGUF keys. */
#include "model/hparams.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Upper bounds that no small language model comes near; they keep a hostile
 * file from asking for absurd allocations. */
#define MAX_DIM (1u << 20)
#define MAX_LAYERS 1024u
#define MAX_HEADS 4096u

static erg_status read_u32(const erg_gguf *g, const char *arch, const char *suffix, bool required,
                           uint32_t fallback, uint32_t *out, erg_diag *diag) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const erg_gguf_value *v = erg_gguf_get(g, key);
    if (!v) {
        if (required)
            return erg_fail(diag, ERG_FORMAT, "missing key '%s'", key);
        *out = fallback;
        return ERG_OK;
    }
    uint64_t u;
    if (!erg_gguf_get_uint(g, v, &u) || u > UINT32_MAX)
        return erg_fail(diag, ERG_FORMAT, "key '%s' must be an unsigned 32-bit integer", key);
    *out = (uint32_t)u;
    return ERG_OK;
}

static erg_status read_f32(const erg_gguf *g, const char *arch, const char *suffix, bool required,
                           float fallback, float *out, erg_diag *diag) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const erg_gguf_value *v = erg_gguf_get(g, key);
    if (!v) {
        if (required)
            return erg_fail(diag, ERG_FORMAT, "missing key '%s'", key);
        *out = fallback;
        return ERG_OK;
    }
    double d;
    if (!erg_gguf_get_float(g, v, &d) || !isfinite(d))
        return erg_fail(diag, ERG_FORMAT, "key '%s' must be a finite number", key);
    *out = (float)d;
    return ERG_OK;
}

static erg_status check_range(const char *arch, const char *what, uint32_t v, uint32_t lo,
                              uint32_t hi, erg_diag *diag) {
    if (v < lo || v > hi)
        return erg_fail(diag, ERG_FORMAT, "%s.%s = %u is out of range [%u, %u]", arch, what, v, lo,
                        hi);
    return ERG_OK;
}

/* `A.rope.scaling.type`: none or linear (freq_scale = 1 / factor). */
static erg_status read_rope_scaling(erg_gguf *g, const char *arch, erg_hparams *hp,
                                    erg_diag *diag) {
    hp->rope_freq_scale = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    const erg_gguf_value *v = erg_gguf_get(g, key);
    if (!v)
        return ERG_OK;
    if (v->type != ERG_GGUF_STRING)
        return erg_fail(diag, ERG_FORMAT, "key '%s' must be a string", key);
    const char *type = erg_gguf_get_cstr(g, v);
    if (!type)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "reading '%s'", key);
    if (strcmp(type, "none") == 0)
        return ERG_OK;
    if (strcmp(type, "linear") != 0)
        return erg_fail(diag, ERG_UNSUPPORTED, "%s = '%s' is not supported (supported: none, linear)",
                        key, type);
    float factor = 1.0f;
    ERG_RETURN_IF_ERROR(read_f32(g, arch, "rope.scaling.factor", true, 1.0f, &factor, diag));
    if (!(factor >= 1.0f))
        return erg_fail(diag, ERG_FORMAT, "%s.rope.scaling.factor = %g must be >= 1", arch, factor);
    hp->rope_freq_scale = 1.0f / factor;
    return ERG_OK;
}

erg_status erg_hparams_read(erg_gguf *g, erg_hparams *hp, erg_diag *diag) {
    const erg_gguf_value *av = erg_gguf_get(g, "general.architecture");
    if (!av || av->type != ERG_GGUF_STRING)
        return erg_fail(diag, ERG_FORMAT, "missing string key 'general.architecture'");
    const char *arch = erg_gguf_get_cstr(g, av);
    if (!arch)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "reading 'general.architecture'");
    int a = erg_arch_parse(arch);
    if (a < 0)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "architecture '%s' is not supported (supported: %s)", arch,
                        erg_arch_supported_list());
    hp->arch = (erg_arch)a;
    hp->rope_mode = hp->arch == ERG_ARCH_LLAMA ? ERG_ROPE_NORMAL : ERG_ROPE_NEOX;
    hp->qkv_bias = hp->arch == ERG_ARCH_QWEN2;
    hp->qk_norm = hp->arch == ERG_ARCH_QWEN3;

    ERG_RETURN_IF_ERROR(read_u32(g, arch, "embedding_length", true, 0, &hp->n_embd, diag));
    ERG_RETURN_IF_ERROR(read_u32(g, arch, "block_count", true, 0, &hp->n_layer, diag));
    ERG_RETURN_IF_ERROR(read_u32(g, arch, "feed_forward_length", true, 0, &hp->n_ff, diag));
    ERG_RETURN_IF_ERROR(read_u32(g, arch, "attention.head_count", true, 0, &hp->n_head, diag));
    ERG_RETURN_IF_ERROR(
        read_u32(g, arch, "attention.head_count_kv", false, hp->n_head, &hp->n_head_kv, diag));
    ERG_RETURN_IF_ERROR(read_u32(g, arch, "context_length", true, 0, &hp->n_ctx_train, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "embedding_length", hp->n_embd, 1, MAX_DIM, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "block_count", hp->n_layer, 1, MAX_LAYERS, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "feed_forward_length", hp->n_ff, 1, MAX_DIM, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "attention.head_count", hp->n_head, 1, MAX_HEADS, diag));
    ERG_RETURN_IF_ERROR(
        check_range(arch, "attention.head_count_kv", hp->n_head_kv, 1, hp->n_head, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "context_length", hp->n_ctx_train, 1, 1u << 24, diag));
    if (hp->n_head % hp->n_head_kv != 0)
        return erg_fail(diag, ERG_FORMAT,
                        "%s.attention.head_count (%u) is not a multiple of head_count_kv (%u)",
                        arch, hp->n_head, hp->n_head_kv);
    ERG_RETURN_IF_ERROR(read_u32(g, arch, "attention.key_length", false, hp->n_embd / hp->n_head,
                                 &hp->head_dim, diag));
    ERG_RETURN_IF_ERROR(
        read_u32(g, arch, "attention.value_length", false, hp->head_dim, &hp->head_dim_v, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "attention.key_length", hp->head_dim, 2, 4096, diag));
    ERG_RETURN_IF_ERROR(check_range(arch, "attention.value_length", hp->head_dim_v, 1, 4096, diag));
    ERG_RETURN_IF_ERROR(
        read_u32(g, arch, "rope.dimension_count", false, hp->head_dim, &hp->n_rot, diag));
    if (hp->n_rot == 0 || hp->n_rot % 2 != 0 || hp->n_rot > hp->head_dim)
        return erg_fail(diag, ERG_FORMAT,
                        "%s.rope.dimension_count = %u must be even and in [2, key_length = %u]",
                        arch, hp->n_rot, hp->head_dim);
    ERG_RETURN_IF_ERROR(
        read_f32(g, arch, "attention.layer_norm_rms_epsilon", true, 0, &hp->rms_eps, diag));
    if (!(hp->rms_eps > 0 && hp->rms_eps < 1))
        return erg_fail(diag, ERG_FORMAT, "%s.attention.layer_norm_rms_epsilon = %g is not in (0, 1)",
                        arch, hp->rms_eps);
    ERG_RETURN_IF_ERROR(
        read_f32(g, arch, "rope.freq_base", false, 10000.0f, &hp->rope_freq_base, diag));
    if (!(hp->rope_freq_base > 1))
        return erg_fail(diag, ERG_FORMAT, "%s.rope.freq_base = %g must be > 1", arch,
                        hp->rope_freq_base);
    return read_rope_scaling(g, arch, hp, diag);
}

