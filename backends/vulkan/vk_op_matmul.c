/*
 * MATMUL on Vulkan: dst[n, m] = sum_k W[k, n] * X[k, m] per batch of X, W
 * broadcast over batches (grouped-query attention) and read through its
 * strides (a KV-cache view), in F32 whatever W's type. The fused
 * MATMUL_ADD (+ an F32 addend, broadcast) and MATMUL_SWIGLU (silu(W_gate X)
 * * (W_up X), both weights streamed against one read of X) are epilogues of
 * the same kernels (shaders/vulkan/matmul_epilogue.glsl): the addend is a
 * push-constant flag, so MATMUL_ADD shares MATMUL's pipelines; SWIGLU, which
 * changes the loop, is a specialisation constant. MATMUL_QKV (Wq, Wk and Wv
 * at bindings 0, 2 and 4) is matmul_vec's other variant of that constant: its
 * workgroups take row groups of one weight each and store each product
 * contiguous after the previous one; it runs matmul_vec at every width
 * (there is no tiled variant: prefill on a discrete GPU reads each
 * dequantised weight once per COLS columns rather than per tile).
 *
 * Shader variants, for each weight type T of erg_vk_weight_variant
 * (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k; WTYPE_<T upper-case>):
 *   matmul_vec_T       matmul_vec.comp    WTYPE_T
 *   matmul_vec_sg_T    matmul_vec.comp    WTYPE_T USE_SUBGROUPS
 *   matmul_tiled_T     matmul_tiled.comp  WTYPE_T
 *   get_rows_T         get_rows.comp      WTYPE_T   (lowered in vk_op_get_rows.c)
 *
 * Products of at most GPU_VEC_COLS columns per batch (decode) run
 * matmul_vec, a workgroup of 32-128 threads streaming GPU_VEC_ROWS weight
 * rows once for all the columns; wider ones run the tiled kernel, which
 * reuses each dequantised weight TILE_M times. On a CPU implementation
 * (lavapipe) a workgroup is one subgroup (its SIMD width) streaming
 * CPU_VEC_ROWS rows: barriers and many small groups cost more there than
 * they hide (decode of a small Q4_0 model: 11 -> 22 tokens/s on lavapipe).
 */
#include "backends/vulkan/vk_ops.h"

#include "shaders/vulkan/push.h"

#include <stdio.h>

#define GPU_VEC_COLS 4u
#define GPU_VEC_ROWS 2u
#define CPU_VEC_ROWS 8u
#define TILE_N 64u /* TN and TM of matmul_tiled.comp */
#define TILE_M 64u

static uint32_t u32(int64_t v) { return (uint32_t)v; }

static uint32_t ceil_div(uint32_t a, uint32_t b) { return (a + b - 1) / b; }

/* Elements of one matmul_vec unit (dequant.glsl): a legacy block, half a
 * K-quant super-block, 4 elements of a plain type. */
static uint32_t unit_elements(erg_dtype dt) {
    uint32_t block = erg_dtype_get((int)dt)->block_size;
    return block == 1 ? 4 : block == 32 ? 32 : block / 2;
}

/* A GPU's matmul_vec workgroup: a power of two from a subgroup (at least 32)
 * to 128, about half the units of a row so that each thread takes two. */
static uint32_t gpu_workgroup(const erg_vk_caps *caps, uint32_t units) {
    uint32_t wg = caps->subgroup_size > 32 ? caps->subgroup_size : 32;
    while (wg < 128 && wg * 4 <= units)
        wg *= 2;
    return wg;
}

static bool supports(const erg_vk_caps *caps, const erg_graph *g, const erg_node *n,
                     erg_diag *why) {
    (void)caps;
    return erg_vk_supports_weight(g, n, "matmul", why);
}

/* The epilogue's source (binding 2) in the push block: the addend with its
 * shape, or the up weights' strides. */
static void set_epilogue(const erg_vk_lower_in *in, struct erg_vk_push_matmul *p) {
    const erg_node *n = in->n;
    if (n->op == ERG_OP_MATMUL)
        return;
    if (n->op == ERG_OP_MATMUL_QKV) { /* the K and V weights' places and first rows */
        const erg_tensor *wq = &in->g->tensors[n->src[0]], *wk = &in->g->tensors[n->src[2]];
        p->off_c = in->off[2];
        p->off_v = in->off[4];
        p->n_k0 = u32(wq->ne[1]);
        p->n_v0 = u32(wq->ne[1] + wk->ne[1]);
        p->N = p->n_v0 + u32(in->g->tensors[n->src[3]].ne[1]);
        return;
    }
    const erg_tensor *c = &in->g->tensors[n->src[2]];
    p->add = n->op == ERG_OP_MATMUL_ADD;
    p->off_c = in->off[2];
    p->ne_c0 = u32(c->ne[0]);
    p->ne_c1 = u32(c->ne[1]);
    p->ne_c2 = u32(c->ne[2]);
    p->ne_c3 = u32(c->ne[3]);
    p->nb_c1 = u32(c->nb[1]);
    p->nb_c2 = u32(c->nb[2]);
    p->nb_c3 = u32(c->nb[3]);
}

static void lower(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    const erg_graph *g = in->g;
    const erg_vk_caps *caps = in->caps;
    const erg_tensor *w = &g->tensors[in->n->src[0]], *x = &g->tensors[in->n->src[1]],
                     *y = &g->tensors[in->n->dst];
    struct erg_vk_push_matmul p = {
        .off_w = in->off[0], .off_x = in->off[1], .off_d = in->off[3],
        .K = u32(w->ne[0]), .N = u32(w->ne[1]), .M = u32(x->ne[1]),
        .w_ne2 = u32(w->ne[2]), .w_ne3 = u32(w->ne[3]),
        .nb_w1 = u32(w->nb[1]), .nb_w2 = u32(w->nb[2]), .nb_w3 = u32(w->nb[3]),
        .x_ne2 = u32(x->ne[2]), .x_ne3 = u32(x->ne[3]),
        .nb_x1 = u32(x->nb[1]), .nb_x2 = u32(x->nb[2]), .nb_x3 = u32(x->nb[3]),
        .nb_d1 = u32(y->nb[1]), .nb_d2 = u32(y->nb[2]), .nb_d3 = u32(y->nb[3])};
    set_epilogue(in, &p);
    bool swiglu = in->n->op == ERG_OP_MATMUL_SWIGLU, qkv = in->n->op == ERG_OP_MATMUL_QKV;
    const char *wt = erg_vk_weight_variant(w->dtype);
    uint32_t batches = p.x_ne2 * p.x_ne3;
    erg_vk_set_push(d, &p, sizeof p);
    bool cpu = caps->cpu_device && caps->subgroup_size >= 4 && caps->subgroup_size <= 64;
    if (p.M <= GPU_VEC_COLS || cpu || qkv) {
        snprintf(d->shader, sizeof d->shader, "matmul_vec%s_%s",
                 caps->subgroup_arithmetic ? "_sg" : "", wt);
        /* MATMUL_SWIGLU streams each row of both weights: half the rows
         * keep the loads and registers of a thread as they were. */
        uint32_t rows = (cpu ? CPU_VEC_ROWS : GPU_VEC_ROWS) / (swiglu ? 2 : 1);
        d->spec[0] = cpu ? caps->subgroup_size : gpu_workgroup(caps, p.K / unit_elements(w->dtype));
        d->spec[1] = rows;
        d->spec[2] = p.M < GPU_VEC_COLS ? p.M : GPU_VEC_COLS;
        d->spec[3] = d->spec[0];
        d->spec[4] = swiglu ? 1 : qkv ? 2 : 0; /* FUSED */
        d->n_spec = 5;
        /* QKV: each weight's rows in whole groups (matmul_vec.comp) */
        uint32_t row_groups = qkv ? ceil_div(p.n_k0, rows) + ceil_div(p.n_v0 - p.n_k0, rows) +
                                        ceil_div(p.N - p.n_v0, rows)
                                  : ceil_div(p.N, rows);
        erg_vk_grid(row_groups * ceil_div(p.M, d->spec[2]) * batches, d->groups);
    } else {
        snprintf(d->shader, sizeof d->shader, "matmul_tiled_%s", wt);
        d->spec[0] = swiglu;
        d->n_spec = 1;
        erg_vk_grid(ceil_div(p.N, TILE_N) * ceil_div(p.M, TILE_M) * batches, d->groups);
    }
}

const erg_vk_op erg_vk_op_matmul = {supports, lower};
