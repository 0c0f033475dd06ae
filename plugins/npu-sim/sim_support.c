/* What npu-sim runs: int8 matmuls by constant weights, and a few
 * elementwise ops, all with static shapes. Everything else runs elsewhere. */
#include "sim.h"

#include <stdio.h>
#include <string.h>

static const erg_plugin_tensor *tensor(const erg_plugin_graph *g, uint32_t i) {
    return (const erg_plugin_tensor *)((const char *)g->tensors + (size_t)i * g->tensor_stride);
}

static bool is_f32(const erg_plugin_tensor *t) {
    return t->dtype == ERG_PLUGIN_DT_F32 && t->data == NULL;
}

static bool same_shape(const erg_plugin_tensor *a, const erg_plugin_tensor *b) {
    return memcmp(a->ne, b->ne, sizeof a->ne) == 0;
}

static const char *op_name(erg_plugin_op_kind k) {
    static const char *const names[] = {"MATMUL", "ADD",      "MUL",     "SCALE",    "SILU",
                                        "GELU",   "SWIGLU",   "RMS_NORM", "SOFTMAX", "ROPE",
                                        "GET_ROWS", "CPY",    "DEQUANT"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown op";
}

static erg_plugin_verdict no(erg_plugin_support *out, const char *why) {
    snprintf(out->reason, sizeof out->reason, "npu-sim: %s", why);
    return ERG_PLUGIN_NO;
}

static erg_plugin_verdict matmul(const erg_plugin_device *dev, const erg_plugin_graph *g,
                                 const erg_plugin_op *op, erg_plugin_support *out) {
    const erg_plugin_tensor *w = tensor(g, op->src[0]), *x = tensor(g, op->src[1]);
    const erg_plugin_tensor *y = tensor(g, op->dst);
    if (!w->data)
        return no(out, "MATMUL of two activations (only by constant weights)");
    if (w->ne[2] != 1 || w->ne[3] != 1 || x->ne[2] != 1 || x->ne[3] != 1)
        return no(out, "batched MATMUL (2-D weights and activations only)");
    if (!is_f32(x) || y->dtype != ERG_PLUGIN_DT_F32 || x->ne[0] != w->ne[0])
        return no(out, "MATMUL activations must be F32 rows of the weights' length");
    if (w->dtype != ERG_PLUGIN_DT_F32 && w->dtype != ERG_PLUGIN_DT_F16 &&
        w->dtype != ERG_PLUGIN_DT_GGUF)
        return no(out, "MATMUL weights of an unknown type");
    out->batch_chunk = dev->prof.prefill_chunk;
    snprintf(out->reason, sizeof out->reason,
             "int%d per-channel weights x int8 per-token activations, int32 accumulation; "
             "rows padded to %d",
             dev->prof.weight_bits, dev->prof.prefill_chunk);
    return ERG_PLUGIN_IF_STATIC;
}

static erg_plugin_verdict verdict(const erg_plugin_device *dev, const erg_plugin_graph *g,
                                  erg_plugin_support *out) {
    if (g->n_ops != 1)
        return no(out, "op_support takes one op");
    const erg_plugin_op *op = g->ops;
    for (uint32_t i = 0; i < op->n_src; i++)
        if (op->src[i] >= g->n_tensors)
            return no(out, "operand out of range");
    if (op->dst >= g->n_tensors)
        return no(out, "result out of range");
    const erg_plugin_tensor *y = tensor(g, op->dst);
    switch (op->kind) {
    case ERG_PLUGIN_OP_MATMUL:
        return op->n_src == 2 ? matmul(dev, g, op, out) : no(out, "MATMUL takes 2 operands");
    case ERG_PLUGIN_OP_ADD:
    case ERG_PLUGIN_OP_MUL:
    case ERG_PLUGIN_OP_SWIGLU:
        if (op->n_src != 2 || !is_f32(tensor(g, op->src[0])) || !is_f32(tensor(g, op->src[1])) ||
            !is_f32(y) || !same_shape(tensor(g, op->src[0]), tensor(g, op->src[1])) ||
            !same_shape(y, tensor(g, op->src[0])))
            return no(out, "elementwise ops need F32 operands of one shape (no broadcast)");
        return ERG_PLUGIN_YES;
    case ERG_PLUGIN_OP_SCALE:
    case ERG_PLUGIN_OP_SILU:
        if (op->n_src != 1 || !is_f32(tensor(g, op->src[0])) || !is_f32(y) ||
            !same_shape(y, tensor(g, op->src[0])))
            return no(out, "elementwise ops need F32 operands of one shape");
        return ERG_PLUGIN_YES;
    default: {
        char why[96];
        snprintf(why, sizeof why, "%s is not in its op set (int8 MATMUL, ADD, MUL, SCALE, SILU, "
                                  "SWIGLU)",
                 op_name(op->kind));
        return no(out, why);
    }
    }
}

erg_plugin_result sim_op_support(erg_plugin_device *dev, const erg_plugin_graph *g,
                                 erg_plugin_support *out) {
    if (!dev || !g || !out || out->struct_size < sizeof *out || g->struct_size < sizeof *g)
        return ERG_PLUGIN_E_INVALID;
    out->reason[0] = '\0';
    out->min_batch = out->max_batch = out->batch_chunk = 0;
    out->verdict = verdict(dev, g, out);
    return ERG_PLUGIN_OK;
}
