/*
 * fuzz_model.c: libFuzzer target for model loading. An input that opens as
 * GGUF goes through the model checks (architecture, hyperparameters, every
 * weight's name, shape and type); a model they accept must then build, pass
 * graph validation and get a memory plan, for a prefill and a decode step:
 * whatever the loader lets through, the rest of erg can handle.
 */
#include "graph/plan_memory.h"
#include "graph/validate.h"
#include "model/build_graph.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond, diag)                                                                \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: accepted model broke: %s (%s)\n", __FILE__, __LINE__,  \
                    #cond, (diag).msg);                                                    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    erg_diag diag = {{0}};
    erg_gguf *g = NULL;
    if (erg_gguf_open_memory(NULL, data, size, &g, &diag) != ERG_OK)
        return 0;
    erg_model_data *m = NULL;
    if (erg_model_data_from_gguf(NULL, g, &m, &diag) != ERG_OK)
        return 0;
    void **slots = calloc(m->hp.n_layer, sizeof *slots);
    erg_graph graph;
    erg_graph_init(&graph, NULL);
    erg_memory_plan plan;
    erg_memory_plan_init(&plan, NULL);
    const uint32_t steps[2][2] = {{5, 0}, {1, 5}}; /* {tokens, n_past} */
    for (int s = 0; s < 2 && slots; s++) {
        erg_kv_cache kv = {ERG_DT_F16, 8, slots, slots};
        erg_build_params bp = {steps[s][0], steps[s][1], steps[s][0], &kv};
        erg_build_result br;
        REQUIRE(erg_model_build_graph(m, &bp, &graph, &br, &diag) == ERG_OK, diag);
        REQUIRE(erg_graph_validate(&graph, &diag) == ERG_OK, diag);
        REQUIRE(erg_plan_memory(&graph, 64, &plan, &diag) == ERG_OK, diag);
        REQUIRE(plan.arena_bytes >= plan.lower_bound_bytes, diag);
    }
    erg_memory_plan_free(&plan);
    erg_graph_free(&graph);
    free(slots);
    erg_model_data_free(m);
    return 0;
}
