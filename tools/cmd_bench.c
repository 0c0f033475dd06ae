/* erg bench: prefill and decode speed of models on devices (llama-bench's options). */
#include "tools/cli.h"

#include "bench/bench.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void) {
    printf("usage: erg bench [-m MODEL[,MODEL…]] [-p 128[,…]] [-n 64[,…]] [-r 5] [-t N]\n"
           "                 [--devices LIST] [--no-fusion | --compare-fusion] [-o table|json]\n"
           "  without -m: the built-in default models (made once and cached)\n"
           "  --devices: comma-separated device names (default: every device found)\n"
           "  --no-fusion: run the graphs as built, without the fusion passes\n"
           "  --compare-fusion: run each test fused and unfused (repetitions interleaved)\n"
           "                    and print the two side by side with their ratios\n"
           "  --strict: a device that cannot run every node fails its rows instead of\n"
           "            running those nodes on the CPU\n");
}

/* Splits a comma-separated list into out (pointers into s, which is modified). */
static bool split_list(char *s, const char **out, size_t cap, size_t *n) {
    *n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (*n == cap)
            return false;
        out[(*n)++] = tok;
    }
    return *n > 0;
}

static bool int_list(const char *s, int *out, size_t *n) {
    int64_t v[ERG_BENCH_MAX_LIST];
    if (!cli_parse_int_list(s, 0, 1 << 16, v, ERG_BENCH_MAX_LIST, n))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (v[i] > 0) /* 0 turns the test off, as in llama-bench */
            out[k++] = (int)v[i];
    *n = k;
    return true;
}

int cmd_bench(cli_args *a) {
    erg_bench_params p = {.reps = 5, .n_n_prompt = 1, .n_n_gen = 1};
    p.n_prompt[0] = 128;
    p.n_gen[0] = 64;
    long long threads = 0, reps = 5;
    cli_output out = CLI_OUT_TABLE;
    char models_arg[4096] = "", devices_arg[512] = "";
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return 0;
        } else if (cli_flag(a, "-m", "--model", true, &v, &bad)) {
            if (!bad)
                snprintf(models_arg + strlen(models_arg), sizeof models_arg - strlen(models_arg),
                         "%s%s", models_arg[0] ? "," : "", v);
        } else if (cli_flag(a, "-p", "--n-prompt", true, &v, &bad)) {
            if (!bad && !int_list(v, p.n_prompt, &p.n_n_prompt))
                return cli_error(a, CLI_EXIT_USAGE, "-p takes token counts like 64,256, not '%s'", v);
        } else if (cli_flag(a, "-n", "--n-gen", true, &v, &bad)) {
            if (!bad && !int_list(v, p.n_gen, &p.n_n_gen))
                return cli_error(a, CLI_EXIT_USAGE, "-n takes token counts like 64, not '%s'", v);
        } else if (cli_flag(a, "-r", "--repetitions", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 64, &reps))
                return cli_error(a, CLI_EXIT_USAGE, "-r takes 1..64, not '%s'", v);
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1024, &threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes a thread count, not '%s'", v);
        } else if (cli_flag(a, "--devices", NULL, true, &v, &bad)) {
            if (!bad)
                snprintf(devices_arg, sizeof devices_arg, "%s", v);
        } else if (cli_flag(a, "--no-fusion", NULL, false, &v, &bad)) {
            p.no_fusion = true;
        } else if (cli_flag(a, "--compare-fusion", NULL, false, &v, &bad)) {
            p.compare_fusion = true;
        } else if (cli_flag(a, "--strict", NULL, false, &v, &bad)) {
            p.strict = true;
        } else if (cli_flag(a, "-o", "--output", true, &v, &bad)) {
            if (!bad && !cli_parse_output(v, 1u << CLI_OUT_TABLE | 1u << CLI_OUT_JSON, &out))
                return cli_error(a, CLI_EXIT_USAGE, "-o takes table or json, not '%s'", v);
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (p.n_n_prompt + p.n_n_gen == 0)
        return cli_error(a, CLI_EXIT_USAGE, "no tests: -p and -n are both 0");
    if (p.no_fusion && p.compare_fusion)
        return cli_error(a, CLI_EXIT_USAGE,
                         "--compare-fusion runs both with and without fusion; drop --no-fusion");
    p.reps = (int)reps;
    if (models_arg[0] && !split_list(models_arg, p.models, ERG_BENCH_MAX_LIST, &p.n_models))
        return cli_error(a, CLI_EXIT_USAGE, "at most %d models", ERG_BENCH_MAX_LIST);
    erg_runtime *rt;
    int rc = cli_runtime(a, (int)threads, &rt);
    if (rc != 0)
        return rc;
    if (devices_arg[0]) {
        if (!split_list(devices_arg, p.devices, ERG_BENCH_MAX_LIST, &p.n_devices)) {
            erg_runtime_destroy(rt);
            return cli_error(a, CLI_EXIT_USAGE, "at most %d devices", ERG_BENCH_MAX_LIST);
        }
    } else {
        /* Every device found, except GPU APIs implemented on this CPU
         * (lavapipe, PoCL): they measure the CPU again, slowly. */
        static erg_device_info infos[ERG_BENCH_MAX_LIST];
        for (size_t i = 0; i < erg_runtime_device_count(rt) && i < ERG_BENCH_MAX_LIST; i++) {
            infos[i].struct_size = sizeof infos[i];
            if (erg_runtime_device_info(rt, i, &infos[i]) != ERG_OK)
                continue;
            if (infos[i].kind == ERG_DEVICE_OTHER)
                fprintf(stderr, "erg bench: leaving out %s (%s, which runs on the CPU); name it in "
                                "--devices to include it\n",
                        infos[i].name, infos[i].description);
            else
                p.devices[p.n_devices++] = infos[i].name;
        }
    }
    erg_device_info cpu = {.struct_size = sizeof cpu};
    erg_runtime_device_info(rt, 0, &cpu);
    p.threads = cpu.n_threads;
    p.progress = isatty(STDERR_FILENO);
    if (p.n_models == 0) {
        char err[512];
        int n = erg_bench_default_models(p.models, ERG_BENCH_MAX_LIST, err, sizeof err);
        if (n < 0) {
            erg_runtime_destroy(rt);
            return cli_error(a, CLI_EXIT_FAIL, "%s", err);
        }
        p.n_models = (size_t)n;
    }
    erg_bench_results r;
    erg_status st = erg_bench_run(rt, &p, &r);
    erg_bench_print(&r, out == CLI_OUT_JSON ? BENCH_OUT_JSON : BENCH_OUT_TABLE);
    if (st != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", r.error);
    erg_bench_results_free(&r);
    erg_runtime_destroy(rt);
    return rc;
}
