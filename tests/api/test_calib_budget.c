/*
 * The calibration budget of device auto's create (ERG_CALIB_BUDGET_MS):
 *
 * - 1 ms: the CPU, calibrated first, still measures a prefill and a decode
 *   step (cut short there, cached flagged partial); every other device is
 *   left out with an info line and not cached; the session runs and its
 *   logits are the CPU's;
 * - the next create with time (0: no limit) measures the CPU again, fully,
 *   and the other devices; a third with 1 ms measures nothing;
 * - a partial entry is measured again only when 1.5 times the seconds it
 *   had are left (an entry that had a million seconds is kept);
 * - a value that is not whole milliseconds fails the create, naming it.
 *
 * Runs on whatever devices the runtime finds (the CPU alone is enough).
 */
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TOKENS 5

static const int32_t tokens[N_TOKENS] = {1, 17, 300, 5, 42};

static int n_full, n_partial, n_budget_left_out, n_again;

static void count_log(void *user, erg_log_level level, const char *msg) {
    (void)user;
    (void)level;
    n_full += strncmp(msg, "auto: calibrated ", 17) == 0 && !strstr(msg, " in part ");
    n_partial += strncmp(msg, "auto: calibrated cpu in part ", 29) == 0;
    n_budget_left_out += strstr(msg, "is left out: the calibration budget") != NULL;
    n_again += strstr(msg, "was calibrated in part; measuring it again") != NULL;
}

static void reset_counts(void) { n_full = n_partial = n_budget_left_out = n_again = 0; }

/* Logits of a prefill and one decode step on device, with the budget (NULL: unset). */
static erg_status run(erg_model *m, const char *device, const char *budget, size_t nv, float *out,
                      char *where, size_t where_size) {
    if (budget)
        setenv("ERG_CALIB_BUDGET_MS", budget, 1);
    else
        unsetenv("ERG_CALIB_BUDGET_MS");
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = device;
    so.n_ctx = 32;
    so.reference_math = true;
    erg_session *s = NULL;
    erg_status st = erg_session_create(m, &so, &s);
    if (st == ERG_OK)
        st = erg_session_eval(s, tokens, N_TOKENS - 1, ERG_LOGITS_LAST, out, nv);
    if (st == ERG_OK)
        st = erg_session_eval(s, &tokens[N_TOKENS - 1], 1, ERG_LOGITS_LAST, out + nv, nv);
    if (st == ERG_OK && where)
        st = erg_session_placement(s, where, where_size);
    erg_session_destroy(s);
    unsetenv("ERG_CALIB_BUDGET_MS");
    return st;
}

/* The model's calibration file under $ERG_CACHE_DIR/scheduler, read whole
 * into text (cap bytes); false if there is none. */
static bool read_cache(char *path, size_t path_cap, char *text, size_t cap) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/scheduler", getenv("ERG_CACHE_DIR"));
    DIR *d = opendir(dir);
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d));)
        if (strstr(e->d_name, ".json")) {
            snprintf(path, path_cap, "%s/%s", dir, e->d_name);
            found = true;
        }
    if (d)
        closedir(d);
    FILE *f = found ? fopen(path, "r") : NULL;
    size_t len = f ? fread(text, 1, cap - 1, f) : 0;
    text[len] = '\0';
    if (f)
        fclose(f);
    return f && len > 0 && len < cap - 1;
}

/* The CPU's entry of the cache text: from its "device" to the next one. */
static bool cpu_entry_has(const char *text, const char *what) {
    const char *e = strstr(text, "{\"device\":\"cpu\"");
    if (!e)
        return false;
    const char *next = strstr(e + 1, "{\"device\":");
    const char *hit = strstr(e, what);
    return hit && (!next || hit < next);
}

static size_t count_of(const char *text, const char *what) {
    size_t n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
        n++;
    return n;
}

static void check_mismatch(const float *got, const float *want, size_t n, const char *when) {
    float worst = 0;
    for (size_t i = 0; i < n; i++) {
        float d = got[i] > want[i] ? got[i] - want[i] : want[i] - got[i];
        worst = d > worst ? d : worst;
    }
    /* The CPU's own placement and math: the same logits. */
    CHECK_MSG(worst == 0, "%s: logits differ from the CPU's by up to %g", when, worst);
}

int main(void) {
    char *cache = getenv("ERG_CACHE_DIR");
    if (!cache || !*cache) {
        printf("ERG_CACHE_DIR must name the test's own cache (ctest sets it)\n");
        return 1;
    }
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/scheduler'", cache);
    CHECK(system(cmd) == 0);
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 2;
    ro.log_fn = count_log;
    ro.log_level = ERG_LOG_INFO;
    erg_runtime *rt = NULL;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    size_t n_devices = erg_runtime_device_count(rt);
    char model[256];
    CHECK(test_make_model(ERG_ARCH_QWEN3, ERG_FTYPE_MOSTLY_Q8_0, 12, model, sizeof model));
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, model, NULL, &m), ERG_OK);
    erg_model_info mi = {.struct_size = sizeof mi};
    CHECK_STATUS(erg_model_get_info(m, &mi), ERG_OK);
    size_t nv = mi.n_vocab;
    float *want = malloc(2 * nv * sizeof *want), *got = malloc(2 * nv * sizeof *got);
    static char text[1 << 20];
    char path[1400], where[256] = "";
    CHECK(want && got);
    CHECK_STATUS(run(m, "cpu", NULL, nv, want, NULL, 0), ERG_OK);

    /* 1 ms: the CPU in part, the rest left out and not cached. */
    reset_counts();
    CHECK_STATUS(run(m, "auto", "1", nv, got, where, sizeof where), ERG_OK);
    printf("1 ms: %s; %d partial, %d left out by the budget (%zu devices)\n", where, n_partial,
           n_budget_left_out, n_devices);
    CHECK(strncmp(where, "cpu=", 4) == 0 && !strchr(where, ','));
    CHECK_EQ_INT(n_partial, 1);
    CHECK_EQ_INT(n_full, 0);
    CHECK_EQ_INT(n_budget_left_out, (int)n_devices - 1);
    check_mismatch(got, want, 2 * nv, "1 ms budget");
    CHECK(read_cache(path, sizeof path, text, sizeof text));
    CHECK(cpu_entry_has(text, "\"partial_s\":"));
    CHECK_EQ_INT(count_of(text, "{\"device\":"), 1);

    /* No limit: the CPU measured again, fully, and every other device. */
    reset_counts();
    CHECK_STATUS(run(m, "auto", "0", nv, got, NULL, 0), ERG_OK);
    printf("no limit: %d measured, %d again\n", n_full, n_again);
    CHECK_EQ_INT(n_again, 1);
    CHECK_EQ_INT(n_partial + n_budget_left_out, 0);
    CHECK_EQ_INT(n_full, (int)n_devices);
    CHECK(read_cache(path, sizeof path, text, sizeof text));
    CHECK(!strstr(text, "partial_s"));
    CHECK_EQ_INT(count_of(text, "{\"device\":"), n_devices);

    /* Everything cached: 1 ms measures nothing and places as before. */
    reset_counts();
    CHECK_STATUS(run(m, "auto", "1", nv, got, NULL, 0), ERG_OK);
    CHECK_EQ_INT(n_full + n_partial + n_again + n_budget_left_out, 0);

    /* A partial entry that had a million seconds: not worth measuring again
     * in a default budget. */
    char *cpu = strstr(text, "{\"device\":\"cpu\",");
    CHECK(cpu != NULL);
    if (cpu) {
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            size_t head = (size_t)(cpu - text) + strlen("{\"device\":\"cpu\",");
            fprintf(f, "%.*s\"partial_s\":1e6,%s", (int)head, text, text + head);
            fclose(f);
        }
    }
    reset_counts();
    CHECK_STATUS(run(m, "auto", NULL, nv, got, NULL, 0), ERG_OK);
    CHECK_EQ_INT(n_again + n_full, 0);
    CHECK(read_cache(path, sizeof path, text, sizeof text) && cpu_entry_has(text, "partial_s"));

    /* Not whole milliseconds: the create fails, naming the variable. */
    const char *bad[] = {"abc", "-5", "20s", "1e3", "", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        erg_status st = run(m, "auto", bad[i], nv, got, NULL, 0);
        if (!bad[i][0]) {
            CHECK_STATUS(st, ERG_OK); /* empty: unset */
            continue;
        }
        CHECK_STATUS(st, ERG_INVALID_ARGUMENT);
        CHECK_MSG(strstr(erg_model_last_error(m), "ERG_CALIB_BUDGET_MS") != NULL, "'%s': %s",
                  bad[i], erg_model_last_error(m));
    }
    printf("garbage: %s\n", erg_model_last_error(m));

    free(want);
    free(got);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    remove(model);
    return erg_test_result("test_calib_budget");
}
