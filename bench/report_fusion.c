/* erg bench --compare-fusion output: each (model, device, test) run fused
 * next to unfused, with the ratios fusion is judged by (speed, launches
 * cut, activation memory against the naive and lower-bound figures). */
#include "bench/report.h"

#include <stdio.h>

static double ratio(double a, double b) {
    return b > 0 ? a / b : 0.0;
}

static void print_row(const erg_bench_record *f, const erg_bench_record *u) {
    printf("| %-38s | %-8s | %-7s | ", f->model, f->device, f->test);
    if (f->status != ERG_BENCH_OK) {
        printf("%s: %s\n", erg_bench_status_name(f->status), f->reason);
        return;
    }
    char speed[16], cut[16], over_naive[16], over_bound[16];
    snprintf(speed, sizeof speed, "%.2fx", ratio(f->tps_median, u->tps_median));
    snprintf(cut, sizeof cut, "%.0f%%",
             100.0 * (1.0 - ratio(f->dispatches_per_token, u->dispatches_per_token)));
    snprintf(over_naive, sizeof over_naive, "%.2f",
             ratio((double)f->activation_bytes, (double)f->activation_naive_bytes));
    snprintf(over_bound, sizeof over_bound, "%.2f",
             ratio((double)f->activation_bytes, (double)f->activation_lower_bound_bytes));
    printf("%9.1f | %9.1f | %7s | %8.1f | %8.1f | %5s | %8.3f | %8.3f | %9.3f | %9.3f | %11s | "
           "%11s |\n",
           f->tps_median, u->tps_median, speed, f->dispatches_per_token, u->dispatches_per_token,
           cut, erg_bench_mib(f->activation_bytes), erg_bench_mib(u->activation_bytes),
           erg_bench_mib(f->activation_naive_bytes),
           erg_bench_mib(f->activation_lower_bound_bytes), over_naive, over_bound);
}

static void print_table(const erg_bench_results *r) {
    printf("| %-38s | %-8s | %-7s | %9s | %9s | %7s | %8s | %8s | %5s | %8s | %8s | %9s | %9s | "
           "%11s | %11s |\n",
           "model", "device", "test", "t/s fused", "unfused", "speed", "disp/tok", "unfused",
           "cut", "act MiB", "unfused", "naive MiB", "bound MiB", "arena/naive", "arena/bound");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n",
           "----------------------------------------", "----------", "---------", "-----------",
           "-----------", "---------", "----------", "----------", "-------", "----------",
           "----------", "-----------", "-----------", "-------------", "-------------");
    for (size_t i = 0; i + 1 < r->n; i += 2)
        print_row(&r->records[i], &r->records[i + 1]);
    if (r->n > 0)
        printf("\nspeed: fused t/s over unfused (repetitions interleaved); cut: the kernel "
               "launches per token fusion removes\n"
               "act MiB: planned activation memory of the peak step (decode: the last; prefill: "
               "the prompt's); naive (one buffer per tensor) and bound (liveness lower bound: "
               "the most bytes alive at one step) are the fused graph's, arena/naive and "
               "arena/bound its plan over them\n");
}

static void print_json(const erg_bench_results *r) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i + 1 < r->n; i += 2) {
        const erg_bench_record *f = &r->records[i], *u = &r->records[i + 1];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", f->model);
        cJSON_AddStringToObject(o, "device", f->device);
        cJSON_AddStringToObject(o, "test", f->test);
        cJSON_AddItemToObject(o, "fused", erg_bench_record_json(f));
        cJSON_AddItemToObject(o, "unfused", erg_bench_record_json(u));
        if (f->status == ERG_BENCH_OK) {
            cJSON_AddNumberToObject(o, "speedup", ratio(f->tps_median, u->tps_median));
            cJSON_AddNumberToObject(
                o, "dispatch_cut", 1.0 - ratio(f->dispatches_per_token, u->dispatches_per_token));
            cJSON_AddNumberToObject(
                o, "arena_over_naive",
                ratio((double)f->activation_bytes, (double)f->activation_naive_bytes));
            cJSON_AddNumberToObject(
                o, "arena_over_lower_bound",
                ratio((double)f->activation_bytes, (double)f->activation_lower_bound_bytes));
        }
        cJSON_AddItemToArray(arr, o);
    }
    erg_bench_print_json(arr);
}

void erg_bench_print_fusion(const erg_bench_results *r, erg_bench_output out) {
    if (out == BENCH_OUT_JSON)
        print_json(r);
    else
        print_table(r);
}
