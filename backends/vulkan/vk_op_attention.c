/*
 * ATTENTION on Vulkan: softmax(scale K.q, causal) . V per head in one
 * dispatch (shaders/vulkan/attention.comp: an online softmax over the KV
 * positions, no score matrix in memory). A workgroup is one subgroup of the
 * device: its threads split the head dims, so q and the output stay in
 * registers and scores are added with subgroupAdd, without barriers. It
 * takes several query rows of one KV head, the heads of a grouped-query
 * group and then consecutive tokens, so that they share every K and V load
 * (the loads are most of its time on a CPU implementation: lavapipe prefill
 * 5x faster at 16 rows than at 1); a GPU decodes with one row per
 * workgroup instead, for parallelism. With positions (src3, binding 4) it
 * rotates q as ROPE would while loading it; factors (src4) are at binding 5.
 */
#include "backends/vulkan/vk_ops.h"

#include "shaders/vulkan/push.h"

#include <math.h>
#include <stdio.h>

#define MAX_HEAD_DIM 256 /* q, K and the output of a row live in registers */
#define CPU_MAX_ROWS 16u /* past 16, lavapipe spills the registers */
#define GPU_MAX_ROWS 8u
#define MAX_WG 64u

static uint32_t u32(int64_t v) { return (uint32_t)v; }

static bool supports(const erg_vk_caps *caps, const erg_graph *g, const erg_node *n,
                     erg_diag *why) {
    const erg_tensor *q = &g->tensors[n->src[0]], *v = &g->tensors[n->src[2]];
    int64_t d = q->ne[0], dv = v->ne[1];
    if (!caps->subgroup_arithmetic) {
        erg_fail(why, ERG_UNSUPPORTED, "Vulkan attention needs subgroup arithmetic");
        return false;
    }
    if (d % 4 != 0 || dv % 4 != 0 || d > MAX_HEAD_DIM || dv > MAX_HEAD_DIM) {
        erg_fail(why, ERG_UNSUPPORTED,
                 "Vulkan attention takes head dims that are multiples of 4 up to %d "
                 "(K %lld, V %lld)",
                 MAX_HEAD_DIM, (long long)d, (long long)dv);
        return false;
    }
    if (n->iparams[ERG_ATTENTION_I_CAUSAL] && n->iparams[ERG_ATTENTION_I_N_PAST] < 0) {
        erg_fail(why, ERG_UNSUPPORTED, "Vulkan attention needs n_past >= 0");
        return false;
    }
    return true;
}

/* Rows per workgroup: a power of two, no more than needed. */
static uint32_t rows_per_group(const erg_vk_caps *caps, uint32_t rows, uint32_t nt) {
    uint32_t max = caps->cpu_device ? CPU_MAX_ROWS : nt > 1 ? GPU_MAX_ROWS : 1;
    uint32_t br = 1;
    while (br < max && br < rows)
        br *= 2;
    return br;
}

static void lower(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    const erg_graph *g = in->g;
    const erg_node *n = in->n;
    const erg_vk_caps *caps = in->caps;
    const erg_tensor *q = &g->tensors[n->src[0]], *k = &g->tensors[n->src[1]],
                     *v = &g->tensors[n->src[2]], *y = &g->tensors[n->dst];
    struct erg_vk_push_attention p = {
        .off_q = in->off[0], .off_k = in->off[1], .off_v = in->off[2], .off_d = in->off[3],
        .D = u32(q->ne[0]), .Dv = u32(v->ne[1]), .nt = u32(q->ne[1]), .H = u32(q->ne[2]),
        .n_kv = u32(k->ne[1]), .group = u32(q->ne[2] / k->ne[2]),
        .nb_q1 = u32(q->nb[1]), .nb_q2 = u32(q->nb[2]), .nb_k1 = u32(k->nb[1]),
        .nb_k2 = u32(k->nb[2]), .nb_v1 = u32(v->nb[1]), .nb_v2 = u32(v->nb[2]),
        .nb_d1 = u32(y->nb[1]), .nb_d2 = u32(y->nb[2]),
        .causal = n->iparams[ERG_ATTENTION_I_CAUSAL] != 0,
        .n_past = u32(n->iparams[ERG_ATTENTION_I_N_PAST]),
        .scale = n->fparams[ERG_ATTENTION_F_SCALE]};
    bool rope = n->n_src > 3;
    if (rope) { /* as lower_rope does */
        double step = pow((double)n->fparams[ERG_ATTENTION_F_ROPE_FREQ_BASE],
                          -2.0 / n->iparams[ERG_ATTENTION_I_ROPE_N_DIMS]);
        p.off_p = in->off[4];
        p.off_f = in->off[5];
        p.n_dims = u32(n->iparams[ERG_ATTENTION_I_ROPE_N_DIMS]);
        p.mode = u32(n->iparams[ERG_ATTENTION_I_ROPE_MODE]);
        p.has_factors = n->n_src > 4;
        p.step_hi = (float)step;
        p.step_lo = (float)(step - p.step_hi);
        p.freq_scale = n->fparams[ERG_ATTENTION_F_ROPE_FREQ_SCALE];
    }
    uint32_t rows = p.group * p.nt, br = rows_per_group(caps, rows, p.nt);
    uint32_t wg = caps->subgroup_size < MAX_WG ? caps->subgroup_size : MAX_WG;
    snprintf(d->shader, sizeof d->shader, rope && caps->float64 ? "attention_f64" : "attention");
    d->spec[0] = wg;
    d->spec[1] = br;
    d->spec[2] = (p.D / 4 + wg - 1) / wg;
    d->spec[3] = (p.Dv / 4 + wg - 1) / wg;
    d->spec[4] = (k->dtype == ERG_DT_F16 ? 1u : 0u) | (v->dtype == ERG_DT_F16 ? 2u : 0u);
    d->n_spec = 5;
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid(u32(k->ne[2]) * ((rows + br - 1) / br), d->groups);
}

const erg_vk_op erg_vk_op_attention = {supports, lower};
