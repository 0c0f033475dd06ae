/* A profile as a table and as JSON. */
#include "scheduler/profiler_report.h"

#include <string.h>

static double per_second(double amount, double seconds) {
    return seconds > 0 ? amount / seconds : 0;
}

static void energy_line(FILE *f, const erg_profiler *p) {
    if (!p->have_energy) {
        fprintf(f, "energy: none (no meter and no power profile)\n");
        return;
    }
    const erg_energy_reading *r = &p->energy;
    fprintf(f, "energy: %.4g J %s over %.3f s", r->joules, p->energy_label, r->seconds);
    if (r->baseline_subtracted)
        fprintf(f, ", above idle (%.3g W %s)", r->baseline_watts,
                erg_energy_source_measured(r->source) ? "idle baseline measured before the run"
                                                      : "idle power of the profile");
    fprintf(f, "\n        %s\n", p->energy_detail);
    if (!r->window_ok)
        fprintf(f, "        warning: the run spans fewer than %d sensor updates; its joules are "
                   "coarse\n",
                ERG_ENERGY_MIN_UPDATES);
    if (r->stalled)
        fprintf(f, "        warning: the counter did not move during the run\n");
    fprintf(f, "        per op: %s", p->energy_method);
    if (p->phase_watts[ERG_PROFILE_PREFILL] != p->phase_watts[ERG_PROFILE_DECODE])
        fprintf(f, ": %.3g W prefill, %.3g W decode", p->phase_watts[ERG_PROFILE_PREFILL],
                p->phase_watts[ERG_PROFILE_DECODE]);
    fprintf(f, "\n");
}

static double share(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0; }

/* A joule is never printed without where it came from. */
static void joules_cell(FILE *f, const erg_profiler *p, double joules) {
    if (p->have_energy)
        fprintf(f, " %10.4g  %s\n", joules, p->energy_label);
    else
        fprintf(f, " %10s  %s\n", "-", "none");
}

void erg_profile_print_table(FILE *f, const erg_profiler *p, size_t max_rows) {
    double wall = p->wall_seconds;
    fprintf(f, "time: %s; node time %.3f ms of %.3f ms eval wall time (%.1f%%)\n", p->timer,
            p->node_seconds * 1e3, wall * 1e3, wall > 0 ? 100.0 * p->node_seconds / wall : 0);
    energy_line(f, p);
    fprintf(f, "\n%-13s %-9s %-24s %7s %10s %6s %8s %9s %10s  %s\n", "op", "dtype", "shape",
            "calls", "time ms", "share", "GB/s", "GFLOP/s", "joules", "source");
    double bytes = 0, flops = 0, joules = 0, rest_s = 0, rest_j = 0;
    uint64_t calls = 0;
    size_t shown = max_rows && max_rows < p->n_rows ? max_rows : p->n_rows;
    for (size_t i = 0; i < p->n_rows; i++) {
        const erg_profile_row *r = &p->rows[i];
        bytes += r->bytes;
        flops += r->flops;
        joules += r->joules;
        calls += r->calls;
        if (i >= shown) {
            rest_s += r->seconds;
            rest_j += r->joules;
            continue;
        }
        char shape[48], dtype[24];
        erg_profile_row_shape(r, shape, sizeof shape);
        erg_profile_row_dtype(r, dtype, sizeof dtype);
        fprintf(f, "%-13s %-9s %-24s %7llu %10.3f %5.1f%% %8.2f %9.2f", erg_op_name(r->op), dtype,
                shape, (unsigned long long)r->calls, r->seconds * 1e3,
                share(r->seconds, p->node_seconds), per_second(r->bytes, r->seconds) * 1e-9,
                per_second(r->flops, r->seconds) * 1e-9);
        joules_cell(f, p, r->joules);
    }
    if (shown < p->n_rows) {
        char more[48];
        snprintf(more, sizeof more, "(%zu more rows)", p->n_rows - shown);
        fprintf(f, "%-48s %7s %10.3f %5.1f%% %8s %9s", more, "", rest_s * 1e3,
                share(rest_s, p->node_seconds), "", "");
        joules_cell(f, p, rest_j);
    }
    fprintf(f, "%-13s %-9s %-24s %7llu %10.3f %5.1f%% %8.2f %9.2f", "total", "", "",
            (unsigned long long)calls, p->node_seconds * 1e3,
            share(p->node_seconds, p->node_seconds), per_second(bytes, p->node_seconds) * 1e-9,
            per_second(flops, p->node_seconds) * 1e-9);
    joules_cell(f, p, joules);
}

static cJSON *energy_json(const erg_profiler *p) {
    const erg_energy_reading *r = &p->energy;
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "source", erg_energy_source_name(r->source));
    cJSON_AddBoolToObject(e, "measured", erg_energy_source_measured(r->source));
    cJSON_AddStringToObject(e, "label", p->energy_label);
    cJSON_AddStringToObject(e, "detail", p->energy_detail);
    cJSON_AddNumberToObject(e, "joules", r->joules);
    cJSON_AddNumberToObject(e, "raw_joules", r->raw_joules);
    cJSON_AddNumberToObject(e, "seconds", r->seconds);
    cJSON_AddBoolToObject(e, "baseline_subtracted", r->baseline_subtracted);
    cJSON_AddNumberToObject(e, "baseline_watts", r->baseline_watts);
    cJSON_AddBoolToObject(e, "window_ok", r->window_ok);
    cJSON_AddBoolToObject(e, "stalled", r->stalled);
    cJSON_AddStringToObject(e, "per_op_method", p->energy_method);
    cJSON *watts = cJSON_AddObjectToObject(e, "phase_watts");
    for (int ph = 0; ph < ERG_PROFILE_PHASES; ph++)
        cJSON_AddNumberToObject(watts, erg_profile_phase_name((erg_profile_phase)ph),
                                p->phase_watts[ph]);
    return e;
}

cJSON *erg_profile_to_json(const erg_profiler *p) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "device", p->device);
    cJSON_AddStringToObject(o, "timer", p->timer);
    cJSON_AddNumberToObject(o, "runs", p->n_steps);
    cJSON_AddNumberToObject(o, "node_seconds", p->node_seconds);
    cJSON_AddNumberToObject(o, "wall_seconds", p->wall_seconds);
    if (p->have_energy)
        cJSON_AddItemToObject(o, "energy", energy_json(p));
    else
        cJSON_AddNullToObject(o, "energy");
    cJSON *ops = cJSON_AddArrayToObject(o, "ops");
    for (size_t i = 0; ops && i < p->n_rows; i++) {
        const erg_profile_row *r = &p->rows[i];
        char shape[48], dtype[24];
        erg_profile_row_shape(r, shape, sizeof shape);
        erg_profile_row_dtype(r, dtype, sizeof dtype);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "op", erg_op_name(r->op));
        cJSON_AddStringToObject(row, "dtype", dtype);
        cJSON_AddStringToObject(row, "shape", shape);
        cJSON_AddNumberToObject(row, "calls", (double)r->calls);
        cJSON_AddNumberToObject(row, "seconds", r->seconds);
        cJSON_AddNumberToObject(row, "share",
                                p->node_seconds > 0 ? r->seconds / p->node_seconds : 0);
        cJSON_AddNumberToObject(row, "bytes", r->bytes);
        cJSON_AddNumberToObject(row, "flops", r->flops);
        cJSON_AddNumberToObject(row, "gb_per_s", per_second(r->bytes, r->seconds) * 1e-9);
        cJSON_AddNumberToObject(row, "gflop_per_s", per_second(r->flops, r->seconds) * 1e-9);
        if (p->have_energy) {
            cJSON_AddNumberToObject(row, "joules", r->joules);
            cJSON_AddStringToObject(row, "joules_source", p->energy_label);
        } else {
            cJSON_AddNullToObject(row, "joules");
        }
        cJSON_AddItemToArray(ops, row);
    }
    return o;
}
