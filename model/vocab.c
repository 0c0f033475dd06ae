/* Loading the GGUF tokenizer section (see vocab.h). */
#include "model/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    erg_pretok pretok;
} pretoks[] = {
    {"default", ERG_PRETOK_GPT2},  {"gpt2", ERG_PRETOK_GPT2},   {"llama-bpe", ERG_PRETOK_LLAMA3},
    {"llama3", ERG_PRETOK_LLAMA3}, {"qwen2", ERG_PRETOK_QWEN2}, {"smollm", ERG_PRETOK_SMOLLM},
};

bool erg_pretok_parse(const char *name, erg_pretok *out) {
    for (size_t i = 0; i < sizeof pretoks / sizeof pretoks[0]; i++)
        if (strcmp(name, pretoks[i].name) == 0) {
            *out = pretoks[i].pretok;
            return true;
        }
    return false;
}

const char *erg_pretok_supported_list(void) {
    return "default, gpt2, llama-bpe, llama3, qwen2, smollm";
}

/* FNV-1a over the pieces of a key. */
static uint64_t hash_bytes(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    return h;
}
#define HASH_SEED 0xCBF29CE484222325ull

bool erg_strmap_init(const erg_allocator *a, erg_strmap *m, size_t n) {
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    m->slots = erg_calloc(a, cap, sizeof *m->slots);
    m->mask = cap - 1;
    return m->slots != NULL;
}

/* Inserts entry i (key keys[i]) unless the key is there already (the first
 * entry wins, as with duplicate tokens in llama.cpp). */
void erg_strmap_put(erg_strmap *m, const char *const *keys, const uint32_t *lens, uint32_t i) {
    size_t s = hash_bytes(HASH_SEED, keys[i], lens[i]) & m->mask;
    for (; m->slots[s]; s = (s + 1) & m->mask) {
        uint32_t e = m->slots[s] - 1;
        if (lens[e] == lens[i] && memcmp(keys[e], keys[i], lens[i]) == 0)
            return;
    }
    m->slots[s] = i + 1;
}

int32_t erg_strmap_get(const erg_strmap *m, const char *const *keys, const uint32_t *lens,
                       const char *key, size_t len) {
    for (size_t i = hash_bytes(HASH_SEED, key, len) & m->mask; m->slots[i]; i = (i + 1) & m->mask) {
        uint32_t e = m->slots[i] - 1;
        if (lens[e] == len && memcmp(keys[e], key, len) == 0)
            return (int32_t)e;
    }
    return -1;
}

int32_t erg_vocab_find(const erg_vocab *v, const char *s, size_t len) {
    return erg_strmap_get(&v->token_ids, v->text, v->len, s, len);
}

int32_t erg_vocab_merge_rank(const erg_vocab *v, const char *l, size_t ll, const char *r,
                             size_t rl) {
    const erg_strmap *m = &v->merge_ranks;
    if (!m->slots)
        return -1;
    uint64_t h = hash_bytes(hash_bytes(hash_bytes(HASH_SEED, l, ll), " ", 1), r, rl);
    for (size_t i = h & m->mask; m->slots[i]; i = (i + 1) & m->mask) {
        uint32_t e = m->slots[i] - 1;
        const char *k = v->merge[e];
        if (v->merge_len[e] == ll + 1 + rl && memcmp(k, l, ll) == 0 && k[ll] == ' ' &&
            memcmp(k + ll + 1, r, rl) == 0)
            return (int32_t)e;
    }
    return -1;
}

/* Copies a string array into NUL-terminated strings in one pool. */
static erg_status copy_strings(const erg_allocator *a, const erg_gguf *g, const erg_gguf_value *val,
                               const char *key, const char ***strs, uint32_t **lens, char **pool,
                               erg_diag *diag) {
    uint64_t n = val->count, bytes = 0;
    for (uint64_t i = 0; i < n; i++) {
        erg_gguf_str s;
        erg_gguf_arr_str(g, val, i, &s);
        bytes += s.len + 1;
    }
    *strs = erg_calloc(a, n ? n : 1, sizeof **strs);
    *lens = erg_calloc(a, n ? n : 1, sizeof **lens);
    *pool = erg_malloc(a, bytes ? bytes : 1);
    if (!*strs || !*lens || !*pool)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "%s: %llu strings", key, (unsigned long long)n);
    char *p = *pool;
    for (uint64_t i = 0; i < n; i++) {
        erg_gguf_str s;
        erg_gguf_arr_str(g, val, i, &s);
        if (s.len > UINT32_MAX / 2)
            return erg_fail(diag, ERG_FORMAT, "%s[%llu] is %llu bytes long", key,
                            (unsigned long long)i, (unsigned long long)s.len);
        memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
        (*strs)[i] = p;
        (*lens)[i] = (uint32_t)s.len;
        p += s.len + 1;
    }
    return ERG_OK;
}

static const erg_gguf_value *get_array(const erg_gguf *g, const char *key, erg_gguf_type elem,
                                       uint64_t count, bool required, erg_status *st,
                                       erg_diag *diag) {
    const erg_gguf_value *val = erg_gguf_get(g, key);
    if (!val) {
        if (required)
            *st = erg_fail(diag, ERG_FORMAT, "the model has no %s", key);
        return NULL;
    }
    bool type_ok =
        val->type == ERG_GGUF_ARRAY &&
        (val->elem_type == elem || (elem == ERG_GGUF_INT32 && val->elem_type == ERG_GGUF_UINT32));
    if (!type_ok || (count && val->count != count)) {
        *st = erg_fail(diag, ERG_FORMAT, "%s must be an array of %llu %s", key,
                       (unsigned long long)count, erg_gguf_type_name(elem));
        return NULL;
    }
    return val;
}

/* An optional token id key: -1 when absent; an error when out of range. */
static erg_status read_id(const erg_gguf *g, const char *key, uint32_t n, int32_t *out,
                          erg_diag *diag) {
    *out = -1;
    const erg_gguf_value *val = erg_gguf_get(g, key);
    int64_t id;
    if (!val)
        return ERG_OK;
    if (!erg_gguf_get_int(g, val, &id) || id < -1 || id >= (int64_t)n)
        return erg_fail(diag, ERG_FORMAT, "%s is not a token id below %u", key, n);
    *out = (int32_t)id;
    return ERG_OK;
}

static bool read_flag(const erg_gguf *g, const char *key, bool dflt) {
    const erg_gguf_value *val = erg_gguf_get(g, key);
    bool b;
    return val && erg_gguf_get_bool(g, val, &b) ? b : dflt;
}

/* Copies a string key in place (the reader's caches are not touched, as
 * other threads may be reading them). False if absent or not a string. */
static bool read_str(const erg_gguf *g, const char *key, char *out, size_t cap) {
    const erg_gguf_value *val = erg_gguf_get(g, key);
    erg_gguf_str s;
    if (!val || !erg_gguf_get_str(g, val, &s))
        return false;
    snprintf(out, cap, "%.*s", (int)(s.len < cap ? s.len : cap - 1), s.ptr);
    return true;
}

static erg_status read_kind(const erg_gguf *g, erg_vocab *v, erg_diag *diag) {
    if (!read_str(g, "tokenizer.ggml.model", v->model_name, sizeof v->model_name))
        return erg_fail(diag, ERG_FORMAT, "the model has no tokenizer (tokenizer.ggml.model)");
    const char *model = v->model_name;
    if (strcmp(model, "llama") == 0)
        v->kind = ERG_VOCAB_SPM;
    else if (strcmp(model, "gpt2") == 0)
        v->kind = ERG_VOCAB_BPE;
    else
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "tokenizer model '%s' is not supported (supported: llama, gpt2)", model);
    if (!read_str(g, "tokenizer.ggml.pre", v->pre_name, sizeof v->pre_name))
        snprintf(v->pre_name, sizeof v->pre_name, "default");
    /* SentencePiece vocabularies have no pre-tokenizer: the name is ignored. */
    if (v->kind == ERG_VOCAB_BPE && !erg_pretok_parse(v->pre_name, &v->pretok))
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "pre-tokenizer '%s' (tokenizer.ggml.pre) is not supported "
                        "(supported: %s)",
                        v->pre_name, erg_pretok_supported_list());
    v->ignore_merges = v->kind == ERG_VOCAB_BPE && v->pretok == ERG_PRETOK_LLAMA3;
    return ERG_OK;
}

static int by_length_desc(const void *a, const void *b, void *ctx) {
    const erg_vocab *v = ctx;
    uint32_t la = v->len[*(const int32_t *)a], lb = v->len[*(const int32_t *)b];
    return la != lb ? (la < lb ? 1 : -1) : *(const int32_t *)a - *(const int32_t *)b;
}

/* Insertion sort: a few hundred specials at most, and qsort has no context. */
static void sort_specials(erg_vocab *v) {
    for (uint32_t i = 1; i < v->n_specials; i++) {
        int32_t t = v->specials[i];
        uint32_t j = i;
        for (; j > 0 && by_length_desc(&v->specials[j - 1], &t, v) > 0; j--)
            v->specials[j] = v->specials[j - 1];
        v->specials[j] = t;
    }
    for (uint32_t i = 0; i < v->n_specials; i++)
        v->special_start[(unsigned char)v->text[v->specials[i]][0]] = true;
}

static erg_status read_tokens(const erg_gguf *g, erg_vocab *v, erg_diag *diag) {
    const erg_allocator *a = v->alloc;
    erg_status st = ERG_OK;
    const erg_gguf_value *toks =
        get_array(g, "tokenizer.ggml.tokens", ERG_GGUF_STRING, 0, true, &st, diag);
    if (!toks)
        return st;
    if (toks->count == 0 || toks->count > INT32_MAX / 2)
        return erg_fail(diag, ERG_FORMAT, "tokenizer.ggml.tokens holds %llu tokens",
                        (unsigned long long)toks->count);
    v->n_tokens = (uint32_t)toks->count;
    ERG_RETURN_IF_ERROR(
        copy_strings(a, g, toks, "tokenizer.ggml.tokens", &v->text, &v->len, &v->pool, diag));
    const erg_gguf_value *scores = get_array(g, "tokenizer.ggml.scores", ERG_GGUF_FLOAT32,
                                             v->n_tokens, v->kind == ERG_VOCAB_SPM, &st, diag);
    const erg_gguf_value *types =
        get_array(g, "tokenizer.ggml.token_type", ERG_GGUF_INT32, v->n_tokens, false, &st, diag);
    if (st != ERG_OK)
        return st;
    v->score = erg_calloc(a, v->n_tokens, sizeof *v->score);
    v->type = erg_calloc(a, v->n_tokens, sizeof *v->type);
    v->specials = erg_calloc(a, v->n_tokens, sizeof *v->specials);
    if (!v->score || !v->type || !v->specials || !erg_strmap_init(a, &v->token_ids, v->n_tokens))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "vocabulary of %u tokens", v->n_tokens);
    for (uint32_t i = 0; i < 256; i++)
        v->byte_token[i] = -1;
    for (uint32_t i = 0; i < v->n_tokens; i++) {
        double s = 0;
        int64_t t = ERG_TOKEN_NORMAL;
        if (scores)
            erg_gguf_arr_float(g, scores, i, &s);
        if (types)
            erg_gguf_arr_int(g, types, i, &t);
        v->score[i] = (float)s;
        v->type[i] = (int32_t)t;
        erg_strmap_put(&v->token_ids, v->text, v->len, i);
        if (t == ERG_TOKEN_CONTROL || t == ERG_TOKEN_USER_DEFINED || t == ERG_TOKEN_UNKNOWN)
            if (v->len[i] > 0)
                v->specials[v->n_specials++] = (int32_t)i;
        unsigned byte;
        char end;
        if (t == ERG_TOKEN_BYTE && v->len[i] == 6 &&
            sscanf(v->text[i], "<0x%2X%c", &byte, &end) == 2 && end == '>')
            v->byte_token[byte] = (int32_t)i;
    }
    sort_specials(v);
    return ERG_OK;
}

static erg_status read_merges(const erg_gguf *g, erg_vocab *v, erg_diag *diag) {
    erg_status st = ERG_OK;
    const erg_gguf_value *merges =
        get_array(g, "tokenizer.ggml.merges", ERG_GGUF_STRING, 0, true, &st, diag);
    if (!merges)
        return st;
    if (merges->count > INT32_MAX / 2)
        return erg_fail(diag, ERG_FORMAT, "tokenizer.ggml.merges holds %llu merges",
                        (unsigned long long)merges->count);
    v->n_merges = (uint32_t)merges->count;
    ERG_RETURN_IF_ERROR(copy_strings(v->alloc, g, merges, "tokenizer.ggml.merges", &v->merge,
                                     &v->merge_len, &v->merge_pool, diag));
    if (!erg_strmap_init(v->alloc, &v->merge_ranks, v->n_merges))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "%u merges", v->n_merges);
    for (uint32_t i = 0; i < v->n_merges; i++) {
        const char *sp = memchr(v->merge[i], ' ', v->merge_len[i]);
        if (!sp || sp == v->merge[i] || sp + 1 == v->merge[i] + v->merge_len[i])
            return erg_fail(diag, ERG_FORMAT,
                            "tokenizer.ggml.merges[%u] is not two pieces separated by a space", i);
        erg_strmap_put(&v->merge_ranks, v->merge, v->merge_len, i);
    }
    return ERG_OK;
}

bool erg_vocab_is_eog(const erg_vocab *v, int32_t id) {
    /* The end-of-turn tokens of the chat formats erg knows, when the file
     * does not name them (llama.cpp recognises them the same way). */
    static const char *const ends[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>"};
    if (id < 0 || (uint32_t)id >= v->n_tokens)
        return false;
    if (id == v->eos || id == v->eot)
        return true;
    for (size_t i = 0; v->type[id] == ERG_TOKEN_CONTROL && i < sizeof ends / sizeof ends[0]; i++)
        if (strcmp(v->text[id], ends[i]) == 0)
            return true;
    return false;
}

erg_status erg_vocab_load(const erg_allocator *alloc, const erg_gguf *g, erg_vocab **out,
                          erg_diag *diag) {
    *out = NULL;
    alloc = erg_allocator_or_default(alloc);
    erg_vocab *v = erg_calloc(alloc, 1, sizeof *v);
    if (!v)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "vocabulary");
    v->alloc = alloc;
    erg_status st = read_kind(g, v, diag);
    if (st == ERG_OK)
        st = read_tokens(g, v, diag);
    if (st == ERG_OK && v->kind == ERG_VOCAB_BPE)
        st = read_merges(g, v, diag);
    if (st == ERG_OK)
        st = read_id(g, "tokenizer.ggml.bos_token_id", v->n_tokens, &v->bos, diag);
    if (st == ERG_OK)
        st = read_id(g, "tokenizer.ggml.eos_token_id", v->n_tokens, &v->eos, diag);
    if (st == ERG_OK)
        st = read_id(g, "tokenizer.ggml.eot_token_id", v->n_tokens, &v->eot, diag);
    if (st == ERG_OK)
        st = read_id(g, "tokenizer.ggml.unknown_token_id", v->n_tokens, &v->unk, diag);
    if (st == ERG_OK)
        st = read_id(g, "tokenizer.ggml.padding_token_id", v->n_tokens, &v->pad, diag);
    if (st != ERG_OK) {
        erg_vocab_free(v);
        return st;
    }
    bool spm = v->kind == ERG_VOCAB_SPM;
    v->add_bos = read_flag(g, "tokenizer.ggml.add_bos_token", spm) && v->bos >= 0;
    v->add_eos = read_flag(g, "tokenizer.ggml.add_eos_token", false) && v->eos >= 0;
    v->add_space_prefix = spm && read_flag(g, "tokenizer.ggml.add_space_prefix", true);
    *out = v;
    return ERG_OK;
}

void erg_vocab_free(erg_vocab *v) {
    if (!v)
        return;
    const erg_allocator *a = v->alloc;
    erg_free(a, v->text);
    erg_free(a, v->len);
    erg_free(a, v->score);
    erg_free(a, v->type);
    erg_free(a, v->pool);
    erg_free(a, v->token_ids.slots);
    erg_free(a, v->merge);
    erg_free(a, v->merge_len);
    erg_free(a, v->merge_ranks.slots);
    erg_free(a, v->merge_pool);
    erg_free(a, v->specials);
    erg_free(a, v);
}
