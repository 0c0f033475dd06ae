/* erg bench's chart (--svg): tokens/s, joules per token and EDP per token
 * as bars per device, grouped by test, with units, and the energy's source
 * written next to every energy figure (estimates drawn pale and dashed). */
#include "bench/bench.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum { WIDTH = 900, LABEL_W = 200, BAR_W = 460, ROW_H = 22, TITLE_H = 34 };

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                      "#76b7b2", "#b07aa1", "#edc948", "#9c755f"};

/* Text with XML's five special characters escaped. */
static void xml_text(FILE *f, const char *s) {
    for (; *s; s++)
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
}

/* The colour of a device: by its first appearance in the records. */
static const char *colour_of(const erg_bench_results *r, const char *device) {
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(r->records[j].device, r->records[i].device) == 0;
        if (seen)
            continue;
        if (strcmp(r->records[i].device, device) == 0)
            break;
        k++;
    }
    return palette[k % (sizeof palette / sizeof palette[0])];
}

static bool several_models(const erg_bench_results *r) {
    for (size_t i = 1; i < r->n; i++)
        if (strcmp(r->records[i].model, r->records[0].model) != 0)
            return true;
    return false;
}

typedef enum { PANEL_TPS, PANEL_JOULES, PANEL_EDP } panel_kind;

static double value_of(const erg_bench_record *c, panel_kind k) {
    return k == PANEL_TPS ? c->tps_median
           : k == PANEL_JOULES ? c->joules_per_token
                               : 1e3 * c->edp_per_token;
}

static bool same_group(const erg_bench_record *a, const erg_bench_record *b) {
    return strcmp(a->model, b->model) == 0 && strcmp(a->test, b->test) == 0;
}

/* Whether record i is the first of its (model, test) group. */
static bool first_of_group(const erg_bench_results *r, size_t i) {
    for (size_t j = 0; j < i; j++)
        if (same_group(&r->records[j], &r->records[i]))
            return false;
    return true;
}

static void bar(FILE *f, const erg_bench_results *r, const erg_bench_record *c, panel_kind k,
                double max, int y) {
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"label\">", LABEL_W - 8, y + 15);
    xml_text(f, c->device);
    fputs("</text>\n", f);
    if (c->status != ERG_BENCH_OK) {
        /* The reason once, in the first panel; the table has it whole. */
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"failed\">%s", LABEL_W, y + 15,
                erg_bench_status_name(c->status));
        if (k == PANEL_TPS) {
            char reason[80];
            snprintf(reason, sizeof reason, "%.79s", c->reason);
            fputs(": ", f);
            xml_text(f, reason);
            fputs(strlen(c->reason) > 79 ? "…" : "", f);
        }
        fputs("</text>\n", f);
        return;
    }
    double v = value_of(c, k);
    double w = max > 0 ? BAR_W * v / max : 0;
    bool estimated = k != PANEL_TPS && !c->energy_measured;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"%s/>\n",
            LABEL_W, y + 3, w, ROW_H - 6, colour_of(r, c->device),
            estimated ? " fill-opacity=\"0.45\" stroke=\"#333\" stroke-dasharray=\"4 2\"" : "");
    char value[96];
    if (k == PANEL_TPS)
        snprintf(value, sizeof value, "%.1f tokens/s ± %.1f", v, c->tps_stddev);
    else
        snprintf(value, sizeof value, "%.4g %s (%s)", v, k == PANEL_JOULES ? "J" : "mJ·s",
                 c->energy_source);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"value\">", LABEL_W + w + 6, y + 15);
    xml_text(f, value);
    fputs("</text>\n", f);
}

/* One panel, from y: a group of bars per (model, test), each group on its
 * own scale (prefill and decode differ by orders of magnitude); returns
 * the y below it. */
static int panel(FILE *f, const erg_bench_results *r, panel_kind k, const char *title, int y) {
    fprintf(f, "<text x=\"20\" y=\"%d\" class=\"panel\">", y + 20);
    xml_text(f, title);
    fputs("</text>\n", f);
    y += TITLE_H;
    bool models = several_models(r);
    for (size_t g = 0; g < r->n; g++) {
        if (!first_of_group(r, g))
            continue;
        const erg_bench_record *head = &r->records[g];
        char group[320];
        snprintf(group, sizeof group, "%s%s%s", models ? head->model : "", models ? " · " : "",
                 head->test);
        fprintf(f, "<text x=\"40\" y=\"%d\" class=\"group\">", y + 15);
        xml_text(f, group);
        fputs("</text>\n", f);
        double max = 0;
        for (size_t i = g; i < r->n; i++)
            if (same_group(&r->records[i], head) && r->records[i].status == ERG_BENCH_OK &&
                value_of(&r->records[i], k) > max)
                max = value_of(&r->records[i], k);
        for (size_t i = g; i < r->n; i++)
            if (same_group(&r->records[i], head)) {
                bar(f, r, &r->records[i], k, max, y);
                y += ROW_H;
            }
        y += 6;
    }
    return y + 10;
}

static int n_groups(const erg_bench_results *r) {
    int groups = 0;
    for (size_t i = 0; i < r->n; i++)
        groups += first_of_group(r, i);
    return groups;
}

erg_status erg_bench_write_svg(const erg_bench_results *r, const char *path, char *err,
                               size_t err_size) {
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, err_size, "cannot write the chart to %s", path);
        return ERG_IO;
    }
    /* A panel: its title, a row per record (a group's name beside its
     * first), a gap after each group. */
    int rows_h = TITLE_H + (int)r->n * ROW_H + 6 * n_groups(r) + 10;
    int height = 60 + 3 * rows_h + 40;
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
            "<style>.title{font-size:18px;font-weight:bold}.panel{font-size:15px;"
            "font-weight:bold}.label{font-size:12px;text-anchor:end}.value{font-size:12px}"
            ".failed{font-size:12px;fill:#c00}.note{font-size:11px;fill:#444}"
            ".group{font-size:13px;font-style:italic}</style>\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            WIDTH, height, WIDTH, height);
    fprintf(f, "<text x=\"20\" y=\"28\" class=\"title\">erg bench: ");
    xml_text(f, r->n ? r->records[0].model : "no records");
    fprintf(f, "%s</text>\n", several_models(r) ? " and others" : "");
    fprintf(f, "<text x=\"20\" y=\"48\" class=\"note\">%s; %d threads; median of %d runs "
               "after a warm-up</text>\n",
            date, r->n ? r->records[0].threads : 0, r->n ? r->records[0].reps : 0);
    int y = 60;
    y = panel(f, r, PANEL_TPS,
              "Throughput (tokens/s, higher is better; each test on its own scale)", y);
    y = panel(f, r, PANEL_JOULES, "Energy per token (J/token, lower is better)", y);
    y = panel(f, r, PANEL_EDP, "Energy-delay product per token (mJ·s, lower is better)", y);
    fprintf(f, "<text x=\"20\" y=\"%d\" class=\"note\">Energy source in brackets: rapl, hwmon, "
               "nvml, battery, plugin = measured (solid bars); estimate = power profile × busy "
               "time,</text>\n", y + 10);
    fprintf(f, "<text x=\"20\" y=\"%d\" class=\"note\">simulated = a simulated device's model "
               "(pale, dashed bars): neither is a measurement.</text>\n</svg>\n", y + 26);
    if (fclose(f) != 0) {
        snprintf(err, err_size, "writing the chart to %s failed", path);
        return ERG_IO;
    }
    return ERG_OK;
}
