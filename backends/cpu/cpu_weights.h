/* cpu_weights.h: the CPU backend's copy of a model's weights: matrices the
 * kernels read faster in a packed layout (kernels.h); the rest stay in the
 * mapped file. */
#ifndef ERG_CPU_WEIGHTS_H
#define ERG_CPU_WEIGHTS_H

#include "backends/backend.h"
#include "backends/cpu/kernels.h"

typedef struct erg_cpu_packed_weight {
    erg_cpu_pack pack;   /* ERG_CPU_PACK_NONE: not packed */
    const void *data;    /* groups of 8 rows */
    size_t group_bytes;
} erg_cpu_packed_weight;

erg_status erg_cpu_weights_prepare(erg_backend_device *dev, const erg_weight_desc *weights,
                                   size_t n, erg_backend_weights **out, size_t *bytes,
                                   erg_diag *diag);
void erg_cpu_weights_free(erg_backend_weights *w);

/* The packed form of weight ext_id, or NULL when it is read in place. */
const erg_cpu_packed_weight *erg_cpu_weights_packed(const erg_backend_weights *w, int32_t ext_id);

#endif
