/*
 * A device that fails during an auto session (injected: ERG_SCHED_FAIL
 * makes vulkan:0 fail its second use) is dropped: the step is placed again
 * on the other devices and run, a warning says so, the stats count it, and
 * the logits still equal the CPU-only logits (normalised error <= 1e-3,
 * reference math). The placement is the forced interleave, so vulkan:0
 * runs nodes until it fails.
 *
 * Skipped (77) without Vulkan or OpenCL unless ERG_REQUIRE_DEVICES names
 * them.
 */
#include "tests/support/test_logits.h"
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_PREFILL 9
#define N_DECODE 3

static const int32_t tokens[N_PREFILL + N_DECODE] = {1, 17, 300, 5, 5, 42, 511, 0, 260, 99, 7, 3};

static int n_warnings;
static char warning[512];

static void count_log(void *user, erg_log_level level, const char *msg) {
    (void)user;
    if (level <= ERG_LOG_WARN) {
        n_warnings++;
        printf("logged: %s\n", msg);
        snprintf(warning, sizeof warning, "%s", msg);
    }
}

/* Logits of the prefill's last position and of each decode step; where
 * the last step ran, and the stats. */
static bool run(erg_model *m, const char *device, size_t nv, float *out, char *where,
                erg_session_stats *st) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = device;
    so.n_ctx = 32;
    so.reference_math = true;
    erg_session *s = NULL;
    if (erg_session_create(m, &so, &s) != ERG_OK) {
        printf("session on %s: %s\n", device, erg_model_last_error(m));
        return false;
    }
    erg_status e = erg_session_eval(s, tokens, N_PREFILL, ERG_LOGITS_LAST, out, nv);
    for (int i = 0; i < N_DECODE && e == ERG_OK; i++)
        e = erg_session_eval(s, &tokens[N_PREFILL + i], 1, ERG_LOGITS_LAST, out + (i + 1) * nv, nv);
    if (e != ERG_OK)
        printf("eval on %s: %s\n", device, erg_session_last_error(s));
    if (where)
        CHECK_STATUS(erg_session_placement(s, where, 256), ERG_OK);
    if (st) {
        st->struct_size = sizeof *st;
        CHECK_STATUS(erg_session_get_stats(s, st), ERG_OK);
    }
    erg_session_destroy(s);
    return e == ERG_OK;
}

int main(void) {
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 2;
    ro.log_fn = count_log;
    ro.log_level = ERG_LOG_WARN;
    erg_runtime *rt = NULL;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    test_need_vulkan_and_opencl(rt);
    char path[256];
    CHECK(test_make_model(ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q4_0, 3, path, sizeof path));
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_OK);
    erg_model_info mi = {.struct_size = sizeof mi};
    CHECK_STATUS(erg_model_get_info(m, &mi), ERG_OK);
    size_t nv = mi.n_vocab, n = (N_DECODE + 1) * nv;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    CHECK(want && got && run(m, "cpu", nv, want, NULL, NULL));

    setenv("ERG_SCHED_FORCE", "interleave", 1);
    setenv("ERG_SCHED_FAIL", "vulkan:0:2", 1);
    n_warnings = 0;
    char where[256] = "";
    erg_session_stats st;
    CHECK(run(m, "auto", nv, got, where, &st));
    unsetenv("ERG_SCHED_FAIL");
    unsetenv("ERG_SCHED_FORCE");
    double e = test_nrmse(got, want, n);
    printf("after vulkan:0 failed: %s, %u device failed, error %.2e; warned: %s\n", where,
           st.n_devices_failed, e, warning);
    CHECK(e <= 1e-3);
    CHECK_EQ_INT(st.n_devices_failed, 1);
    CHECK_EQ_INT(n_warnings, 1);
    CHECK(strstr(warning, "vulkan:0 failed") && strstr(warning, "injected failure"));
    CHECK(strstr(where, "vulkan:0") == NULL && strstr(where, "cpu=") && strstr(where, "opencl:0="));
    free(want);
    free(got);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    remove(path);
    return erg_test_result("test_device_failure");
}
