/* erg bench records for programs: JSON, JSON Lines and CSV, one schema
 * (docs/bench-schema.json, described in docs/bench.md). Every record has
 * every field, null where it does not apply, in the same order; CSV's
 * columns are those fields. */
#include "bench/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_number(cJSON *o, const char *key, bool have, double value) {
    if (have)
        cJSON_AddNumberToObject(o, key, value);
    else
        cJSON_AddNullToObject(o, key);
}

static void add_string(cJSON *o, const char *key, const char *value) {
    if (value[0])
        cJSON_AddStringToObject(o, key, value);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *erg_bench_record_json(const erg_bench_record *c) {
    bool ok = c->status == ERG_BENCH_OK, tg = ok && c->roofline_tps > 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", c->model);
    cJSON_AddStringToObject(o, "model_type", c->model_type);
    cJSON_AddNumberToObject(o, "model_gib", c->model_gib);
    cJSON_AddStringToObject(o, "device", c->device);
    cJSON_AddStringToObject(o, "backend", c->backend);
    add_string(o, "placement", ok ? c->placement : "");
    cJSON_AddStringToObject(o, "test", c->test);
    cJSON_AddNumberToObject(o, "n_prompt", c->n_prompt);
    cJSON_AddNumberToObject(o, "n_gen", c->n_gen);
    cJSON_AddNumberToObject(o, "n_depth", c->n_depth);
    cJSON_AddNumberToObject(o, "threads", c->threads);
    cJSON_AddNumberToObject(o, "repetitions", c->reps);
    cJSON_AddBoolToObject(o, "fusion", c->fusion);
    cJSON_AddStringToObject(o, "status", erg_bench_status_name(c->status));
    add_string(o, "error", ok ? "" : c->reason);
    add_number(o, "tokens_per_s", ok, c->tps_median);
    add_number(o, "tokens_per_s_stddev", ok, c->tps_stddev);
    add_number(o, "ms_per_token", ok, c->ms_per_token);
    add_number(o, "ttft_ms", ok, c->ttft_ms);
    add_number(o, "joules_per_token", ok, c->joules_per_token);
    add_number(o, "avg_power_w", ok, c->avg_power_w);
    add_string(o, "energy_source", ok ? c->energy_source : "");
    if (ok)
        cJSON_AddBoolToObject(o, "energy_measured", c->energy_measured);
    else
        cJSON_AddNullToObject(o, "energy_measured");
    add_number(o, "edp_per_token", ok, c->edp_per_token);
    add_number(o, "peak_memory_bytes", ok, (double)c->peak_memory_bytes);
    add_number(o, "activation_bytes", ok, (double)c->activation_bytes);
    add_number(o, "activation_naive_bytes", ok, (double)c->activation_naive_bytes);
    add_number(o, "activation_lower_bound_bytes", ok, (double)c->activation_lower_bound_bytes);
    add_number(o, "n_fused", ok, c->n_fused);
    add_number(o, "dispatches_per_token", ok, c->dispatches_per_token);
    add_number(o, "host_us_per_dispatch", ok && c->host_us_per_dispatch >= 0,
               c->host_us_per_dispatch);
    add_number(o, "bandwidth_gbs", tg, c->mem_bw_gbps);
    add_number(o, "tokens_per_s_per_gbs", tg, tg ? c->tps_median / c->mem_bw_gbps : 0);
    add_number(o, "weight_bytes_per_token", tg, c->bytes_per_token);
    add_number(o, "roofline_tokens_per_s", tg, c->roofline_tps);
    add_number(o, "roofline_fraction", tg, c->roofline_fraction);
    add_number(o, "mem_bw_gbps", tg, c->mem_bw_gbps);
    add_number(o, "top1_agreement", c->have_accuracy, c->top1_agreement);
    add_number(o, "kl_divergence", c->have_accuracy, c->kl_divergence);
    add_number(o, "nrmse", c->have_accuracy, c->nrmse);
    add_number(o, "accuracy_tokens", c->have_accuracy, c->accuracy_tokens);
    bool arith = ok && c->arith_peak_gops > 0;
    add_number(o, "prefill_gops", arith, c->prefill_gops);
    add_number(o, "arith_peak_gops", arith, c->arith_peak_gops);
    add_number(o, "arith_fraction", arith, c->arith_fraction);
    add_string(o, "arith_isa", arith ? c->arith_isa : "");
    bool vs = ok && c->best_device[0];
    add_number(o, "edp_vs_best_single", vs, c->edp_vs_best);
    add_string(o, "best_single_device", vs ? c->best_device : "");
    bool warm = ok && c->warm_create_ms > 0;
    add_number(o, "warm_create_ms", warm, c->warm_create_ms);
    add_number(o, "selection_ms", warm, c->selection_ms);
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

static void print_jsonl(const erg_bench_results *r) {
    for (size_t i = 0; i < r->n; i++) {
        cJSON *o = erg_bench_record_json(&r->records[i]);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (text)
            printf("%s\n", text);
        free(text);
    }
}

/* RFC 4180: a field with a comma, quote or line break goes in quotes, its
 * quotes doubled. */
static void csv_string(const char *s) {
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void csv_value(const cJSON *v) {
    if (cJSON_IsString(v))
        csv_string(v->valuestring);
    else if (cJSON_IsBool(v))
        fputs(cJSON_IsTrue(v) ? "true" : "false", stdout);
    else if (cJSON_IsNumber(v))
        printf("%.17g", v->valuedouble);
    /* null: an empty field */
}

static void print_csv(const erg_bench_results *r) {
    /* The header is the field list of a record, which every record shares. */
    erg_bench_record blank;
    memset(&blank, 0, sizeof blank);
    cJSON *names = erg_bench_record_json(&blank);
    for (const cJSON *f = names->child; f; f = f->next)
        printf("%s%s", f->string, f->next ? "," : "\n");
    cJSON_Delete(names);
    for (size_t i = 0; i < r->n; i++) {
        cJSON *o = erg_bench_record_json(&r->records[i]);
        for (const cJSON *f = o->child; f; f = f->next) {
            csv_value(f);
            putchar(f->next ? ',' : '\n');
        }
        cJSON_Delete(o);
    }
}

void erg_bench_print(const erg_bench_results *r, erg_bench_output out) {
    if (r->compare_fusion)
        erg_bench_print_fusion(r, out);
    else if (out == BENCH_OUT_JSON)
        print_json(r);
    else if (out == BENCH_OUT_JSONL)
        print_jsonl(r);
    else if (out == BENCH_OUT_CSV)
        print_csv(r);
    else
        erg_bench_print_table(r, out == BENCH_OUT_MD);
}
