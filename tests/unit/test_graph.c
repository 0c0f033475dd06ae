/* The IR: builder shape rules and sticky errors, the validation pass on
 * tampered graphs, the memory planner's invariants on a real model graph,
 * and the dumps. */
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "graph/builder.h"
#include "graph/dump.h"
#include "graph/plan_memory.h"
#include "graph/validate.h"
#include "model/build_graph.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void check_builder_errors(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int64_t wne[2] = {64, 10}, xne[2] = {32, 3};
    int32_t w = erg_gb_weight(&g, "w", ERG_DT_Q8_0, 2, wne, -1, NULL);
    int32_t x = erg_gb_input(&g, "x", ERG_DT_F32, 2, xne);
    CHECK(w >= 0 && x >= 0);
    CHECK_EQ_INT(erg_gb_matmul(&g, w, x), -1);
    CHECK(g.status == ERG_INVALID_ARGUMENT);
    CHECK(strstr(g.diag.msg, "MATMUL: row lengths differ") != NULL);
    CHECK(strstr(g.diag.msg, "q8_0[64,10,1,1]") != NULL);
    /* Sticky: later calls do nothing. */
    CHECK_EQ_INT(erg_gb_silu(&g, x), -1);
    erg_diag d;
    CHECK_STATUS(erg_graph_validate(&g, &d), ERG_INVALID_ARGUMENT);

    erg_graph_clear(&g);
    int64_t bad[2] = {33, 2};
    CHECK_EQ_INT(erg_gb_weight(&g, "odd", ERG_DT_Q4_0, 2, bad, -1, NULL), -1);
    CHECK(strstr(g.diag.msg, "not a multiple of 32") != NULL);

    erg_graph_clear(&g);
    int64_t ne[2] = {8, 4};
    int32_t a = erg_gb_input(&g, "a", ERG_DT_F32, 2, ne);
    int64_t vne[2] = {8, 2};
    size_t vnb[2] = {4, 32};
    CHECK(erg_gb_view(&g, a, -1, 2, vne, vnb, 64) >= 0);      /* rows 2..3 */
    CHECK_EQ_INT(erg_gb_view(&g, a, -1, 2, vne, vnb, 96), -1); /* rows 3..4: past the end */
    CHECK(strstr(g.diag.msg, "past the end of its storage") != NULL);

    erg_graph_clear(&g);
    a = erg_gb_input(&g, "a", ERG_DT_F32, 2, ne);
    int32_t b = erg_gb_input(&g, "b", ERG_DT_F32, 2, vne);
    CHECK(erg_gb_add(&g, a, b) >= 0); /* [8,2] repeats over [8,4] */
    CHECK_EQ_INT(erg_gb_add(&g, b, a), -1);
    CHECK(strstr(g.diag.msg, "does not broadcast") != NULL);
    erg_graph_free(&g);
}

static void check_validation(erg_graph *g) {
    erg_diag d;
    CHECK_STATUS(erg_graph_validate(g, &d), ERG_OK);
    /* Find a matmul and break its result's shape. */
    size_t i = 0;
    while (i < g->n_nodes && g->nodes[i].op != ERG_OP_MATMUL)
        i++;
    erg_tensor *dst = &g->tensors[g->nodes[i].dst];
    dst->ne[3] = 2;
    CHECK_STATUS(erg_graph_validate(g, &d), ERG_INVALID_ARGUMENT);
    CHECK_MSG(strstr(d.msg, "MATMUL") != NULL && strstr(d.msg, "rules give") != NULL, "%s", d.msg);
    dst->ne[3] = 1;
    /* A source defined after its reader. */
    int32_t saved = g->nodes[i].src[1];
    g->nodes[i].src[1] = g->nodes[g->n_nodes - 1].dst;
    CHECK_STATUS(erg_graph_validate(g, &d), ERG_INVALID_ARGUMENT);
    CHECK(strstr(d.msg, "defined later") != NULL);
    g->nodes[i].src[1] = saved;
    CHECK_STATUS(erg_graph_validate(g, &d), ERG_OK);
}

/* No two tensors alive at the same step share bytes; lifetimes computed here
 * independently of the planner. */
static void check_plan(const erg_graph *g) {
    erg_memory_plan p;
    erg_memory_plan_init(&p, NULL);
    erg_diag d;
    CHECK_STATUS(erg_plan_memory(g, 64, &p, &d), ERG_OK);
    size_t n = g->n_tensors;
    int *first = malloc(n * sizeof *first), *last = malloc(n * sizeof *last);
    for (size_t t = 0; t < n; t++) {
        first[t] = g->tensors[t].kind == ERG_TENSOR_INPUT ? -1 : g->tensors[t].producer;
        last[t] = (g->tensors[t].flags & ERG_TENSOR_FLAG_OUTPUT) ? INT_MAX : first[t];
    }
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int s = 0; s < g->nodes[i].n_src; s++) {
            int32_t r = erg_tensor_storage_root(g, g->nodes[i].src[s]);
            if ((int)i > last[r])
                last[r] = (int)i;
        }
    int overlaps = 0, planned = 0;
    for (size_t a = 0; a < n; a++) {
        if (p.offset[a] == ERG_PLAN_NONE)
            continue;
        planned++;
        size_t a0 = p.offset[a], a1 = a0 + erg_tensor_nbytes(&g->tensors[a]);
        CHECK(a1 <= p.arena_bytes);
        for (size_t b = a + 1; b < n; b++) {
            if (p.offset[b] == ERG_PLAN_NONE)
                continue;
            size_t b0 = p.offset[b], b1 = b0 + erg_tensor_nbytes(&g->tensors[b]);
            bool live_together = first[a] <= last[b] && first[b] <= last[a];
            /* A result computed in place shares its source's bytes by design. */
            bool in_place = p.inplace_of[a] == (int32_t)b || p.inplace_of[b] == (int32_t)a;
            if (live_together && !in_place && a0 < b1 && b0 < a1)
                overlaps++;
        }
    }
    CHECK_EQ_INT(overlaps, 0);
    CHECK(planned > 50);
    CHECK(p.arena_bytes >= p.lower_bound_bytes);
    CHECK(p.naive_bytes > p.arena_bytes);
    printf("plan: %d tensors, arena %zu, naive %zu, lower bound %zu bytes\n", planned,
           p.arena_bytes, p.naive_bytes, p.lower_bound_bytes);
    free(first);
    free(last);
    erg_memory_plan_free(&p);
}

static void check_dumps(const erg_graph *g) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    erg_diag d;
    CHECK_STATUS(erg_graph_dump_dot(g, f, &d), ERG_OK);
    fclose(f);
    CHECK(buf && strncmp(buf, "digraph erg {", 13) == 0 && strstr(buf, "MATMUL") != NULL);
    free(buf);
    f = open_memstream(&buf, &size);
    CHECK_STATUS(erg_graph_dump_json(g, f, &d), ERG_OK);
    fclose(f);
    CHECK(buf && strstr(buf, "\"op\":\t\"SOFTMAX\"") != NULL && strstr(buf, "\"nodes\"") != NULL);
    free(buf);
}

int main(void) {
    check_builder_errors();
    char path[256];
    if (!test_make_model(ERG_ARCH_QWEN3, ERG_FTYPE_MOSTLY_Q8_0, 5, path, sizeof path))
        return 1;
    erg_diag d;
    erg_model_data *m = NULL;
    CHECK_STATUS(erg_model_data_open(NULL, path, false, &m, &d), ERG_OK);
    void *slots[2] = {NULL, NULL};
    erg_kv_cache kv = {ERG_DT_F16, 64, slots, slots};
    erg_build_params bp = {7, 3, 7, &kv};
    erg_build_result br;
    erg_graph g;
    erg_graph_init(&g, NULL);
    CHECK_STATUS(erg_model_build_graph(m, &bp, &g, &br, &d), ERG_OK);
    CHECK(br.tokens >= 0 && br.positions >= 0 && br.logits >= 0);
    CHECK_EQ_INT(g.tensors[br.logits].ne[0], 512);
    CHECK_EQ_INT(g.tensors[br.logits].ne[1], 7);
    check_validation(&g);
    check_plan(&g);
    check_dumps(&g);
    /* Too many tokens for the context. */
    bp.n_past = 60;
    CHECK_STATUS(erg_model_build_graph(m, &bp, &g, &br, &d), ERG_INVALID_ARGUMENT);
    erg_graph_free(&g);
    erg_model_data_free(m);
    remove(path);
    return erg_test_result("test_graph");
}
