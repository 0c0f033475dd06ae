/* Sessions: prefill followed by incremental decode gives the logits of one
 * full prefill; batch splitting, reset and truncate keep results; a full
 * context and bad tokens are clear errors that change nothing. */
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TOK 11

static const int32_t tokens[N_TOK] = {1, 17, 300, 5, 5, 42, 511, 0, 260, 99, 7};

/* Largest |a - b| relative to the largest |b| over n values. */
static double rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return m > 0 ? d / m : d;
}

static erg_session *open_session(erg_model *m, uint32_t n_ctx, uint32_t n_batch, bool ref) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.n_ctx = n_ctx;
    so.n_batch = n_batch;
    so.device = "cpu";
    so.reference_math = ref;
    erg_session *s = NULL;
    CHECK_STATUS(erg_session_create(m, &so, &s), ERG_OK);
    return s;
}

static void check_model(erg_runtime *rt, erg_arch arch, erg_ftype ftype, bool ref) {
    char path[256];
    if (!test_make_model(arch, ftype, 7, path, sizeof path)) {
        CHECK(false);
        return;
    }
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_OK);
    erg_model_info mi = {.struct_size = sizeof mi};
    CHECK_STATUS(erg_model_get_info(m, &mi), ERG_OK);
    size_t nv = mi.n_vocab;
    float *full = malloc(N_TOK * nv * sizeof *full);
    float *step = malloc(N_TOK * nv * sizeof *step);
    float *last = malloc(nv * sizeof *last);

    /* One prefill of every token. */
    erg_session *s = open_session(m, 64, 0, ref);
    CHECK_STATUS(erg_session_eval(s, tokens, N_TOK, ERG_LOGITS_ALL, full, N_TOK * nv), ERG_OK);
    CHECK_EQ_INT(erg_session_n_past(s), N_TOK);

    /* Prefill 4, then decode one token at a time. */
    erg_session_reset(s);
    CHECK_EQ_INT(erg_session_n_past(s), 0);
    CHECK_STATUS(erg_session_eval(s, tokens, 4, ERG_LOGITS_ALL, step, 4 * nv), ERG_OK);
    for (int i = 4; i < N_TOK; i++)
        CHECK_STATUS(erg_session_eval(s, &tokens[i], 1, ERG_LOGITS_LAST, step + i * nv, nv), ERG_OK);
    /* Activations are quantised per token and the kernels differ between a
     * batch and a single token only in summation order: 1e-4 of the largest
     * logit covers that and nothing more. */
    double d = rel_diff(step, full, N_TOK * nv);
    CHECK_MSG(d < 1e-4, "%s %s%s: prefill+decode differs from one prefill by %.3g",
              erg_arch_name(arch), erg_ftype_name(ftype), ref ? " (reference)" : "", d);

    /* Truncate to 6 and evaluate the rest again: same logits. */
    CHECK_STATUS(erg_session_truncate(s, 6), ERG_OK);
    CHECK_STATUS(erg_session_eval(s, tokens + 6, N_TOK - 6, ERG_LOGITS_LAST, last, nv), ERG_OK);
    d = rel_diff(last, full + (N_TOK - 1) * nv, nv);
    CHECK_MSG(d < 1e-4, "truncate then re-evaluate differs by %.3g", d);
    CHECK_STATUS(erg_session_truncate(s, N_TOK + 1), ERG_INVALID_ARGUMENT);
    erg_session_destroy(s);

    /* Batches of 3: the prompt is split into graph runs of 3 tokens. */
    s = open_session(m, 64, 3, ref);
    CHECK_STATUS(erg_session_eval(s, tokens, N_TOK, ERG_LOGITS_ALL, step, N_TOK * nv), ERG_OK);
    d = rel_diff(step, full, N_TOK * nv);
    CHECK_MSG(d < 1e-4, "n_batch 3 differs from one batch by %.3g", d);
    erg_session_destroy(s);

    free(full);
    free(step);
    free(last);
    erg_model_destroy(m);
    remove(path);
}

static void check_errors(erg_runtime *rt) {
    char path[256];
    if (!test_make_model(ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q8_0, 3, path, sizeof path)) {
        CHECK(false);
        return;
    }
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_OK);
    erg_session *s = open_session(m, 8, 0, false);
    float logits[512];
    CHECK_STATUS(erg_session_eval(s, tokens, 6, ERG_LOGITS_LAST, logits, 512), ERG_OK);
    /* 6 + 3 > 8: refused, and the session keeps its 6 positions. */
    CHECK_STATUS(erg_session_eval(s, tokens, 3, ERG_LOGITS_LAST, logits, 512), ERG_CONTEXT_FULL);
    CHECK(strstr(erg_session_last_error(s), "context full") != NULL);
    CHECK_EQ_INT(erg_session_n_past(s), 6);
    CHECK_STATUS(erg_session_eval(s, tokens, 2, ERG_LOGITS_LAST, logits, 512), ERG_OK);
    CHECK_EQ_INT(erg_session_n_past(s), 8);
    erg_session_reset(s);
    int32_t bad[2] = {3, 512};
    CHECK_STATUS(erg_session_eval(s, bad, 2, ERG_LOGITS_LAST, logits, 512), ERG_INVALID_ARGUMENT);
    CHECK(strstr(erg_session_last_error(s), "token 1 is 512") != NULL);
    CHECK_STATUS(erg_session_eval(s, tokens, 2, ERG_LOGITS_ALL, logits, 512), ERG_INVALID_ARGUMENT);
    CHECK(strstr(erg_session_last_error(s), "logits buffer") != NULL);
    CHECK_STATUS(erg_session_eval(s, tokens, 0, ERG_LOGITS_LAST, logits, 512), ERG_INVALID_ARGUMENT);
    CHECK_EQ_INT(erg_session_n_past(s), 0);
    /* Filling the cache without logits is allowed. */
    CHECK_STATUS(erg_session_eval(s, tokens, 2, ERG_LOGITS_NONE, NULL, 0), ERG_OK);
    erg_session_stats stats = {.struct_size = sizeof stats};
    CHECK_STATUS(erg_session_get_stats(s, &stats), ERG_OK);
    CHECK(stats.n_dispatches > 0 && stats.kv_bytes > 0 && stats.activation_bytes > 0);
    erg_session_destroy(s);

    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = "npu:7";
    CHECK_STATUS(erg_session_create(m, &so, &s), ERG_NOT_FOUND);
    CHECK(strstr(erg_model_last_error(m), "no device 'npu:7'") != NULL);
    erg_model_destroy(m);
    remove(path);
}

int main(void) {
    erg_runtime *rt = NULL;
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 2;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    if (!rt)
        return erg_test_result("test_session");
    static const erg_ftype types[] = {ERG_FTYPE_ALL_F32, ERG_FTYPE_MOSTLY_Q4_0,
                                      ERG_FTYPE_MOSTLY_Q4_K_M};
    for (int a = 0; a < ERG_ARCH_COUNT; a++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            check_model(rt, (erg_arch)a, types[t], false);
    check_model(rt, ERG_ARCH_QWEN3, ERG_FTYPE_MOSTLY_Q5_K_M, true);
    check_errors(rt);
    erg_runtime_destroy(rt);
    return erg_test_result("test_session");
}
