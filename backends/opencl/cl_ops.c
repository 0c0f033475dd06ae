/* The ops other than the matmuls, and the helpers every op's set-up uses. */
#include "backends/opencl/cl_ops.h"

#include <math.h>

/* Work-groups one row of an elementwise op or a copy spreads over at most
 * (each work-item then takes every 16 * LWS-th element). */
#define MAX_ROW_GROUPS 16

void erg_cl_arg(erg_cl_args *a, size_t size, const void *value) {
    if (a->err == CL_SUCCESS)
        a->err = a->cl->clSetKernelArg(a->kernel, a->next, size, value);
    a->next++;
}

void erg_cl_arg_tensor(erg_cl_args *a, const erg_cl_binding *b) {
    erg_cl_arg(a, sizeof b->mem, &b->mem);
    erg_cl_arg(a, sizeof b->offset, &b->offset);
}

void erg_cl_arg_long4(erg_cl_args *a, int64_t x, int64_t y, int64_t z, int64_t w) {
    cl_long4 v = {{x, y, z, w}};
    erg_cl_arg(a, sizeof v, &v);
}

void erg_cl_arg_ne(erg_cl_args *a, const int64_t ne[4]) {
    erg_cl_arg_long4(a, ne[0], ne[1], ne[2], ne[3]);
}

void erg_cl_arg_nb(erg_cl_args *a, const size_t nb[4]) {
    erg_cl_arg_long4(a, (int64_t)nb[0], (int64_t)nb[1], (int64_t)nb[2], (int64_t)nb[3]);
}

void erg_cl_arg_long(erg_cl_args *a, int64_t v) {
    cl_long x = v;
    erg_cl_arg(a, sizeof x, &x);
}

void erg_cl_arg_int(erg_cl_args *a, int v) {
    cl_int x = v;
    erg_cl_arg(a, sizeof x, &x);
}

void erg_cl_arg_float(erg_cl_args *a, float v) {
    cl_float x = v;
    erg_cl_arg(a, sizeof x, &x);
}

erg_status erg_cl_args_begin(const erg_cl_op_ctx *c, erg_cl_kernel k, erg_cl_args *a,
                             erg_cl_dispatch *d, erg_diag *diag) {
    ERG_RETURN_IF_ERROR(erg_cl_exec_kernel(c->exec, k, &d->kernel, diag));
    *a = (erg_cl_args){c->cl, d->kernel, 0, CL_SUCCESS};
    return ERG_OK;
}

erg_status erg_cl_args_end(const erg_cl_op_ctx *c, const erg_cl_args *a, erg_diag *diag) {
    if (a->err == CL_SUCCESS)
        return ERG_OK;
    return erg_cl_fail(diag, a->err, "node %zu (%s -> '%s'): clSetKernelArg (argument %u)",
                       c->node_index, erg_op_name(c->node->op), c->g->tensors[c->node->dst].name,
                       a->next - 1);
}

void erg_cl_dispatch_1d(erg_cl_dispatch *d, size_t groups) {
    erg_cl_dispatch_3d(d, groups, 1, 1);
    d->dims = 1;
}

void erg_cl_dispatch_2d(erg_cl_dispatch *d, size_t groups0, size_t rows) {
    erg_cl_dispatch_3d(d, groups0, rows, 1);
    d->dims = 2;
}

void erg_cl_dispatch_3d(erg_cl_dispatch *d, size_t groups0, size_t n1, size_t n2) {
    d->dims = 3;
    d->global[0] = n1 && n2 ? groups0 * ERG_CL_LWS : 0;
    d->global[1] = n1;
    d->global[2] = n2;
    d->local[0] = ERG_CL_LWS;
    d->local[1] = d->local[2] = 1;
}

static const erg_tensor *src_t(const erg_cl_op_ctx *c, int i) {
    return &c->g->tensors[c->node->src[i]];
}

static const erg_tensor *dst_t(const erg_cl_op_ctx *c) { return &c->g->tensors[c->node->dst]; }

static size_t row_groups(int64_t ne0) {
    size_t g = (size_t)(ne0 + ERG_CL_LWS - 1) / ERG_CL_LWS;
    return g < 1 ? 1 : g > MAX_ROW_GROUPS ? MAX_ROW_GROUPS : g;
}

/* Codes of k_elementwise (EW_* in elementwise.cl). */
static int elementwise_code(erg_op op) {
    switch (op) {
    case ERG_OP_ADD: return 0;
    case ERG_OP_MUL: return 1;
    case ERG_OP_SWIGLU: return 2;
    case ERG_OP_SCALE: return 3;
    case ERG_OP_SILU: return 4;
    case ERG_OP_FILL: return 6;
    default: return 5; /* GELU */
    }
}

static erg_status setup_elementwise(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_node *n = c->node;
    const erg_tensor *a = src_t(c, 0), *y = dst_t(c);
    bool binary = n->op == ERG_OP_ADD || n->op == ERG_OP_MUL || n->op == ERG_OP_SWIGLU;
    /* a unary op passes its source again as the (unread) second one */
    const erg_tensor *b = binary ? src_t(c, 1) : a;
    float scale = n->op == ERG_OP_SCALE  ? n->fparams[ERG_SCALE_F_SCALE]
                  : n->op == ERG_OP_FILL ? n->fparams[ERG_FILL_F_VALUE]
                                         : 0.0f;
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, ERG_CL_K_ELEMENTWISE, &args, d, diag));
    erg_cl_arg_int(&args, elementwise_code(n->op));
    erg_cl_arg_float(&args, scale);
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, a->nb);
    erg_cl_arg_tensor(&args, &c->src[binary ? 1 : 0]);
    erg_cl_arg_nb(&args, b->nb);
    erg_cl_arg_ne(&args, b->ne);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_ne(&args, y->ne);
    erg_cl_dispatch_2d(d, row_groups(y->ne[0]), (size_t)erg_tensor_nrows(y));
    return erg_cl_args_end(c, &args, diag);
}

/* RMS_NORM, and RMS_NORM_MUL (times its weight src1). */
static erg_status setup_rms_norm(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    bool mul = c->node->op == ERG_OP_RMS_NORM_MUL;
    /* RMS_NORM passes x again as the (unread) weight */
    const erg_tensor *x = src_t(c, 0), *w = src_t(c, mul ? 1 : 0), *y = dst_t(c);
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, ERG_CL_K_RMS_NORM, &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, x->nb);
    erg_cl_arg_tensor(&args, &c->src[mul ? 1 : 0]);
    erg_cl_arg_nb(&args, w->nb);
    erg_cl_arg_ne(&args, w->ne);
    erg_cl_arg_int(&args, mul);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_ne(&args, y->ne);
    erg_cl_arg_float(&args, c->node->fparams[ERG_RMS_NORM_F_EPS]);
    erg_cl_dispatch_1d(d, (size_t)erg_tensor_nrows(y));
    return erg_cl_args_end(c, &args, diag);
}

static erg_status setup_softmax(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_node *n = c->node;
    const erg_tensor *x = src_t(c, 0), *y = dst_t(c);
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, ERG_CL_K_SOFTMAX, &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, x->nb);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_ne(&args, y->ne);
    erg_cl_arg_float(&args, n->fparams[ERG_SOFTMAX_F_SCALE]);
    erg_cl_arg_int(&args, n->iparams[ERG_SOFTMAX_I_CAUSAL] != 0);
    erg_cl_arg_int(&args, n->iparams[ERG_SOFTMAX_I_N_PAST]);
    erg_cl_dispatch_1d(d, (size_t)erg_tensor_nrows(y));
    return erg_cl_args_end(c, &args, diag);
}

/* ROPE, and ROPE_STORE (into its destination view src2, converting; its
 * factors are src3). */
static erg_status setup_rope(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_node *n = c->node;
    const erg_tensor *x = src_t(c, 0), *pos = src_t(c, 1), *y = dst_t(c);
    int n_dims = n->iparams[ERG_ROPE_I_N_DIMS];
    int factors_src = n->op == ERG_OP_ROPE_STORE ? 3 : 2;
    bool factors = n->n_src > factors_src;
    /* base^(-2/n_dims) in double, handed over as a float-float pair */
    double step = pow((double)n->fparams[ERG_ROPE_F_FREQ_BASE], -2.0 / n_dims);
    cl_float2 theta_scale = {{(float)step, (float)(step - (double)(float)step)}};
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, ERG_CL_K_ROPE, &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, x->nb);
    erg_cl_arg_tensor(&args, &c->src[1]);
    erg_cl_arg_long(&args, (int64_t)pos->nb[0]);
    erg_cl_arg_tensor(&args, &c->src[factors ? factors_src : 0]); /* unread without factors */
    erg_cl_arg_int(&args, factors);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_ne(&args, y->ne);
    erg_cl_arg_int(&args, (int)y->dtype);
    erg_cl_arg_int(&args, n_dims);
    erg_cl_arg_int(&args, n->iparams[ERG_ROPE_I_MODE] == ERG_ROPE_NEOX);
    erg_cl_arg(&args, sizeof theta_scale, &theta_scale);
    erg_cl_arg_float(&args, n->fparams[ERG_ROPE_F_FREQ_SCALE]);
    erg_cl_dispatch_1d(d, (size_t)erg_tensor_nrows(y));
    return erg_cl_args_end(c, &args, diag);
}

static erg_status setup_cpy(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_tensor *x = src_t(c, 0), *y = dst_t(c);
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, ERG_CL_K_CPY, &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, x->nb);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_ne(&args, x->ne);
    erg_cl_arg_int(&args, (int)y->dtype);
    erg_cl_dispatch_2d(d, row_groups(x->ne[0]), (size_t)erg_tensor_nrows(x));
    return erg_cl_args_end(c, &args, diag);
}

static erg_status setup_attention(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_node *n = c->node;
    const erg_tensor *q = src_t(c, 0), *k = src_t(c, 1), *v = src_t(c, 2), *y = dst_t(c);
    int64_t H = q->ne[2], nt = q->ne[1];
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(erg_cl_args_begin(c, ERG_CL_K_ATTENTION, &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_nb(&args, q->nb);
    erg_cl_arg_tensor(&args, &c->src[1]);
    erg_cl_arg_nb(&args, k->nb);
    erg_cl_arg_int(&args, k->dtype == ERG_DT_F16);
    erg_cl_arg_tensor(&args, &c->src[2]);
    erg_cl_arg_nb(&args, v->nb);
    erg_cl_arg_int(&args, v->dtype == ERG_DT_F16);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_nb(&args, y->nb);
    erg_cl_arg_long4(&args, q->ne[0], v->ne[1], k->ne[1], H / k->ne[2]);
    erg_cl_arg_float(&args, n->fparams[ERG_ATTENTION_F_SCALE]);
    erg_cl_arg_int(&args, n->iparams[ERG_ATTENTION_I_CAUSAL] != 0);
    erg_cl_arg_int(&args, n->iparams[ERG_ATTENTION_I_N_PAST]);
    /* The rope of q (unread without it), as setup_rope hands it over. */
    bool rope = n->n_src > 3, factors = n->n_src > 4;
    int n_dims = rope ? n->iparams[ERG_ATTENTION_I_ROPE_N_DIMS] : 0;
    double step = rope ? pow((double)n->fparams[ERG_ATTENTION_F_ROPE_FREQ_BASE], -2.0 / n_dims) : 1;
    cl_float2 theta_scale = {{(float)step, (float)(step - (double)(float)step)}};
    erg_cl_arg_tensor(&args, &c->src[rope ? 3 : 0]);
    erg_cl_arg_tensor(&args, &c->src[factors ? 4 : 0]);
    erg_cl_arg_int(&args, factors);
    erg_cl_arg_int(&args, n_dims);
    erg_cl_arg_int(&args, rope && n->iparams[ERG_ATTENTION_I_ROPE_MODE] == ERG_ROPE_NEOX);
    erg_cl_arg(&args, sizeof theta_scale, &theta_scale);
    erg_cl_arg_float(&args, n->fparams[ERG_ATTENTION_F_ROPE_FREQ_SCALE]);
    erg_cl_dispatch_2d(d, (size_t)H, (size_t)nt);
    return erg_cl_args_end(c, &args, diag);
}

static erg_status setup_get_rows(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    const erg_tensor *w = src_t(c, 0), *ids = src_t(c, 1), *y = dst_t(c);
    int wi = erg_cl_weight_index(w->dtype);
    erg_cl_args args;
    ERG_RETURN_IF_ERROR(
        erg_cl_args_begin(c, (erg_cl_kernel)(ERG_CL_K_GET_ROWS + wi), &args, d, diag));
    erg_cl_arg_tensor(&args, &c->src[0]);
    erg_cl_arg_long(&args, (int64_t)w->nb[1]);
    erg_cl_arg_long(&args, w->ne[1]);
    erg_cl_arg_tensor(&args, &c->src[1]);
    erg_cl_arg_long(&args, (int64_t)ids->nb[0]);
    erg_cl_arg_tensor(&args, &c->dst);
    erg_cl_arg_long(&args, (int64_t)y->nb[1]);
    erg_cl_arg_long(&args, w->ne[0]);
    erg_cl_dispatch_1d(d, (size_t)ids->ne[0]);
    return erg_cl_args_end(c, &args, diag);
}

erg_status erg_cl_op_setup(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag) {
    switch (c->node->op) {
    case ERG_OP_MATMUL:
    case ERG_OP_MATMUL_ADD:
    case ERG_OP_MATMUL_SWIGLU:
    case ERG_OP_MATMUL_QKV: return erg_cl_op_matmul_setup(c, d, diag);
    case ERG_OP_GET_ROWS: return setup_get_rows(c, d, diag);
    case ERG_OP_ADD:
    case ERG_OP_MUL:
    case ERG_OP_SWIGLU:
    case ERG_OP_SCALE:
    case ERG_OP_SILU:
    case ERG_OP_GELU:
    case ERG_OP_FILL: return setup_elementwise(c, d, diag);
    case ERG_OP_RMS_NORM:
    case ERG_OP_RMS_NORM_MUL: return setup_rms_norm(c, d, diag);
    case ERG_OP_SOFTMAX: return setup_softmax(c, d, diag);
    case ERG_OP_ROPE:
    case ERG_OP_ROPE_STORE: return setup_rope(c, d, diag);
    case ERG_OP_CPY: return setup_cpy(c, d, diag);
    case ERG_OP_ATTENTION: return setup_attention(c, d, diag);
    case ERG_OP_RESHAPE:
    case ERG_OP_VIEW:
    case ERG_OP_PERMUTE:
    case ERG_OP_COUNT: break;
    }
    return erg_fail(diag, ERG_INTERNAL, "node %zu: %s has no OpenCL kernel", c->node_index,
                    erg_op_name(c->node->op));
}
