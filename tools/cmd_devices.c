/* erg devices [-o table|json] [--json]: what erg found on this machine. */
#include "tools/cli.h"

#include "hal/cpu_info.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(erg_device_kind k) {
    static const char *const names[] = {"cpu", "gpu", "npu", "other"};
    return (unsigned)k < 4 ? names[k] : "other";
}

static void print_table(erg_runtime *rt) {
    size_t n = erg_runtime_device_count(rt);
    for (size_t i = 0; i < n; i++) {
        erg_device_info d = {.struct_size = sizeof d};
        if (erg_runtime_device_info(rt, i, &d) != ERG_OK)
            continue;
        char features[256];
        erg_cpu_features_format(d.cpu_features, features, sizeof features);
        printf("%s\n", d.name);
        printf("  kind        %s (backend %s)\n", kind_name(d.kind), d.backend);
        printf("  device      %s\n", d.description);
        printf("  memory      %.1f GiB%s\n", (double)d.memory_bytes / 1073741824.0,
               d.unified_memory ? " (shared with the host)" : "");
        if (d.kind == ERG_DEVICE_CPU) {
            printf("  cores       %d physical, %d logical\n", d.n_physical_cores,
                   d.n_logical_cores);
            printf("  threads     %d\n", d.n_threads);
            printf("  features    %s\n", features[0] ? features : "(none)");
            printf("  kernels     %s\n", d.kernel_level);
        }
    }
}

static int print_json(erg_runtime *rt) {
    cJSON *arr = cJSON_CreateArray();
    size_t n = erg_runtime_device_count(rt);
    for (size_t i = 0; i < n; i++) {
        erg_device_info d = {.struct_size = sizeof d};
        if (erg_runtime_device_info(rt, i, &d) != ERG_OK)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d.name);
        cJSON_AddStringToObject(o, "backend", d.backend);
        cJSON_AddStringToObject(o, "kind", kind_name(d.kind));
        cJSON_AddStringToObject(o, "description", d.description);
        cJSON_AddNumberToObject(o, "memory_bytes", (double)d.memory_bytes);
        cJSON_AddBoolToObject(o, "unified_memory", d.unified_memory);
        if (d.kind == ERG_DEVICE_CPU) {
            char features[256];
            erg_cpu_features_format(d.cpu_features, features, sizeof features);
            cJSON_AddNumberToObject(o, "physical_cores", d.n_physical_cores);
            cJSON_AddNumberToObject(o, "logical_cores", d.n_logical_cores);
            cJSON_AddNumberToObject(o, "threads", d.n_threads);
            cJSON_AddStringToObject(o, "features", features);
            cJSON_AddStringToObject(o, "kernel_level", d.kernel_level);
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!text)
        return CLI_EXIT_FAIL;
    printf("%s\n", text);
    free(text);
    return 0;
}

int cmd_devices(cli_args *a) {
    cli_output out = CLI_OUT_TABLE;
    long long threads = 0;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--json", NULL, false, &v, &bad)) {
            out = CLI_OUT_JSON;
        } else if (cli_flag(a, "-o", "--output", true, &v, &bad)) {
            if (bad)
                return CLI_EXIT_USAGE;
            if (!cli_parse_output(v, 1u << CLI_OUT_TABLE | 1u << CLI_OUT_JSON, &out))
                return cli_error(a, CLI_EXIT_USAGE, "-o takes table or json, not '%s'", v);
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (bad)
                return CLI_EXIT_USAGE;
            if (!cli_parse_int(v, 1, 1024, &threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes a thread count, not '%s'", v);
        } else if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            printf("usage: erg devices [-o table|json] [--json] [-t THREADS]\n");
            return 0;
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
    }
    erg_runtime *rt;
    int started = cli_runtime(a, (int)threads, &rt);
    if (started != 0)
        return started;
    int rc = 0;
    if (out == CLI_OUT_JSON)
        rc = print_json(rt);
    else
        print_table(rt);
    erg_runtime_destroy(rt);
    return rc;
}
