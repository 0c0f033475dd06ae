/* erg graph -m MODEL [--dump dot|json]: the compute graph of one step. */
#include "tools/cli.h"

#include "graph/dump.h"
#include "graph/plan_memory.h"
#include "graph/validate.h"
#include "model/build_graph.h"

#include <stdlib.h>
#include <string.h>

static void summary(const erg_graph *g, const erg_memory_plan *p, uint32_t nt, uint32_t n_past) {
    size_t counts[ERG_OP_COUNT] = {0}, kernels = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        counts[g->nodes[i].op]++;
        kernels += !erg_op_is_view(g->nodes[i].op);
    }
    printf("graph of %u token(s) after %u: %zu nodes (%zu kernels, %zu views), %zu tensors\n", nt,
           n_past, g->n_nodes, kernels, g->n_nodes - kernels, g->n_tensors);
    for (int op = 0; op < ERG_OP_COUNT; op++)
        if (counts[op])
            printf("  %-10s %zu\n", erg_op_name((erg_op)op), counts[op]);
    printf("activation memory: %.2f MiB planned, %.2f MiB naive, %.2f MiB liveness lower bound\n",
           (double)p->arena_bytes / 1048576.0, (double)p->naive_bytes / 1048576.0,
           (double)p->lower_bound_bytes / 1048576.0);
}

int cmd_graph(cli_args *a) {
    const char *model = NULL, *dump = NULL;
    long long nt = 1, n_past = 0;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            printf("usage: erg graph -m MODEL [--tokens N] [--n-past P] [--dump dot|json]\n"
                   "  the graph of evaluating N tokens (default 1: a decode step) after P\n");
            return 0;
        } else if (cli_flag(a, "-m", "--model", true, &v, &bad)) {
            model = v;
        } else if (cli_flag(a, "--dump", NULL, true, &v, &bad)) {
            if (!bad && strcmp(v, "dot") != 0 && strcmp(v, "json") != 0)
                return cli_error(a, CLI_EXIT_USAGE, "--dump takes dot or json, not '%s'", v);
            dump = v;
        } else if (cli_flag(a, "--tokens", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1 << 16, &nt))
                return cli_error(a, CLI_EXIT_USAGE, "--tokens takes a count, not '%s'", v);
        } else if (cli_flag(a, "--n-past", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, 1 << 20, &n_past))
                return cli_error(a, CLI_EXIT_USAGE, "--n-past takes a count, not '%s'", v);
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!model)
        return cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
    erg_diag diag = {{0}};
    erg_model_data *m;
    if (erg_model_data_open(NULL, model, false, &m, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    /* The graph only references the cache, so it needs no memory behind it. */
    void **slots = calloc(m->hp.n_layer, sizeof *slots);
    erg_kv_cache kv = {ERG_DT_F16, (uint32_t)(nt + n_past), slots, slots};
    erg_build_params bp = {(uint32_t)nt, (uint32_t)n_past, 1, &kv};
    erg_build_result br;
    erg_graph g;
    erg_graph_init(&g, NULL);
    erg_memory_plan plan;
    erg_memory_plan_init(&plan, NULL);
    int rc = 0;
    erg_status st = slots ? erg_model_build_graph(m, &bp, &g, &br, &diag)
                          : erg_fail(&diag, ERG_OUT_OF_MEMORY, "cache table");
    if (st == ERG_OK)
        st = erg_graph_validate(&g, &diag);
    if (st == ERG_OK)
        st = erg_plan_memory(&g, 64, &plan, &diag);
    if (st == ERG_OK && dump)
        st = dump[0] == 'd' ? erg_graph_dump_dot(&g, stdout, &diag)
                            : erg_graph_dump_json(&g, stdout, &diag);
    else if (st == ERG_OK)
        summary(&g, &plan, (uint32_t)nt, (uint32_t)n_past);
    if (st != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    erg_memory_plan_free(&plan);
    erg_graph_free(&g);
    free(slots);
    erg_model_data_free(m);
    return rc;
}
