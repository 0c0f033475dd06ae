#include "graph/validate.h"

#include "graph/op_rules.h"

static erg_status check_tensor(const erg_graph *g, int32_t id, erg_diag *diag) {
    const erg_tensor *t = &g->tensors[id];
    const erg_dtype_traits *tr = erg_dtype_get((int)t->dtype);
    if (!tr)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "tensor %d '%s': unknown dtype %d", id,
                        t->name, (int)t->dtype);
    for (int i = 0; i < ERG_MAX_DIMS; i++)
        if (t->ne[i] < 1)
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "tensor %d '%s': dim %d is %lld", id,
                            t->name, i, (long long)t->ne[i]);
    if (t->ne[0] % tr->block_size != 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "tensor %d '%s': row of %lld is not a multiple of the %s block (%u)", id,
                        t->name, (long long)t->ne[0], tr->name, tr->block_size);
    switch (t->kind) {
    case ERG_TENSOR_ACTIVATION:
        if (t->producer < 0 || (size_t)t->producer >= g->n_nodes ||
            g->nodes[t->producer].dst != id)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "activation %d '%s' has no node that defines it", id, t->name);
        break;
    case ERG_TENSOR_VIEW: {
        if (t->view_src < 0 || (size_t)t->view_src >= g->n_tensors ||
            g->tensors[t->view_src].kind == ERG_TENSOR_VIEW)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "view %d '%s' does not alias a storage tensor", id, t->name);
        const erg_tensor *root = &g->tensors[t->view_src];
        if (t->view_offset + erg_tensor_nbytes(t) > erg_tensor_nbytes(root))
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "view %d '%s': bytes [%zu, %zu) run past its storage '%s' (%zu bytes)",
                            id, t->name, t->view_offset, t->view_offset + erg_tensor_nbytes(t),
                            root->name, erg_tensor_nbytes(root));
        break;
    }
    case ERG_TENSOR_WEIGHT:
    case ERG_TENSOR_INPUT:
    case ERG_TENSOR_STATE:
    case ERG_TENSOR_UNUSED:
        if (t->producer >= 0)
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "leaf %d '%s' is defined by a node", id,
                            t->name);
        break;
    }
    return ERG_OK;
}

static erg_status check_node(const erg_graph *g, size_t i, erg_diag *diag) {
    const erg_node *n = &g->nodes[i];
    if ((unsigned)n->op >= ERG_OP_COUNT)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "node %zu: unknown op %d", i, (int)n->op);
    if (n->dst < 0 || (size_t)n->dst >= g->n_tensors || g->tensors[n->dst].producer != (int32_t)i)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "node %zu (%s): result tensor %d is not its own",
                        i, erg_op_name(n->op), n->dst);
    if (n->n_src < 1 || n->n_src > ERG_MAX_SRC)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "node %zu (%s): %d sources", i,
                        erg_op_name(n->op), n->n_src);
    for (int s = 0; s < n->n_src; s++) {
        int32_t id = n->src[s];
        if (id < 0 || (size_t)id >= g->n_tensors)
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "node %zu (%s): source %d is not a tensor",
                            i, erg_op_name(n->op), s);
        int32_t p = g->tensors[id].producer;
        if (g->tensors[id].kind == ERG_TENSOR_UNUSED)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "node %zu (%s): source '%s' was removed by a pass", i,
                            erg_op_name(n->op), g->tensors[id].name);
        if (p >= (int32_t)i)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "node %zu (%s): source '%s' is defined later (node %d)", i,
                            erg_op_name(n->op), g->tensors[id].name, p);
    }
    const erg_tensor *dst = &g->tensors[n->dst];
    erg_dtype dt;
    int64_t ne[4];
    ERG_RETURN_IF_ERROR(
        erg_op_infer(g, n->op, n->n_src, n->src, n->iparams, dst->dtype, &dt, ne, diag));
    int alias = erg_node_alias_src(n);
    if (alias >= 0) {
        /* A view's result aliases its source's storage (CPY: the destination's). */
        int32_t from = n->src[alias];
        if (dst->kind != ERG_TENSOR_VIEW || dst->view_src != erg_tensor_storage_root(g, from))
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "node %zu (%s): result '%s' does not alias its source", i,
                            erg_op_name(n->op), dst->name);
        if (dst->dtype != dt)
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "node %zu (%s): result dtype changed", i,
                            erg_op_name(n->op));
        return ERG_OK;
    }
    if (dst->kind != ERG_TENSOR_ACTIVATION || dst->dtype != dt ||
        !erg_tensor_is_contiguous(dst))
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "node %zu (%s): result '%s' must be a contiguous %s activation", i,
                        erg_op_name(n->op), dst->name, erg_dtype_name(dt));
    for (int d = 0; d < ERG_MAX_DIMS; d++)
        if (dst->ne[d] != ne[d])
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "node %zu (%s): result '%s' has dim %d = %lld, rules give %lld", i,
                            erg_op_name(n->op), dst->name, d, (long long)dst->ne[d],
                            (long long)ne[d]);
    return ERG_OK;
}

erg_status erg_graph_validate(const erg_graph *g, erg_diag *diag) {
    if (g->status != ERG_OK)
        return erg_fail(diag, g->status, "%s", g->diag.msg);
    for (size_t i = 0; i < g->n_tensors; i++)
        ERG_RETURN_IF_ERROR(check_tensor(g, (int32_t)i, diag));
    for (size_t i = 0; i < g->n_nodes; i++)
        ERG_RETURN_IF_ERROR(check_node(g, i, diag));
    return ERG_OK;
}
