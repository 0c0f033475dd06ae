/*
 * Generation through the public API on a tiny synthetic Qwen2 model (its
 * byte-level BPE vocabulary): greedy generation equals a hand-written argmax
 * loop over erg_session_eval, a seed reproduces its text, stop strings that
 * span token boundaries end the text right before them, and the token
 * limit, a full context, should_abort and on_text returning false each stop
 * it with the right reason. Also the public tokenizer, detokenizer and chat
 * calls. Runs on the CPU.
 */
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"

typedef struct capture {
    char text[4096];
    size_t len;
    int calls, abort_after, stop_after;
} capture;

static bool on_text(void *user, const char *text, size_t len, int32_t token) {
    capture *c = user;
    (void)token;
    CHECK(len > 0);
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, text, len);
        c->len += len;
        c->text[c->len] = '\0';
    }
    return !c->stop_after || ++c->calls < c->stop_after;
}

static bool should_abort(void *user) {
    capture *c = user;
    return c->abort_after && ++c->calls > c->abort_after;
}

static const int32_t prompt[] = {300, 17, 42, 99, 260};
#define N_PROMPT 5
#define N_GEN 40

static erg_generate_result generate(erg_session *s, erg_generate_options o, capture *c) {
    erg_session_reset(s);
    memset(c, 0, offsetof(capture, abort_after));
    o.on_text = on_text;
    o.user = c;
    erg_generate_result r = {.struct_size = sizeof r};
    CHECK_MSG(erg_generate(s, prompt, N_PROMPT, &o, &r) == ERG_OK, "%s", erg_session_last_error(s));
    return r;
}

/* Greedy by hand: argmax after each eval, n tokens, and their text. */
static void greedy_by_hand(erg_model *m, erg_session *s, uint32_t n_vocab, int n, int32_t *ids,
                           char *out, size_t size) {
    float *logits = malloc(n_vocab * sizeof *logits);
    erg_session_reset(s);
    CHECK(erg_session_eval(s, prompt, N_PROMPT, ERG_LOGITS_LAST, logits, n_vocab) == ERG_OK);
    for (int i = 0; i < n; i++) {
        int32_t best = 0;
        for (uint32_t t = 1; t < n_vocab; t++)
            if (logits[t] > logits[best])
                best = (int32_t)t;
        ids[i] = best;
        CHECK(erg_session_eval(s, &best, 1, ERG_LOGITS_LAST, logits, n_vocab) == ERG_OK);
    }
    size_t len;
    CHECK(erg_model_detokenize(m, ids, (size_t)n, false, out, size, &len) == ERG_OK);
    free(logits);
}

/* A stop string of the last character of one token's text and the first of
 * the next one's (ASCII both), where the text holds it past its start. */
static bool stop_across(erg_model *m, const int32_t *ids, int n, const char *text, char *stop) {
    for (int i = 0; i + 1 < n; i++) {
        char a[64], b[64];
        size_t al, bl;
        erg_model_token_to_piece(m, ids[i], false, a, sizeof a, &al);
        erg_model_token_to_piece(m, ids[i + 1], false, b, sizeof b, &bl);
        if (!al || !bl || (unsigned char)a[al - 1] >= 0x80 || (unsigned char)b[0] >= 0x80)
            continue;
        snprintf(stop, 3, "%c%c", a[al - 1], b[0]);
        const char *at = strstr(text, stop);
        if (at && at > text)
            return true;
    }
    return false;
}

static void test_generation(erg_model *m, erg_session *s, uint32_t n_vocab) {
    capture c = {0};
    erg_generate_options o = ERG_GENERATE_OPTIONS_INIT;
    o.n_predict = N_GEN;
    o.ignore_eos = true;
    erg_generate_result r = generate(s, o, &c);
    CHECK_EQ_INT(r.n_prompt, N_PROMPT);
    CHECK_EQ_INT(r.n_generated, N_GEN);
    CHECK_EQ_INT(r.stop_reason, ERG_STOP_LIMIT);
    char by_hand[4096];
    int32_t ids[N_GEN];
    greedy_by_hand(m, s, n_vocab, N_GEN, ids, by_hand, sizeof by_hand);
    CHECK_MSG(strcmp(c.text, by_hand) == 0, "greedy '%s' vs by hand '%s'", c.text, by_hand);
    char greedy[4096];
    snprintf(greedy, sizeof greedy, "%s", c.text);

    /* Seeded sampling: the same seed gives the same text, another seed another. */
    o.temperature = 1.5f;
    o.seed = 1234;
    char first[4096];
    generate(s, o, &c);
    snprintf(first, sizeof first, "%s", c.text);
    generate(s, o, &c);
    CHECK_MSG(strcmp(first, c.text) == 0, "seed 1234 gave '%s' then '%s'", first, c.text);
    o.seed = 99;
    generate(s, o, &c);
    CHECK_MSG(strcmp(first, c.text) != 0, "seeds 1234 and 99 both gave '%s'", first);
    CHECK(strcmp(first, greedy) != 0);

    /* A stop string made of the end of one token and the start of the next:
     * the greedy text up to it and no further. */
    o.temperature = 0;
    char stop[3];
    CHECK_MSG(stop_across(m, ids, N_GEN, greedy, stop),
              "no two tokens of '%s' to put a stop "
              "string across",
              greedy);
    size_t at = (size_t)(strstr(greedy, stop) - greedy);
    const char *stops[] = {"never appears", stop};
    o.stop = stops;
    o.n_stop = 2;
    r = generate(s, o, &c);
    CHECK_EQ_INT(r.stop_reason, ERG_STOP_STRING);
    CHECK_MSG(c.len == at && memcmp(c.text, greedy, at) == 0,
              "stop '%s': got '%s', want the first %zu bytes of '%s'", stop, c.text, at, greedy);
    o.stop = NULL;
    o.n_stop = 0;

    /* should_abort polled before each token; on_text returning false. */
    o.should_abort = should_abort;
    c.abort_after = 3;
    r = generate(s, o, &c);
    CHECK_EQ_INT(r.stop_reason, ERG_STOP_ABORTED);
    CHECK_EQ_INT(r.n_generated, 3);
    o.should_abort = NULL;
    c.abort_after = 0;
    c.stop_after = 2;
    r = generate(s, o, &c);
    CHECK_EQ_INT(r.stop_reason, ERG_STOP_ABORTED);
    c.stop_after = 0;
}

static void test_context_full(erg_model *m) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = "cpu";
    so.n_ctx = 12;
    erg_session *s = NULL;
    CHECK(erg_session_create(m, &so, &s) == ERG_OK);
    erg_generate_options o = ERG_GENERATE_OPTIONS_INIT;
    o.ignore_eos = true;
    capture c = {0};
    erg_generate_result r = generate(s, o, &c);
    CHECK_EQ_INT(r.stop_reason, ERG_STOP_CONTEXT_FULL);
    CHECK_EQ_INT(r.n_generated, 12 - N_PROMPT + 1); /* the last is sampled, not evaluated */
    /* A missing prompt is an error with a sentence. */
    CHECK(erg_generate(s, NULL, 0, &o, NULL) == ERG_INVALID_ARGUMENT);
    CHECK(strstr(erg_session_last_error(s), "prompt") != NULL);
    erg_session_destroy(s);
}

static void test_text_api(erg_model *m) {
    int32_t ids[64];
    size_t n;
    const char *text = "<|im_start|>hello world";
    CHECK(erg_model_tokenize(m, text, strlen(text), ERG_TOKENIZE_PARSE_SPECIAL, ids, 64, &n) ==
          ERG_OK);
    int32_t im_start = ids[0];
    char buf[128];
    size_t len;
    CHECK(erg_model_token_to_piece(m, im_start, true, buf, sizeof buf, &len) == ERG_OK);
    CHECK(strcmp(buf, "<|im_start|>") == 0);
    CHECK(erg_model_token_to_piece(m, im_start, false, buf, sizeof buf, &len) == ERG_OK &&
          len == 0);
    CHECK(erg_model_detokenize(m, ids, n, true, buf, sizeof buf, &len) == ERG_OK);
    CHECK(strcmp(buf, text) == 0);
    /* Too little room: the count needed, and an error that says so. */
    size_t need = n;
    CHECK(erg_model_tokenize(m, text, strlen(text), ERG_TOKENIZE_PARSE_SPECIAL, ids, 2, &n) ==
          ERG_INVALID_ARGUMENT);
    CHECK_EQ_INT(n, need);
    CHECK(strstr(erg_model_last_error(m), "needs") != NULL);
    CHECK_EQ_INT(erg_model_special_token(m, ERG_SPECIAL_EOS),
                 erg_model_special_token(m, ERG_SPECIAL_BOS) + 2);

    /* The streaming detokenizer of the public API holds back partial UTF-8. */
    const char *e_acute = "\xC3\xA9";
    CHECK(erg_model_tokenize(m, e_acute, 2, 0, ids, 64, &n) == ERG_OK);
    CHECK_EQ_INT(n, 2); /* the synthetic vocabulary has only the byte tokens */
    erg_detokenizer *d = NULL;
    CHECK(erg_detokenizer_create(m, false, &d) == ERG_OK);
    const char *out;
    CHECK(erg_detokenizer_push(d, ids[0], &out, &len) == ERG_OK && len == 0);
    CHECK(erg_detokenizer_push(d, ids[1], &out, &len) == ERG_OK && len == 2);
    CHECK(memcmp(out, e_acute, 2) == 0);
    CHECK(erg_detokenizer_flush(d, &out, &len) == ERG_OK && len == 0);
    erg_detokenizer_destroy(d);
    erg_detokenizer_destroy(NULL);

    /* Chat formats: by name; none recognised without a template. */
    erg_chat_message msgs[] = {{"system", "Be brief."}, {"user", "Hi"}};
    CHECK(erg_model_chat_format(m, "chatml", msgs, 2, true, buf, sizeof buf, &len) == ERG_OK);
    CHECK(strcmp(buf, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                      "<|im_start|>assistant\n") == 0);
    CHECK(erg_model_chat_format(m, "llama3", msgs + 1, 1, true, buf, sizeof buf, &len) == ERG_OK);
    CHECK(strcmp(buf, "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n") == 0);
    CHECK(erg_model_chat_format(m, "zephyr", msgs, 2, true, buf, sizeof buf, &len) == ERG_OK);
    CHECK(strcmp(buf, "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n") == 0);
    CHECK(erg_model_chat_format(m, NULL, msgs, 2, true, buf, sizeof buf, &len) == ERG_NOT_FOUND);
    CHECK(strstr(erg_model_last_error(m), "chatml, llama3, zephyr") != NULL);
    CHECK(erg_model_chat_format(m, "alpaca", msgs, 2, true, buf, sizeof buf, &len) ==
          ERG_INVALID_ARGUMENT);
    CHECK(strstr(erg_model_last_error(m), "'alpaca'") != NULL);
}

int main(void) {
    char path[256];
    if (!test_make_model(ERG_ARCH_QWEN2, ERG_FTYPE_ALL_F32, 7, path, sizeof path))
        return 1;
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    erg_runtime *rt = NULL;
    erg_model *m = NULL;
    erg_session *s = NULL;
    CHECK(erg_runtime_create(&ro, &rt) == ERG_OK);
    CHECK(erg_model_load(rt, path, NULL, &m) == ERG_OK);
    erg_model_info mi = {.struct_size = sizeof mi};
    erg_model_get_info(m, &mi);
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = "cpu";
    so.n_ctx = 64;
    CHECK(erg_session_create(m, &so, &s) == ERG_OK);
    test_text_api(m);
    test_generation(m, s, mi.n_vocab);
    test_context_full(m);
    erg_session_destroy(s);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    remove(path);
    return erg_test_result("test_generate");
}
