/* The op table, and the lowering of the ops that need no weights:
 * elementwise (unary, binary, CPY, FILL), RMS_NORM(_MUL), SOFTMAX and
 * ROPE(_STORE). */
#include "backends/vulkan/vk_ops.h"

#include "shaders/vulkan/push.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ELEMENTWISE_WG 256u
#define ROPE_WG 128u
#define ROW_WG 128u

/* Specialisation constants of unary.comp and binary.comp. */
enum {
    UNARY_SCALE, UNARY_SILU, UNARY_GELU, UNARY_CPY_F32, UNARY_CPY_F16, UNARY_CPY_BF16, UNARY_FILL
};
enum { BINARY_ADD, BINARY_MUL, BINARY_SWIGLU };
/* A result type as rope.comp's DT constant (common.glsl's DT_*). */
enum { DT_F32, DT_F16, DT_BF16 };

void erg_vk_grid(uint32_t n, uint32_t groups[3]) {
    if (n == 0)
        n = 1;
    groups[0] = n < ERG_VK_MAX_GROUPS_X ? n : ERG_VK_MAX_GROUPS_X;
    groups[1] = (n + groups[0] - 1) / groups[0];
    groups[2] = 1;
}

void erg_vk_set_push(erg_vk_dispatch *d, const void *push, size_t size) {
    memcpy(d->push, push, size);
    d->push_size = (uint32_t)((size + 3) / 4 * 4);
}

static void set_shader(erg_vk_dispatch *d, const char *name, uint32_t spec0) {
    snprintf(d->shader, sizeof d->shader, "%s", name);
    d->spec[0] = spec0;
    d->n_spec = 1;
}

static uint32_t u32(int64_t v) { return (uint32_t)v; }

static uint32_t n_elements(const erg_tensor *t) { return u32(erg_tensor_nelements(t)); }

static uint32_t n_rows(const erg_tensor *t) { return u32(erg_tensor_nrows(t)); }

/* The unary push block of src0 -> dst. */
static struct erg_vk_push_unary unary_push(const erg_vk_lower_in *in) {
    const erg_tensor *a = &in->g->tensors[in->n->src[0]], *d = &in->g->tensors[in->n->dst];
    struct erg_vk_push_unary p = {
        .off_a = in->off[0], .off_d = in->off[3],
        .ne0 = u32(a->ne[0]), .ne1 = u32(a->ne[1]), .ne2 = u32(a->ne[2]), .ne3 = u32(a->ne[3]),
        .nb_a0 = u32(a->nb[0]), .nb_a1 = u32(a->nb[1]), .nb_a2 = u32(a->nb[2]),
        .nb_a3 = u32(a->nb[3]),
        .nb_d0 = u32(d->nb[0]), .nb_d1 = u32(d->nb[1]), .nb_d2 = u32(d->nb[2]),
        .nb_d3 = u32(d->nb[3])};
    return p;
}

static void lower_unary(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    struct erg_vk_push_unary p = unary_push(in);
    uint32_t op = UNARY_SCALE;
    switch (in->n->op) {
    case ERG_OP_SILU: op = UNARY_SILU; break;
    case ERG_OP_GELU: op = UNARY_GELU; break;
    default: p.f0 = in->n->fparams[ERG_SCALE_F_SCALE]; break;
    }
    set_shader(d, "unary", op);
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid((n_elements(&in->g->tensors[in->n->src[0]]) + ELEMENTWISE_WG - 1) / ELEMENTWISE_WG,
                d->groups);
}

static uint32_t dt_constant(erg_dtype dt) {
    return dt == ERG_DT_F16 ? DT_F16 : dt == ERG_DT_BF16 ? DT_BF16 : DT_F32;
}

static void lower_cpy(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    struct erg_vk_push_unary p = unary_push(in);
    set_shader(d, "unary", UNARY_CPY_F32 + dt_constant(in->g->tensors[in->n->dst].dtype));
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid((n_elements(&in->g->tensors[in->n->src[0]]) + ELEMENTWISE_WG - 1) / ELEMENTWISE_WG,
                d->groups);
}

/* FILL: unary.comp writing f0 through the result's strides (a shader, not
 * vkCmdFillBuffer, so it is ordered by the same compute barriers). */
static void lower_fill(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    struct erg_vk_push_unary p = unary_push(in);
    p.f0 = in->n->fparams[ERG_FILL_F_VALUE];
    set_shader(d, "unary", UNARY_FILL);
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid((n_elements(&in->g->tensors[in->n->dst]) + ELEMENTWISE_WG - 1) / ELEMENTWISE_WG,
                d->groups);
}

static void lower_binary(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    const erg_graph *g = in->g;
    const erg_tensor *a = &g->tensors[in->n->src[0]], *b = &g->tensors[in->n->src[1]],
                     *y = &g->tensors[in->n->dst];
    struct erg_vk_push_binary p = {
        .off_a = in->off[0], .off_b = in->off[1], .off_d = in->off[3],
        .ne0 = u32(a->ne[0]), .ne1 = u32(a->ne[1]), .ne2 = u32(a->ne[2]), .ne3 = u32(a->ne[3]),
        .nb_a1 = u32(a->nb[1]), .nb_a2 = u32(a->nb[2]), .nb_a3 = u32(a->nb[3]),
        .ne_b0 = u32(b->ne[0]), .ne_b1 = u32(b->ne[1]), .ne_b2 = u32(b->ne[2]),
        .ne_b3 = u32(b->ne[3]),
        .nb_b1 = u32(b->nb[1]), .nb_b2 = u32(b->nb[2]), .nb_b3 = u32(b->nb[3]),
        .nb_d1 = u32(y->nb[1]), .nb_d2 = u32(y->nb[2]), .nb_d3 = u32(y->nb[3])};
    set_shader(d, "binary", in->n->op == ERG_OP_ADD   ? BINARY_ADD
                            : in->n->op == ERG_OP_MUL ? BINARY_MUL
                                                      : BINARY_SWIGLU);
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid((n_elements(a) + ELEMENTWISE_WG - 1) / ELEMENTWISE_WG, d->groups);
}

/* RMS_NORM and RMS_NORM_MUL: rms_norm.comp, its MUL constant set for the
 * fused multiply by src1 (RMS_NORM broadcasts nothing: ne_b = 1). */
static void lower_rms_norm(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    const erg_graph *g = in->g;
    const erg_node *n = in->n;
    const erg_tensor *a = &g->tensors[n->src[0]], *y = &g->tensors[n->dst];
    bool mul = n->op == ERG_OP_RMS_NORM_MUL;
    const erg_tensor *b = mul ? &g->tensors[n->src[1]] : NULL;
    struct erg_vk_push_norm p = {
        .off_a = in->off[0], .off_b = in->off[1], .off_d = in->off[3],
        .ne0 = u32(a->ne[0]), .ne1 = u32(a->ne[1]), .ne2 = u32(a->ne[2]), .ne3 = u32(a->ne[3]),
        .nb_a1 = u32(a->nb[1]), .nb_a2 = u32(a->nb[2]), .nb_a3 = u32(a->nb[3]),
        .ne_b0 = 1, .ne_b1 = 1, .ne_b2 = 1, .ne_b3 = 1,
        .nb_d1 = u32(y->nb[1]), .nb_d2 = u32(y->nb[2]), .nb_d3 = u32(y->nb[3]),
        .eps = n->fparams[ERG_RMS_NORM_F_EPS]};
    if (b) {
        p.ne_b0 = u32(b->ne[0]);
        p.ne_b1 = u32(b->ne[1]);
        p.ne_b2 = u32(b->ne[2]);
        p.ne_b3 = u32(b->ne[3]);
        p.nb_b1 = u32(b->nb[1]);
        p.nb_b2 = u32(b->nb[2]);
        p.nb_b3 = u32(b->nb[3]);
    }
    set_shader(d, "rms_norm", ROW_WG);
    d->spec[1] = mul;
    d->n_spec = 2;
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid(n_rows(a), d->groups);
}

static void lower_softmax(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    struct erg_vk_push_unary p = unary_push(in);
    p.f0 = in->n->fparams[ERG_SOFTMAX_F_SCALE];
    p.i0 = in->n->iparams[ERG_SOFTMAX_I_CAUSAL] != 0;
    p.i1 = u32(in->n->iparams[ERG_SOFTMAX_I_N_PAST]);
    set_shader(d, "softmax", ROW_WG);
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid(n_rows(&in->g->tensors[in->n->src[0]]), d->groups);
}

/* ROPE, and ROPE_STORE writing its result converted into the destination
 * view (the result's binding), its factors at binding 2. */
static void lower_rope(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    const erg_node *n = in->n;
    const erg_tensor *a = &in->g->tensors[n->src[0]], *y = &in->g->tensors[n->dst];
    bool store = n->op == ERG_OP_ROPE_STORE;
    uint32_t n_dims = u32(n->iparams[ERG_ROPE_I_N_DIMS]);
    double step = pow((double)n->fparams[ERG_ROPE_F_FREQ_BASE], -2.0 / n_dims);
    float hi = (float)step;
    struct erg_vk_push_rope p = {
        .off_a = in->off[0], .off_p = in->off[1], .off_f = in->off[2], .off_d = in->off[3],
        .ne0 = u32(a->ne[0]), .ne1 = u32(a->ne[1]), .ne2 = u32(a->ne[2]), .ne3 = u32(a->ne[3]),
        .nb_a1 = u32(a->nb[1]), .nb_a2 = u32(a->nb[2]), .nb_a3 = u32(a->nb[3]),
        .nb_d1 = u32(y->nb[1]), .nb_d2 = u32(y->nb[2]), .nb_d3 = u32(y->nb[3]),
        .n_dims = n_dims, .mode = u32(n->iparams[ERG_ROPE_I_MODE]),
        .has_factors = n->n_src > (store ? 3 : 2),
        .step_hi = hi, .step_lo = (float)(step - hi),
        .freq_scale = n->fparams[ERG_ROPE_F_FREQ_SCALE]};
    set_shader(d, in->caps->float64 ? "rope_f64" : "rope", dt_constant(y->dtype));
    erg_vk_set_push(d, &p, sizeof p);
    uint32_t per_row = n_dims / 2 + (p.ne0 - n_dims);
    erg_vk_grid((per_row * n_rows(a) + ROPE_WG - 1) / ROPE_WG, d->groups);
}

/* Every element index must fit the shaders' 32-bit arithmetic. */
static bool small_enough(const erg_vk_caps *caps, const erg_graph *g, const erg_node *n,
                         erg_diag *why) {
    (void)caps;
    if (erg_tensor_nelements(&g->tensors[n->dst]) < (1ll << 31))
        return true;
    erg_fail(why, ERG_UNSUPPORTED, "%s of %lld elements is above the 2^31 a Vulkan kernel indexes",
             erg_op_name(n->op), (long long)erg_tensor_nelements(&g->tensors[n->dst]));
    return false;
}

const erg_vk_op erg_vk_op_unary = {small_enough, lower_unary};
const erg_vk_op erg_vk_op_binary = {small_enough, lower_binary};
const erg_vk_op erg_vk_op_cpy = {small_enough, lower_cpy};
const erg_vk_op erg_vk_op_rms_norm = {small_enough, lower_rms_norm};
const erg_vk_op erg_vk_op_softmax = {small_enough, lower_softmax};
const erg_vk_op erg_vk_op_rope = {small_enough, lower_rope};
const erg_vk_op erg_vk_op_fill = {small_enough, lower_fill};

void erg_vk_bound_tensors(const erg_node *n, int32_t ids[ERG_VK_BINDINGS]) {
    for (int b = 0; b < 3; b++)
        ids[b] = b < n->n_src ? n->src[b] : -1;
    ids[3] = n->dst;
    ids[4] = n->n_src > 3 ? n->src[3] : -1;
    ids[5] = n->n_src > 4 ? n->src[4] : -1;
    if (n->op == ERG_OP_ROPE_STORE) {
        ids[2] = ids[4];
        ids[4] = -1;
    }
    if (n->op == ERG_OP_FILL)
        ids[0] = -1;
}

const erg_vk_op *erg_vk_op_for(erg_op op) {
    switch (op) {
    case ERG_OP_GET_ROWS: return &erg_vk_op_get_rows;
    case ERG_OP_MATMUL:
    case ERG_OP_MATMUL_ADD:
    case ERG_OP_MATMUL_SWIGLU:
    case ERG_OP_MATMUL_QKV: return &erg_vk_op_matmul;
    case ERG_OP_ATTENTION: return &erg_vk_op_attention;
    case ERG_OP_ADD:
    case ERG_OP_MUL:
    case ERG_OP_SWIGLU: return &erg_vk_op_binary;
    case ERG_OP_SCALE:
    case ERG_OP_SILU:
    case ERG_OP_GELU: return &erg_vk_op_unary;
    case ERG_OP_RMS_NORM:
    case ERG_OP_RMS_NORM_MUL: return &erg_vk_op_rms_norm;
    case ERG_OP_SOFTMAX: return &erg_vk_op_softmax;
    case ERG_OP_ROPE:
    case ERG_OP_ROPE_STORE: return &erg_vk_op_rope;
    case ERG_OP_CPY: return &erg_vk_op_cpy;
    case ERG_OP_FILL: return &erg_vk_op_fill;
    default: return NULL;
    }
}
