/* erg profile -m MODEL --device D: per-op time and energy of a prefill and
 * decode run, from the device's own timers and its energy meter. */
#include "tools/cli.h"

#include "hal/energy/device_meter.h"
#include "hal/timer.h"
#include "runtime/internal.h"
#include "scheduler/profiler_report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Enough for a 1 s battery gauge with the smallest model. */
#define MAX_REPETITIONS 100000

static void usage(void) {
    printf("usage: erg profile -m MODEL [--device D] [-p 32] [-n 16] [-t N] [-o table|json]\n"
           "                   [--top N] [--json FILE] [--trace FILE] [--baseline-ms MS]\n"
           "  -p, -n          prompt tokens (one prefill run) and decode steps after it\n"
           "  --top N         the N longest rows of the table (default 30; 0: all)\n"
           "  --json FILE     also write the profile as JSON\n"
           "  --trace FILE    write a Chrome/Perfetto trace (chrome://tracing, ui.perfetto.dev)\n"
           "  --baseline-ms   idle window measured before the run and subtracted\n"
           "                  (default: 10 sensor updates, at least 250 ms; 0: none)\n"
           "With an energy meter the run is repeated until its window spans 10 sensor\n"
           "updates, after a calibration window of prefills alone (per-op joules use\n"
           "each phase's power); without one, joules are a labelled estimate.\n");
}

typedef struct profile_opts {
    const char *model, *device, *json_path, *trace_path;
    long long n_prompt, n_gen, threads, baseline_ms, top;
    cli_output out;
} profile_opts;

static int parse(cli_args *a, profile_opts *o) {
    const cli_common common = {.model = &o->model, .device = &o->device, .threads = &o->threads,
                               .out = &o->out, .outputs = CLI_OUTPUTS_TABLE_JSON};
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_common_flag(a, &common, &bad)) {
            /* stored in *o */
        } else if (cli_flag(a, "-p", "--n-prompt", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1 << 16, &o->n_prompt))
                return cli_error(a, CLI_EXIT_USAGE, "-p takes a token count, not '%s'", v);
        } else if (cli_flag(a, "-n", "--n-gen", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, 1 << 16, &o->n_gen))
                return cli_error(a, CLI_EXIT_USAGE, "-n takes a token count, not '%s'", v);
        } else if (cli_flag(a, "--top", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, 1 << 20, &o->top))
                return cli_error(a, CLI_EXIT_USAGE, "--top takes a row count, not '%s'", v);
        } else if (cli_flag(a, "--baseline-ms", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, 600000, &o->baseline_ms))
                return cli_error(a, CLI_EXIT_USAGE, "--baseline-ms takes milliseconds, not '%s'",
                                 v);
        } else if (cli_flag(a, "--json", NULL, true, &v, &bad)) {
            o->json_path = v;
        } else if (cli_flag(a, "--trace", NULL, true, &v, &bad)) {
            o->trace_path = v;
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!o->model)
        return cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
    return 0;
}

static void sleep_seconds(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The meter of the session's device (or its estimate). */
static int meter_open(cli_args *a, erg_runtime *rt, const char *device, erg_device_meter *m) {
    erg_diag diag = {{0}};
    size_t n = erg_runtime_device_count(rt), index = 0;
    erg_device_info *devs = calloc(n ? n : 1, sizeof *devs);
    if (!devs)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        devs[i].struct_size = sizeof devs[i];
        erg_runtime_device_info(rt, i, &devs[i]);
        if (strcmp(devs[i].name, device) == 0)
            index = i;
    }
    erg_status st = erg_device_meter_open(m, NULL, devs, n, index, &diag);
    free(devs);
    return st == ERG_OK ? 0 : cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
}

/* The idle baseline: --baseline-ms, else 10 sensor updates and at least
 * 250 ms (sleep is coarse, and idle power takes a moment to settle). */
static void measure_idle(erg_device_meter *m, long long baseline_ms) {
    double need = erg_device_meter_window_s(m);
    double idle_s = baseline_ms >= 0 ? (double)baseline_ms * 1e-3 : need < 0.25 ? 0.25 : need;
    if (need <= 0 || idle_s <= 0)
        return;
    erg_device_meter_begin(m);
    sleep_seconds(idle_s);
    erg_device_meter_end_idle(m);
}

/* Prefill of n_prompt tokens, then n_gen greedy decode steps, each run
 * added to the profile with the backend's node times. */
static int run(cli_args *a, erg_session *s, const profile_opts *o, erg_profiler *p, float *logits,
               uint32_t n_vocab, double t_origin, double *wall) {
    int32_t *tokens = malloc((size_t)o->n_prompt * sizeof *tokens);
    if (!tokens)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    for (long long i = 0; i < o->n_prompt; i++)
        tokens[i] = (int32_t)((i * 31 + 7) % n_vocab);
    erg_diag diag = {{0}};
    erg_session_stats stats = {.struct_size = sizeof stats};
    double t_start = erg_time_s();
    erg_session_reset(s);
    int32_t next = 0;
    erg_status st = ERG_OK;
    for (long long step = 0; step <= o->n_gen && st == ERG_OK; step++) {
        bool prefill = step == 0;
        double t0 = erg_time_s();
        st = erg_session_eval(s, prefill ? tokens : &next, prefill ? (size_t)o->n_prompt : 1,
                              ERG_LOGITS_LAST, logits, n_vocab);
        if (st != ERG_OK)
            break;
        erg_session_get_stats(s, &stats);
        /* Node times are one executor's, of its last subgraph: with nodes
         * on the CPU fallback they would land on the wrong nodes. */
        if (stats.n_subgraphs > 1) {
            st = erg_fail(&diag, ERG_UNSUPPORTED,
                          "%u node(s) ran on the CPU fallback, in %u subgraphs: per-node times "
                          "cover one executor's last subgraph, so the profile would be wrong",
                          stats.n_nodes_fallback, stats.n_subgraphs);
            break;
        }
        st = erg_profiler_add_run(p, s->device->backend, s->exec, &s->graph,
                                  prefill ? ERG_PROFILE_PREFILL : ERG_PROFILE_DECODE, t0 - t_origin,
                                  stats.eval_seconds, &diag);
        next = 0;
        for (uint32_t v = 1; v < n_vocab; v++)
            next = logits[v] > logits[next] ? (int32_t)v : next;
    }
    *wall = erg_time_s() - t_start;
    free(tokens);
    if (st != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s",
                         diag.msg[0] ? diag.msg : erg_session_last_error(s));
    return 0;
}

/* One window of the meter over runs. */
typedef struct window_result {
    erg_energy_reading reading;
    double wall;
    int reps;
} window_result;

/* Runs repeated until the meter's window spans enough of its updates
 * (once for the estimate), all in one window of the meter. */
static int run_window(cli_args *a, erg_session *s, const profile_opts *o, erg_profiler *p,
                      float *logits, uint32_t n_vocab, erg_device_meter *m, window_result *w) {
    memset(w, 0, sizeof *w);
    erg_device_meter_begin(m); /* first: a meter that cannot start leaves nothing to wait for */
    double need = erg_device_meter_window_s(m), t_origin = erg_time_s();
    int rc = 0;
    do {
        double wall = 0;
        rc = run(a, s, o, p, logits, n_vocab, t_origin, &wall);
        w->wall += wall;
        w->reps++;
        p->keep_events = false; /* the trace shows the first repetition */
    } while (rc == 0 && w->wall < need && w->reps < MAX_REPETITIONS);
    if (rc == 0)
        erg_device_meter_end(m, p->node_seconds, w->wall, &w->reading);
    return rc;
}

/* The run's joules and each phase's power into the profile. A meter that
 * failed on the way makes every window the estimate, calibration too. */
static void add_energy(cli_args *a, erg_device_meter *m, erg_profiler *p, window_result *run_w,
                       const window_result *cal_w, double cal_busy_s) {
    if (m->fell_back) {
        fprintf(stderr, "erg %s: %s; joules are estimated\n", a->cmd, m->dev.why_estimate);
        erg_device_energy_estimate(&m->dev, p->node_seconds, run_w->wall, &run_w->reading);
        cal_w = NULL;
    }
    if (m->warning[0])
        fprintf(stderr, "erg %s: %s\n", a->cmd, m->warning);
    double watts[ERG_PROFILE_PHASES];
    char detail[256], method[200];
    erg_profiler_phase_watts(p, &run_w->reading, cal_w && cal_w->reps ? &cal_w->reading : NULL,
                             cal_busy_s, watts, method, sizeof method);
    erg_device_energy_describe(&m->dev, detail, sizeof detail);
    erg_profiler_set_energy(p, &run_w->reading, watts, detail, method);
}

static void print_header(const profile_opts *o, const erg_model_info *mi, erg_session *s,
                         const erg_profiler *p, int reps, int cal_reps) {
    printf("model   %s (%s, %u layers, %.1f MiB of weights)\n", o->model, mi->architecture,
           mi->n_layer, (double)mi->weight_bytes / 1048576.0);
    printf("device  %s: %s\n", erg_session_device(s), s->device->info.description);
    printf("run     prefill %lld tokens, then %lld decode steps", o->n_prompt, o->n_gen);
    if (reps > 1)
        printf(", %d times so the meter's window spans %d sensor updates", reps,
               ERG_ENERGY_MIN_UPDATES);
    printf(" (%u graph runs)\n", p->n_steps);
    if (cal_reps)
        printf("        before it, a calibration window of %d prefills alone\n", cal_reps);
}

static int write_json(cli_args *a, const profile_opts *o, const erg_model_info *mi,
                      const erg_profiler *p, int reps, int cal_reps, FILE *f) {
    cJSON *root = erg_profile_to_json(p);
    if (!root)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    cJSON_AddStringToObject(root, "model", o->model);
    cJSON_AddStringToObject(root, "architecture", mi->architecture);
    cJSON_AddNumberToObject(root, "n_prompt", (double)o->n_prompt);
    cJSON_AddNumberToObject(root, "n_gen", (double)o->n_gen);
    cJSON_AddNumberToObject(root, "repetitions", reps);
    cJSON_AddNumberToObject(root, "calibration_repetitions", cal_reps);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    int rc = fprintf(f, "%s\n", text) < 0 ? cli_error(a, CLI_EXIT_FAIL, "writing JSON failed") : 0;
    free(text);
    return rc;
}

static int report(cli_args *a, const profile_opts *o, const erg_model_info *mi, erg_session *s,
                  const erg_profiler *p, int reps, int cal_reps) {
    if (o->out == CLI_OUT_JSON) {
        int rc = write_json(a, o, mi, p, reps, cal_reps, stdout);
        if (rc)
            return rc;
    } else {
        print_header(o, mi, s, p, reps, cal_reps);
        erg_profile_print_table(stdout, p, (size_t)o->top);
    }
    if (o->json_path) {
        FILE *f = fopen(o->json_path, "w");
        if (!f)
            return cli_error(a, CLI_EXIT_FAIL, "cannot write %s", o->json_path);
        int rc = write_json(a, o, mi, p, reps, cal_reps, f);
        if (fclose(f) != 0 && rc == 0)
            rc = cli_error(a, CLI_EXIT_FAIL, "writing %s failed", o->json_path);
        if (rc)
            return rc;
    }
    if (o->trace_path) {
        erg_diag diag = {{0}};
        const erg_profiler *list[1] = {p};
        if (erg_profile_write_trace(o->trace_path, list, 1, &diag) != ERG_OK)
            return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    }
    return 0;
}

/* With a meter: its idle baseline, then (when there are decode steps to
 * tell apart) a calibration window of prefills alone, then the run's
 * window. The estimate needs neither. */
static int measure(cli_args *a, const profile_opts *o, erg_session *s, erg_device_meter *m,
                   erg_profiler *p, float *logits, uint32_t n_vocab, int *reps, int *cal_reps) {
    erg_profiler cal;
    erg_profiler_init(&cal, NULL, erg_session_device(s), s->device->backend->name, false);
    window_result cal_w = {.reps = 0}, run_w = {.reps = 0};
    measure_idle(m, o->baseline_ms);
    int rc = 0;
    if (erg_device_meter_window_s(m) > 0 && o->n_gen > 0) {
        profile_opts prefill_only = *o;
        prefill_only.n_gen = 0;
        rc = run_window(a, s, &prefill_only, &cal, logits, n_vocab, m, &cal_w);
    }
    if (rc == 0)
        rc = run_window(a, s, o, p, logits, n_vocab, m, &run_w);
    if (rc == 0)
        add_energy(a, m, p, &run_w, &cal_w, cal.node_seconds);
    erg_profiler_free(&cal);
    *reps = run_w.reps;
    *cal_reps = cal_w.reps;
    return rc;
}

static int profile_session(cli_args *a, const profile_opts *o, erg_model *m, erg_session *s) {
    erg_model_info mi = {.struct_size = sizeof mi};
    erg_model_get_info(m, &mi);
    float *logits = malloc((size_t)mi.n_vocab * sizeof *logits);
    int32_t *warm = calloc((size_t)o->n_prompt, sizeof *warm);
    erg_profiler p;
    erg_profiler_init(&p, NULL, erg_session_device(s), s->device->backend->name,
                      o->trace_path != NULL);
    int rc = !logits || !warm ? cli_error(a, CLI_EXIT_FAIL, "out of memory") : 0;
    /* A first run pages in the weights and warms caches; it is not profiled. */
    if (rc == 0 &&
        erg_session_eval(s, warm, (size_t)o->n_prompt, ERG_LOGITS_NONE, NULL, 0) != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_session_last_error(s));
    erg_session_reset(s);
    erg_device_meter meter;
    bool have_meter = false;
    if (rc == 0) {
        rc = meter_open(a, m->rt, erg_session_device(s), &meter);
        have_meter = rc == 0;
    }
    int reps = 0, cal_reps = 0;
    if (have_meter)
        rc = measure(a, o, s, &meter, &p, logits, mi.n_vocab, &reps, &cal_reps);
    if (rc == 0) {
        erg_profiler_sort(&p);
        rc = report(a, o, &mi, s, &p, reps, cal_reps);
    }
    if (have_meter)
        erg_device_meter_close(&meter);
    erg_profiler_free(&p);
    free(logits);
    free(warm);
    return rc;
}

int cmd_profile(cli_args *a) {
    profile_opts o = {.n_prompt = 32, .n_gen = 16, .baseline_ms = -1, .top = 30,
                      .out = CLI_OUT_TABLE};
    int rc = parse(a, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    erg_runtime *rt;
    rc = cli_runtime(a, (int)o.threads, &rt);
    if (rc)
        return rc;
    erg_model *m = NULL;
    erg_session *s = NULL;
    if (erg_model_load(rt, o.model, NULL, &m) != ERG_OK) {
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_runtime_last_error(rt));
    } else {
        erg_session_options so = ERG_SESSION_OPTIONS_INIT;
        so.device = o.device;
        so.n_ctx = (uint32_t)(o.n_prompt + o.n_gen + 1);
        so.n_batch = (uint32_t)o.n_prompt; /* the prefill is one run */
        if (erg_session_create(m, &so, &s) != ERG_OK)
            rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
        else
            rc = profile_session(a, &o, m, s);
    }
    erg_session_destroy(s);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    return rc;
}
