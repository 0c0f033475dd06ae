/*
 * MATMUL, MATMUL_ADD, MATMUL_SWIGLU and MATMUL_QKV: a matrix-vector kernel (columns in
 * groups of ERG_CL_MATVEC_COLS) and a tiled matrix-matrix kernel. Both read
 * every weight type in its block layout, and any byte strides of the
 * weight, the activations and the result (KV-cache views), with the weight
 * broadcast over dims 2 and 3 (grouped-query attention). MATMUL_ADD is
 * MATMUL's kernel with its addend argument set (an epilogue as it stores);
 * MATMUL_SWIGLU has kernels of its own (the same body with a second weight)
 * that load each activation chunk once for both products. MATMUL_QKV is
 * MATMUL's kernel over the three weights' rows stacked (N = Nq + Nk + Nv),
 * each row read from its weight and stored in its weight's product.
 *
 * The shape follows the device. A GPU runs up to ERG_CL_MATVEC_COLS
 * columns through the matrix-vector kernel, with 32-element chunks of a
 * row spread over up to GPU_LANES work-items, and more columns through the
 * tiled kernel, whose tiles of 32 columns would mostly idle on fewer. A
 * CPU device (PoCL) runs a work-group as a loop over its work-items, where
 * barriers and local memory cost more than they share: there every matmul
 * is the matrix-vector kernel with a whole row per work-item, its K loop
 * in SIMD lanes (the 8 columns a work-item takes share each dequantised
 * chunk, which makes prefill a register-tiled product).
 */
#include "backends/opencl/cl_ops.h"

/* Work-items sharing a row on a GPU, at most (a sub-group's worth). */
#define GPU_LANES 32

/* log2 of the work-items sharing a row in the matrix-vector kernel (a
 * power of two up to ERG_CL_LWS). A GPU spreads a row's chunks over up to
 * GPU_LANES of them. On a CPU device splitting a row costs more than it
 * shares (on PoCL with 2 units one row per work-item was faster at every
 * shape, even for a single work-group), so a row is split only while more
 * than half the compute units would have no work-group at all. */
static int matvec_lane_bits(const erg_device_info *info, int64_t K, int64_t N,
                            size_t other_groups) {
    int64_t chunks = (K + 31) / 32;
    int bits = 0;
    if (info->kind == ERG_DEVICE_GPU) {
        while ((1 << bits) < GPU_LANES && (1 << bits) < chunks)
            bits++;
        return bits;
    }
    while ((1 << bits) < ERG_CL_LWS && (2 << bits) <= chunks &&
           2 * (uint64_t)(((N << bits) + ERG_CL_LWS - 1) / ERG_CL_LWS) * other_groups <
               info->compute_units)
        bits++;
    return bits;
}

erg_status erg_cl_op_matmul_setup(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_graph *g = c->g;
    const erg_tensor *w = &g->tensors[c->node->src[0]];
    const erg_tensor *x = &g->tensors[c->node->src[1]];
    const erg_tensor *y = &g->tensors[c->node->dst];
    bool qkv = c->node->op == ERG_OP_MATMUL_QKV;
    /* MATMUL_QKV's rows: Wq's [0, ends[0]), Wk's up to ends[1], then Wv's */
    int64_t ends[2] = {w->ne[1], w->ne[1]};
    if (qkv)
        ends[1] += g->tensors[c->node->src[2]].ne[1];
    int64_t K = w->ne[0], M = x->ne[1], B2 = x->ne[2], B3 = x->ne[3];
    int64_t N = qkv ? ends[1] + g->tensors[c->node->src[3]].ne[1] : w->ne[1];
    bool matvec = M <= ERG_CL_MATVEC_COLS || !erg_cl_tiled(c->info);
    bool swiglu = c->node->op == ERG_OP_MATMUL_SWIGLU;
    erg_cl_kernel family = swiglu ? (matvec ? ERG_CL_K_MATVEC_SWIGLU : ERG_CL_K_MATMUL_SWIGLU)
                                  : (matvec ? ERG_CL_K_MATVEC : ERG_CL_K_MATMUL);
    erg_cl_kernel k = (erg_cl_kernel)(family + erg_cl_weight_index(w->dtype));
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, k, &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, w->nb);
    erg_cl_arg_tensor(&args, &c->src[1]);
    erg_cl_arg_nb(&args, x->nb);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_long4(&args, K, N, M, B2);
    cl_long2 ratio = {{B2 / w->ne[2], B3 / w->ne[3]}};
    erg_cl_arg(&args, sizeof ratio, &ratio);
    if (swiglu) {
        erg_cl_arg_tensor(&args, &c->src[2]);
        erg_cl_arg_nb(&args, g->tensors[c->node->src[2]].nb);
    } else {
        /* MATMUL passes x again as the (unread) addend */
        bool add = c->node->op == ERG_OP_MATMUL_ADD;
        const erg_tensor *a = &g->tensors[c->node->src[add ? 2 : 1]];
        erg_cl_arg_tensor(&args, &c->src[add ? 2 : 1]);
        erg_cl_arg_nb(&args, a->nb);
        erg_cl_arg_ne(&args, a->ne);
        erg_cl_arg_int(&args, add);
        /* MATMUL and MATMUL_ADD pass W again as the (unread) K and V weights */
        erg_cl_arg_tensor(&args, &c->src[qkv ? 2 : 0]);
        erg_cl_arg_tensor(&args, &c->src[qkv ? 3 : 0]);
        cl_long2 row_ends = {{ends[0], ends[1]}};
        erg_cl_arg(&args, sizeof row_ends, &row_ends);
    }
    if (matvec) {
        size_t col_groups = (size_t)((M + ERG_CL_MATVEC_COLS - 1) / ERG_CL_MATVEC_COLS);
        int bits = matvec_lane_bits(c->info, K, N, col_groups * (size_t)(B2 * B3));
        erg_cl_arg_int(&args, bits);
        erg_cl_dispatch_3d(d, (size_t)(((N << bits) + ERG_CL_LWS - 1) / ERG_CL_LWS), col_groups,
                           (size_t)(B2 * B3));
    } else {
        erg_cl_dispatch_3d(d, (size_t)((N + ERG_CL_TILE_ROWS - 1) / ERG_CL_TILE_ROWS),
                           (size_t)((M + ERG_CL_TILE_COLS - 1) / ERG_CL_TILE_COLS),
                           (size_t)(B2 * B3));
    }
    return erg_cl_args_end(c, &args, diag);
}
