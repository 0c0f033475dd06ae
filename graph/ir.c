#include "graph/ir.h"

#include <string.h>

static const struct {
    const char *name;
    int n_src;
} op_info[ERG_OP_COUNT] = {
#define ERG_OP_INFO_(name, nsrc, doc) {#name, nsrc},
    ERG_OP_MAP(ERG_OP_INFO_)
#undef ERG_OP_INFO_
};

const char *erg_op_name(erg_op op) {
    return (unsigned)op < ERG_OP_COUNT ? op_info[op].name : "INVALID";
}

int erg_op_n_src(erg_op op) { return (unsigned)op < ERG_OP_COUNT ? op_info[op].n_src : 0; }

bool erg_op_is_view(erg_op op) {
    return op == ERG_OP_RESHAPE || op == ERG_OP_VIEW || op == ERG_OP_PERMUTE;
}

int erg_node_alias_src(const erg_node *n) {
    if (erg_op_is_view(n->op) || n->op == ERG_OP_FILL)
        return 0;
    if (n->op == ERG_OP_CPY)
        return n->n_src == 2 ? 1 : -1;
    if (n->op == ERG_OP_ROPE_STORE)
        return 2;
    return -1;
}

void erg_graph_init(erg_graph *g, const erg_allocator *alloc) {
    memset(g, 0, sizeof *g);
    g->alloc = erg_allocator_or_default(alloc);
}

void erg_graph_free(erg_graph *g) {
    erg_free(g->alloc, g->tensors);
    erg_free(g->alloc, g->nodes);
    erg_graph_init(g, g->alloc);
}

void erg_graph_clear(erg_graph *g) {
    g->n_tensors = 0;
    g->n_nodes = 0;
    g->status = ERG_OK;
    g->diag.msg[0] = '\0';
}

int64_t erg_tensor_nelements(const erg_tensor *t) {
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

bool erg_tensor_same_shape(const erg_tensor *a, const erg_tensor *b) {
    return memcmp(a->ne, b->ne, sizeof a->ne) == 0;
}

int64_t erg_tensor_nrows(const erg_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }

size_t erg_tensor_nbytes(const erg_tensor *t) {
    if (erg_tensor_nelements(t) == 0)
        return 0;
    /* From the first byte to the end of the last element, through every
     * stride: a permuted view's dim 0 need not be the contiguous one. */
    const erg_dtype_traits *tr = erg_dtype_get((int)t->dtype);
    size_t bytes = tr->type_size + (size_t)(t->ne[0] / tr->block_size - 1) * t->nb[0];
    for (int i = 1; i < ERG_MAX_DIMS; i++)
        bytes += (size_t)(t->ne[i] - 1) * t->nb[i];
    return bytes;
}

bool erg_tensor_rows_contiguous(const erg_tensor *t) {
    return t->nb[0] == erg_dtype_get((int)t->dtype)->type_size;
}

bool erg_tensor_is_contiguous(const erg_tensor *t) {
    if (!erg_tensor_rows_contiguous(t))
        return false;
    size_t expect = erg_dtype_row_size(t->dtype, t->ne[0]);
    for (int i = 1; i < ERG_MAX_DIMS; i++) {
        if (t->ne[i] != 1 && t->nb[i] != expect)
            return false;
        expect *= (size_t)t->ne[i];
    }
    return true;
}

int32_t erg_tensor_storage_root(const erg_graph *g, int32_t id) {
    const erg_tensor *t = &g->tensors[id];
    return t->kind == ERG_TENSOR_VIEW ? t->view_src : id;
}

void *erg_tensor_host_data(const erg_graph *g, int32_t id) {
    const erg_tensor *t = &g->tensors[id];
    if (t->kind != ERG_TENSOR_VIEW)
        return t->data;
    char *base = g->tensors[t->view_src].data;
    return base ? base + t->view_offset : NULL;
}
