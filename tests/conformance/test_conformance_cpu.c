/* The conformance suite on the CPU backend, at the kernel level ERG_CPU_FEATURES
 * names (skipped when this CPU cannot run it), else at the best level. */
#include "tests/conformance/conformance.h"

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kernels.h"
#include "hal/cpu_info.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *forced = getenv("ERG_CPU_FEATURES");
    erg_cpu_info ci;
    erg_cpu_info_probe(&ci);
    int level = forced && *forced ? erg_cpu_level_parse(forced) : (int)erg_cpu_level_best(ci.features);
    if (level < 0) {
        printf("unknown ERG_CPU_FEATURES '%s'\n", forced);
        return 1;
    }
    if (!erg_cpu_level_supported((erg_cpu_level)level, ci.features)) {
        printf("SKIP: this CPU cannot run %s kernels\n", erg_cpu_level_name((erg_cpu_level)level));
        return 77;
    }
    erg_logger log = {NULL, NULL, ERG_LOG_WARN};
    erg_backend_env env = {NULL, &log, 2, erg_cpu_level_name((erg_cpu_level)level), false};
    erg_diag diag = {{0}};
    char name[32];
    snprintf(name, sizeof name, "cpu/%s", env.cpu_features);
    conf_target t = {.name = name, .backend = &erg_cpu_backend};
    if (erg_backend_open(&erg_cpu_backend, &env, 0, &t.dev, &diag) != ERG_OK) {
        printf("cannot open the CPU backend: %s\n", diag.msg);
        return 1;
    }
    conf_stats st = {0};
    conf_run_all(&t, &st);
    erg_cpu_backend.close(t.dev);
    printf("conformance %s: %d cases, %d failed, %d skipped\n", name, st.cases, st.failed,
           st.skipped);
    return st.failed ? 1 : 0;
}
