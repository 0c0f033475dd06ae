/* SOFTMAX over each row of x * scale; with the causal mask, row i1 (a query
 * at position n_past + i1) sees only columns j <= n_past + i1. */
#include "backends/cpu/cpu_ops.h"

#include <string.h>

static void softmax_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                        int64_t i2, int64_t i3) {
    (void)i2, (void)i3;
    const erg_node *node = a->node;
    float scale = node->fparams[ERG_SOFTMAX_F_SCALE];
    bool causal = node->iparams[ERG_SOFTMAX_I_CAUSAL] != 0;
    int64_t valid = causal ? node->iparams[ERG_SOFTMAX_I_N_PAST] + i1 + 1 : n;
    if (valid > n)
        valid = n;
    if (valid <= 0) { /* nothing visible: an all-zero row, not NaN */
        memset(y, 0, (size_t)n * sizeof *y);
        return;
    }
    float m = a->k->max(valid, x) * scale;
    if (scale < 0) /* the max of x*scale then comes from the min of x */
        for (int64_t j = 0; j < valid; j++)
            m = j == 0 || x[j] * scale > m ? x[j] * scale : m;
    double sum = a->k->exp_sum(valid, y, x, scale, m);
    a->k->scale(valid, y, y, (float)(1.0 / sum));
    if (valid < n)
        memset(y + valid, 0, (size_t)(n - valid) * sizeof *y);
}

static void run(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    erg_cpu_for_rows(a, softmax_row);
}

const erg_cpu_op erg_cpu_op_softmax = {run, 1, NULL, NULL, NULL};
