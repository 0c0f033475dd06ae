/* erg bench output: a table for people, JSON records for programs
 * (fields documented in docs/bench.md). */
#include "bench/bench.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

static void print_table(const erg_bench_results *r) {
    printf("| %-38s | %-6s | %6s | %-8s | %3s | %-7s | %12s | %8s | %9s |\n", "model", "type", "GiB",
           "device", "thr", "test", "t/s", "ms/tok", "roofline");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------------------------",
           "--------", "--------", "----------", "-----", "---------", "--------------",
           "----------", "-----------");
    for (size_t i = 0; i < r->n; i++) {
        const erg_bench_record *c = &r->records[i];
        char tps[32], roof[32] = "";
        snprintf(tps, sizeof tps, "%.1f ± %.1f", c->tps_median, c->tps_stddev);
        if (c->roofline_tps > 0)
            snprintf(roof, sizeof roof, "%.0f%%", 100.0 * c->roofline_fraction);
        printf("| %-38s | %-6s | %6.3f | %-8s | %3d | %-7s | %13s | %8.2f | %9s |\n", c->model,
               c->model_type, c->model_gib, c->device, c->threads, c->test, tps, c->ms_per_token,
               roof);
    }
    if (r->mem_bw_gbps > 0)
        printf("\nmemory read bandwidth %.1f GB/s (%d threads, measured in this run); "
               "roofline = bandwidth / weight bytes read per decoded token\n",
               r->mem_bw_gbps, r->mem_bw_threads);
}

static void print_json(const erg_bench_results *r) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < r->n; i++) {
        const erg_bench_record *c = &r->records[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", c->model);
        cJSON_AddStringToObject(o, "model_type", c->model_type);
        cJSON_AddNumberToObject(o, "model_gib", c->model_gib);
        cJSON_AddStringToObject(o, "device", c->device);
        cJSON_AddStringToObject(o, "test", c->test);
        cJSON_AddNumberToObject(o, "n_prompt", c->n_prompt);
        cJSON_AddNumberToObject(o, "n_gen", c->n_gen);
        cJSON_AddNumberToObject(o, "threads", c->threads);
        cJSON_AddNumberToObject(o, "repetitions", c->reps);
        cJSON_AddNumberToObject(o, "tokens_per_s", c->tps_median);
        cJSON_AddNumberToObject(o, "tokens_per_s_stddev", c->tps_stddev);
        cJSON_AddNumberToObject(o, "ms_per_token", c->ms_per_token);
        if (c->roofline_tps > 0) {
            cJSON_AddNumberToObject(o, "mem_bw_gbps", r->mem_bw_gbps);
            cJSON_AddNumberToObject(o, "weight_bytes_per_token", c->bytes_per_token);
            cJSON_AddNumberToObject(o, "roofline_tokens_per_s", c->roofline_tps);
            cJSON_AddNumberToObject(o, "roofline_fraction", c->roofline_fraction);
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *text = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (text) {
        printf("%s\n", text);
        free(text);
    }
}

void erg_bench_print(const erg_bench_results *r, erg_bench_output out) {
    if (out == BENCH_OUT_JSON)
        print_json(r);
    else
        print_table(r);
}
