/* Compiling a subgraph for npu-sim: checks every op again, converts the
 * weights it has not seen, and models the time of one execute. */
#include "sim.h"

#include <string.h>

static const erg_plugin_tensor *tensor(const erg_plugin_graph *g, uint32_t i) {
    return (const erg_plugin_tensor *)((const char *)g->tensors + (size_t)i * g->tensor_stride);
}

static const erg_plugin_op *op_at(const erg_plugin_graph *g, uint32_t i) {
    return (const erg_plugin_op *)((const char *)g->ops + (size_t)i * g->op_stride);
}

/* Whether op i alone is supported, with the graph's tensors. */
static bool supported(erg_plugin_device *dev, const erg_plugin_graph *g, const erg_plugin_op *op,
                      char *err) {
    erg_plugin_graph one = *g;
    one.n_ops = 1;
    one.ops = op;
    erg_plugin_support s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    if (sim_op_support(dev, &one, &s) != ERG_PLUGIN_OK || s.verdict == ERG_PLUGIN_NO) {
        sim_err(err, "%s", s.reason[0] ? s.reason : "unsupported op");
        return false;
    }
    return true;
}

static erg_plugin_result build(erg_plugin_device *dev, const erg_plugin_graph *g,
                               erg_plugin_compiled *c, erg_plugin_compile_stats *stats,
                               char *err) {
    for (uint32_t i = 0; i < g->n_tensors; i++) {
        const erg_plugin_tensor *t = tensor(g, i);
        memcpy(c->tensors[i].ne, t->ne, sizeof t->ne);
        c->tensors[i].nbytes = t->nbytes;
        c->tensors[i].constant = t->data != NULL;
    }
    for (uint32_t i = 0; i < g->n_ops; i++) {
        const erg_plugin_op *op = op_at(g, i);
        if (!supported(dev, g, op, err))
            return ERG_PLUGIN_E_UNSUPPORTED;
        sim_op *so = &c->ops[i];
        so->kind = op->kind;
        so->n_src = op->n_src;
        memcpy(so->src, op->src, sizeof so->src);
        so->dst = op->dst;
        so->f0 = op->fparams[0];
        const erg_plugin_tensor *y = tensor(g, op->dst);
        int64_t elements = y->ne[0] * y->ne[1] * y->ne[2] * y->ne[3];
        if (op->kind == ERG_PLUGIN_OP_MATMUL) {
            bool converted;
            erg_plugin_result r = sim_weights_get(dev, tensor(g, op->src[0]), &so->w, &converted,
                                                  err);
            if (r != ERG_PLUGIN_OK)
                return r;
            if (converted) {
                stats->weights_converted++;
                stats->weight_bytes += (uint64_t)so->w->bytes;
            }
            so->seconds = sim_matmul_seconds(&dev->prof, dev, so->w->k, so->w->n, y->ne[1]);
        } else {
            so->seconds = sim_elementwise_seconds(&dev->prof, elements, op->n_src + 1);
        }
        c->seconds += so->seconds;
    }
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_compile(erg_plugin_device *dev, const erg_plugin_graph *g,
                              erg_plugin_compiled **out, erg_plugin_compile_stats *stats,
                              char *err) {
    if (!dev || !g || !out || g->struct_size < sizeof *g || g->n_ops == 0 ||
        g->tensor_stride < sizeof(erg_plugin_tensor) || g->op_stride < sizeof(erg_plugin_op)) {
        sim_err(err, "compile: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    *out = NULL;
    erg_plugin_compile_stats ignored;
    if (!stats || stats->struct_size < sizeof *stats) {
        memset(&ignored, 0, sizeof ignored);
        stats = &ignored;
    }
    double t0 = sim_host->now_seconds(sim_host->user);
    erg_plugin_compiled *c = sim_alloc(sizeof *c);
    if (c) {
        memset(c, 0, sizeof *c);
        c->tensors = sim_alloc(g->n_tensors * sizeof *c->tensors);
        c->ops = sim_alloc(g->n_ops * sizeof *c->ops);
    }
    if (!c || !c->tensors || !c->ops) {
        sim_compiled_free(c);
        sim_err(err, "out of memory compiling %u ops", g->n_ops);
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    memset(c->ops, 0, g->n_ops * sizeof *c->ops);
    c->dev = dev;
    c->n_tensors = g->n_tensors;
    c->n_ops = g->n_ops;
    erg_plugin_result r = build(dev, g, c, stats, err);
    if (r != ERG_PLUGIN_OK) {
        sim_compiled_free(c);
        return r;
    }
    stats->seconds = sim_host->now_seconds(sim_host->user) - t0;
    *out = c;
    return ERG_PLUGIN_OK;
}

void sim_compiled_free(erg_plugin_compiled *c) {
    if (!c)
        return;
    sim_free(c->tensors);
    sim_free(c->ops);
    sim_free(c);
}
