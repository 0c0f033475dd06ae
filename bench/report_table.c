/* erg bench's table for people: one row per (device, test), the figures
 * compared across devices side by side, failures in the same table with
 * their reason, and notes under it that say how the numbers were taken. */
#include "bench/report.h"

#include <stdio.h>
#include <string.h>

enum { N_COLS = 17, CELL = 128 };

static const char *const headers[N_COLS] = {
    "model", "device", "backend", "test", "t/s", "ms/tok", "TTFT ms", "J/tok", "W",
    "energy", "EDP mJ·s", "peak MiB", "act MiB", "top-1", "KL", "NRMSE", "t/s per GB/s"};
/* Columns after the last: roofline share and status (with its reason, unpadded). */

typedef char row[N_COLS + 2][CELL];

/* Terminal columns of a UTF-8 string (continuation bytes take none). */
static int columns(const char *s) {
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void fill_row(const erg_bench_record *c, row cells) {
    memset(cells, 0, sizeof(row));
    snprintf(cells[0], CELL, "%.127s", c->model); /* the plain table's heading has it whole */
    snprintf(cells[1], CELL, "%s", c->device);
    snprintf(cells[2], CELL, "%s", c->backend);
    snprintf(cells[3], CELL, "%s", c->test);
    if (c->status != ERG_BENCH_OK) {
        snprintf(cells[N_COLS + 1], CELL, "%s", erg_bench_status_name(c->status));
        return;
    }
    snprintf(cells[4], CELL, "%.1f ± %.1f", c->tps_median, c->tps_stddev);
    snprintf(cells[5], CELL, "%.2f", c->ms_per_token);
    snprintf(cells[6], CELL, "%.1f", c->ttft_ms);
    snprintf(cells[7], CELL, "%.4f", c->joules_per_token);
    snprintf(cells[8], CELL, "%.1f", c->avg_power_w);
    snprintf(cells[9], CELL, "%s", c->energy_source);
    snprintf(cells[10], CELL, "%.3f", 1e3 * c->edp_per_token);
    snprintf(cells[11], CELL, "%.0f", erg_bench_mib(c->peak_memory_bytes));
    snprintf(cells[12], CELL, "%.3f", erg_bench_mib(c->activation_bytes));
    if (c->have_accuracy) {
        snprintf(cells[13], CELL, "%.0f%%", 100.0 * c->top1_agreement);
        snprintf(cells[14], CELL, "%.2e", c->kl_divergence);
        snprintf(cells[15], CELL, "%.2e", c->nrmse);
    }
    if (c->roofline_tps > 0) {
        snprintf(cells[16], CELL, "%.2f", c->tps_median / c->mem_bw_gbps);
        snprintf(cells[17], CELL, "%.0f%%", 100.0 * c->roofline_fraction);
    } else if (c->arith_peak_gops > 0) {
        snprintf(cells[17], CELL, "%.0f%%", 100.0 * c->arith_fraction);
    }
    snprintf(cells[N_COLS + 1], CELL, "ok");
}

/* Names are left-aligned, numbers right-aligned. */
static bool left_aligned(int k) {
    return k < 4 || k == 9 || k == N_COLS + 1;
}

static void print_cells(const row cells, const int *width, int first, bool markdown) {
    for (int k = first; k < N_COLS + 2; k++) {
        bool last = k == N_COLS + 1;
        int pad = width[k] - columns(cells[k]);
        if (markdown)
            printf("| ");
        if (!left_aligned(k))
            printf("%*s", pad, "");
        printf("%s", cells[k]);
        if (left_aligned(k) && !last)
            printf("%*s", pad, "");
        if (!last)
            printf("%s", markdown ? " " : "  ");
    }
}

static void print_rows(const erg_bench_results *r, size_t from, size_t to, bool markdown) {
    int first = markdown ? 0 : 1; /* the plain table names the model above it */
    row head;
    memset(head, 0, sizeof head);
    for (int k = 0; k < N_COLS; k++)
        snprintf(head[k], CELL, "%s", headers[k]);
    snprintf(head[N_COLS], CELL, "roofline");
    snprintf(head[N_COLS + 1], CELL, "status");
    int width[N_COLS + 2];
    for (int k = 0; k < N_COLS + 2; k++)
        width[k] = columns(head[k]);
    row cells;
    for (size_t i = from; i < to; i++) {
        fill_row(&r->records[i], cells);
        for (int k = 0; k < N_COLS + 2; k++)
            width[k] = columns(cells[k]) > width[k] ? columns(cells[k]) : width[k];
    }
    print_cells((const char(*)[CELL])head, width, first, markdown);
    printf(markdown ? " |\n" : "\n");
    for (int k = first; k < N_COLS + 2; k++) {
        char dashes[CELL + 1];
        memset(dashes, '-', (size_t)width[k]);
        dashes[width[k]] = '\0';
        if (markdown)
            printf("|-%s%c", dashes, left_aligned(k) ? '-' : ':');
        else
            printf("%s%s", dashes, k == N_COLS + 1 ? "" : "  ");
    }
    printf(markdown ? "|\n" : "\n");
    for (size_t i = from; i < to; i++) {
        const erg_bench_record *c = &r->records[i];
        fill_row(c, cells);
        print_cells((const char(*)[CELL])cells, width, first, markdown);
        if (c->status != ERG_BENCH_OK)
            printf(": %s", c->reason);
        printf(markdown ? " |\n" : "\n");
    }
}

static void print_notes(const erg_bench_results *r, bool markdown) {
    const char *bullet = markdown ? "- " : "  ";
    printf("\nnotes:\n");
    int reps = r->n ? r->records[0].reps : 0;
    printf("%st/s: median ± sample standard deviation over %d timed run%s after one warm-up; "
           "ms/tok = 1000 / median; TTFT: pp, the prompt's eval; tg, the first decode step\n",
           bullet, reps, reps == 1 ? "" : "s");
    printf("%sJ/tok, W (average power above idle over the timed runs) and EDP (J/tok × s/tok) "
           "come from the source in `energy`: estimate = power profile × busy time, simulated "
           "= a simulated device's model; neither is a measurement\n",
           bullet);
    printf("%speak MiB: process peak RSS over each test (%s), the bandwidth probe's buffer "
           "left out; act MiB: planned activation memory of the peak step (decode: the last; "
           "prefill: the prompt's), %s\n",
           bullet, r->peak_memory_method,
           r->n && r->records[0].fusion ? "after the fusion passes" : "without fusion");
    printf("%stop-1, KL, NRMSE: logits of the first %d prompt positions against the CPU's "
           "reference path (exact dequantisation, F32 activations) on the same file\n",
           bullet, r->n ? r->records[0].accuracy_tokens : 0);
    bool decode = false;
    for (size_t i = 0; i < r->n; i++)
        decode |= r->records[i].roofline_tps > 0;
    if (decode)
        printf("%st/s per GB/s: decode tokens/s over the host's memory read bandwidth measured "
               "with %d thread%s right before each run; roofline: the share of "
               "bandwidth / weight bytes per token reached\n",
               bullet, r->mem_bw_threads, r->mem_bw_threads == 1 ? "" : "s");
    /* Each model's peak is measured anew and may be another form (fp32 for
     * float weights): one line per model. */
    const char *peak_model = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const erg_bench_record *c = &r->records[i];
        if (!(c->arith_peak_gops > 0) || (peak_model && strcmp(peak_model, c->model) == 0))
            continue;
        if (!peak_model)
            printf("%sroofline of prefill on the CPU: operations per second (matmuls and "
                   "attention, a multiply-add counts 2) over the CPU's arithmetic peak in the "
                   "kernels' form, measured with %d thread%s at the start of the run\n",
                   bullet, c->threads, c->threads == 1 ? "" : "s");
        printf("%speak for %s: %.0f GOP/s (%s)\n", bullet, c->model, c->arith_peak_gops,
               c->arith_isa);
        peak_model = c->model;
    }
    for (size_t i = 0; i < r->n; i++) {
        const erg_bench_record *c = &r->records[i];
        if (c->status == ERG_BENCH_OK && c->best_device[0])
            printf("%sauto, %s %s%s: EDP %.2f× the best single device's (%s)\n", bullet,
                   c->model, c->test, c->fusion ? "" : " without fusion", c->edp_vs_best,
                   c->best_device);
    }
    for (size_t i = 0; i < r->n; i++) {
        const erg_bench_record *c = &r->records[i];
        /* Once per model: the records of one session share the figure. */
        if (c->status == ERG_BENCH_OK && c->warm_create_ms > 0 &&
            (i == 0 || strcmp(r->records[i - 1].model, c->model) != 0 ||
             r->records[i - 1].warm_create_ms != c->warm_create_ms))
            printf("%sauto, %s: a warm session create takes %.1f ms, of which choosing the "
                   "placement (cached calibration and placing the step graphs) %.1f ms\n",
                   bullet, c->model, c->warm_create_ms, c->selection_ms);
    }
    for (size_t i = 0; i < r->n_notes; i++)
        printf("%s%s\n", bullet, r->notes[i]);
}

void erg_bench_print_table(const erg_bench_results *r, bool markdown) {
    if (r->n == 0)
        return; /* nothing ran: the error line says why */
    if (markdown) {
        print_rows(r, 0, r->n, true);
    } else {
        for (size_t from = 0; from < r->n;) {
            size_t to = from;
            while (to < r->n && strcmp(r->records[to].model, r->records[from].model) == 0)
                to++;
            const erg_bench_record *c = &r->records[from];
            printf("%smodel %s (%s, %.3f GiB of weights)\n\n", from ? "\n" : "", c->model,
                   c->model_type, c->model_gib);
            print_rows(r, from, to, false);
            from = to;
        }
    }
    print_notes(r, markdown);
}
