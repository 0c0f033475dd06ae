/*
 * The conformance suite on device 0 of the backend named by argv[1]
 * ("vulkan", "opencl"). A machine without such a device skips (exit 77),
 * unless ERG_REQUIRE_DEVICES lists the backend (the test command sets it
 * after installing lavapipe and PoCL), in which case a missing device fails.
 * Any warning or error the backend logs fails the run: for Vulkan that
 * includes every validation-layer message. Everything the backend allocates
 * goes through a counting allocator, and must be freed when the device
 * closes (the drivers' own memory is theirs; this checks erg's).
 */
#include "tests/conformance/conformance.h"
#include "tests/support/counting_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_complaints;

static void count_log(void *user, erg_log_level level, const char *msg) {
    (void)user;
    printf("[%s] %s\n", level == ERG_LOG_ERROR ? "error" : level == ERG_LOG_WARN ? "warn" : "info",
           msg);
    if (level == ERG_LOG_ERROR || level == ERG_LOG_WARN)
        n_complaints++;
}

static bool required(const char *backend) {
    const char *list = getenv("ERG_REQUIRE_DEVICES");
    if (!list)
        return false;
    size_t n = strlen(backend);
    for (const char *p = list; (p = strstr(p, backend)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
            return true;
    return false;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        printf("usage: %s BACKEND\n", argv[0]);
        return 1;
    }
    size_t n_backends;
    const erg_backend *const *backends = erg_backends(&n_backends);
    const erg_backend *b = NULL;
    for (size_t i = 0; i < n_backends; i++)
        if (strcmp(backends[i]->name, argv[1]) == 0)
            b = backends[i];
    if (!b) {
        printf("%s: backend not built\n", argv[1]);
        return required(argv[1]) ? 1 : 77;
    }
    erg_logger log = {count_log, NULL, ERG_LOG_WARN};
    counting counts = {0, 0, 0};
    erg_allocator alloc = counting_allocator(&counts);
    erg_backend_env env = {&alloc, &log, 2, NULL, false};
    erg_diag diag = {{0}};
    erg_device_info info = {.struct_size = sizeof info};
    size_t count = 0;
    if (erg_backend_enumerate(b, &env, &info, 1, &count, &diag) != ERG_OK || count == 0) {
        printf("%s: no device: %s\n", argv[1], diag.msg);
        return required(argv[1]) ? 1 : 77;
    }
    conf_target t = {.name = info.name, .backend = b};
    if (erg_backend_open(b, &env, 0, &t.dev, &diag) != ERG_OK) {
        printf("cannot open %s (%s): %s\n", info.name, info.description, diag.msg);
        return 1;
    }
    printf("device %s: %s\n", info.name, info.description);
    conf_stats st = {0};
    conf_run_all(&t, &st);
    b->close(t.dev);
    printf("conformance %s: %d cases, %d failed, %d skipped, %d logged warnings/errors, "
           "%ld allocations left\n",
           info.name, st.cases, st.failed, st.skipped, n_complaints, counts.live);
    return st.failed || n_complaints || counts.live ? 1 : 0;
}
