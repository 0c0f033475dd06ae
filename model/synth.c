/* erg mkmodel's model maker: presets, the tensor list in llama.cpp's naming,
 * seeded random weights generated and quantized in parallel, and the file. */
#include "model/synth.h"

#include "model/gguf.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct preset {
    const char *name;
    erg_arch arch;
    uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    float rope_base, eps;
    bool tied;
} preset;

/* Shapes of the real models for the named presets. Test presets keep every
 * row a multiple of 256, so K-quant files really hold K-quants. */
static const preset presets[] = {
    {"tiny", ERG_ARCH_LLAMA, 512, 256, 2, 4, 2, 64, 512, 512, 10000.0f, 1e-5f, false},
    {"small", ERG_ARCH_LLAMA, 4096, 512, 4, 8, 4, 64, 1536, 2048, 10000.0f, 1e-5f, false},
    {"qwen3-0.6b", ERG_ARCH_QWEN3, 151936, 1024, 28, 16, 8, 128, 3072, 40960, 1000000.0f, 1e-6f,
     true},
    {"tinyllama-1.1b", ERG_ARCH_LLAMA, 32000, 2048, 22, 32, 4, 64, 5632, 2048, 10000.0f, 1e-5f,
     false},
};

const char *erg_synth_preset_list(void) { return "tiny, small, qwen3-0.6b, tinyllama-1.1b"; }

erg_status erg_synth_preset(const char *name, int arch, erg_synth_spec *spec, erg_diag *diag) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        const preset *p = &presets[i];
        if (strcmp(name, p->name) != 0)
            continue;
        memset(spec, 0, sizeof *spec);
        spec->arch = arch >= 0 ? (erg_arch)arch : p->arch;
        spec->n_vocab = p->n_vocab;
        spec->n_embd = p->n_embd;
        spec->n_layer = p->n_layer;
        spec->n_head = p->n_head;
        spec->n_head_kv = p->n_head_kv;
        spec->head_dim = p->head_dim;
        /* The tiny qwen3 has wider heads than n_embd / n_head, as Qwen3 does. */
        if (spec->arch == ERG_ARCH_QWEN3 && strcmp(p->name, "tiny") == 0)
            spec->head_dim = 128;
        spec->n_ff = p->n_ff;
        spec->n_ctx = p->n_ctx;
        spec->rope_freq_base = p->rope_base;
        spec->rms_eps = p->eps;
        spec->tied_output = p->tied;
        spec->ftype = ERG_FTYPE_ALL_F32;
        snprintf(spec->preset, sizeof spec->preset, "%s", p->name);
        return ERG_OK;
    }
    return erg_fail(diag, ERG_INVALID_ARGUMENT, "unknown preset '%s' (presets: %s)", name,
                    erg_synth_preset_list());
}

erg_status erg_synth_check(const erg_synth_spec *s, erg_diag *diag) {
    if (!s->n_vocab || !s->n_embd || !s->n_layer || !s->n_head || !s->n_head_kv || !s->head_dim ||
        !s->n_ff || !s->n_ctx)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "every dimension must be positive");
    if (s->n_head % s->n_head_kv != 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "n_head %u is not a multiple of n_head_kv %u",
                        s->n_head, s->n_head_kv);
    if (s->head_dim % 2 != 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "head_dim %u must be even", s->head_dim);
    uint32_t widths[3] = {s->n_embd, s->n_ff, s->n_head * s->head_dim};
    for (int i = 0; i < 3; i++)
        if (widths[i] % 32 != 0)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "matrix rows of %u values are not a multiple of 32 (n_embd, n_ff and "
                            "n_head * head_dim must be)",
                            widths[i]);
    if (s->n_vocab < 300 || s->n_vocab > (1u << 24))
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "n_vocab %u is outside [300, 2^24]", s->n_vocab);
    return ERG_OK;
}

/* ---- tensors --------------------------------------------------------------- */

typedef enum { W_MATRIX, W_NORM, W_BIAS, W_ROPE_FREQS } weight_kind;

typedef struct synth_tensor {
    char name[64];
    weight_kind kind;
    int n_dims;
    int64_t ne[2];
    erg_dtype dtype;
    void *data;
    size_t row_bytes;
} synth_tensor;

typedef struct tensor_list {
    synth_tensor *t;
    size_t n, cap;
} tensor_list;

static void add(tensor_list *l, weight_kind kind, int64_t ne0, int64_t ne1, const char *fmt,
                uint32_t layer) {
    synth_tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, fmt, layer);
    t->kind = kind;
    t->n_dims = kind == W_MATRIX ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = kind == W_MATRIX ? ne1 : 1;
}

/* The model's tensors in file order, with llama.cpp's names and shapes. */
static void list_tensors(const erg_synth_spec *s, tensor_list *l) {
    int64_t e = s->n_embd, q = (int64_t)s->n_head * s->head_dim;
    int64_t kv = (int64_t)s->n_head_kv * s->head_dim;
    add(l, W_MATRIX, e, s->n_vocab, "token_embd.weight", 0);
    add(l, W_NORM, e, 1, "output_norm.weight", 0);
    if (!s->tied_output)
        add(l, W_MATRIX, e, s->n_vocab, "output.weight", 0);
    if (s->rope_freqs)
        add(l, W_ROPE_FREQS, s->head_dim / 2, 1, "rope_freqs.weight", 0);
    for (uint32_t il = 0; il < s->n_layer; il++) {
        add(l, W_NORM, e, 1, "blk.%u.attn_norm.weight", il);
        add(l, W_MATRIX, e, q, "blk.%u.attn_q.weight", il);
        add(l, W_MATRIX, e, kv, "blk.%u.attn_k.weight", il);
        add(l, W_MATRIX, e, kv, "blk.%u.attn_v.weight", il);
        if (s->arch == ERG_ARCH_QWEN2) {
            add(l, W_BIAS, q, 1, "blk.%u.attn_q.bias", il);
            add(l, W_BIAS, kv, 1, "blk.%u.attn_k.bias", il);
            add(l, W_BIAS, kv, 1, "blk.%u.attn_v.bias", il);
        }
        if (s->arch == ERG_ARCH_QWEN3) {
            add(l, W_NORM, s->head_dim, 1, "blk.%u.attn_q_norm.weight", il);
            add(l, W_NORM, s->head_dim, 1, "blk.%u.attn_k_norm.weight", il);
        }
        add(l, W_MATRIX, q, e, "blk.%u.attn_output.weight", il);
        add(l, W_NORM, e, 1, "blk.%u.ffn_norm.weight", il);
        add(l, W_MATRIX, e, s->n_ff, "blk.%u.ffn_gate.weight", il);
        add(l, W_MATRIX, e, s->n_ff, "blk.%u.ffn_up.weight", il);
        add(l, W_MATRIX, s->n_ff, e, "blk.%u.ffn_down.weight", il);
    }
}

/* ---- random values ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fills row `row` of tensor `index`: its own stream, so the values do not
 * depend on how rows are split across threads. */
static void fill_row(const erg_synth_spec *s, const synth_tensor *t, size_t index, int64_t row,
                     float *out) {
    uint64_t state = s->seed ^ (0xA24BAED4963EE407ull * (index + 1)) ^
                     (0x9FB21C651E98DF25ull * (uint64_t)(row + 1));
    if (t->kind == W_ROPE_FREQS) {
        /* Llama-3 frequency factors (factor 8, low/high 1/4, 8192 positions). */
        const double factor = 8.0, lo = 1.0, hi = 4.0, old_ctx = 8192.0;
        for (int64_t i = 0; i < t->ne[0]; i++) {
            double freq = pow(s->rope_freq_base, -2.0 * (double)i / (double)s->head_dim);
            double wavelen = 2.0 * M_PI / freq;
            double f = 1.0;
            if (wavelen > old_ctx / lo)
                f = factor;
            else if (wavelen >= old_ctx / hi) {
                double smooth = (old_ctx / wavelen - lo) / (hi - lo);
                f = 1.0 / ((1.0 - smooth) / factor + smooth);
            }
            out[i] = (float)f;
        }
        return;
    }
    for (int64_t i = 0; i < t->ne[0]; i += 2) {
        /* Box-Muller: two normals from two uniforms in (0, 1]. */
        double u1 = ((double)(splitmix64(&state) >> 11) + 1.0) * 0x1.0p-53;
        double u2 = (double)(splitmix64(&state) >> 11) * 0x1.0p-53;
        double r = sqrt(-2.0 * log(u1)), z0 = r * cos(2.0 * M_PI * u2), z1 = r * sin(2.0 * M_PI * u2);
        double base = t->kind == W_NORM ? 1.0 : 0.0;
        out[i] = (float)(base + 0.02 * z0);
        if (i + 1 < t->ne[0])
            out[i + 1] = (float)(base + 0.02 * z1);
    }
}

typedef struct job {
    const erg_synth_spec *spec;
    const synth_tensor *t;
    size_t index;
    int64_t row0, row1;
    float *scratch;
} job;

static void *run_job(void *p) {
    job *j = p;
    for (int64_t r = j->row0; r < j->row1; r++) {
        fill_row(j->spec, j->t, j->index, r, j->scratch);
        erg_quantize_rows(j->t->dtype, j->scratch, (char *)j->t->data + r * (int64_t)j->t->row_bytes,
                          1, j->t->ne[0]);
    }
    return NULL;
}

/* Generates and converts one tensor, its rows split across threads. */
static erg_status make_tensor(const erg_allocator *a, const erg_synth_spec *s, synth_tensor *t,
                              size_t index, int n_threads, float *scratch, erg_diag *diag) {
    t->row_bytes = erg_dtype_row_size(t->dtype, t->ne[0]);
    t->data = erg_malloc(a, t->row_bytes * (size_t)t->ne[1]);
    if (!t->data)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "tensor '%s' (%.1f MiB)", t->name,
                        (double)t->row_bytes * (double)t->ne[1] / 1048576.0);
    if (t->ne[1] < 64)
        n_threads = 1;
    if (n_threads > 32)
        n_threads = 32;
    job jobs[32];
    pthread_t threads[32];
    bool started[32] = {false};
    for (int i = 0; i < n_threads; i++)
        jobs[i] = (job){s, t, index, t->ne[1] * i / n_threads, t->ne[1] * (i + 1) / n_threads,
                        scratch + (int64_t)i * t->ne[0]};
    for (int i = 1; i < n_threads; i++)
        started[i] = pthread_create(&threads[i], NULL, run_job, &jobs[i]) == 0;
    for (int i = 0; i < n_threads; i++)
        if (!started[i]) /* the caller's share, and any thread that failed to start */
            run_job(&jobs[i]);
    for (int i = 1; i < n_threads; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
    return ERG_OK;
}

/* ---- the file -------------------------------------------------------------------- */

static erg_status add_metadata(erg_gguf_writer *w, const erg_synth_spec *s) {
    const char *arch = erg_arch_name(s->arch);
    char key[96], name[96], desc[160];
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    snprintf(name, sizeof name, "erg synthetic %s", s->preset[0] ? s->preset : "custom");
    snprintf(desc, sizeof desc,
             "random weights (seed %llu) made by erg mkmodel for tests and benchmarks",
             (unsigned long long)s->seed);
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "general.architecture", arch));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "general.name", name));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "general.description", desc));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "general.file_type", (uint32_t)s->ftype));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "general.quantization_version", 2));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("context_length"), s->n_ctx));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("embedding_length"), s->n_embd));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("block_count"), s->n_layer));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("feed_forward_length"), s->n_ff));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("attention.head_count"), s->n_head));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("attention.head_count_kv"), s->n_head_kv));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("attention.key_length"), s->head_dim));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("attention.value_length"), s->head_dim));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_freq_base));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("rope.dimension_count"), s->head_dim));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->rms_eps));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, KEY("vocab_size"), s->n_vocab));
#undef KEY
    return ERG_OK;
}

erg_status erg_synth_write(const erg_allocator *alloc, const erg_synth_spec *s, const char *path,
                           int n_threads, erg_diag *diag) {
    ERG_RETURN_IF_ERROR(erg_synth_check(s, diag));
    if (n_threads < 1)
        n_threads = 1;
    if (n_threads > 32)
        n_threads = 32;
    tensor_list l = {0};
    l.cap = 5 + 16 * (size_t)s->n_layer;
    l.t = erg_calloc(alloc, l.cap, sizeof *l.t);
    uint32_t widest = s->n_ff > s->n_embd ? s->n_ff : s->n_embd;
    if (s->n_head * s->head_dim > widest)
        widest = s->n_head * s->head_dim;
    float *scratch = erg_malloc(alloc, (size_t)n_threads * widest * sizeof(float));
    const char **names = erg_calloc(alloc, l.cap, sizeof *names);
    erg_gguf_writer *w = NULL;
    erg_status st = ERG_OK;
    if (!l.t || !scratch || !names)
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "model maker tables");
    if (st == ERG_OK)
        st = erg_gguf_writer_create(alloc, &w, diag);
    if (st == ERG_OK) {
        list_tensors(s, &l);
        for (size_t i = 0; i < l.n; i++)
            names[i] = l.t[i].name;
        erg_quant_plan plan;
        erg_quant_plan_init(&plan, s->ftype, (int)s->n_layer, names, (int)l.n);
        st = add_metadata(w, s);
        if (st == ERG_OK)
            st = erg_synth_add_tokenizer(alloc, w, s->arch, s->n_vocab, diag);
        for (size_t i = 0; i < l.n && st == ERG_OK; i++) {
            synth_tensor *t = &l.t[i];
            t->dtype = erg_quant_choose_type(&plan, t->name, t->n_dims, t->ne, ERG_DT_F32);
            st = make_tensor(alloc, s, t, i, n_threads, scratch, diag);
            if (st == ERG_OK)
                st = erg_gguf_writer_add_tensor(w, t->name, t->dtype, (uint32_t)t->n_dims, t->ne,
                                                t->data);
        }
        if (st != ERG_OK && diag && !diag->msg[0])
            erg_fail(diag, st, "preparing the model: %s", erg_status_message(st));
        if (st == ERG_OK)
            st = erg_gguf_writer_write(w, path, diag);
    }
    erg_gguf_writer_free(w);
    for (size_t i = 0; l.t && i < l.n; i++)
        erg_free(alloc, l.t[i].data);
    erg_free(alloc, l.t);
    erg_free(alloc, names);
    erg_free(alloc, scratch);
    return st;
}
