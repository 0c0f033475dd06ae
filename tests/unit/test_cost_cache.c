/*
 * The cost model and its cache: recorded node times are found again by
 * shape, an unmeasured shape is priced by its op's measured rate (per FLOP
 * in prefill, per byte in decode); the cache file round-trips every field;
 * refinement blends real runs' times into rows (an NPU's time more than
 * twice off is taken whole) and adds rows for shapes
 * calibration never measured; an entry cut short by a calibration budget
 * comes back flagged partial with its seconds; an entry whose identity differs (another driver or erg
 * version) is not used; a corrupt or malformed file is refused with
 * ERG_FORMAT naming it.
 */
#include "graph/builder.h"
#include "scheduler/calib_cache.h"
#include "tests/test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* x[64, m] -> matmul with w[64, 32] -> rms_norm */
static void build(erg_graph *g, int64_t m) {
    int64_t wne[2] = {64, 32}, xne[2] = {64, m};
    int32_t w = erg_gb_weight(g, "w", ERG_DT_F32, 2, wne, 0, NULL);
    int32_t x = erg_gb_input(g, "x", ERG_DT_F32, 2, xne);
    erg_gb_rms_norm(g, erg_gb_matmul(g, w, x), 1e-5f);
}

static void fill(erg_device_costs *c, const char *identity) {
    snprintf(c->device, sizeof c->device, "vulkan:0");
    snprintf(c->identity, sizeof c->identity, "%s", identity);
    c->busy_watts = 6.5;
    c->shares_host = true;
    c->node_overhead_s = 2e-5;
    c->handover_s = 2e-5;
    c->copy_s_per_byte = 1e-10;
}

static void check_lookup(erg_device_costs *c) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    build(&g, 4);
    CHECK_STATUS(g.status, ERG_OK);
    double sec[2] = {4e-3, 1e-3};
    CHECK_STATUS(erg_cost_record(c, NULL, &g, sec, ERG_PROFILE_PREFILL, NULL), ERG_OK);
    double slower[2] = {5e-3, 3e-3};
    CHECK_STATUS(erg_cost_record(c, NULL, &g, slower, ERG_PROFILE_PREFILL, NULL), ERG_OK);
    erg_cost_finish(c);
    CHECK_EQ_INT(c->n_rows, 2);
    /* The least time of each shape. */
    CHECK_NEAR(erg_cost_node_seconds(c, &g, &g.nodes[0], ERG_PROFILE_PREFILL), 4e-3, 1e-15);
    CHECK_NEAR(erg_cost_node_seconds(c, &g, &g.nodes[1], ERG_PROFILE_PREFILL), 1e-3, 1e-15);
    CHECK(erg_cost_knows_op(c, ERG_OP_MATMUL) && !erg_cost_knows_op(c, ERG_OP_SOFTMAX));
    /* Twice the tokens: twice the FLOPs, twice the time. */
    erg_graph g8;
    erg_graph_init(&g8, NULL);
    build(&g8, 8);
    CHECK_NEAR(erg_cost_node_seconds(c, &g8, &g8.nodes[0], ERG_PROFILE_PREFILL), 8e-3, 1e-12);
    /* No decode measured: nothing to go by. */
    CHECK(isinf(erg_cost_node_seconds(c, &g, &g.nodes[0], ERG_PROFILE_DECODE)));
    erg_graph_free(&g);
    erg_graph_free(&g8);
}

/* Refinement from real runs: a row blends in a run's time; a shape never
 * measured gets a row that lookups find at once, and the table stays
 * sorted; past ERG_COST_MAX_ROWS rows, none is added. */
static void check_refine(void) {
    erg_device_costs c;
    memset(&c, 0, sizeof c);
    fill(&c, "npu-sim|erg|fast-link||erg 0.1.0");
    c.shares_host = false; /* hardware of its own: its times may jump */
    erg_graph g, g8;
    erg_graph_init(&g, NULL);
    erg_graph_init(&g8, NULL);
    build(&g, 4);
    build(&g8, 8);
    double sec[2] = {4e-3, 1e-3};
    CHECK_STATUS(erg_cost_record(&c, NULL, &g, sec, ERG_PROFILE_PREFILL, NULL), ERG_OK);
    erg_cost_finish(&c);
    erg_cost_row *r = erg_cost_find_row(&c, erg_cost_node_key(&g, &g.nodes[0]),
                                        ERG_PROFILE_PREFILL);
    CHECK(r != NULL && !erg_cost_find_row(&c, erg_cost_node_key(&g8, &g8.nodes[0]),
                                          ERG_PROFILE_PREFILL));
    if (r)
        erg_cost_refine_row(&c, r, 8e-3); /* a quarter of the way from 4 ms to 8 ms */
    CHECK_NEAR(erg_cost_node_seconds(&c, &g, &g.nodes[0], ERG_PROFILE_PREFILL), 5e-3, 1e-15);
    if (r)
        erg_cost_refine_row(&c, r, 11e-3); /* over twice off: taken whole */
    CHECK_NEAR(erg_cost_node_seconds(&c, &g, &g.nodes[0], ERG_PROFILE_PREFILL), 11e-3, 1e-15);
    if (r)
        erg_cost_refine_row(&c, r, 6e-3); /* within twice: blended */
    CHECK_NEAR(erg_cost_node_seconds(&c, &g, &g.nodes[0], ERG_PROFILE_PREFILL), 9.75e-3, 1e-15);
    if (r)
        erg_cost_refine_row(&c, r, 2e-3); /* over twice as fast: taken whole */
    CHECK_NEAR(erg_cost_node_seconds(&c, &g, &g.nodes[0], ERG_PROFILE_PREFILL), 2e-3, 1e-15);
    /* A device on the host's cores is only blended: 2 ms a quarter of the
     * way to 10 ms. */
    c.shares_host = true;
    if (r)
        erg_cost_refine_row(&c, r, 10e-3);
    CHECK_NEAR(erg_cost_node_seconds(&c, &g, &g.nodes[0], ERG_PROFILE_PREFILL), 4e-3, 1e-15);
    if (r)
        r->seconds = 5e-3;
    /* 8 rows measured 20 ms, not the 10 ms the rate says. */
    erg_cost_row row = {.key = erg_cost_node_key(&g8, &g8.nodes[0]),
                        .phase = ERG_PROFILE_PREFILL, .op = ERG_OP_MATMUL, .seconds = 20e-3};
    bool added = false;
    CHECK_STATUS(erg_cost_add_row(&c, NULL, &row, &added, NULL), ERG_OK);
    CHECK(added && c.n_rows == 3);
    CHECK_NEAR(erg_cost_node_seconds(&c, &g8, &g8.nodes[0], ERG_PROFILE_PREFILL), 20e-3, 1e-15);
    CHECK_NEAR(erg_cost_node_seconds(&c, &g, &g.nodes[1], ERG_PROFILE_PREFILL), 1e-3, 1e-15);
    for (size_t k = 1; k < c.n_rows; k++)
        CHECK(c.rows[k - 1].key <= c.rows[k].key);
    size_t n_added = 0;
    for (uint64_t k = 0; added && k < ERG_COST_MAX_ROWS; k++) {
        row.key = k * 0x9e3779b97f4a7c15ull;
        CHECK_STATUS(erg_cost_add_row(&c, NULL, &row, &added, NULL), ERG_OK);
        n_added += added;
    }
    CHECK_EQ_INT(c.n_rows, ERG_COST_MAX_ROWS);
    CHECK_EQ_INT(n_added, ERG_COST_MAX_ROWS - 3);
    CHECK_NEAR(erg_cost_node_seconds(&c, &g8, &g8.nodes[0], ERG_PROFILE_PREFILL), 20e-3, 1e-15);
    erg_graph_free(&g);
    erg_graph_free(&g8);
    erg_device_costs_free(&c, NULL);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

int main(void) {
    char dir[] = "/tmp/erg-cost-cache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/costs.json", dir);

    erg_device_costs c;
    memset(&c, 0, sizeof c);
    fill(&c, "vulkan|Mesa|llvmpipe|23.0|erg 0.1.0");
    check_lookup(&c);
    check_refine();
    CHECK_STATUS(erg_calib_cache_save(path, &c, 1, NULL), ERG_OK);

    /* Round trip; a missing file finds nothing and is no error. */
    erg_device_costs back[2];
    memset(back, 0, sizeof back);
    fill(&back[0], "cpu|AMD|EPYC||erg 0.1.0");
    fill(&back[1], c.identity);
    bool found[2];
    erg_diag diag;
    CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_OK);
    CHECK(!found[0] && found[1]);
    CHECK_EQ_INT(back[1].n_rows, c.n_rows);
    for (size_t k = 0; k < c.n_rows && k < back[1].n_rows; k++) {
        CHECK(back[1].rows[k].key == c.rows[k].key && back[1].rows[k].op == c.rows[k].op);
        CHECK(back[1].rows[k].seconds == c.rows[k].seconds);
        CHECK(back[1].rows[k].flops == c.rows[k].flops);
    }
    CHECK(back[1].busy_watts == 6.5 && back[1].node_overhead_s == 2e-5 &&
          back[1].copy_s_per_byte == 1e-10 && back[1].shares_host);
    CHECK(!back[1].partial && back[1].partial_s == 0);
    erg_device_costs_free(&back[1], NULL);

    /* An entry cut short by a budget comes back flagged, with its seconds. */
    c.partial = true;
    c.partial_s = 12.5;
    CHECK_STATUS(erg_calib_cache_save(path, &c, 1, NULL), ERG_OK);
    CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_OK);
    CHECK(found[1] && back[1].partial && back[1].partial_s == 12.5);
    CHECK_EQ_INT(back[1].n_rows, c.n_rows);
    erg_device_costs_free(&back[1], NULL);
    c.partial = false;
    c.partial_s = 0;

    /* Stale: another driver version is another identity. */
    fill(&back[1], "vulkan|Mesa|llvmpipe|23.1|erg 0.1.0");
    CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_OK);
    CHECK(!found[0] && !found[1]);

    /* Corrupt and malformed files. */
    fill(&back[1], c.identity);
    const char *bad[] = {
        "{\"format\": 1, \"devices\": [",
        "{\"format\": 2, \"devices\": []}",
        "[1, 2, 3]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_FORMAT);
        CHECK(strstr(diag.msg, path) != NULL && !found[1]);
    }
    char text[512];
    snprintf(text, sizeof text,
             "{\"format\": 1, \"devices\": [{\"identity\": \"%s\", \"busy_watts\": 1, "
             "\"handover_s\": 0, \"node_overhead_s\": 0, \"copy_s_per_byte\": 0, "
             "\"rows\": [[\"xyz\", 0, 1, 1e-3, 1, 1]]}]}",
             c.identity);
    write_text(path, text);
    CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_FORMAT);
    CHECK(strstr(diag.msg, "malformed") != NULL && !found[1] && back[1].n_rows == 0);
    /* A negative time is malformed too. */
    snprintf(text, sizeof text,
             "{\"format\": 1, \"devices\": [{\"identity\": \"%s\", \"busy_watts\": 1, "
             "\"handover_s\": 0, \"node_overhead_s\": 0, \"copy_s_per_byte\": 0, "
             "\"rows\": [[\"00000000000000ff\", 0, 1, -1, 1, 1]]}]}",
             c.identity);
    write_text(path, text);
    CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_FORMAT);
    /* So is a partial entry's negative or missing time. */
    const char *partial[] = {"-1", "\"x\""};
    for (size_t i = 0; i < 2; i++) {
        snprintf(text, sizeof text,
                 "{\"format\": 1, \"devices\": [{\"identity\": \"%s\", \"busy_watts\": 1, "
                 "\"handover_s\": 0, \"node_overhead_s\": 0, \"copy_s_per_byte\": 0, "
                 "\"partial_s\": %s, \"rows\": []}]}",
                 c.identity, partial[i]);
        write_text(path, text);
        CHECK_STATUS(erg_calib_cache_load(path, NULL, back, found, 2, &diag), ERG_FORMAT);
    }

    erg_device_costs_free(&c, NULL);
    remove(path);
    rmdir(dir);
    return erg_test_result("test_cost_cache");
}
