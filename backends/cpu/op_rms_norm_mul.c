/* RMS_NORM_MUL: y = x / sqrt(mean(x^2) + eps) * w over each row, w broadcast
 * as MUL's src1 (by modulo per dim; a shorter row repeats along the row). */
#include "backends/cpu/cpu_ops.h"

#include <math.h>

static void norm_mul_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x,
                         int64_t i1, int64_t i2, int64_t i3) {
    const erg_tensor *tw = &a->g->tensors[a->node->src[1]];
    const float *w = (const float *)erg_cpu_row_ptr(erg_tensor_host_data(a->g, a->node->src[1]),
                                                    tw, i1 % tw->ne[1], i2 % tw->ne[2],
                                                    i3 % tw->ne[3]);
    double mean = a->k->sum_sq(n, x) / (double)n;
    double eps = a->node->fparams[ERG_RMS_NORM_F_EPS];
    a->k->scale(n, y, x, (float)(1.0 / sqrt(mean + eps)));
    for (int64_t off = 0; off < n; off += tw->ne[0])
        a->k->mul(tw->ne[0], y + off, y + off, w);
}

static void run(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    erg_cpu_for_rows(a, norm_mul_row);
}

const erg_cpu_op erg_cpu_op_rms_norm_mul = {run, 1, NULL, NULL, NULL};
