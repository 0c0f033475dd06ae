/*
 * End to end on a backend (argv[1]: "cpu", "vulkan", "opencl"): tiny llama
 * and qwen3 models of every weight type give, on device 0 of the backend,
 * the logits the CPU gives with reference math (F32 activations, exact
 * dequantisation) on the unfused graph, for a prefill and for decode steps
 * over the KV cache. For four weight types the device's fused graph is also
 * checked against its unfused one, and against a run that poisons freed
 * memory with NaN (bit-identical logits).
 *
 * Bound: normalised error ||gpu - cpu|| / ||cpu|| <= 1e-3 over all logits of
 * a step. Both sides compute in F32 from the same dequantised weights, so
 * only the order of summation differs; where that flips the rounding of a
 * value stored in the F16 KV cache, the next layers carry the difference on
 * (observed on lavapipe: 2e-6 to 1.2e-4). A wrong block layout, cache write
 * or mask gives errors of order 1, and the CPU's own default math (8-bit
 * activations) differs from its reference math by about 1e-2.
 *
 * Then out of memory: the same prefill with the Nth allocation failing, for
 * N over the whole run, gives either the logits or ERG_OUT_OF_MEMORY, and
 * leaves nothing allocated.
 *
 * No device: skipped (exit 77) unless ERG_REQUIRE_DEVICES names the backend.
 */
#include "tests/support/counting_alloc.h"
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
#define MAX_NERR 1e-3

static const int32_t tokens[N_PREFILL + N_DECODE] = {1, 17, 300, 5, 5, 42, 511, 0, 260, 99, 7, 3};

/* How a run differs from the default. */
enum { RUN_DEFAULT = 0, RUN_REFERENCE = 1, RUN_NO_FUSION = 2, RUN_POISON = 4 };

/* The logits of a prefill (all positions) then of each decode step. */
static bool run(erg_model *m, const char *device, int how, size_t nv, float *out) {
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = device;
    so.n_ctx = 32;
    so.reference_math = how & RUN_REFERENCE;
    so.no_fusion = how & RUN_NO_FUSION;
    so.poison_freed = how & RUN_POISON;
    erg_session *s = NULL;
    erg_status st = erg_session_create(m, &so, &s);
    if (st != ERG_OK) {
        printf("session on %s: %s\n", device, erg_model_last_error(m));
        return false;
    }
    st = erg_session_eval(s, tokens, N_PREFILL, ERG_LOGITS_ALL, out, N_PREFILL * nv);
    for (int i = 0; i < N_DECODE && st == ERG_OK; i++)
        st = erg_session_eval(s, &tokens[N_PREFILL + i], 1, ERG_LOGITS_LAST,
                              out + (N_PREFILL + i) * nv, nv);
    if (st != ERG_OK)
        printf("eval on %s: %s\n", device, erg_session_last_error(s));
    erg_session_destroy(s);
    return st == ERG_OK;
}

static double worst_error(const float *got, const float *want, size_t nv) {
    double worst = 0;
    for (int step = 0; step <= N_DECODE; step++) {
        size_t off = step == 0 ? 0 : (N_PREFILL + step - 1) * nv;
        size_t len = step == 0 ? N_PREFILL * nv : nv;
        worst = fmax(worst, test_nrmse(got + off, want + off, len));
    }
    return worst;
}

/* The same device without fusion gives the same logits within the bound,
 * and with freed memory poisoned exactly the same logits (a read of memory
 * after its reuse would show as NaN or a change). */
static void check_fusion_and_poison(erg_model *m, const char *device, int how, size_t nv,
                                    const float *fused, const char *label) {
    size_t n = (N_PREFILL + N_DECODE) * nv;
    float *other = malloc(n * sizeof *other);
    CHECK(other && run(m, device, how | RUN_NO_FUSION, nv, other));
    if (other) {
        double e = worst_error(fused, other, nv);
        CHECK_MSG(e <= MAX_NERR, "%s: fused vs unfused normalised error %.3g > %g", label, e,
                  MAX_NERR);
        printf("%s: fused vs unfused %.2e\n", label, e);
    }
    CHECK(other && run(m, device, how | RUN_POISON, nv, other));
    if (other) {
        size_t nan = 0;
        for (size_t i = 0; i < n; i++)
            nan += isnan(other[i]);
        CHECK_MSG(nan == 0 && memcmp(fused, other, n * sizeof *other) == 0,
                  "%s: with freed memory poisoned: %zu NaN, logits %s", label, nan,
                  memcmp(fused, other, n * sizeof *other) ? "differ" : "equal");
    }
    free(other);
}

static void check(erg_runtime *rt, const char *device, erg_arch arch, erg_ftype ftype) {
    char path[256];
    if (!test_make_model(arch, ftype, 11, path, sizeof path)) {
        CHECK(false);
        return;
    }
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_OK);
    erg_model_info mi = {.struct_size = sizeof mi};
    CHECK_STATUS(erg_model_get_info(m, &mi), ERG_OK);
    size_t nv = mi.n_vocab, n = (N_PREFILL + N_DECODE) * nv;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    /* The CPU is held to its reference math (its default math rounds
     * activations to 8 bits); GPU backends always compute in F32. */
    int how = strcmp(device, "cpu") == 0 ? RUN_REFERENCE : RUN_DEFAULT;
    bool ok = want && got && run(m, "cpu", RUN_REFERENCE | RUN_NO_FUSION, nv, want) &&
              run(m, device, how, nv, got);
    CHECK(ok);
    if (ok) {
        double worst = worst_error(got, want, nv);
        CHECK_MSG(worst <= MAX_NERR, "%s %s ftype %d: normalised error %.3g > %g", device,
                  mi.architecture, (int)ftype, worst, MAX_NERR);
        printf("%s %s ftype %2d: worst normalised error %.2e\n", device, mi.architecture,
               (int)ftype, worst);
        char label[96];
        snprintf(label, sizeof label, "%s %s ftype %d", device, mi.architecture, (int)ftype);
        if (ftype == ERG_FTYPE_MOSTLY_Q4_0 || ftype == ERG_FTYPE_MOSTLY_Q8_0 ||
            ftype == ERG_FTYPE_MOSTLY_F16 || ftype == ERG_FTYPE_MOSTLY_Q4_K_M)
            check_fusion_and_poison(m, device, how, nv, got, label);
    }
    free(want);
    free(got);
    erg_model_destroy(m);
    remove(path);
}

/* Warnings and errors the runtime logs (Vulkan validation messages among
 * them) fail the test. */
static int n_complaints;

static void count_log(void *user, erg_log_level level, const char *msg) {
    (void)user;
    if (level <= ERG_LOG_WARN) {
        n_complaints++;
        if (n_complaints <= 5)
            printf("logged: %s\n", msg);
    }
}

/* One prefill on device with allocation number fail_at failing: OK or
 * ERG_OUT_OF_MEMORY, and nothing left allocated. Returns the allocations a
 * full run makes (fail_at 0). */
static long oom_run(const char *path, const char *device, long fail_at) {
    counting c = {0, 0, fail_at};
    erg_allocator a = counting_allocator(&c);
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 2;
    ro.allocator = &a;
    ro.log_level = ERG_LOG_NONE;
    erg_runtime *rt = NULL;
    erg_model *m = NULL;
    erg_session *s = NULL;
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = device;
    so.n_ctx = 16;
    static float logits[1 << 16];
    erg_status st = erg_runtime_create(&ro, &rt);
    if (st == ERG_OK)
        st = erg_model_load(rt, path, NULL, &m);
    if (st == ERG_OK)
        st = erg_session_create(m, &so, &s);
    if (st == ERG_OK)
        st = erg_session_eval(s, tokens, 4, ERG_LOGITS_LAST, logits, 1 << 16);
    erg_session_destroy(s);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    CHECK_MSG(st == ERG_OK || st == ERG_OUT_OF_MEMORY, "allocation %ld failing gave %s", fail_at,
              erg_status_str(st));
    CHECK_MSG(c.live == 0, "allocation %ld failing left %ld allocations", fail_at, c.live);
    CHECK_MSG(fail_at != 0 || st == ERG_OK, "the full run failed: %s", erg_status_str(st));
    return c.count;
}

static void check_out_of_memory(const char *device) {
    char path[256];
    if (!test_make_model(ERG_ARCH_QWEN3, ERG_FTYPE_MOSTLY_Q4_0, 5, path, sizeof path)) {
        CHECK(false);
        return;
    }
    /* Each run opens a runtime, and so every driver: without the
     * validation layer (checked above) and at most 24 failure points. */
    unsetenv("ERG_VULKAN_VALIDATION");
    long total = oom_run(path, device, 0);
    long stride = total / 24 + 1;
    int runs = 0;
    for (long n = 1; n <= total; n += stride, runs++)
        oom_run(path, device, n);
    printf("%s: out of memory at %d of %ld allocations handled\n", device, runs, total);
    remove(path);
}

static bool required(const char *backend) {
    const char *list = getenv("ERG_REQUIRE_DEVICES");
    return list && strstr(list, backend) != NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        printf("usage: %s BACKEND\n", argv[0]);
        return 1;
    }
    erg_runtime *rt = NULL;
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 2;
    ro.log_fn = count_log;
    ro.log_level = ERG_LOG_WARN;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    if (!rt)
        return erg_test_result("test_device_logits");
    char device[32] = "";
    for (size_t i = 0; i < erg_runtime_device_count(rt) && !device[0]; i++) {
        erg_device_info info = {.struct_size = sizeof info};
        if (erg_runtime_device_info(rt, i, &info) == ERG_OK && strcmp(info.backend, argv[1]) == 0)
            snprintf(device, sizeof device, "%s", info.name);
    }
    if (!device[0]) {
        printf("no %s device\n", argv[1]);
        erg_runtime_destroy(rt);
        return required(argv[1]) ? 1 : 77;
    }
    static const erg_ftype types[] = {
        ERG_FTYPE_ALL_F32,       ERG_FTYPE_MOSTLY_F16,    ERG_FTYPE_MOSTLY_BF16,
        ERG_FTYPE_MOSTLY_Q8_0,   ERG_FTYPE_MOSTLY_Q4_0,   ERG_FTYPE_MOSTLY_Q4_1,
        ERG_FTYPE_MOSTLY_Q5_0,   ERG_FTYPE_MOSTLY_Q5_1,   ERG_FTYPE_MOSTLY_Q4_K_M,
        ERG_FTYPE_MOSTLY_Q5_K_M, ERG_FTYPE_MOSTLY_Q6_K};
    static const erg_arch archs[] = {ERG_ARCH_LLAMA, ERG_ARCH_QWEN3};
    for (size_t a = 0; a < 2; a++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            check(rt, device, archs[a], types[t]);
    erg_runtime_destroy(rt);
    CHECK_MSG(n_complaints == 0, "%d warnings or errors logged", n_complaints);
    check_out_of_memory(device);
    return erg_test_result("test_device_logits");
}
