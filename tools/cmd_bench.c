/* erg bench: speed, energy, memory and accuracy of models on devices (llama-bench's options). */
#include "tools/cli.h"

#include "bench/bench.h"
#include "hal/cpu_info.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void) {
    printf("usage: erg bench [-m MODEL[,MODEL…]] [-p 128[,…]] [-n 64[,…]] [-d 0[,…]] [-r 5]\n"
           "                 [-t N] [--devices LIST] [--policy edp|latency|energy]\n"
           "                 [-o table|md|csv|json|jsonl] [--svg FILE]\n"
           "                 [--no-fusion | --compare-fusion] [--strict]\n"
           "  without -m: the built-in default model (made once and cached)\n"
           "  -p, -n: prompt lengths and generated tokens (0 turns the tests off)\n"
           "  -d: tokens already in the KV cache before each test\n"
           "  -t: threads, the same on every device that runs on the host CPU (the CPU,\n"
           "      lavapipe through LP_NUM_THREADS, PoCL through its thread settings)\n"
           "  --devices: comma-separated device names, `auto` for the scheduler's\n"
           "             placement (default: every device found, then auto)\n"
           "  --policy: the objective of auto's placement (default: edp)\n"
           "  --svg: also write a chart of tokens/s, joules/token and EDP per device\n"
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

/* llama-bench's lists: 0 turns a test off (keep_zero: 0 is a value, as for -d). */
static bool int_list(const char *s, bool keep_zero, int *out, size_t *n) {
    int64_t v[ERG_BENCH_MAX_LIST];
    if (!cli_parse_int_list(s, 0, 1 << 16, v, ERG_BENCH_MAX_LIST, n))
        return false;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (v[i] > 0 || keep_zero)
            out[k++] = (int)v[i];
    *n = k;
    return true;
}

static const struct {
    const char *name;
    erg_policy policy;
} policies[] = {{"edp", ERG_POLICY_EDP}, {"latency", ERG_POLICY_LATENCY},
                {"energy", ERG_POLICY_ENERGY}};

static bool parse_policy(const char *s, erg_policy *out) {
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
        if (strcmp(s, policies[i].name) == 0) {
            *out = policies[i].policy;
            return true;
        }
    return false;
}

static const char *policy_name(erg_policy policy) {
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++)
        if (policies[i].policy == policy)
            return policies[i].name;
    return "default (ERG_POLICY, else edp)";
}

/* The GPU drivers that run on the host's cores read their thread counts
 * from the environment when they load, so these are set before the
 * runtime opens them: lavapipe's LP_NUM_THREADS, PoCL 3's
 * POCL_MAX_PTHREAD_COUNT and PoCL 4's POCL_CPU_MAX_CU_NUM. */
static void set_driver_threads(int threads) {
    char v[16];
    snprintf(v, sizeof v, "%d", threads);
    setenv("LP_NUM_THREADS", v, 1);
    setenv("POCL_MAX_PTHREAD_COUNT", v, 1);
    setenv("POCL_CPU_MAX_CU_NUM", v, 1);
}

/* Appends "name (driver)" to a list of devices left out. */
static void add_left_out(char *list, size_t size, const erg_device_info *info) {
    /* "llvmpipe (LLVM 15 …)" → "llvmpipe" */
    size_t len = strlen(list), driver = strcspn(info->description, "(");
    while (driver > 0 && info->description[driver - 1] == ' ')
        driver--;
    snprintf(list + len, size - len, "%s%s (%.*s)", len ? ", " : "", info->name,
             (int)(driver < 40 ? driver : 40), info->description);
}

/* Every device found, then auto. Left out, with a note: GPU APIs
 * implemented on this CPU (lavapipe, PoCL), which measure the CPU again,
 * slowly; and simulated devices (npu-sim), whose speed here is that of the
 * simulator running on the host, minutes per test on the default model. */
static void default_devices(erg_runtime *rt, erg_bench_params *p, erg_bench_results *r) {
    static erg_device_info infos[ERG_BENCH_MAX_LIST];
    char on_cpu[200] = "", simulated[200] = "";
    size_t n = erg_runtime_device_count(rt);
    for (size_t i = 0; i < n && i < ERG_BENCH_MAX_LIST && p->n_devices + 1 < ERG_BENCH_MAX_LIST;
         i++) {
        infos[i].struct_size = sizeof infos[i];
        if (erg_runtime_device_info(rt, i, &infos[i]) != ERG_OK)
            continue;
        if (infos[i].simulated)
            add_left_out(simulated, sizeof simulated, &infos[i]);
        else if (infos[i].kind == ERG_DEVICE_OTHER)
            add_left_out(on_cpu, sizeof on_cpu, &infos[i]);
        else
            p->devices[p->n_devices++] = infos[i].name;
    }
    p->devices[p->n_devices++] = "auto";
    if (on_cpu[0])
        erg_bench_results_note(r,
                               "left out: %s: GPU APIs implemented on this CPU, which measure the "
                               "CPU again, slowly; name them in --devices to include them",
                               on_cpu);
    if (simulated[0])
        erg_bench_results_note(r,
                               "left out: %s: simulated, so their speed here is the simulator's "
                               "on this CPU; name them in --devices to include them",
                               simulated);
}

typedef struct bench_opts {
    erg_bench_params p;
    long long threads;
    cli_output out;
    const char *svg;
    char models[4096], devices[512];
} bench_opts;

/* Returns -1 after --help, else an exit code (0: parsed). */
static int parse(cli_args *a, bench_opts *o) {
    erg_bench_params *p = &o->p;
    long long reps = 5;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_flag(a, "-m", "--model", true, &v, &bad)) {
            size_t len = strlen(o->models);
            if (!bad)
                snprintf(o->models + len, sizeof o->models - len, "%s%s", len ? "," : "", v);
        } else if (cli_flag(a, "-p", "--n-prompt", true, &v, &bad)) {
            if (!bad && !int_list(v, false, p->n_prompt, &p->n_n_prompt))
                return cli_error(a, CLI_EXIT_USAGE, "-p takes token counts like 64,256, not '%s'", v);
        } else if (cli_flag(a, "-n", "--n-gen", true, &v, &bad)) {
            if (!bad && !int_list(v, false, p->n_gen, &p->n_n_gen))
                return cli_error(a, CLI_EXIT_USAGE, "-n takes token counts like 64, not '%s'", v);
        } else if (cli_flag(a, "-d", "--n-depth", true, &v, &bad)) {
            if (!bad && !int_list(v, true, p->n_depth, &p->n_n_depth))
                return cli_error(a, CLI_EXIT_USAGE, "-d takes token counts like 0,512, not '%s'",
                                 v);
        } else if (cli_flag(a, "-r", "--repetitions", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 64, &reps))
                return cli_error(a, CLI_EXIT_USAGE, "-r takes 1..64, not '%s'", v);
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1024, &o->threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes a thread count, not '%s'", v);
        } else if (cli_flag(a, "--devices", NULL, true, &v, &bad)) {
            if (!bad)
                snprintf(o->devices, sizeof o->devices, "%s", v);
        } else if (cli_flag(a, "--policy", NULL, true, &v, &bad)) {
            if (!bad && !parse_policy(v, &p->policy))
                return cli_error(a, CLI_EXIT_USAGE,
                                 "--policy takes edp, latency or energy, not '%s'", v);
        } else if (cli_flag(a, "--svg", NULL, true, &v, &bad)) {
            o->svg = v;
        } else if (cli_flag(a, "--no-fusion", NULL, false, &v, &bad)) {
            p->no_fusion = true;
        } else if (cli_flag(a, "--compare-fusion", NULL, false, &v, &bad)) {
            p->compare_fusion = true;
        } else if (cli_flag(a, "--strict", NULL, false, &v, &bad)) {
            p->strict = true;
        } else if (cli_flag(a, "-o", "--output", true, &v, &bad)) {
            unsigned all = 1u << CLI_OUT_TABLE | 1u << CLI_OUT_JSON | 1u << CLI_OUT_MD |
                           1u << CLI_OUT_CSV | 1u << CLI_OUT_JSONL;
            if (!bad && !cli_parse_output(v, all, &o->out))
                return cli_error(a, CLI_EXIT_USAGE,
                                 "-o takes table, md, csv, json or jsonl, not '%s'", v);
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (p->n_n_prompt + p->n_n_gen == 0)
        return cli_error(a, CLI_EXIT_USAGE, "no tests: -p and -n are both 0");
    if (p->no_fusion && p->compare_fusion)
        return cli_error(a, CLI_EXIT_USAGE,
                         "--compare-fusion runs both with and without fusion; drop --no-fusion");
    if (p->compare_fusion && o->out != CLI_OUT_TABLE && o->out != CLI_OUT_JSON)
        return cli_error(a, CLI_EXIT_USAGE, "--compare-fusion prints a table or json");
    p->reps = (int)reps;
    if (o->models[0] && !split_list(o->models, p->models, ERG_BENCH_MAX_LIST, &p->n_models))
        return cli_error(a, CLI_EXIT_USAGE, "at most %d models", ERG_BENCH_MAX_LIST);
    if (o->devices[0] &&
        !split_list(o->devices, p->devices, ERG_BENCH_MAX_LIST, &p->n_devices))
        return cli_error(a, CLI_EXIT_USAGE, "at most %d devices", ERG_BENCH_MAX_LIST);
    return 0;
}

static erg_bench_output output_of(cli_output out) {
    switch (out) {
    case CLI_OUT_JSON:
        return BENCH_OUT_JSON;
    case CLI_OUT_MD:
        return BENCH_OUT_MD;
    case CLI_OUT_CSV:
        return BENCH_OUT_CSV;
    case CLI_OUT_JSONL:
        return BENCH_OUT_JSONL;
    case CLI_OUT_TABLE:
        break;
    }
    return BENCH_OUT_TABLE;
}

int cmd_bench(cli_args *a) {
    static bench_opts o;
    memset(&o, 0, sizeof o);
    o.p.n_n_prompt = o.p.n_n_gen = 1;
    o.p.n_prompt[0] = 128;
    o.p.n_gen[0] = 64;
    o.out = CLI_OUT_TABLE;
    int rc = parse(a, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    erg_bench_params *p = &o.p;
    /* One thread count for every device that runs on the host's cores. */
    if (o.threads == 0) {
        erg_cpu_info ci;
        erg_cpu_info_probe(&ci);
        o.threads = ci.n_physical_cores > 0 ? ci.n_physical_cores : 1;
    }
    p->threads = (int)o.threads;
    set_driver_threads(p->threads);
    static erg_bench_results r;
    memset(&r, 0, sizeof r);
    erg_runtime *rt;
    rc = cli_runtime(a, p->threads, &rt);
    if (rc != 0)
        return rc;
    if (p->n_devices == 0)
        default_devices(rt, p, &r);
    erg_bench_results_note(&r,
                           "threads: %d on every device that runs on the host CPU (the CPU; "
                           "lavapipe through LP_NUM_THREADS, PoCL through "
                           "POCL_MAX_PTHREAD_COUNT / POCL_CPU_MAX_CU_NUM)",
                           p->threads);
    for (size_t i = 0; i < p->n_devices; i++)
        if (strcmp(p->devices[i], "auto") == 0)
            erg_bench_results_note(&r, "auto: the scheduler's placement, policy %s; where the "
                                       "nodes ran is `placement` in -o json, jsonl and csv",
                                   policy_name(p->policy));
    p->progress = isatty(STDERR_FILENO);
    if (p->n_models == 0) {
        char err[512];
        int n = erg_bench_default_models(p->models, ERG_BENCH_MAX_LIST, err, sizeof err);
        if (n < 0) {
            erg_runtime_destroy(rt);
            return cli_error(a, CLI_EXIT_FAIL, "%s", err);
        }
        p->n_models = (size_t)n;
    }
    erg_status st = erg_bench_run(rt, p, &r);
    erg_bench_print(&r, output_of(o.out));
    if (st != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", r.error);
    char err[512];
    if (rc == 0 && o.svg && erg_bench_write_svg(&r, o.svg, err, sizeof err) != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", err);
    erg_bench_results_free(&r);
    erg_runtime_destroy(rt);
    return rc;
}
