#include "backends/cpu/cpu_ops.h"

const erg_cpu_op *erg_cpu_op_for(erg_op op) {
    switch (op) {
    case ERG_OP_GET_ROWS: return &erg_cpu_op_get_rows;
    case ERG_OP_MATMUL: return &erg_cpu_op_matmul;
    case ERG_OP_ADD: return &erg_cpu_op_add;
    case ERG_OP_MUL: return &erg_cpu_op_mul;
    case ERG_OP_SCALE: return &erg_cpu_op_scale;
    case ERG_OP_RMS_NORM: return &erg_cpu_op_rms_norm;
    case ERG_OP_ROPE: return &erg_cpu_op_rope;
    case ERG_OP_SOFTMAX: return &erg_cpu_op_softmax;
    case ERG_OP_SILU: return &erg_cpu_op_silu;
    case ERG_OP_GELU: return &erg_cpu_op_gelu;
    case ERG_OP_SWIGLU: return &erg_cpu_op_swiglu;
    case ERG_OP_CPY: return &erg_cpu_op_cpy;
    case ERG_OP_RMS_NORM_MUL: return &erg_cpu_op_rms_norm_mul;
    case ERG_OP_MATMUL_ADD: return &erg_cpu_op_matmul_add;
    case ERG_OP_MATMUL_SWIGLU: return &erg_cpu_op_matmul_swiglu;
    case ERG_OP_MATMUL_QKV: return &erg_cpu_op_matmul; /* op_matmul.c reads the op */
    case ERG_OP_ROPE_STORE: return &erg_cpu_op_rope_store;
    case ERG_OP_ATTENTION: return &erg_cpu_op_attention;
    case ERG_OP_FILL: return &erg_cpu_op_fill;
    case ERG_OP_RESHAPE:
    case ERG_OP_VIEW:
    case ERG_OP_PERMUTE:
    case ERG_OP_COUNT:
        break;
    }
    return NULL;
}

void erg_cpu_for_rows(const erg_cpu_op_args *a, erg_cpu_row_fn fn) {
    const erg_graph *g = a->g;
    const erg_tensor *t0 = &g->tensors[a->node->src[0]];
    const erg_tensor *td = &g->tensors[a->node->dst];
    void *d0 = erg_tensor_host_data(g, a->node->src[0]);
    void *dd = erg_tensor_host_data(g, a->node->dst);
    int64_t r0, r1;
    erg_cpu_split(erg_tensor_nrows(td), a->ith, a->nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        erg_cpu_row_index(td, r, &i1, &i2, &i3);
        fn(a, td->ne[0], (float *)erg_cpu_row_ptr(dd, td, i1, i2, i3),
           (const float *)erg_cpu_row_ptr(d0, t0, i1, i2, i3), i1, i2, i3);
    }
}
