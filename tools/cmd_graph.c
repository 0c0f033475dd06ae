/* erg graph -m MODEL [--dump dot|json]: the compute graph of one step, after
 * the fusion passes the device accepts (the graph a session runs there). */
#include "tools/cli.h"

#include "graph/dump.h"
#include "graph/fuse.h"
#include "graph/plan_memory.h"
#include "graph/validate.h"
#include "model/build_graph.h"
#include "runtime/internal.h"

#include <stdlib.h>
#include <string.h>

static void usage(void) {
    printf("usage: erg graph -m MODEL [--tokens N] [--n-past P] [--device D] [--no-fusion]\n"
           "                 [--dump dot|json]\n"
           "  the graph of evaluating N tokens (default 1: a decode step) after P, after the\n"
           "  fusion passes whose fused ops device D (default cpu) has kernels for\n"
           "  --no-fusion  the graph as the model builds it\n");
}

typedef struct graph_opts {
    const char *model, *dump, *device;
    long long nt, n_past;
    bool no_fusion;
} graph_opts;

static int parse(cli_args *a, graph_opts *o) {
    const cli_common common = {.model = &o->model, .device = &o->device};
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_common_flag(a, &common, &bad)) {
            /* stored in *o */
        } else if (cli_flag(a, "--dump", NULL, true, &v, &bad)) {
            if (!bad && strcmp(v, "dot") != 0 && strcmp(v, "json") != 0)
                return cli_error(a, CLI_EXIT_USAGE, "--dump takes dot or json, not '%s'", v);
            o->dump = v;
        } else if (cli_flag(a, "--tokens", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 1 << 16, &o->nt))
                return cli_error(a, CLI_EXIT_USAGE, "--tokens takes a count, not '%s'", v);
        } else if (cli_flag(a, "--n-past", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, 1 << 20, &o->n_past))
                return cli_error(a, CLI_EXIT_USAGE, "--n-past takes a count, not '%s'", v);
        } else if (cli_flag(a, "--no-fusion", NULL, false, &v, &bad)) {
            o->no_fusion = true;
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!o->model)
        return cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
    return 0;
}

/* The session's legality rule: a fused node is made only where the device
 * has a kernel for it (its backend's supports_node). */
static bool device_runs(void *ctx, const erg_graph *g, const erg_node *n) {
    const erg_rt_device *d = ctx;
    erg_diag why;
    return d->backend->supports_node(d->open, g, n, &why);
}

static void print_fusion(const char *device, const erg_fuse_stats *fs) {
    if (!device) {
        printf("fusion: off (--no-fusion)\n");
        return;
    }
    printf("fusion for %s: %u -> %u nodes;", device, fs->nodes_before, fs->nodes_after);
    bool any = false;
    for (int op = 0; op < ERG_OP_COUNT; op++)
        if (fs->n_fused[op]) {
            printf("%s %s %u", any ? "," : " fused", erg_op_name((erg_op)op), fs->n_fused[op]);
            any = true;
        }
    printf("%s", any ? "" : " nothing fused");
    if (fs->n_rejected)
        printf(" (%u matches left unfused: no kernel on %s)", fs->n_rejected, device);
    printf("\n");
}

static void summary(const erg_graph *g, const erg_memory_plan *p, const graph_opts *o,
                    const char *device, const erg_fuse_stats *fs) {
    size_t counts[ERG_OP_COUNT] = {0}, kernels = 0, tensors = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        counts[g->nodes[i].op]++;
        kernels += !erg_op_is_view(g->nodes[i].op);
    }
    for (size_t i = 0; i < g->n_tensors; i++)
        tensors += g->tensors[i].kind != ERG_TENSOR_UNUSED;
    printf("graph of %lld token(s) after %lld: %zu nodes (%zu kernels, %zu views), %zu tensors\n",
           o->nt, o->n_past, g->n_nodes, kernels, g->n_nodes - kernels, tensors);
    print_fusion(device, fs);
    for (int op = 0; op < ERG_OP_COUNT; op++)
        if (counts[op])
            printf("  %-13s %zu\n", erg_op_name((erg_op)op), counts[op]);
    printf("activation memory: %.2f MiB planned, %.2f MiB naive, %.2f MiB liveness lower bound\n",
           (double)p->arena_bytes / 1048576.0, (double)p->naive_bytes / 1048576.0,
           (double)p->lower_bound_bytes / 1048576.0);
}

/* Builds the step's graph, fuses it for dev (NULL: not at all), plans its
 * memory and prints it. */
static erg_status show(const erg_model_data *m, const graph_opts *o, erg_rt_device *dev,
                       erg_diag *diag) {
    /* The graph only references the cache, so it needs no memory behind it. */
    void **slots = calloc(m->hp.n_layer, sizeof *slots);
    erg_kv_cache kv = {ERG_DT_F16, (uint32_t)(o->nt + o->n_past), slots, slots};
    erg_build_params bp = {(uint32_t)o->nt, (uint32_t)o->n_past, 1, &kv};
    erg_build_result br;
    erg_graph g;
    erg_graph_init(&g, NULL);
    erg_memory_plan plan;
    erg_memory_plan_init(&plan, NULL);
    erg_fuse_stats fs = {0};
    erg_status st = slots ? erg_model_build_graph(m, &bp, &g, &br, diag)
                          : erg_fail(diag, ERG_OUT_OF_MEMORY, "cache table");
    if (st == ERG_OK)
        st = erg_graph_validate(&g, diag);
    if (st == ERG_OK && dev)
        st = erg_graph_fuse(&g, device_runs, dev, &fs, diag);
    if (st == ERG_OK)
        st = erg_plan_memory(&g, 64, &plan, diag);
    if (st == ERG_OK && o->dump)
        st = o->dump[0] == 'd' ? erg_graph_dump_dot(&g, stdout, diag)
                               : erg_graph_dump_json(&g, stdout, diag);
    else if (st == ERG_OK)
        summary(&g, &plan, o, dev ? dev->info.name : NULL, &fs);
    erg_memory_plan_free(&plan);
    erg_graph_free(&g);
    free(slots);
    return st;
}

int cmd_graph(cli_args *a) {
    graph_opts o = {.device = "cpu", .nt = 1};
    int rc = parse(a, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    erg_diag diag = {{0}};
    erg_model_data *m;
    if (erg_model_data_open(NULL, o.model, false, &m, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    /* Fusing asks the device which fused ops it runs, so it is opened. */
    erg_runtime *rt = NULL;
    erg_rt_device *dev = NULL;
    if (!o.no_fusion && (rc = cli_runtime(a, 0, &rt)) == 0 &&
        erg_rt_device_acquire(rt, o.device, &dev, &diag) != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    if (rc == 0 && show(m, &o, dev, &diag) != ERG_OK)
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    erg_runtime_destroy(rt);
    erg_model_data_free(m);
    return rc;
}
