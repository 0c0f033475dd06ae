/*
 * What a node moves and computes, from the IR alone.
 *
 * Bytes: the storage each source spans plus the destination's (a matmul
 * reads its whole weight matrix once per call), except GET_ROWS, which
 * reads only the rows it gathers, and a CPY into a given tensor, whose
 * destination is that tensor (counted once).
 *
 * FLOPs: 2*K per matmul output (a multiply and an add), one per element
 * for add/mul/scale, and small per-element counts for the rest, with exp,
 * division and square root counted as one each. GET_ROWS and CPY move
 * data and count none (their dequantisation is not counted).
 */
#include "scheduler/profiler.h"

static double tensor_bytes(const erg_graph *g, int32_t id) {
    return (double)erg_tensor_nbytes(&g->tensors[id]);
}

/* Operations per output element of the elementwise-like ops. */
static double flops_per_element(erg_op op) {
    switch (op) {
    case ERG_OP_ADD:
    case ERG_OP_MUL:
    case ERG_OP_SCALE: return 1;
    case ERG_OP_RMS_NORM: return 3;  /* square and sum, then scale */
    case ERG_OP_RMS_NORM_MUL: return 4;
    case ERG_OP_ROPE_STORE:
    case ERG_OP_ROPE: return 3;      /* per pair: 4 multiplies, 2 adds */
    case ERG_OP_SOFTMAX: return 5;   /* scale, max, subtract, exp, sum and divide */
    case ERG_OP_SILU: return 4;      /* negate, exp, add, divide */
    case ERG_OP_SWIGLU: return 5;    /* silu, then a multiply */
    case ERG_OP_GELU: return 8;      /* tanh approximation */
    default: return 0;
    }
}

void erg_profile_node_cost(const erg_graph *g, const erg_node *n, double *bytes, double *flops) {
    *bytes = 0;
    *flops = 0;
    if (erg_op_is_view(n->op))
        return;
    const erg_tensor *dst = &g->tensors[n->dst];
    double dst_elems = (double)erg_tensor_nelements(dst);
    switch (n->op) {
    case ERG_OP_GET_ROWS: {
        const erg_tensor *table = &g->tensors[n->src[0]];
        double rows = (double)erg_tensor_nrows(dst);
        *bytes = rows * (double)table->nb[1] + tensor_bytes(g, n->src[1]) + tensor_bytes(g, n->dst);
        return;
    }
    case ERG_OP_CPY:
        *bytes = tensor_bytes(g, n->src[0]) + tensor_bytes(g, n->dst);
        return;
    case ERG_OP_MATMUL:
    case ERG_OP_MATMUL_QKV: /* dst holds the three products' elements */
    case ERG_OP_MATMUL_ADD:
        *flops = (2.0 * (double)g->tensors[n->src[0]].ne[0] + (n->op == ERG_OP_MATMUL_ADD)) *
                 dst_elems;
        break;
    case ERG_OP_MATMUL_SWIGLU: /* two products, then silu and a multiply */
        *flops = (4.0 * (double)g->tensors[n->src[0]].ne[0] + 5) * dst_elems;
        break;
    case ERG_OP_ATTENTION: { /* K.q and V.p over n_kv positions, softmax (5) per score */
        const erg_tensor *k = &g->tensors[n->src[1]];
        double scores = (double)k->ne[1] * (double)dst->ne[1] * (double)dst->ne[2];
        *flops = scores * (2.0 * (double)k->ne[0] + 5 + 2.0 * (double)dst->ne[0]);
        break;
    }
    case ERG_OP_FILL:
        *bytes = tensor_bytes(g, n->dst);
        return;
    default:
        *flops = flops_per_element(n->op) * dst_elems;
        break;
    }
    for (int s = 0; s < n->n_src; s++)
        *bytes += tensor_bytes(g, n->src[s]);
    *bytes += tensor_bytes(g, n->dst);
}
