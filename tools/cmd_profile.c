/* erg profile -m MODEL --device D: per-op time and energy of a prefill and
 * decode run, from the device's own timers and its energy meter. */
#include "tools/cli.h"

#include "hal/energy/device_energy.h"
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
           "                  (default: 10 sensor updates, at least 250 ms; 0: none)\n");
}

typedef struct profile_opts {
    const char *model, *device, *json_path, *trace_path;
    long long n_prompt, n_gen, threads, baseline_ms, top;
    cli_output out;
} profile_opts;

static int parse(cli_args *a, profile_opts *o) {
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_flag(a, "-m", "--model", true, &v, &bad)) {
            o->model = v;
        } else if (cli_flag(a, "--device", NULL, true, &v, &bad)) {
            o->device = v;
        } else if (cli_flag(a, "-p", "--n-prompt", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1 << 16, &o->n_prompt))
                return cli_error(a, CLI_EXIT_USAGE, "-p takes a token count, not '%s'", v);
        } else if (cli_flag(a, "-n", "--n-gen", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, 1 << 16, &o->n_gen))
                return cli_error(a, CLI_EXIT_USAGE, "-n takes a token count, not '%s'", v);
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1024, &o->threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes a thread count, not '%s'", v);
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
        } else if (cli_flag(a, "-o", "--output", true, &v, &bad)) {
            if (!bad && !cli_parse_output(v, 1u << CLI_OUT_TABLE | 1u << CLI_OUT_JSON, &o->out))
                return cli_error(a, CLI_EXIT_USAGE, "-o takes table or json, not '%s'", v);
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

/* The device's energy source, and the windows around the run. */
typedef struct energy_run {
    erg_energy_registry *reg;
    erg_power_profiles profiles;
    erg_device_energy dev;
    erg_energy_baseline baseline;
    bool have_baseline;
    erg_energy_window window;
    char detail[256];
} energy_run;

static void sleep_seconds(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Falls back to the estimate, saying why on stderr and in the report. */
static void use_estimate(cli_args *a, energy_run *e, const char *why) {
    fprintf(stderr, "erg %s: %s; joules are estimated\n", a->cmd, why);
    erg_device_energy_fall_back(&e->dev, why);
    e->have_baseline = false;
}

static int energy_open(cli_args *a, erg_runtime *rt, const char *device, energy_run *e) {
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
    erg_status st = erg_energy_registry_open(NULL, &e->reg, &diag);
    if (st == ERG_OK)
        st = erg_power_profiles_load(&e->profiles, NULL, NULL, &diag);
    if (st == ERG_OK)
        erg_device_energy_resolve(e->reg, &e->profiles, devs, n, index, &e->dev);
    free(devs);
    if (st != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    return 0;
}

static void energy_close(energy_run *e) {
    erg_energy_registry_close(e->reg);
    erg_power_profiles_free(&e->profiles);
}

/* Idle power of the domain, then the run's window opens. */
static void energy_begin(cli_args *a, energy_run *e, long long baseline_ms) {
    if (!e->dev.domain)
        return;
    erg_diag diag = {{0}};
    const erg_energy_desc *d = erg_energy_domain_desc(e->dev.domain);
    double idle_s = baseline_ms >= 0 ? (double)baseline_ms * 1e-3
                                     : ERG_ENERGY_MIN_UPDATES * d->update_interval_s;
    if (baseline_ms < 0 && idle_s < 0.25)
        idle_s = 0.25;
    erg_energy_window w;
    erg_energy_reading idle;
    if (idle_s > 0) {
        erg_status st = erg_energy_window_begin(e->dev.domain, &w, &diag);
        if (st == ERG_OK) {
            sleep_seconds(idle_s);
            st = erg_energy_window_end(&w, NULL, &idle, &diag);
        }
        if (st != ERG_OK)
            return use_estimate(a, e, diag.msg);
        e->baseline = erg_energy_baseline_from(&idle);
        e->have_baseline = true;
    }
    if (erg_energy_window_begin(e->dev.domain, &e->window, &diag) != ERG_OK)
        use_estimate(a, e, diag.msg);
}

static void energy_end(cli_args *a, energy_run *e, erg_profiler *p, double wall_s) {
    erg_diag diag = {{0}};
    erg_energy_reading r;
    if (e->dev.domain) {
        if (erg_energy_window_end(&e->window, e->have_baseline ? &e->baseline : NULL, &r, &diag) !=
            ERG_OK)
            use_estimate(a, e, diag.msg);
        else if (r.stalled)
            use_estimate(a, e, "the sensor's counter did not move during the run");
    }
    if (!e->dev.domain)
        erg_device_energy_estimate(&e->dev, p->node_seconds, wall_s, &r);
    erg_device_energy_describe(&e->dev, e->detail, sizeof e->detail);
    erg_profiler_set_energy(p, &r, e->detail);
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

static void print_header(const profile_opts *o, const erg_model_info *mi, erg_session *s,
                         const erg_profiler *p, int reps) {
    printf("model   %s (%s, %u layers, %.1f MiB of weights)\n", o->model, mi->architecture,
           mi->n_layer, (double)mi->weight_bytes / 1048576.0);
    printf("device  %s: %s\n", erg_session_device(s), s->device->info.description);
    printf("run     prefill %lld tokens, then %lld decode steps", o->n_prompt, o->n_gen);
    if (reps > 1)
        printf(", %d times so the meter's window spans %d sensor updates", reps,
               ERG_ENERGY_MIN_UPDATES);
    printf(" (%u graph runs)\n", p->n_steps);
}

static int write_json(cli_args *a, const profile_opts *o, const erg_model_info *mi,
                      const erg_profiler *p, int reps, FILE *f) {
    cJSON *root = erg_profile_to_json(p);
    if (!root)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    cJSON_AddStringToObject(root, "model", o->model);
    cJSON_AddStringToObject(root, "architecture", mi->architecture);
    cJSON_AddNumberToObject(root, "n_prompt", (double)o->n_prompt);
    cJSON_AddNumberToObject(root, "n_gen", (double)o->n_gen);
    cJSON_AddNumberToObject(root, "repetitions", reps);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    int rc = fprintf(f, "%s\n", text) < 0 ? cli_error(a, CLI_EXIT_FAIL, "writing JSON failed") : 0;
    free(text);
    return rc;
}

static int report(cli_args *a, const profile_opts *o, const erg_model_info *mi, erg_session *s,
                  const erg_profiler *p, int reps) {
    if (o->out == CLI_OUT_JSON) {
        int rc = write_json(a, o, mi, p, reps, stdout);
        if (rc)
            return rc;
    } else {
        print_header(o, mi, s, p, reps);
        erg_profile_print_table(stdout, p, (size_t)o->top);
    }
    if (o->json_path) {
        FILE *f = fopen(o->json_path, "w");
        if (!f)
            return cli_error(a, CLI_EXIT_FAIL, "cannot write %s", o->json_path);
        int rc = write_json(a, o, mi, p, reps, f);
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

static int profile_session(cli_args *a, const profile_opts *o, erg_model *m, erg_session *s) {
    erg_model_info mi = {.struct_size = sizeof mi};
    erg_model_get_info(m, &mi);
    float *logits = malloc((size_t)mi.n_vocab * sizeof *logits);
    int32_t *warm = calloc((size_t)o->n_prompt, sizeof *warm);
    energy_run e;
    memset(&e, 0, sizeof e);
    erg_profiler p;
    erg_profiler_init(&p, NULL, erg_session_device(s), s->device->backend->name, o->trace_path);
    int rc = !logits || !warm ? cli_error(a, CLI_EXIT_FAIL, "out of memory") : 0;
    /* A first run pages in the weights and warms caches; it is not profiled. */
    if (rc == 0 &&
        erg_session_eval(s, warm, (size_t)o->n_prompt, ERG_LOGITS_NONE, NULL, 0) != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_session_last_error(s));
    erg_session_reset(s);
    if (rc == 0)
        rc = energy_open(a, m->rt, erg_session_device(s), &e);
    double wall = 0;
    int reps = 0;
    if (rc == 0) {
        energy_begin(a, &e, o->baseline_ms);
        /* A meter's window must span enough of its updates: repeat the run
         * until it does (the estimate has no such limit). */
        double need = e.dev.domain ? ERG_ENERGY_MIN_UPDATES *
                                         erg_energy_domain_desc(e.dev.domain)->update_interval_s
                                   : 0;
        double t_origin = erg_time_s();
        do {
            double w = 0;
            rc = run(a, s, o, &p, logits, mi.n_vocab, t_origin, &w);
            wall += w;
            reps++;
            p.keep_events = false; /* the trace shows the first repetition */
        } while (rc == 0 && wall < need && reps < MAX_REPETITIONS);
    }
    if (rc == 0) {
        energy_end(a, &e, &p, wall);
        erg_profiler_sort(&p);
        rc = report(a, o, &mi, s, &p, reps);
    } else if (e.dev.domain) {
        erg_energy_reading unused;
        erg_energy_window_end(&e.window, NULL, &unused, NULL); /* stops its sampler */
    }
    energy_close(&e);
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
