/* The weight types the Vulkan weight kernels (matmul, get_rows) have
 * variants for: one SPIR-V variant of each kernel per type, selected in
 * shaders/vulkan/dequant.glsl by the define WTYPE_<upper-case name>. */
#include "backends/vulkan/vk_ops.h"

const char *erg_vk_weight_variant(erg_dtype dt) {
    switch (dt) {
    case ERG_DT_F32:
    case ERG_DT_F16:
    case ERG_DT_BF16:
    case ERG_DT_Q4_0:
    case ERG_DT_Q4_1:
    case ERG_DT_Q5_0:
    case ERG_DT_Q5_1:
    case ERG_DT_Q8_0:
    case ERG_DT_Q4_K:
    case ERG_DT_Q5_K:
    case ERG_DT_Q6_K: return erg_dtype_name(dt); /* "f32", "q4_0", "q4_k" … */
    default: return NULL;
    }
}

bool erg_vk_supports_weight(const erg_graph *g, const erg_node *n, const char *kernel,
                            erg_diag *why) {
    erg_dtype dt = g->tensors[n->src[0]].dtype;
    if (erg_vk_weight_variant(dt))
        return true;
    erg_fail(why, ERG_UNSUPPORTED, "no Vulkan %s kernel for %s weights", kernel,
             erg_dtype_name(dt));
    return false;
}
