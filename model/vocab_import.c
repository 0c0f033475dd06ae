/* tokenizer.json to a GGUF tokenizer section (see vocab_import.h). */
#include "model/vocab_import.h"
#include "model/vocab.h"

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pre-tokenizer regexes of the families erg supports, as published. */
static const char LLAMA3_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char QWEN2_REGEX[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

typedef struct import {
    const erg_allocator *alloc;
    cJSON *json, *config;
    uint32_t n;
    const char **tokens;
    uint32_t *lens;
    int32_t *types;
    char **owned; /* strings made here (padding names, merges) */
    size_t n_owned;
    erg_diag *diag;
} import;

static erg_status read_json(const char *path, bool required, cJSON **out, erg_diag *diag) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return required ? erg_fail(diag, ERG_IO, "cannot open %s", path) : ERG_OK;
    char *buf = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL &&
        fread(buf, 1, (size_t)size, f) == (size_t)size) {
        buf[size] = '\0';
        *out = cJSON_Parse(buf);
    }
    fclose(f);
    free(buf);
    if (!*out)
        return erg_fail(diag, ERG_FORMAT, "%s is not readable JSON", path);
    return ERG_OK;
}

static const char *str_member(const cJSON *o, const char *name) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* tokenizer_config's special token: a string, or an object with content. */
static const char *config_token(const cJSON *config, const char *name) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(config, name);
    return cJSON_IsString(t) ? t->valuestring : str_member(t, "content");
}

static char *own(import *im, const char *a, const char *sep, const char *b) {
    size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
    char *s = erg_malloc(im->alloc, n);
    if (s) {
        snprintf(s, n, "%s%s%s", a, sep, b);
        im->owned[im->n_owned++] = s;
    }
    return s;
}

static int32_t find_token(const import *im, const char *text) {
    for (uint32_t i = 0; text && i < im->n; i++)
        if (im->tokens[i] && strcmp(im->tokens[i], text) == 0)
            return (int32_t)i;
    return -1;
}

/* Does the normaliser (or pre-tokenizer) prepend U+2581, SentencePiece style? */
static bool prepends_space_marker(const cJSON *node) {
    if (!node)
        return false;
    const char *type = str_member(node, "type");
    if (type && strcmp(type, "Prepend") == 0)
        return true;
    if (type && strcmp(type, "Metaspace") == 0) {
        const char *scheme = str_member(node, "prepend_scheme");
        return !scheme || strcmp(scheme, "never") != 0;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(
                                 node, "normalizers")) if (prepends_space_marker(item)) return true;
    cJSON_ArrayForEach(item,
                       cJSON_GetObjectItemCaseSensitive(
                           node, "pretokenizers")) if (prepends_space_marker(item)) return true;
    return false;
}

/* Names the pre-tokenizer of a byte-level BPE tokenizer.json. */
static erg_status detect_pre(const cJSON *pre, const char **name, erg_diag *diag) {
    const char *type = str_member(pre, "type");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
    const cJSON *first = cJSON_GetArrayItem(steps, 0), *second = cJSON_GetArrayItem(steps, 1);
    const char *t1 = str_member(first, "type"), *t2 = str_member(second, "type");
    bool two = type && strcmp(type, "Sequence") == 0 && cJSON_GetArraySize(steps) == 2 && t1 &&
               t2 && strcmp(t2, "ByteLevel") == 0;
    if (type && strcmp(type, "ByteLevel") == 0 &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pre, "use_regex"))) {
        *name = "gpt2";
        return ERG_OK;
    }
    if (two && strcmp(t1, "Digits") == 0 &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "individual_digits"))) {
        *name = "smollm";
        return ERG_OK;
    }
    const char *regex =
        two && strcmp(t1, "Split") == 0
            ? str_member(cJSON_GetObjectItemCaseSensitive(first, "pattern"), "Regex")
            : NULL;
    if (regex && strcmp(regex, LLAMA3_REGEX) == 0)
        *name = "llama-bpe";
    else if (regex && strcmp(regex, QWEN2_REGEX) == 0)
        *name = "qwen2";
    else
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "the tokenizer.json pre-tokenizer (%s%s%.60s) is not one erg knows "
                        "(Llama-3, Qwen2, SmolLM or GPT-2's)",
                        type ? type : "none", regex ? ", regex " : "", regex ? regex : "");
    return ERG_OK;
}

/* Reads the vocabulary and the added tokens into tokens[id] and types[id]. */
static erg_status read_vocab(import *im, const cJSON *model, const cJSON *added, bool spm) {
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *item;
    int64_t max_id = -1;
    cJSON_ArrayForEach(item, vocab) if (cJSON_IsNumber(item) && item->valuedouble > (double)max_id)
        max_id = (int64_t)item->valuedouble;
    cJSON_ArrayForEach(item, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (cJSON_IsNumber(id) && id->valuedouble > (double)max_id)
            max_id = (int64_t)id->valuedouble;
    }
    if (max_id < 0 || max_id >= INT32_MAX / 4)
        return erg_fail(im->diag, ERG_FORMAT, "tokenizer.json has no usable model.vocab");
    im->n = (uint32_t)max_id + 1;
    im->tokens = erg_calloc(im->alloc, im->n, sizeof *im->tokens);
    im->lens = erg_calloc(im->alloc, im->n, sizeof *im->lens);
    im->types = erg_calloc(im->alloc, im->n, sizeof *im->types);
    im->owned = erg_calloc(
        im->alloc,
        im->n + (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(model, "merges")),
        sizeof *im->owned);
    if (!im->tokens || !im->lens || !im->types || !im->owned)
        return erg_fail(im->diag, ERG_OUT_OF_MEMORY, "a vocabulary of %u tokens", im->n);
    cJSON_ArrayForEach(item, vocab) {
        if (!cJSON_IsNumber(item) || item->valuedouble < 0)
            return erg_fail(im->diag, ERG_FORMAT, "tokenizer.json: token '%s' has no id",
                            item->string);
        uint32_t id = (uint32_t)item->valuedouble;
        unsigned byte;
        char end;
        im->tokens[id] = item->string;
        bool is_byte = spm && strlen(item->string) == 6 &&
                       sscanf(item->string, "<0x%2X%c", &byte, &end) == 2 && end == '>';
        im->types[id] = is_byte ? ERG_TOKEN_BYTE : ERG_TOKEN_NORMAL;
    }
    const char *unk = str_member(model, "unk_token");
    cJSON_ArrayForEach(item, added) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        const char *content = str_member(item, "content");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || !content)
            return erg_fail(im->diag, ERG_FORMAT,
                            "tokenizer.json: an added token has no id or content");
        uint32_t i = (uint32_t)id->valuedouble;
        im->tokens[i] = content;
        bool special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "special"));
        im->types[i] = unk && strcmp(content, unk) == 0 ? ERG_TOKEN_UNKNOWN
                       : special                        ? ERG_TOKEN_CONTROL
                                                        : ERG_TOKEN_USER_DEFINED;
    }
    for (uint32_t i = 0; i < im->n; i++) {
        if (!im->tokens[i]) {
            char name[32];
            snprintf(name, sizeof name, "[PAD%u]", i);
            if (!(im->tokens[i] = own(im, name, "", "")))
                return erg_fail(im->diag, ERG_OUT_OF_MEMORY, "padding token names");
            im->types[i] = ERG_TOKEN_UNUSED;
        }
        im->lens[i] = (uint32_t)strlen(im->tokens[i]);
    }
    return ERG_OK;
}

/* Merges as "left right" strings (tokenizer.json has them so, or as pairs). */
static erg_status read_merges(import *im, const cJSON *model, const char ***out, uint32_t *n) {
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges"), *item;
    *n = 0;
    *out = erg_calloc(im->alloc, (size_t)cJSON_GetArraySize(merges) + 1, sizeof **out);
    if (!*out)
        return erg_fail(im->diag, ERG_OUT_OF_MEMORY, "merges");
    cJSON_ArrayForEach(item, merges) {
        const char *m = cJSON_IsString(item) ? item->valuestring : NULL;
        if (cJSON_IsArray(item) && cJSON_GetArraySize(item) == 2 && cJSON_IsString(item->child) &&
            cJSON_IsString(item->child->next))
            m = own(im, item->child->valuestring, " ", item->child->next->valuestring);
        if (!m || !strchr(m, ' '))
            return erg_fail(im->diag, ERG_FORMAT, "tokenizer.json: merge %u is not two pieces", *n);
        (*out)[(*n)++] = m;
    }
    return ERG_OK;
}

/* SentencePiece scores: minus the rank of the first merge making a token;
 * tokens no merge makes (characters, bytes, specials) score lower still. */
static erg_status spm_scores(import *im, const char *const *merges, uint32_t n_merges,
                             float *scores) {
    erg_strmap map = {0};
    if (!erg_strmap_init(im->alloc, &map, im->n))
        return erg_fail(im->diag, ERG_OUT_OF_MEMORY, "token table");
    for (uint32_t i = 0; i < im->n; i++) {
        erg_strmap_put(&map, im->tokens, im->lens, i);
        scores[i] = -(float)n_merges - (float)i;
    }
    char buf[512];
    for (uint32_t r = 0; r < n_merges; r++) {
        /* "left right" -> "leftright" */
        const char *sp = strchr(merges[r], ' ');
        size_t ll = (size_t)(sp - merges[r]), rl = strlen(sp + 1), k = ll + rl;
        if (k > sizeof buf)
            continue;
        memcpy(buf, merges[r], ll);
        memcpy(buf + ll, sp + 1, rl);
        int32_t id = erg_strmap_get(&map, im->tokens, im->lens, buf, k);
        if (id >= 0 && scores[id] < -(float)r)
            scores[id] = -(float)r;
    }
    erg_free(im->alloc, map.slots);
    return ERG_OK;
}

static erg_status add_special_id(import *im, erg_gguf_writer *w, const char *key,
                                 const char *text) {
    int32_t id = find_token(im, text);
    return id < 0 ? ERG_OK : erg_gguf_writer_add_u32(w, key, (uint32_t)id);
}

/* add_bos: the config's flag, else whether the post-processor's template
 * starts with the BOS token. */
static bool adds_bos(const cJSON *json, const cJSON *config, const char *bos) {
    const cJSON *flag = cJSON_GetObjectItemCaseSensitive(config, "add_bos_token");
    if (cJSON_IsBool(flag))
        return cJSON_IsTrue(flag);
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(json, "post_processor");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(post, "single"), 0);
    const char *id = str_member(cJSON_GetObjectItemCaseSensitive(first, "SpecialToken"), "id");
    return bos && id && strcmp(id, bos) == 0;
}

static erg_status write_keys(import *im, erg_gguf_writer *w, bool spm, const char *pre,
                             const char *const *merges, uint32_t n_merges) {
    erg_status st = ERG_OK;
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2"));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.ggml.pre", pre));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", im->tokens, im->n));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ERG_GGUF_INT32, im->types, im->n));
    if (spm) {
        float *scores = erg_malloc(im->alloc, im->n * sizeof *scores);
        if (!scores)
            return erg_fail(im->diag, ERG_OUT_OF_MEMORY, "scores");
        st = spm_scores(im, merges, n_merges, scores);
        if (st == ERG_OK)
            st = erg_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ERG_GGUF_FLOAT32, scores,
                                         im->n);
        erg_free(im->alloc, scores);
        ERG_RETURN_IF_ERROR(st);
        ERG_RETURN_IF_ERROR(erg_gguf_writer_add_bool(
            w, "tokenizer.ggml.add_space_prefix",
            prepends_space_marker(cJSON_GetObjectItemCaseSensitive(im->json, "normalizer")) ||
                prepends_space_marker(
                    cJSON_GetObjectItemCaseSensitive(im->json, "pre_tokenizer"))));
    } else {
        ERG_RETURN_IF_ERROR(
            erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges", merges, n_merges));
    }
    const char *bos = config_token(im->config, "bos_token");
    ERG_RETURN_IF_ERROR(add_special_id(im, w, "tokenizer.ggml.bos_token_id", bos));
    ERG_RETURN_IF_ERROR(add_special_id(im, w, "tokenizer.ggml.eos_token_id",
                                       config_token(im->config, "eos_token")));
    ERG_RETURN_IF_ERROR(add_special_id(
        im, w, "tokenizer.ggml.unknown_token_id",
        str_member(cJSON_GetObjectItemCaseSensitive(im->json, "model"), "unk_token")));
    ERG_RETURN_IF_ERROR(add_special_id(im, w, "tokenizer.ggml.padding_token_id",
                                       config_token(im->config, "pad_token")));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token",
                                 find_token(im, bos) >= 0 && adds_bos(im->json, im->config, bos)));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_bool(
        w, "tokenizer.ggml.add_eos_token",
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(im->config, "add_eos_token"))));
    const char *tmpl = str_member(im->config, "chat_template");
    if (tmpl)
        ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.chat_template", tmpl));
    return ERG_OK;
}

/* tokenizer_config.json beside the tokenizer.json, if there is one. */
static erg_status read_config(const char *json_path, cJSON **out, erg_diag *diag) {
    const char *slash = strrchr(json_path, '/');
    size_t dir = slash ? (size_t)(slash - json_path) + 1 : 0;
    char path[4096];
    if (dir + sizeof "tokenizer_config.json" > sizeof path)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "the path %s is too long", json_path);
    snprintf(path, sizeof path, "%.*stokenizer_config.json", (int)dir, json_path);
    return read_json(path, false, out, diag);
}

static erg_status import_run(import *im, const char *json_path, erg_gguf_writer *w) {
    ERG_RETURN_IF_ERROR(read_json(json_path, true, &im->json, im->diag));
    ERG_RETURN_IF_ERROR(read_config(json_path, &im->config, im->diag));
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(im->json, "model");
    const char *type = str_member(model, "type");
    if (!type || strcmp(type, "BPE") != 0)
        return erg_fail(im->diag, ERG_UNSUPPORTED,
                        "%s: tokenizer model '%s' is not supported (BPE only)", json_path,
                        type ? type : "none");
    bool spm = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    const char *pre = "default";
    if (!spm)
        ERG_RETURN_IF_ERROR(detect_pre(cJSON_GetObjectItemCaseSensitive(im->json, "pre_tokenizer"),
                                       &pre, im->diag));
    ERG_RETURN_IF_ERROR(
        read_vocab(im, model, cJSON_GetObjectItemCaseSensitive(im->json, "added_tokens"), spm));
    if (!w)
        return ERG_OK;
    const char **merges = NULL;
    uint32_t n_merges = 0;
    erg_status st = read_merges(im, model, &merges, &n_merges);
    if (st == ERG_OK)
        st = write_keys(im, w, spm, pre, merges, n_merges);
    erg_free(im->alloc, merges);
    return st;
}

static void import_free(import *im) {
    for (size_t i = 0; i < im->n_owned; i++)
        erg_free(im->alloc, im->owned[i]);
    erg_free(im->alloc, im->owned);
    erg_free(im->alloc, im->tokens);
    erg_free(im->alloc, im->lens);
    erg_free(im->alloc, im->types);
    cJSON_Delete(im->json);
    cJSON_Delete(im->config);
}

erg_status erg_vocab_import_json(const erg_allocator *alloc, const char *json_path,
                                 erg_gguf_writer *w, uint32_t *n_tokens, erg_diag *diag) {
import im = {.alloc = erg_allocator_or_default(alloc), .diag = diag };
    erg_status st = import_run(&im, json_path, w);
    *n_tokens = im.n;
    import_free(&im);
    return st;
}

erg_status erg_vocab_json_size(const erg_allocator *alloc, const char *json_path,
                               uint32_t *n_tokens, erg_diag *diag) {
    return erg_vocab_import_json(alloc, json_path, NULL, n_tokens, diag);
}
