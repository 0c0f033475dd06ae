/* FILL: every element of a contiguous F32 tensor set to one value (the
 * memory planner's poisoning of freed memory); dst aliases src0. */
#include "backends/cpu/cpu_ops.h"

static void run(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    float *d = erg_tensor_host_data(a->g, a->node->dst);
    float v = a->node->fparams[ERG_FILL_F_VALUE];
    int64_t i0, i1;
    erg_cpu_split(erg_tensor_nelements(&a->g->tensors[a->node->dst]), a->ith, a->nth, &i0, &i1);
    for (int64_t i = i0; i < i1; i++)
        d[i] = v;
}

const erg_cpu_op erg_cpu_op_fill = {run, 1, NULL, NULL, NULL};
