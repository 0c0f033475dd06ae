/*
 * npu-sim against the CPU on tiny models (llama and qwen3; Q8_0, Q4_0 and
 * Q4_K_M weights): every position's logits of a 24-token prompt, with the
 * CPU in reference math as the reference. Prints the top-1 agreement and
 * the normalised error ||npu - cpu|| / ||cpu||, and holds them to the bounds
 * int8 per-channel weights x int8 per-token activations meet. Also checks
 * the session's placement report: nodes fell back, bytes were copied, the
 * simulated time is labelled, and strict_device refuses the fallback.
 */
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TOKENS 24

static bool run(erg_model *m, const char *device, bool reference, float *logits, size_t n,
                erg_session_stats *st) {
    erg_session_options o = ERG_SESSION_OPTIONS_INIT;
    o.device = device;
    o.reference_math = reference;
    o.n_ctx = 64;
    erg_session *s = NULL;
    if (erg_session_create(m, &o, &s) != ERG_OK) {
        printf("session on %s: %s\n", device, erg_model_last_error(m));
        return false;
    }
    int32_t tokens[N_TOKENS];
    for (int i = 0; i < N_TOKENS; i++)
        tokens[i] = (i * 37 + 5) % 256;
    bool ok = erg_session_eval(s, tokens, N_TOKENS, ERG_LOGITS_ALL, logits, n) == ERG_OK;
    if (!ok)
        printf("eval on %s: %s\n", device, erg_session_last_error(s));
    st->struct_size = sizeof *st;
    erg_session_get_stats(s, st);
    erg_session_destroy(s);
    return ok;
}

static void check_strict(erg_model *m) {
    erg_session_options o = ERG_SESSION_OPTIONS_INIT;
    o.device = "npu-sim";
    o.strict_device = true;
    o.n_ctx = 16;
    erg_session *s = NULL;
    CHECK(erg_session_create(m, &o, &s) == ERG_OK);
    int32_t t[2] = {1, 2};
    float logits[4096];
    CHECK(erg_session_eval(s, t, 2, ERG_LOGITS_NONE, logits, 0) == ERG_UNSUPPORTED);
    CHECK(strstr(erg_session_last_error(s), "strict device: npu-sim cannot run node 0") != NULL);
    erg_session_destroy(s);
}

static void compare(erg_runtime *rt, erg_arch arch, erg_ftype ftype, const char *label,
                    double min_top1, double max_err) {
    char path[512];
    CHECK(test_make_model(arch, ftype, 7, path, sizeof path));
    erg_model *m = NULL;
    CHECK(erg_model_load(rt, path, NULL, &m) == ERG_OK);
    if (!m)
        return;
    erg_model_info mi = {.struct_size = sizeof mi};
    erg_model_get_info(m, &mi);
    size_t n = (size_t)N_TOKENS * mi.n_vocab;
    float *cpu = malloc(n * sizeof *cpu), *npu = malloc(n * sizeof *npu);
    erg_session_stats sc, sn;
    bool ok = cpu && npu && run(m, "cpu", true, cpu, n, &sc) && run(m, "npu-sim", false, npu, n, &sn);
    CHECK(ok);
    if (ok) {
        int agree = 0;
        double num = 0, den = 0;
        for (int p = 0; p < N_TOKENS; p++) {
            const float *a = cpu + (size_t)p * mi.n_vocab, *b = npu + (size_t)p * mi.n_vocab;
            uint32_t ia = 0, ib = 0;
            for (uint32_t v = 0; v < mi.n_vocab; v++) {
                ia = a[v] > a[ia] ? v : ia;
                ib = b[v] > b[ib] ? v : ib;
                num += ((double)a[v] - b[v]) * ((double)a[v] - b[v]);
                den += (double)a[v] * a[v];
            }
            agree += ia == ib;
        }
        double top1 = (double)agree / N_TOKENS, err = sqrt(num / den);
        printf("npu-sim vs cpu (reference math), %s: top-1 agreement %d/%d (%.3f), normalised "
               "error %.4f; %u of %u nodes fell back, %u subgraphs, %.1f KiB copied, "
               "simulated %.3f ms %.3f mJ\n",
               label, agree, N_TOKENS, top1, err, sn.n_nodes_fallback, sn.n_nodes,
               sn.n_subgraphs, (double)sn.bytes_copied / 1024.0, sn.simulated_seconds * 1e3,
               sn.simulated_joules * 1e3);
        CHECK(top1 >= min_top1);
        CHECK(err <= max_err);
        CHECK(err > 0); /* int8 arithmetic is not the CPU's */
        CHECK(sn.n_nodes_fallback > 0 && sn.n_nodes_fallback < sn.n_nodes);
        CHECK(sn.n_subgraphs > 2);
        CHECK(sn.bytes_copied > 0);
        CHECK(sn.simulated_seconds > 0 && sn.simulated_joules > 0);
        CHECK(sn.partly_simulated);
        CHECK(sc.n_nodes_fallback == 0 && !sc.partly_simulated && sc.simulated_seconds == 0);
    }
    if (ftype == ERG_FTYPE_MOSTLY_Q8_0 && arch == ERG_ARCH_LLAMA)
        check_strict(m);
    free(cpu);
    free(npu);
    erg_model_destroy(m);
    remove(path);
}

int main(void) {
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 2;
    ro.log_level = ERG_LOG_ERROR;
    erg_runtime *rt = NULL;
    CHECK(erg_runtime_create(&ro, &rt) == ERG_OK);
    if (!rt)
        return 1;
    compare(rt, ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q8_0, "llama q8_0", 0.75, 0.10);
    compare(rt, ERG_ARCH_QWEN3, ERG_FTYPE_MOSTLY_Q8_0, "qwen3 q8_0", 0.75, 0.10);
    compare(rt, ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q4_0, "llama q4_0", 0.75, 0.10);
    compare(rt, ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q4_K_M, "llama q4_k_m", 0.75, 0.10);
    erg_runtime_destroy(rt);
    return erg_test_result("test_npu_sim_accuracy");
}
