/* GET_ROWS on Vulkan: dst[:, i] = row src1[i] of the weight table src0,
 * dequantised to F32 (get_rows.comp, variant get_rows_<type>). One
 * workgroup per row; an id outside the table gives a row of zeros, as on
 * the CPU. */
#include "backends/vulkan/vk_ops.h"

#include "shaders/vulkan/push.h"

#include <stdio.h>

#define GET_ROWS_WG 64u

static uint32_t u32(int64_t v) { return (uint32_t)v; }

static bool supports(const erg_vk_caps *caps, const erg_graph *g, const erg_node *n,
                     erg_diag *why) {
    (void)caps;
    return erg_vk_supports_weight(g, n, "get_rows", why);
}

static void lower(const erg_vk_lower_in *in, erg_vk_dispatch *d) {
    const erg_graph *g = in->g;
    const erg_tensor *w = &g->tensors[in->n->src[0]], *ids = &g->tensors[in->n->src[1]],
                     *y = &g->tensors[in->n->dst];
    struct erg_vk_push_get_rows p = {
        .off_w = in->off[0], .off_i = in->off[1], .off_d = in->off[3],
        .ne0 = u32(w->ne[0]), .n_rows = u32(ids->ne[0]),
        .nb_w1 = u32(w->nb[1]), .nb_d1 = u32(y->nb[1]), .w_rows = u32(w->ne[1])};
    snprintf(d->shader, sizeof d->shader, "get_rows_%s", erg_vk_weight_variant(w->dtype));
    d->spec[0] = GET_ROWS_WG;
    d->n_spec = 1;
    erg_vk_set_push(d, &p, sizeof p);
    erg_vk_grid(p.n_rows, d->groups);
}

const erg_vk_op erg_vk_op_get_rows = {supports, lower};
