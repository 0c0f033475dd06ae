/*
 * The tokenizer section of synthetic models. Vocabularies are built
 * breadth-first from a small alphabet (the space marker, letters, digits):
 * every piece's prefix is also a piece, so SentencePiece-style merging by
 * score and byte-level BPE merges both reach every token.
 */
#include "model/gguf.h"
#include "model/synth.h"

#include <stdio.h>
#include <string.h>

enum { TOKEN_NORMAL = 1, TOKEN_UNKNOWN = 2, TOKEN_CONTROL = 3, TOKEN_BYTE = 6 };

typedef struct vocab {
    const erg_allocator *alloc;
    char **tokens;
    int32_t *types;
    float *scores;
    char **merges;
    uint32_t n, cap, n_merges;
    char *pool; /* all strings, bump-allocated */
    size_t pool_used, pool_cap;
} vocab;

static char *pool_str(vocab *v, const char *a, const char *b) {
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    if (v->pool_used + la + lb + 2 > v->pool_cap)
        return NULL;
    char *s = v->pool + v->pool_used;
    memcpy(s, a, la);
    if (b) {
        memcpy(s + la, b, lb);
    }
    s[la + lb] = '\0';
    v->pool_used += la + lb + 1;
    return s;
}

static bool add_token(vocab *v, char *text, int32_t type) {
    if (!text || v->n >= v->cap)
        return false;
    v->tokens[v->n] = text;
    v->types[v->n] = type;
    v->scores[v->n] = type == TOKEN_NORMAL ? -(float)v->n : 0.0f;
    v->n++;
    return true;
}

/* GPT-2's byte-to-character table: printable bytes stand for themselves,
 * the others map to U+0100 onwards. Writes the UTF-8 of byte b's character. */
static void byte_char(int b, char out[3]) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    unsigned cp = (unsigned)b;
    if (!printable) {
        unsigned n = 0;
        for (int i = 0; i < b; i++) {
            bool p = (i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF);
            n += !p;
        }
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = '\0';
    }
}

/* Appends tokens[t] + alphabet[i] (and the merge "tokens[t] alphabet[i]"). */
static bool add_join(vocab *v, uint32_t t, const char *sym, bool merges) {
    if (!add_token(v, pool_str(v, v->tokens[t], sym), TOKEN_NORMAL))
        return false;
    if (!merges)
        return true;
    char *m = pool_str(v, v->tokens[t], " ");
    if (!m)
        return false;
    v->pool_used--; /* the right part goes over the terminator */
    if (!pool_str(v, sym, NULL))
        return false;
    v->merges[v->n_merges++] = m;
    return true;
}

/* Extends the vocabulary breadth-first until n_target tokens: level 2 is each
 * alphabet token (ids first[]) followed by each symbol, level k+1 each token
 * of level k followed by each symbol. */
static bool grow(vocab *v, const char *const *alphabet, const uint32_t *first, int n_alpha,
                 uint32_t n_target, bool merges) {
    uint32_t level_start = v->n;
    for (int a = 0; a < n_alpha && v->n < n_target; a++)
        for (int i = 0; i < n_alpha && v->n < n_target; i++)
            if (!add_join(v, first[a], alphabet[i], merges))
                return false;
    while (v->n < n_target) {
        uint32_t level_end = v->n;
        for (uint32_t t = level_start; t < level_end && v->n < n_target; t++)
            for (int i = 0; i < n_alpha && v->n < n_target; i++)
                if (!add_join(v, t, alphabet[i], merges))
                    return false;
        level_start = level_end;
    }
    return true;
}

static const char *const letters[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k",
                                      "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
                                      "w", "x", "y", "z", "0", "1", "2", "3", "4", "5", "6",
                                      "7", "8", "9"};
#define N_LETTERS ((int)(sizeof letters / sizeof letters[0]))

/* SentencePiece-style: <unk>, <s>, </s>, the 256 byte tokens, then pieces
 * over "▁" and letters, scored so that longer (later) pieces rank lower. */
static bool build_spm(vocab *v, uint32_t n_vocab) {
    if (!add_token(v, pool_str(v, "<unk>", NULL), TOKEN_UNKNOWN) ||
        !add_token(v, pool_str(v, "<s>", NULL), TOKEN_CONTROL) ||
        !add_token(v, pool_str(v, "</s>", NULL), TOKEN_CONTROL))
        return false;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        if (!add_token(v, pool_str(v, name, NULL), TOKEN_BYTE))
            return false;
    }
    const char *alphabet[N_LETTERS + 1];
    uint32_t first[N_LETTERS + 1];
    alphabet[0] = "\xE2\x96\x81"; /* U+2581, SentencePiece's space marker */
    memcpy(alphabet + 1, letters, sizeof letters);
    for (int i = 0; i < N_LETTERS + 1 && v->n < n_vocab; i++) {
        first[i] = v->n;
        if (!add_token(v, pool_str(v, alphabet[i], NULL), TOKEN_NORMAL))
            return false;
    }
    return grow(v, alphabet, first, N_LETTERS + 1, n_vocab, false);
}

/* Byte-level BPE: the 256 byte characters, merged pieces, then the special
 * tokens at the end as Qwen lays them out. */
static bool build_bpe(vocab *v, uint32_t n_vocab, uint32_t n_special) {
    char chars[256][3];
    for (int b = 0; b < 256; b++) {
        byte_char(b, chars[b]);
        if (!add_token(v, pool_str(v, chars[b], NULL), TOKEN_NORMAL))
            return false;
    }
    const char *alphabet[N_LETTERS + 1];
    uint32_t first[N_LETTERS + 1];
    alphabet[0] = chars[' ']; /* "Ġ" */
    first[0] = ' ';
    for (int i = 0; i < N_LETTERS; i++) {
        alphabet[i + 1] = letters[i];
        first[i + 1] = (uint8_t)letters[i][0]; /* byte tokens are in byte order */
    }
    return grow(v, alphabet, first, N_LETTERS + 1, n_vocab - n_special, true);
}

static void vocab_free(vocab *v) {
    erg_free(v->alloc, v->tokens);
    erg_free(v->alloc, v->types);
    erg_free(v->alloc, v->scores);
    erg_free(v->alloc, v->merges);
    erg_free(v->alloc, v->pool);
}

static erg_status write_spm(erg_gguf_writer *w, const vocab *v) {
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.ggml.pre", "default"));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens",
                                                    (const char *const *)v->tokens, v->n));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ERG_GGUF_FLOAT32, v->scores, v->n));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ERG_GGUF_INT32, v->types, v->n));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 2));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "tokenizer.ggml.unknown_token_id", 0));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true));
    return erg_gguf_writer_add_bool(w, "tokenizer.ggml.add_eos_token", false);
}

static erg_status write_bpe(erg_gguf_writer *w, const vocab *v, uint32_t first_special) {
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2"));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_str(w, "tokenizer.ggml.pre", "qwen2"));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens",
                                                    (const char *const *)v->tokens, v->n));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ERG_GGUF_INT32, v->types, v->n));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.merges",
                                                    (const char *const *)v->merges, v->n_merges));
    /* <|endoftext|> begins and pads; <|im_end|> ends a turn. */
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", first_special));
    ERG_RETURN_IF_ERROR(erg_gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", first_special + 2));
    ERG_RETURN_IF_ERROR(
        erg_gguf_writer_add_u32(w, "tokenizer.ggml.padding_token_id", first_special));
    return erg_gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", false);
}

erg_status erg_synth_add_tokenizer(const erg_allocator *alloc, erg_gguf_writer *w, erg_arch arch,
                                   uint32_t n_vocab, erg_diag *diag) {
    static const char *const specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    const uint32_t n_special = 3;
    bool bpe = arch != ERG_ARCH_LLAMA;
    if (n_vocab < 300)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "a vocabulary of %u tokens is too small (300+)",
                        n_vocab);
    vocab v = {.alloc = erg_allocator_or_default(alloc), .cap = n_vocab};
    v.pool_cap = (size_t)n_vocab * 64;
    v.tokens = erg_calloc(alloc, n_vocab, sizeof *v.tokens);
    v.types = erg_calloc(alloc, n_vocab, sizeof *v.types);
    v.scores = erg_calloc(alloc, n_vocab, sizeof *v.scores);
    v.merges = erg_calloc(alloc, n_vocab, sizeof *v.merges);
    v.pool = erg_malloc(alloc, v.pool_cap);
    erg_status st = ERG_OK;
    if (!v.tokens || !v.types || !v.scores || !v.merges || !v.pool)
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "vocabulary of %u tokens", n_vocab);
    bool built = st == ERG_OK && (bpe ? build_bpe(&v, n_vocab, n_special) : build_spm(&v, n_vocab));
    for (uint32_t i = 0; built && bpe && i < n_special; i++)
        built = add_token(&v, pool_str(&v, specials[i], NULL), TOKEN_CONTROL);
    if (st == ERG_OK && (!built || v.n != n_vocab))
        st = erg_fail(diag, ERG_INTERNAL, "building a vocabulary of %u tokens", n_vocab);
    if (st == ERG_OK)
        st = bpe ? write_bpe(w, &v, n_vocab - n_special) : write_spm(w, &v);
    vocab_free(&v);
    return st;
}
