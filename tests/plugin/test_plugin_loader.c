/*
 * The plugin loader against broken plugins, each a real .so built by the
 * test suite (broken_plugin.c): wrong major version, missing entry symbol, a
 * NULL required function, a zero probe, a too-small function table, an
 * entry point that refuses the host's version, and a plugin that says it
 * supports ADD and then fails to execute it (and whose batch limits on MUL
 * and SCALE the host must honour), and a plugin built for ABI 1.0, which
 * loads. Each broken one fails cleanly with one
 * sentence naming the problem (and both versions where versions differ).
 */
#include "backends/plugin/plugin_backend.h"
#include "backends/plugin/plugin_lib.h"
#include "graph/builder.h"
#include "graph/plan_memory.h"
#include "tests/test.h"

#include <stdio.h>
#include <string.h>

static const char *dir, *abi10_dir;
static erg_logger quiet = {NULL, NULL, ERG_LOG_NONE};

static erg_status open_in(const char *in, const char *variant, erg_plugin_lib **lib,
                          erg_diag *diag) {
    char path[4096];
    snprintf(path, sizeof path, "%s/liberg-plugin-%s.so", in, variant);
    return erg_plugin_lib_open(path, NULL, &quiet, lib, diag);
}

static erg_status open_variant(const char *variant, erg_plugin_lib **lib, erg_diag *diag) {
    return open_in(dir, variant, lib, diag);
}

static void expect_refused(const char *variant, const char *want1, const char *want2) {
    erg_plugin_lib *lib = (erg_plugin_lib *)1;
    erg_diag diag = {{0}};
    erg_status st = open_variant(variant, &lib, &diag);
    printf("%s: %s\n", variant, diag.msg);
    CHECK(st != ERG_OK);
    CHECK(lib == NULL);
    CHECK(strstr(diag.msg, want1) != NULL);
    CHECK(want2 == NULL || strstr(diag.msg, want2) != NULL);
}

static void test_refusals(void) {
    expect_refused("broken-major", "built for ABI 2.0", "this erg has ABI 1.1");
    expect_refused("broken-noentry", "exports no symbol erg_plugin_entry", "1.1");
    expect_refused("broken-nullquery", "required function op_support is NULL", NULL);
    expect_refused("broken-zeroprobe", "score 0", NULL);
    expect_refused("broken-small", "function table is", "needs at least");
    expect_refused("broken-refuses", "returned NULL", "host ABI 1.1");
    expect_refused("does-not-exist", "cannot load", NULL);
}

/* A plugin built for ABI 1.0 loads: its table ends where 1.1 appended
 * op_times, which reads as NULL (no node times). */
static void test_abi_1_0(void) {
    erg_plugin_lib *lib = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(open_in(abi10_dir, "broken-abi10", &lib, &diag), ERG_OK);
    CHECK(lib && lib->api.struct_size == offsetof(erg_plugin_api, op_times));
    CHECK(lib && lib->api.op_times == NULL && lib->api.execute != NULL);
    erg_plugin_lib_close(lib);
}

/* op_support's batch limits: a node outside them is not supported, and the
 * reason carries the plugin's numbers. */
static void check_batch_limits(const erg_backend *b, erg_backend_device *dev) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int64_t one_row[2] = {8, 1}, four_rows[2] = {8, 4};
    int32_t x1 = erg_gb_input(&g, "x1", ERG_DT_F32, 2, one_row);
    int32_t x4 = erg_gb_input(&g, "x4", ERG_DT_F32, 2, four_rows);
    erg_gb_mul(&g, x1, x1);   /* 1 row: under MUL's min_batch of 4 */
    erg_gb_mul(&g, x4, x4);   /* 4 rows */
    erg_gb_scale(&g, x1, 2);  /* 1 row */
    erg_gb_scale(&g, x4, 2);  /* 4 rows: over SCALE's max_batch of 2 */
    CHECK(g.status == ERG_OK && g.n_nodes == 4);
    erg_diag why = {{0}};
    if (g.status != ERG_OK || g.n_nodes != 4) {
        erg_graph_free(&g);
        return;
    }
    CHECK(!b->supports_node(dev, &g, &g.nodes[0], &why));
    CHECK(strstr(why.msg, "1 rows: the plugin pays off from 4 rows") != NULL);
    CHECK(b->supports_node(dev, &g, &g.nodes[1], &why));
    CHECK(b->supports_node(dev, &g, &g.nodes[2], &why));
    CHECK(!b->supports_node(dev, &g, &g.nodes[3], &why));
    CHECK(strstr(why.msg, "4 rows: the plugin takes at most 2 per execute") != NULL);
    erg_graph_free(&g);
}

/* A supported op that then fails: the execute reports the plugin's reason. */
static void test_execute_failure(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/liberg-plugin-broken-exec.so", dir);
    const erg_backend *b = NULL;
    erg_diag diag = {{0}};
    CHECK(erg_plugin_backend_load(path, &quiet, &b, &diag) == ERG_OK);
    if (!b)
        return;
    CHECK(strcmp(b->name, "broken-exec") == 0);
    erg_backend_env env = {.log = &quiet, .n_threads = 1};
    erg_device_info info[2];
    size_t count = 0;
    CHECK(erg_backend_enumerate(b, &env, info, 2, &count, &diag) == ERG_OK);
    CHECK(count == 1);
    CHECK(strcmp(info[0].name, "broken-exec:0") == 0);
    erg_backend_device *dev = NULL;
    CHECK(erg_backend_open(b, &env, 0, &dev, &diag) == ERG_OK);
    erg_graph g;
    erg_graph_init(&g, NULL);
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t ne[1] = {8};
    int32_t x = erg_gb_weight(&g, "x", ERG_DT_F32, 1, ne, 0, a);
    int32_t y = erg_gb_add(&g, x, x);
    int32_t z = erg_gb_rms_norm(&g, y, 1e-5f);
    CHECK(g.status == ERG_OK);
    CHECK(b->supports_node(dev, &g, &g.nodes[0], &diag));
    CHECK(!b->supports_node(dev, &g, &g.nodes[1], &diag));
    (void)z;
    check_batch_limits(b, dev);
    g.n_nodes = 1; /* the ADD alone */
    erg_memory_plan plan;
    erg_memory_plan_init(&plan, NULL);
    g.tensors[y].flags |= ERG_TENSOR_FLAG_OUTPUT;
    CHECK(erg_plan_memory(&g, 64, &plan, &diag) == ERG_OK);
    void *arena = b->host_alloc(dev, plan.arena_bytes);
    erg_memory_plan_bind(&plan, &g, arena);
    erg_backend_exec *exec = NULL;
    CHECK(b->exec_create(dev, &(erg_exec_options){0}, &exec, &diag) == ERG_OK);
    erg_exec_stats st;
    erg_status s = erg_backend_run(b, dev, exec, &g, &st, &diag);
    printf("broken-exec: %s\n", diag.msg);
    CHECK(s == ERG_DEVICE);
    CHECK(strstr(diag.msg, "execute failed on purpose") != NULL);
    b->exec_free(exec);
    b->host_free(dev, arena);
    erg_memory_plan_free(&plan);
    erg_graph_free(&g);
    b->close(dev);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        printf("usage: %s DIR-OF-BROKEN-PLUGINS DIR-OF-THE-ABI-1.0-PLUGIN\n", argv[0]);
        return 1;
    }
    dir = argv[1];
    abi10_dir = argv[2];
    test_refusals();
    test_execute_failure();
    test_abi_1_0();
    return erg_test_result("test_plugin_loader");
}
