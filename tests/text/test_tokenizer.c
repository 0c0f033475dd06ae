/*
 * Tokenizers on erg's synthetic vocabularies (no download needed): special
 * tokens matched whole, round trips through byte fallback and byte-level
 * BPE, the streaming detokenizer holding back partial UTF-8, hidden control
 * tokens, BOS, the pre-tokenizer splits of each family, and clear errors
 * for unknown tokenizer models and pre-tokenizers.
 */
#include "tests/test.h"

#include "model/synth.h"
#include "model/tokenizer.h"
#include "model/unicode.h"

#include <unistd.h>

/* A GGUF holding only a tokenizer section: the synthetic one of arch, with
 * tokenizer.ggml.model / .pre replaced when model / pre are not NULL. */
static erg_status make_vocab(erg_arch arch, const char *model, const char *pre, erg_vocab **out,
                             erg_diag *diag) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/erg-test-tok-%d.gguf", (int)getpid());
    erg_gguf_writer *w = NULL, *w2 = NULL;
    erg_gguf *g = NULL, *g2 = NULL;
    *out = NULL;
    erg_status st = erg_gguf_writer_create(NULL, &w, diag);
    if (st == ERG_OK)
        st = erg_synth_add_tokenizer(NULL, w, arch, 2000, diag);
    if (st == ERG_OK)
        st = erg_gguf_writer_write(w, path, diag);
    if (st == ERG_OK)
        st = erg_gguf_open_file(NULL, path, false, &g, diag);
    if (st == ERG_OK && (model || pre)) {
        /* Rewrite with the keys replaced. */
        st = erg_gguf_writer_create(NULL, &w2, diag);
        for (uint64_t i = 0; st == ERG_OK && i < erg_gguf_kv_count(g); i++) {
            const char *key = erg_gguf_kv_key(g, i);
            if (model && strcmp(key, "tokenizer.ggml.model") == 0)
                st = erg_gguf_writer_add_str(w2, key, model);
            else if (pre && strcmp(key, "tokenizer.ggml.pre") == 0)
                st = erg_gguf_writer_add_str(w2, key, pre);
            else
                st = erg_gguf_writer_copy_kv(w2, g, i);
        }
        if (st == ERG_OK)
            st = erg_gguf_writer_write(w2, path, diag);
        if (st == ERG_OK)
            st = erg_gguf_open_file(NULL, path, false, &g2, diag);
    }
    if (st == ERG_OK)
        st = erg_vocab_load(NULL, g2 ? g2 : g, out, diag);
    erg_gguf_writer_free(w);
    erg_gguf_writer_free(w2);
    erg_gguf_close(g);
    erg_gguf_close(g2);
    remove(path);
    return st;
}

static erg_token_list encode(const erg_vocab *v, const char *text, bool add, bool parse) {
    erg_token_list l = {0};
    erg_diag diag = {{0}};
    CHECK(erg_tokenize(v, text, strlen(text), add, parse, &l, &diag) == ERG_OK);
    return l;
}

/* The text of ids through the streaming detokenizer. */
static char *decode(const erg_vocab *v, const int32_t *ids, size_t n, bool special) {
    erg_detok d;
    erg_detok_init(&d, v, special);
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (size_t i = 0; i < n; i++)
        CHECK(erg_detok_push(&d, ids[i], &text, &len, &cap));
    CHECK(erg_detok_flush(&d, &text, &len, &cap));
    return text ? text : strdup("");
}

static void check_round_trip(const erg_vocab *v, const char *text) {
    erg_token_list l = encode(v, text, false, true);
    char *back = decode(v, l.ids, l.n, true);
    CHECK_MSG(strcmp(back, text) == 0, "'%s' came back as '%s'", text, back);
    free(back);
    erg_token_list_free(&l);
}

static int32_t id_of(const erg_vocab *v, const char *s) { return erg_vocab_find(v, s, strlen(s)); }

static void test_spm(void) {
    erg_vocab *v;
    erg_diag diag = {{0}};
    CHECK(make_vocab(ERG_ARCH_LLAMA, NULL, NULL, &v, &diag) == ERG_OK);
    if (!v)
        return;
    CHECK(v->kind == ERG_VOCAB_SPM && v->add_bos && v->bos == 1);
    /* "▁ab" is a piece: one token, the space marker prepended. */
    erg_token_list l = encode(v, "ab", true, true);
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_INT(l.ids[0], 1);
    CHECK_EQ_INT(l.ids[1], id_of(v, "\xE2\x96\x81"
                                    "ab"));
    erg_token_list_free(&l);
    /* Characters the vocabulary lacks go through <0xNN> byte tokens. */
    l = encode(v, "\xC3\xA9", false, true); /* é */
    CHECK_EQ_INT(l.n, 3);
    CHECK_EQ_INT(l.ids[1], v->byte_token[0xC3]);
    CHECK_EQ_INT(l.ids[2], v->byte_token[0xA9]);
    erg_token_list_free(&l);
    /* Control tokens: whole when parsed, as text otherwise. */
    l = encode(v, "a</s>b", false, true);
    CHECK_EQ_INT(l.n, 3);
    CHECK_EQ_INT(l.ids[1], 2);
    erg_token_list_free(&l);
    l = encode(v, "a</s>b", false, false);
    CHECK(l.n > 3);
    for (size_t i = 0; i < l.n; i++)
        CHECK(l.ids[i] != 2);
    erg_token_list_free(&l);
    check_round_trip(v, "hello world  two spaces\nnew line");
    check_round_trip(v, "UPPER case, punctuation! \xC3\xA9\xE6\x97\xA5\xF0\x9F\xA4\x96 emoji");
    check_round_trip(v, "   leading and trailing   ");
    /* BOS is hidden unless asked for, and the prefix space is dropped once. */
    l = encode(v, "ab cd", true, true);
    char *text = decode(v, l.ids, l.n, false);
    CHECK(strcmp(text, "ab cd") == 0);
    free(text);
    text = decode(v, l.ids, l.n, true);
    CHECK_MSG(strcmp(text, "<s> ab cd") == 0, "'%s'", text);
    free(text);
    erg_token_list_free(&l);
    erg_vocab_free(v);
}

static void test_bpe(void) {
    erg_vocab *v;
    erg_diag diag = {{0}};
    CHECK(make_vocab(ERG_ARCH_QWEN2, NULL, NULL, &v, &diag) == ERG_OK);
    if (!v)
        return;
    CHECK(v->kind == ERG_VOCAB_BPE && v->pretok == ERG_PRETOK_QWEN2 && !v->add_bos);
    int32_t im_start = id_of(v, "<|im_start|>"), im_end = id_of(v, "<|im_end|>");
    CHECK(im_start >= 0 && im_end >= 0);
    erg_token_list l = encode(v, "<|im_start|>ab<|im_end|>", true, true);
    CHECK(l.n >= 3 && l.ids[0] == im_start && l.ids[l.n - 1] == im_end);
    erg_token_list_free(&l);
    /* Not parsed, the same text never yields the control tokens. */
    l = encode(v, "<|im_start|>ab<|im_end|>", true, false);
    for (size_t i = 0; i < l.n; i++)
        CHECK(l.ids[i] != im_start && l.ids[i] != im_end);
    char *text = decode(v, l.ids, l.n, false);
    CHECK(strcmp(text, "<|im_start|>ab<|im_end|>") == 0);
    free(text);
    erg_token_list_free(&l);
    /* Control tokens are hidden unless asked for. */
    int32_t ids[] = {im_start, id_of(v, "ab"), im_end};
    text = decode(v, ids, 3, false);
    CHECK_MSG(strcmp(text, "ab") == 0, "'%s'", text);
    free(text);
    text = decode(v, ids, 3, true);
    CHECK(strcmp(text, "<|im_start|>ab<|im_end|>") == 0);
    free(text);
    check_round_trip(v, "hello world  two spaces\n\nlines\r\n 123456 digits");
    check_round_trip(v, "\xC3\xA9\xE6\x97\xA5\xF0\x9F\xA4\x96 <|im_end|> text");
    /* Invalid UTF-8 is read as U+FFFD, one per maximal subpart. */
    l = encode(v,
               "a\xFF"
               "b",
               false, true);
    text = decode(v, l.ids, l.n, false);
    CHECK_MSG(strcmp(text, "a\xEF\xBF\xBD"
                           "b") == 0,
              "'%s'", text);
    free(text);
    erg_token_list_free(&l);
    erg_vocab_free(v);
}

/* The streaming detokenizer holds back a character split over tokens. */
static void test_partial_utf8(void) {
    erg_vocab *v;
    erg_diag diag = {{0}};
    CHECK(make_vocab(ERG_ARCH_QWEN2, NULL, NULL, &v, &diag) == ERG_OK);
    if (!v)
        return;
    const char robot[] = "\xF0\x9F\xA4\x96"; /* 🤖 as four byte tokens */
    erg_detok d;
    erg_detok_init(&d, v, false);
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < 4; i++) {
        char c[5] = {0};
        erg_utf8_encode(erg_unicode_byte_to_cp((uint8_t)robot[i]), c);
        CHECK(erg_detok_push(&d, id_of(v, c), &text, &len, &cap));
        CHECK_EQ_INT(len, i < 3 ? 0 : 4); /* nothing until the fourth byte */
    }
    CHECK(len == 4 && memcmp(text, robot, 4) == 0);
    /* A character never completed comes out as U+FFFD at the end. */
    len = 0;
    char c[5] = {0};
    erg_utf8_encode(erg_unicode_byte_to_cp(0xE6), c);
    CHECK(erg_detok_push(&d, id_of(v, c), &text, &len, &cap));
    CHECK_EQ_INT(len, 0);
    CHECK(erg_detok_flush(&d, &text, &len, &cap));
    CHECK(len == 3 && memcmp(text, "\xEF\xBF\xBD", 3) == 0);
    free(text);
    erg_vocab_free(v);
}

/* Splits text with a pre-tokenizer into "|"-separated pieces. */
static void check_split(erg_pretok pre, const char *text, const char *want) {
    uint32_t cps[256];
    size_t offs[257], n = 0, len = strlen(text);
    for (size_t i = 0; i < len;) {
        size_t used;
        offs[n] = i;
        cps[n++] = erg_utf8_decode(text + i, len - i, &used);
        i += used;
    }
    offs[n] = len;
    char got[1024] = "";
    for (size_t i = 0; i < n;) {
        size_t end = erg_pretok_next(pre, cps, n, i);
        if (i)
            strcat(got, "|");
        strncat(got, text + offs[i], offs[end] - offs[i]);
        i = end;
    }
    CHECK_MSG(strcmp(got, want) == 0, "split '%s' as '%s', want '%s'", text, got, want);
}

static void test_pretokenizers(void) {
    check_split(ERG_PRETOK_GPT2, "Hello world's 123  x!!", "Hello| world|'s| 123| | x|!!");
    check_split(ERG_PRETOK_GPT2, "I'M", "I|'|M");
    check_split(ERG_PRETOK_LLAMA3, "I'M 12345 a\n\n  b", "I|'M| |123|45| a|\n\n| | b");
    check_split(ERG_PRETOK_QWEN2, "x=123;\n", "x|=|1|2|3|;\n");
    check_split(ERG_PRETOK_LLAMA3, "  leading", " | leading");
    check_split(ERG_PRETOK_LLAMA3, "end   ", "end|   ");
    check_split(ERG_PRETOK_SMOLLM, "ab12 cd", "ab|1|2| cd");
    check_split(ERG_PRETOK_QWEN2, "\xE4\xBD\xA0\xE5\xA5\xBD, world",
                "\xE4\xBD\xA0\xE5\xA5\xBD|,| world");
}

/* Random bytes (invalid UTF-8 included, NUL too) come back as themselves
 * with U+FFFD for each invalid sequence, through both tokenizer models. */
static void test_random_round_trips(erg_arch arch) {
    erg_vocab *v;
    erg_diag diag = {{0}};
    CHECK(make_vocab(arch, NULL, NULL, &v, &diag) == ERG_OK);
    if (!v)
        return;
    static const char alphabet[] = "ab z09 \n\t\xC3\xA9\xE6\x97\xA5\xF0\x9F\xA4\x96\x80\xFF";
    uint64_t seed = 12345;
    int ok = 0;
    for (int round = 0; round < 300; round++) {
        char text[64], want[64 * 3];
        size_t len = 0, want_len = 0;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(seed >> 58);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            text[len++] =
                (seed >> 40) % 17 == 0 ? '\0' : alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        for (size_t i = 0; i < len;) {
            size_t used;
            want_len += erg_utf8_encode(erg_utf8_decode(text + i, len - i, &used), want + want_len);
            i += used;
        }
        erg_token_list l = {0};
        CHECK(erg_tokenize(v, text, len, false, false, &l, &diag) == ERG_OK);
        erg_detok d;
        erg_detok_init(&d, v, false);
        char *back = NULL;
        size_t back_len = 0, cap = 0;
        for (size_t i = 0; i < l.n; i++)
            CHECK(erg_detok_push(&d, l.ids[i], &back, &back_len, &cap));
        CHECK(erg_detok_flush(&d, &back, &back_len, &cap));
        bool same = back_len == want_len && (!want_len || memcmp(back, want, want_len) == 0);
        CHECK_MSG(same, "%s round %d: %zu bytes back, %zu expected", v->model_name, round, back_len,
                  want_len);
        ok += same;
        free(back);
        erg_token_list_free(&l);
    }
    CHECK_EQ_INT(ok, 300);
    erg_vocab_free(v);
}

static void test_errors(void) {
    erg_vocab *v;
    erg_diag diag = {{0}};
    CHECK(make_vocab(ERG_ARCH_QWEN2, "wordpiece", NULL, &v, &diag) == ERG_UNSUPPORTED);
    CHECK(v == NULL);
    CHECK_MSG(strstr(diag.msg, "tokenizer model 'wordpiece'") != NULL, "%s", diag.msg);
    CHECK(make_vocab(ERG_ARCH_QWEN2, NULL, "deepseek-coder", &v, &diag) == ERG_UNSUPPORTED);
    CHECK_MSG(strstr(diag.msg, "pre-tokenizer 'deepseek-coder'") != NULL, "%s", diag.msg);
    /* SentencePiece ignores the pre-tokenizer name. */
    CHECK(make_vocab(ERG_ARCH_LLAMA, NULL, "anything", &v, &diag) == ERG_OK);
    erg_vocab_free(v);
}

static void test_utf8(void) {
    size_t n;
    CHECK_EQ_INT(erg_utf8_decode("\xE6\x97\xA5", 3, &n), 0x65E5);
    CHECK_EQ_INT(n, 3);
    /* Maximal subparts (WHATWG): a truncated sequence is one U+FFFD ... */
    CHECK_EQ_INT(erg_utf8_decode("\xF0\x9F\x98"
                                 "a",
                                 4, &n),
                 0xFFFD);
    CHECK_EQ_INT(n, 3);
    /* ... overlongs and surrogates one per byte. */
    CHECK_EQ_INT(erg_utf8_decode("\xC0\xAF", 2, &n), 0xFFFD);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(erg_utf8_decode("\xED\xA0\x80", 3, &n), 0xFFFD);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(erg_utf8_incomplete_tail("ab\xF0\x9F", 4), 2);
    CHECK_EQ_INT(erg_utf8_incomplete_tail("ab\xF0\x9F\xA4\x96", 6), 0);
    CHECK_EQ_INT(erg_utf8_incomplete_tail("ab\xED\xA0", 4), 0); /* a surrogate never completes */
    CHECK(erg_unicode_is_letter(0x65E5) && erg_unicode_is_letter(0xE9) &&
          !erg_unicode_is_letter('1'));
    CHECK(erg_unicode_is_number(0x0663) && erg_unicode_is_number(0xBD) &&
          !erg_unicode_is_number('x'));
    CHECK(erg_unicode_is_space(0x3000) && erg_unicode_is_space('\n') &&
          !erg_unicode_is_space(0x200B));
    for (int b = 0; b < 256; b++)
        CHECK_EQ_INT(erg_unicode_cp_to_byte(erg_unicode_byte_to_cp((uint8_t)b)), b);
    CHECK_EQ_INT(erg_unicode_byte_to_cp(' '), 0x120); /* "Ġ" */
}

int main(void) {
    test_utf8();
    test_pretokenizers();
    test_spm();
    test_bpe();
    test_partial_utf8();
    test_random_round_trips(ERG_ARCH_LLAMA);
    test_random_round_trips(ERG_ARCH_QWEN2);
    test_errors();
    return erg_test_result("test_tokenizer");
}
