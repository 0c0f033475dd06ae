/* erg calibrate: measures each device's costs on a model's own step graphs
 * for the scheduler (device auto) and caches them; prints what it has. */
#include "tools/cli.h"

#include "hal/timer.h"
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BUDGET_MS 5000

static void usage(void) {
    printf("usage: erg calibrate -m MODEL [--device LIST] [--budget-ms N] [-t N] [-o table|json]\n"
           "  measures the listed devices again (default: every device) on the model's own\n"
           "  prefill and decode graphs and caches the costs (ERG_CACHE_DIR) for --device auto;\n"
           "  devices not listed keep their cached costs. No device is started once the budget\n"
           "  (default %d ms) is spent; a started one is measured fully (a session's own\n"
           "  budget, ERG_CALIB_BUDGET_MS, may leave one 'cached partial'). Energies are\n"
           "  estimates (busy time x power profile),\n"
           "  or a simulated device's model.\n",
           DEFAULT_BUDGET_MS);
}

typedef struct calib_opts {
    const char *model, *devices;
    long long budget_ms, threads;
    cli_output out;
} calib_opts;

static int parse(cli_args *a, calib_opts *o) {
    const cli_common common = {.model = &o->model, .threads = &o->threads, .out = &o->out,
                               .outputs = CLI_OUTPUTS_TABLE_JSON};
    o->budget_ms = DEFAULT_BUDGET_MS;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_common_flag(a, &common, &bad)) {
            /* stored in *o */
        } else if (cli_flag(a, "--device", "--devices", true, &v, &bad)) {
            o->devices = v;
        } else if (cli_flag(a, "--budget-ms", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 3600 * 1000, &o->budget_ms))
                return cli_error(a, CLI_EXIT_USAGE, "--budget-ms takes milliseconds, not '%s'", v);
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    return o->model ? 0 : cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
}

/* Marks the devices LIST names ("vulkan" is "vulkan:0"); an unknown name
 * is an error. */
static int mark(cli_args *a, const erg_runtime *rt, const char *list, bool *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        want[i] = list == NULL;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        char name[40];
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        bool hit = false;
        for (size_t i = 0; i < n; i++) {
            const char *dn = rt->devices[i].info.name;
            size_t dl = strlen(dn);
            if (strcmp(dn, name) == 0 || (dl > 2 && strncmp(dn, name, dl - 2) == 0 &&
                                          name[dl - 2] == '\0' && strcmp(dn + dl - 2, ":0") == 0))
                want[i] = hit = true;
        }
        if (!hit)
            return cli_error(a, CLI_EXIT_USAGE, "no device '%s' to calibrate", name);
        p += len + (p[len] == ',');
    }
    return 0;
}

static void progress(void *user, size_t done, size_t total, const char *device) {
    (void)user;
    int width = 20, fill = total ? (int)(width * done / total) : width;
    fprintf(stderr, "\rcalibrating [%.*s%*s] %zu/%zu %-12s", fill, "####################",
            width - fill, "", done, total, device);
    if (done == total)
        fputc('\n', stderr);
}

static const char *outcome_name(erg_calib_outcome o, const erg_device_costs *c) {
    switch (o) {
    case ERG_CALIB_CACHED: return c->partial ? "cached partial" : "cached";
    case ERG_CALIB_PARTIAL: return "partial";
    case ERG_CALIB_MEASURED: return "measured";
    case ERG_CALIB_LEFT_OUT: return "left out";
    default: return "skipped";
    }
}

static void print(const calib_opts *o, const erg_device_costs *c, const erg_calib_outcome *out,
                  size_t n, double seconds) {
    if (o->out == CLI_OUT_JSON) {
        printf("{\"seconds\": %.6f, \"devices\": [", seconds);
        for (size_t i = 0; i < n; i++)
            printf("%s{\"device\": \"%s\", \"status\": \"%s\", \"shapes\": %zu, "
                   "\"node_overhead_s\": %.9g, \"handover_s\": %.9g, \"busy_watts\": %.6g, "
                   "\"energy_source\": \"%s\", \"copy_s_per_byte\": %.9g, "
                   "\"simulated\": %s}",
                   i ? ", " : "", c[i].device, outcome_name(out[i], &c[i]), c[i].n_rows,
                   c[i].node_overhead_s, c[i].handover_s, c[i].busy_watts,
                   c[i].simulated ? "simulated" : "estimate", c[i].copy_s_per_byte,
                   c[i].simulated ? "true" : "false");
        printf("]}\n");
        return;
    }
    printf("%-12s %-10s %7s %12s %12s %10s\n", "device", "status", "shapes", "per node us",
           "handover us", "power W*");
    bool any_simulated = false;
    for (size_t i = 0; i < n; i++) {
        any_simulated |= c[i].simulated;
        printf("%-12s %-10s %7zu %12.1f %12.1f %9.2f%s%s\n", c[i].device,
               out[i] == ERG_CALIB_CACHED || out[i] == ERG_CALIB_MEASURED
                   ? outcome_name(out[i], &c[i])
                   : "-",
               c[i].n_rows, c[i].node_overhead_s * 1e6, c[i].handover_s * 1e6, c[i].busy_watts,
               c[i].simulated ? "s" : " ",
               out[i] == ERG_CALIB_LEFT_OUT || out[i] == ERG_CALIB_OVER_BUDGET
                   ? (out[i] == ERG_CALIB_LEFT_OUT ? "  left out: cannot run every node"
                                                   : "  skipped: budget spent")
                   : "");
    }
    printf("* power above idle: an estimate from the device's power profile, not measured%s; "
           "%.2f s\n",
           any_simulated ? " (s: a simulated device's own model, also not measured)" : "",
           seconds);
}

static int run(cli_args *a, const calib_opts *o, erg_runtime *rt) {
    erg_model *m = NULL;
    if (erg_model_load(rt, o->model, NULL, &m) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", erg_runtime_last_error(rt));
    size_t n = rt->n_devices < ERG_PART_MAX_DEVICES ? rt->n_devices : ERG_PART_MAX_DEVICES;
    bool want[ERG_PART_MAX_DEVICES];
    int rc = mark(a, rt, o->devices, want, n);
    erg_device_costs costs[ERG_PART_MAX_DEVICES];
    erg_calib_outcome outcome[ERG_PART_MAX_DEVICES];
    memset(costs, 0, sizeof costs);
    erg_calib_request req = {.recalibrate = want,
                             .budget_s = (double)o->budget_ms / 1e3,
                             .progress = isatty(STDERR_FILENO) ? progress : NULL};
    erg_diag diag = {{0}};
    double t0 = erg_time_s();
    if (rc == 0 && erg_rt_calibration(m, false, &req, costs, outcome, n, &diag) != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    if (rc == 0)
        print(o, costs, outcome, n, erg_time_s() - t0);
    for (size_t i = 0; i < n; i++)
        erg_device_costs_free(&costs[i], &rt->alloc);
    erg_model_destroy(m);
    return rc;
}

int cmd_calibrate(cli_args *a) {
    calib_opts o = {0};
    int rc = parse(a, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    erg_runtime *rt;
    rc = cli_runtime(a, (int)o.threads, &rt);
    if (rc == 0) {
        rc = run(a, &o, rt);
        erg_runtime_destroy(rt);
    }
    return rc;
}
