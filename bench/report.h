/*
 * report.h: what the bench's two report files share (the plain report and
 * the fused-against-unfused comparison).
 */
#ifndef ERG_BENCH_REPORT_H
#define ERG_BENCH_REPORT_H

#include "bench/bench.h"

#include <cjson/cJSON.h>

/* One record as a JSON object (the fields docs/bench.md lists). */
cJSON *erg_bench_record_json(const erg_bench_record *c);
/* Prints root on stdout and frees it. */
void erg_bench_print_json(cJSON *root);
/* The table for people: aligned columns grouped by model, or (markdown)
 * one GitHub table with a model column; notes under it either way. */
void erg_bench_print_table(const erg_bench_results *r, bool markdown);
/* The --compare-fusion report: records in (fused, unfused) pairs. */
void erg_bench_print_fusion(const erg_bench_results *r, erg_bench_output out);

static inline double erg_bench_mib(uint64_t bytes) {
    return (double)bytes / 1048576.0;
}

#endif
