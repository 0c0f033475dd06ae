/* erg bench output: a table for people, JSON records for programs
 * (fields documented in docs/bench.md). */
#include "bench/report.h"

#include <stdio.h>
#include <stdlib.h>

static void print_table(const erg_bench_results *r) {
    printf("| %-38s | %-6s | %6s | %-8s | %3s | %-7s | %14s | %8s | %8s | %8s | %8s | %8s | "
           "%8s |\n",
           "model", "type", "GiB", "device", "thr", "test", "t/s", "ms/tok", "mem GB/s",
           "roofline", "disp/tok", "host us", "act MiB");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n",
           "----------------------------------------", "--------", "--------", "----------",
           "-----", "---------", "----------------", "----------", "----------", "----------",
           "----------", "----------", "----------");
    for (size_t i = 0; i < r->n; i++) {
        const erg_bench_record *c = &r->records[i];
        if (c->unsupported[0]) {
            printf("| %-38s | %-6s | %6.3f | %-8s | %3d | %-7s | unsupported: %s\n", c->model,
                   c->model_type, c->model_gib, c->device, c->threads, c->test, c->unsupported);
            continue;
        }
        char tps[32], bw[32] = "", roof[32] = "", host[32] = "";
        snprintf(tps, sizeof tps, "%.1f ± %.1f", c->tps_median, c->tps_stddev);
        if (c->roofline_tps > 0) {
            snprintf(bw, sizeof bw, "%.1f", c->mem_bw_gbps);
            snprintf(roof, sizeof roof, "%.0f%%", 100.0 * c->roofline_fraction);
        }
        if (c->host_us_per_dispatch >= 0)
            snprintf(host, sizeof host, "%.1f", c->host_us_per_dispatch);
        printf("| %-38s | %-6s | %6.3f | %-8s | %3d | %-7s | %14s | %8.2f | %8s | %8s | %8.0f | "
               "%8s | %8.3f |\n",
               c->model, c->model_type, c->model_gib, c->device, c->threads, c->test, tps,
               c->ms_per_token, bw, roof, c->dispatches_per_token, host,
               erg_bench_mib(c->activation_bytes));
    }
    if (r->mem_bw_threads > 0 && r->n > 0)
        printf("\nroofline: decode tokens/s over (memory read bandwidth / weight bytes read per "
               "token), the bandwidth measured with %d threads right before each timed run\n",
               r->mem_bw_threads);
    if (r->n > 0)
        printf("disp/tok: kernel launches per token; host us: (wall - device time) per launch, "
               "where the device has timers\n"
               "act MiB: planned activation memory of the peak step (decode: the last; prefill: "
               "the prompt's), %s\n",
               r->records[0].fusion ? "after the fusion passes" : "without fusion");
}

cJSON *erg_bench_record_json(const erg_bench_record *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddStringToObject(o, "model_type", c->model_type);
    cJSON_AddNumberToObject(o, "model_gib", c->model_gib);
    cJSON_AddStringToObject(o, "device", c->device);
    cJSON_AddStringToObject(o, "test", c->test);
    if (c->unsupported[0]) {
        cJSON_AddStringToObject(o, "unsupported", c->unsupported);
        return o;
    }
    cJSON_AddNumberToObject(o, "n_prompt", c->n_prompt);
    cJSON_AddNumberToObject(o, "n_gen", c->n_gen);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    cJSON_AddNumberToObject(o, "repetitions", c->reps);
    cJSON_AddNumberToObject(o, "tokens_per_s", c->tps_median);
    cJSON_AddNumberToObject(o, "tokens_per_s_stddev", c->tps_stddev);
    cJSON_AddNumberToObject(o, "ms_per_token", c->ms_per_token);
    cJSON_AddNumberToObject(o, "dispatches_per_token", c->dispatches_per_token);
    if (c->host_us_per_dispatch >= 0)
        cJSON_AddNumberToObject(o, "host_us_per_dispatch", c->host_us_per_dispatch);
    if (c->roofline_tps > 0) {
        cJSON_AddNumberToObject(o, "mem_bw_gbps", c->mem_bw_gbps);
        cJSON_AddNumberToObject(o, "weight_bytes_per_token", c->bytes_per_token);
        cJSON_AddNumberToObject(o, "roofline_tokens_per_s", c->roofline_tps);
        cJSON_AddNumberToObject(o, "roofline_fraction", c->roofline_fraction);
    }
    cJSON_AddBoolToObject(o, "fusion", c->fusion);
    cJSON_AddNumberToObject(o, "n_fused", c->n_fused);
    cJSON_AddNumberToObject(o, "activation_bytes", (double)c->activation_bytes);
    cJSON_AddNumberToObject(o, "activation_naive_bytes", (double)c->activation_naive_bytes);
    cJSON_AddNumberToObject(o, "activation_lower_bound_bytes",
                            (double)c->activation_lower_bound_bytes);
    return o;
}

void erg_bench_print_json(cJSON *root) {
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text) {
        printf("%s\n", text);
        free(text);
    }
}

static void print_json(const erg_bench_results *r) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < r->n; i++)
        cJSON_AddItemToArray(arr, erg_bench_record_json(&r->records[i]));
    erg_bench_print_json(arr);
}

void erg_bench_print(const erg_bench_results *r, erg_bench_output out) {
    if (r->compare_fusion)
        erg_bench_print_fusion(r, out);
    else if (out == BENCH_OUT_JSON)
        print_json(r);
    else
        print_table(r);
}
