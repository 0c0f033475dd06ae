/* RMS_NORM: y = x / sqrt(mean(x^2) + eps), over each row. */
#include "backends/cpu/cpu_ops.h"

#include <math.h>

static void norm_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                     int64_t i2, int64_t i3) {
    (void)i1, (void)i2, (void)i3;
    double mean = a->k->sum_sq(n, x) / (double)n;
    double eps = a->node->fparams[ERG_RMS_NORM_F_EPS];
    a->k->scale(n, y, x, (float)(1.0 / sqrt(mean + eps)));
}

static void run(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    erg_cpu_for_rows(a, norm_row);
}

const erg_cpu_op erg_cpu_op_rms_norm = {run, 1, NULL, NULL, NULL};
