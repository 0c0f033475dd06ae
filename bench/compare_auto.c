/* auto against the single devices: for each auto record, the single device
 * of the same model, test and fusion setting with the lowest EDP, and
 * auto's EDP over it (the scheduler's promise: no worse than the best
 * device alone, within noise). */
#include "bench/bench.h"

#include <stdio.h>
#include <string.h>

static bool comparable(const erg_bench_record *a, const erg_bench_record *b) {
    return b->status == ERG_BENCH_OK && strcmp(b->device, "auto") != 0 &&
           b->edp_per_token > 0 && strcmp(a->model, b->model) == 0 &&
           strcmp(a->test, b->test) == 0 && a->fusion == b->fusion;
}

void erg_bench_compare_auto(erg_bench_results *r) {
    for (size_t i = 0; i < r->n; i++) {
        erg_bench_record *a = &r->records[i];
        if (a->status != ERG_BENCH_OK || strcmp(a->device, "auto") != 0 || !(a->edp_per_token > 0))
            continue;
        const erg_bench_record *best = NULL;
        for (size_t j = 0; j < r->n; j++)
            if (comparable(a, &r->records[j]) &&
                (!best || r->records[j].edp_per_token < best->edp_per_token))
                best = &r->records[j];
        if (!best)
            continue;
        a->edp_vs_best = a->edp_per_token / best->edp_per_token;
        snprintf(a->best_device, sizeof a->best_device, "%s", best->device);
    }
}
