/* vk_weights.h: a model's weights in device memory, uploaded once. */
#ifndef ERG_VK_WEIGHTS_H
#define ERG_VK_WEIGHTS_H

#include "backends/vulkan/vk_device.h"

struct erg_backend_weights {
    erg_backend_device *dev;
    erg_vk_mem *mem; /* per weight (ext_id) */
    size_t n;
};

erg_status erg_vk_weights_prepare(erg_backend_device *dev, const erg_weight_desc *w, size_t n,
                                  erg_backend_weights **out, size_t *bytes, erg_diag *diag);
void erg_vk_weights_free(erg_backend_weights *w);

#endif
