/* Translating erg graphs into the plugin ABI's graphs. */
#include "backends/plugin/plugin_graph.h"

#include <string.h>

static bool op_kind(erg_op op, erg_plugin_op_kind *k) {
    switch (op) {
    case ERG_OP_MATMUL: *k = ERG_PLUGIN_OP_MATMUL; return true;
    case ERG_OP_ADD: *k = ERG_PLUGIN_OP_ADD; return true;
    case ERG_OP_MUL: *k = ERG_PLUGIN_OP_MUL; return true;
    case ERG_OP_SCALE: *k = ERG_PLUGIN_OP_SCALE; return true;
    case ERG_OP_SILU: *k = ERG_PLUGIN_OP_SILU; return true;
    case ERG_OP_GELU: *k = ERG_PLUGIN_OP_GELU; return true;
    case ERG_OP_SWIGLU: *k = ERG_PLUGIN_OP_SWIGLU; return true;
    case ERG_OP_RMS_NORM: *k = ERG_PLUGIN_OP_RMS_NORM; return true;
    case ERG_OP_SOFTMAX: *k = ERG_PLUGIN_OP_SOFTMAX; return true;
    case ERG_OP_ROPE: *k = ERG_PLUGIN_OP_ROPE; return true;
    case ERG_OP_GET_ROWS: *k = ERG_PLUGIN_OP_GET_ROWS; return true;
    case ERG_OP_CPY: *k = ERG_PLUGIN_OP_CPY; return true;
    default: return false;
    }
}

static bool tensor_dtype(erg_dtype dt, erg_plugin_dtype *out, erg_plugin_quant *quant) {
    const erg_dtype_traits *t = erg_dtype_get((int)dt);
    *quant = ERG_PLUGIN_QUANT_NONE;
    switch (dt) {
    case ERG_DT_F32: *out = ERG_PLUGIN_DT_F32; return true;
    case ERG_DT_F16: *out = ERG_PLUGIN_DT_F16; return true;
    case ERG_DT_I32: *out = ERG_PLUGIN_DT_I32; return true;
    case ERG_DT_I16: *out = ERG_PLUGIN_DT_I16; return true;
    case ERG_DT_I8: *out = ERG_PLUGIN_DT_I8; return true;
    default:
        if (!t || !t->quantized || !t->weight_type)
            return false;
        *out = ERG_PLUGIN_DT_GGUF;
        *quant = ERG_PLUGIN_QUANT_PER_BLOCK;
        return true;
    }
}

bool erg_pgraph_node_ok(const erg_graph *g, const erg_node *n, erg_diag *why) {
    erg_plugin_op_kind k;
    if (!op_kind(n->op, &k))
        return erg_fail(why, ERG_UNSUPPORTED, "%s has no plugin op", erg_op_name(n->op)), false;
    if ((size_t)n->n_src > sizeof ((erg_plugin_op *)0)->src / sizeof(uint32_t))
        return erg_fail(why, ERG_UNSUPPORTED, "%s with %d sources has no plugin op",
                        erg_op_name(n->op), n->n_src),
               false;
    const erg_tensor *d = erg_graph_ctensor(g, n->dst);
    if (d->kind == ERG_TENSOR_VIEW)
        return erg_fail(why, ERG_UNSUPPORTED, "writes into a view (%s)", d->name), false;
    for (int i = -1; i < n->n_src; i++) {
        const erg_tensor *t = erg_graph_ctensor(g, i < 0 ? n->dst : n->src[i]);
        erg_plugin_dtype pd;
        erg_plugin_quant q;
        if (!tensor_dtype(t->dtype, &pd, &q))
            return erg_fail(why, ERG_UNSUPPORTED, "tensor %s has dtype %s", t->name,
                            erg_dtype_name(t->dtype)),
                   false;
        if (!erg_tensor_is_contiguous(t))
            return erg_fail(why, ERG_UNSUPPORTED, "tensor %s is not contiguous", t->name), false;
    }
    return true;
}

void erg_pgraph_init(erg_pgraph *pg, const erg_allocator *alloc) {
    memset(pg, 0, sizeof *pg);
    pg->alloc = alloc;
}

void erg_pgraph_free(erg_pgraph *pg) {
    erg_free(pg->alloc, pg->tensors);
    erg_free(pg->alloc, pg->ids);
    erg_free(pg->alloc, pg->produced);
    erg_free(pg->alloc, pg->ops);
    memset(pg, 0, sizeof *pg);
}

static void hash_bytes(uint64_t *h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001B3ull;
}

/* The plugin tensor of erg tensor id, added on first use; -1 if out of memory.
 * Weights a matmul multiplies by are constants (the plugin converts them at
 * compile); every other tensor, weights read by other ops included, is
 * bound at execute. */
static int64_t tensor_index(erg_pgraph *pg, const erg_graph *g, int32_t id, bool matmul_weight) {
    for (size_t i = 0; i < pg->n_tensors; i++)
        if (pg->ids[i] == id && (pg->tensors[i].data != NULL) == matmul_weight)
            return (int64_t)i;
    size_t need = pg->n_tensors + 1;
    if (!erg_grow_array(pg->alloc, (void **)&pg->tensors, sizeof *pg->tensors, &pg->cap_tensors,
                        need) ||
        !erg_grow_array(pg->alloc, (void **)&pg->ids, sizeof *pg->ids, &pg->cap_ids, need) ||
        !erg_grow_array(pg->alloc, (void **)&pg->produced, sizeof *pg->produced,
                        &pg->cap_produced, need))
        return -1;
    const erg_tensor *t = erg_graph_ctensor(g, id);
    erg_plugin_tensor *pt = &pg->tensors[pg->n_tensors];
    memset(pt, 0, sizeof *pt);
    pt->struct_size = sizeof *pt;
    tensor_dtype(t->dtype, &pt->dtype, &pt->quant);
    pt->gguf_type = pt->dtype == ERG_PLUGIN_DT_GGUF ? (uint32_t)t->dtype : 0;
    memcpy(pt->ne, t->ne, sizeof pt->ne);
    pt->nbytes = erg_tensor_nbytes(t);
    pt->is_static = 1;
    if (matmul_weight)
        pt->data = erg_tensor_host_data(g, id);
    pg->ids[pg->n_tensors] = id;
    pg->produced[pg->n_tensors] = false;
    hash_bytes(&pg->hash, &pt->dtype, sizeof pt->dtype);
    hash_bytes(&pg->hash, pt->ne, sizeof pt->ne);
    hash_bytes(&pg->hash, &pt->data, sizeof pt->data);
    return (int64_t)pg->n_tensors++;
}

static erg_status add_node(erg_pgraph *pg, const erg_graph *g, const erg_node *n,
                           erg_diag *diag) {
    if (!erg_grow_array(pg->alloc, (void **)&pg->ops, sizeof *pg->ops, &pg->cap_ops,
                        pg->n_ops + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin graph");
    erg_plugin_op op;
    memset(&op, 0, sizeof op);
    op.struct_size = sizeof op;
    if (!op_kind(n->op, &op.kind))
        return erg_fail(diag, ERG_UNSUPPORTED, "%s has no plugin op", erg_op_name(n->op));
    op.n_src = (uint32_t)n->n_src;
    for (int i = 0; i <= n->n_src; i++) {
        int32_t id = i < n->n_src ? n->src[i] : n->dst;
        bool weight = n->op == ERG_OP_MATMUL && i == 0 &&
                      erg_graph_ctensor(g, erg_tensor_storage_root(g, id))->kind ==
                          ERG_TENSOR_WEIGHT;
        int64_t ti = tensor_index(pg, g, id, weight);
        if (ti < 0)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin graph");
        if (i < n->n_src)
            op.src[i] = (uint32_t)ti;
        else
            op.dst = (uint32_t)ti;
    }
    pg->produced[op.dst] = true;
    for (int i = 0; i < 4; i++) {
        op.iparams[i] = n->iparams[i];
        op.fparams[i] = n->fparams[i];
    }
    hash_bytes(&pg->hash, &op.kind, sizeof op.kind);
    hash_bytes(&pg->hash, op.src, sizeof op.src);
    hash_bytes(&pg->hash, &op.dst, sizeof op.dst);
    hash_bytes(&pg->hash, op.iparams, sizeof op.iparams);
    hash_bytes(&pg->hash, op.fparams, sizeof op.fparams);
    pg->ops[pg->n_ops++] = op;
    return ERG_OK;
}

static void reset(erg_pgraph *pg) {
    pg->n_tensors = 0;
    pg->n_ops = 0;
    pg->hash = 0xCBF29CE484222325ull;
}

erg_status erg_pgraph_build(erg_pgraph *pg, const erg_graph *g, erg_diag *diag) {
    reset(pg);
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!erg_op_is_view(g->nodes[i].op))
            ERG_RETURN_IF_ERROR(add_node(pg, g, &g->nodes[i], diag));
    return ERG_OK;
}

erg_status erg_pgraph_build_one(erg_pgraph *pg, const erg_graph *g, const erg_node *n,
                                erg_diag *diag) {
    reset(pg);
    return add_node(pg, g, n, diag);
}

erg_plugin_graph erg_pgraph_view(const erg_pgraph *pg) {
    erg_plugin_graph v = {
        .struct_size = sizeof v,
        .n_tensors = (uint32_t)pg->n_tensors,
        .n_ops = (uint32_t)pg->n_ops,
        .tensors = pg->tensors,
        .tensor_stride = sizeof(erg_plugin_tensor),
        .ops = pg->ops,
        .op_stride = sizeof(erg_plugin_op),
    };
    return v;
}
