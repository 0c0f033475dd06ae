/* erg plugin-check PATH.so: loads a plugin as erg would and runs erg's op
 * conformance suite on each of its devices. What a vendor runs in CI. */
#include "tools/cli.h"

#include "backends/plugin/plugin_backend.h"
#include "tests/conformance/conformance.h"

#include <string.h>

#define MAX_DEVICES 16
/* Normalised error allowed on matmuls of a device that quantises weights
 * per channel and activations per token to int8 (about 1% is expected). */
#define INT8_MATMUL_TOL 5e-2

static void usage(void) {
    printf("usage: erg plugin-check PATH/liberg-plugin-NAME.so\n"
           "  loads the plugin (ABI version, struct sizes, required functions, probe) and\n"
           "  runs the op conformance suite on each of its devices; ops the plugin\n"
           "  declares unsupported are listed as skipped\n");
}

static int check_device(cli_args *a, const erg_backend *b, const erg_backend_env *env,
                        const erg_device_info *info, size_t index) {
    conf_target t = {.name = info->name, .backend = b, .int8_matmul_tol = INT8_MATMUL_TOL};
    erg_diag diag = {{0}};
    if (erg_backend_open(b, env, index, &t.dev, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "cannot open %s: %s", info->name, diag.msg);
    printf("device %s: %s\n", info->name, info->description);
    conf_stats st = {0};
    conf_run_all(&t, &st);
    b->close(t.dev);
    printf("conformance %s: %d cases, %d failed, %d skipped (unsupported)\n", info->name,
           st.cases, st.failed, st.skipped);
    return st.failed ? CLI_EXIT_FAIL : 0;
}

int cmd_plugin_check(cli_args *a) {
    if (a->i >= a->argc || strcmp(a->argv[a->i], "--help") == 0 ||
        strcmp(a->argv[a->i], "-h") == 0) {
        usage();
        return a->i >= a->argc ? CLI_EXIT_USAGE : 0;
    }
    if (a->i + 1 != a->argc)
        return cli_error(a, CLI_EXIT_USAGE, "takes one plugin path");
    const char *path = a->argv[a->i];
    erg_logger log = {NULL, NULL, ERG_LOG_WARN};
    const erg_backend *b;
    erg_diag diag = {{0}};
    if (erg_plugin_backend_load(path, &log, &b, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    erg_backend_env env = {.alloc = NULL, .log = &log, .n_threads = 1};
    erg_device_info infos[MAX_DEVICES];
    size_t count = 0;
    if (erg_backend_enumerate(b, &env, infos, MAX_DEVICES, &count, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    printf("plugin %s: loaded, ABI %s, %zu device(s)\n", b->name, count ? infos[0].api_version : "",
           count);
    if (count == 0)
        return cli_error(a, CLI_EXIT_FAIL, "plugin %s: no device to check: %s", b->name,
                         diag.msg);
    int rc = 0;
    for (size_t i = 0; i < count && i < MAX_DEVICES; i++) {
        int r = check_device(a, b, &env, &infos[i], i);
        if (r)
            rc = r;
    }
    printf("plugin-check %s: %s\n", path, rc ? "FAILED" : "passed");
    return rc;
}
