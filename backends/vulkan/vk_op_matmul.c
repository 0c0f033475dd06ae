/*
 * MATMUL on Vulkan: dst[n, m] = sum_k W[k, n] * X[k, m] per batch of X, W
 * broadcast over batches (grouped-query attention) and read through its
 * strides (a KV-cache view), in F32 whatever W's type.
 *
 * Shader variants, for each weight type T of erg_vk_weight_variant
 * (f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k; WTYPE_<T upper-case>):
 *   matmul_vec_T       matmul_vec.comp    WTYPE_T
 *   matmul_vec_sg_T    matmul_vec.comp    WTYPE_T USE_SUBGROUPS
 *   matmul_vec_cpu_T   matmul_vec.comp    WTYPE_T USE_SUBGROUPS USE_LOAD64 ROW_LOOP
 *   matmul_tiled_T     matmul_tiled.comp  WTYPE_T
 *   get_rows_T         get_rows.comp      WTYPE_T   (lowered in vk_op_get_rows.c)
 *
 * Two shapes, by device:
 *  - GPUs: products of at most GPU_VEC_COLS columns per batch (decode) run
 *    matmul_vec, a workgroup of 32-128 threads streaming GPU_VEC_ROWS weight
 *    rows once for all the columns; wider ones run the tiled kernel, which
 *    reuses each dequantised weight TILE_M times.
 *  - CPU-like devices (erg_vk_cpu_like) run every product on matmul_vec with
 *    one subgroup per workgroup: no barrier, no shared memory, and a register
 *    tile of up to CPU_VEC_ROWS rows x CPU_VEC_COLS columns, since there each
 *    word an invocation loads costs far more than the arithmetic on it; with
 *    64-bit loads (USE_LOAD64, through a double view) where the device has
 *    float64.
 */
#include "backends/vulkan/vk_ops.h"

#include "shaders/vulkan/push.h"

#include <stdio.h>

#define GPU_VEC_COLS 4u
#define GPU_VEC_ROWS 2u
#define CPU_VEC_COLS 8u
#define CPU_VEC_ROWS 32u
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

/* A CPU implementation of Vulkan (lavapipe, SwiftShader): small fixed
 * subgroups on unified memory. */
static bool cpu_like(const erg_vk_caps *caps) {
    return caps->subgroup_arithmetic && caps->subgroup_size <= 16 && caps->uma;
}

/* A GPU's matmul_vec workgroup: a power of two from a subgroup (at least 32)
 * to 128, about half the units of a row so that each thread takes two. */
static uint32_t gpu_workgroup(const erg_vk_caps *caps, uint32_t units) {
    uint32_t wg = caps->subgroup_size > 32 ? caps->subgroup_size : 32;
    while (wg < 128 && wg * 4 <= units)
        wg *= 2;
    return wg;
}

/* Rows per set of threads on a CPU-like device: as many as keep at least
 * 16 workgroups to share among the cores, from 8 to CPU_VEC_ROWS, and no
 * more than the sets need to cover N. */
static uint32_t cpu_rows(uint32_t N, uint32_t sets, uint32_t col_groups) {
    uint32_t rows = CPU_VEC_ROWS;
    while (rows > 8 && ceil_div(N, rows * sets) * col_groups < 16)
        rows /= 2;
    while (rows > 1 && rows / 2 * sets >= N)
        rows /= 2;
    return rows;
}

static bool supports(const erg_vk_caps *caps, const erg_graph *g, const erg_node *n,
                     erg_diag *why) {
    (void)caps;
    erg_dtype dt = g->tensors[n->src[0]].dtype;
    if (erg_vk_weight_variant(dt))
        return true;
    erg_fail(why, ERG_UNSUPPORTED, "no Vulkan matmul kernel for %s weights", erg_dtype_name(dt));
    return false;
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
    const char *wt = erg_vk_weight_variant(w->dtype);
    uint32_t batches = p.x_ne2 * p.x_ne3;
    erg_vk_set_push(d, &p, sizeof p);
    /* The CPU shape reads the activations with 64-bit loads: 8-byte aligned. */
    if (cpu_like(caps) && caps->float64 && ((p.off_x | p.nb_x1 | p.nb_x2 | p.nb_x3) & 7) == 0) {
        uint32_t cols = p.M < CPU_VEC_COLS ? p.M : CPU_VEC_COLS;
        /* Sets of fewer threads where a row has fewer units than a subgroup. */
        uint32_t units = p.K / unit_elements(w->dtype), lanes = caps->subgroup_size;
        while (lanes > 1 && lanes > units)
            lanes /= 2;
        uint32_t sets = caps->subgroup_size / lanes, col_groups = ceil_div(p.M, cols) * batches;
        uint32_t rows = cpu_rows(p.N, sets, col_groups);
        snprintf(d->shader, sizeof d->shader, "matmul_vec_sg64_%s", wt);
        d->spec[0] = caps->subgroup_size;
        d->spec[1] = rows;
        d->spec[2] = cols;
        d->spec[3] = lanes;
        d->n_spec = 4;
        erg_vk_grid(ceil_div(p.N, rows * sets) * col_groups, d->groups);
    } else if (p.M <= GPU_VEC_COLS) {
        snprintf(d->shader, sizeof d->shader, "matmul_vec%s_%s",
                 caps->subgroup_arithmetic ? "_sg" : "", wt);
        d->spec[0] = gpu_workgroup(caps, p.K / unit_elements(w->dtype));
        d->spec[1] = GPU_VEC_ROWS;
        d->spec[2] = p.M;
        d->spec[3] = d->spec[0];
        d->n_spec = 4;
        erg_vk_grid(ceil_div(p.N, GPU_VEC_ROWS) * batches, d->groups);
    } else {
        snprintf(d->shader, sizeof d->shader, "matmul_tiled_%s", wt);
        d->n_spec = 0;
        erg_vk_grid(ceil_div(p.N, TILE_N) * ceil_div(p.M, TILE_M) * batches, d->groups);
    }
}

const erg_vk_op erg_vk_op_matmul = {supports, lower};
