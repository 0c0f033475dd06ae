/* ROPE: rotary position embedding. src0 is [head_dim, n_heads, n_tokens, 1],
 * src1 the I32 position of each token, src2 optional F32 frequency factors.
 * Phase 0 fills a cos/sin table per token (shared by every head), phase 1
 * rotates the rows. ROPE_STORE (op_rope_store.c) shares both pieces. */
#include "backends/cpu/cpu_ops.h"

#include <math.h>
#include <string.h>

size_t erg_cpu_rope_table_size(const erg_cpu_op_args *a) {
    const erg_tensor *t0 = &a->g->tensors[a->node->src[0]];
    return (size_t)t0->ne[2] * (size_t)a->node->iparams[ERG_ROPE_I_N_DIMS] * sizeof(float);
}

void erg_cpu_rope_table(const erg_cpu_op_args *a, int factors_src) {
    const erg_graph *g = a->g;
    const erg_node *node = a->node;
    int64_t n_tok = g->tensors[node->src[0]].ne[2];
    int n_dims = node->iparams[ERG_ROPE_I_N_DIMS];
    double base = node->fparams[ERG_ROPE_F_FREQ_BASE];
    double freq_scale = node->fparams[ERG_ROPE_F_FREQ_SCALE];
    const int32_t *pos = erg_tensor_host_data(g, node->src[1]);
    const float *factors =
        factors_src >= 0 ? erg_tensor_host_data(g, node->src[factors_src]) : NULL;
    float *table = a->work;
    int64_t t0, t1;
    erg_cpu_split(n_tok, a->ith, a->nth, &t0, &t1);
    /* theta_j = p * freq_scale * base^(-2j / n_dims): one pow, then a
     * running product (in double, so the drift stays far below float). */
    const double step = pow(base, -2.0 / n_dims);
    for (int64_t t = t0; t < t1; t++) {
        float *cs = table + t * n_dims;
        double theta = pos[t] * freq_scale;
        for (int j = 0; j < n_dims / 2; j++, theta *= step) {
            double th = factors ? theta / factors[j] : theta;
            cs[2 * j] = (float)cos(th);
            cs[2 * j + 1] = (float)sin(th);
        }
    }
}

void erg_cpu_rope_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x,
                      int64_t token) {
    int n_dims = a->node->iparams[ERG_ROPE_I_N_DIMS];
    bool neox = a->node->iparams[ERG_ROPE_I_MODE] == ERG_ROPE_NEOX;
    int half = n_dims / 2;
    const float *cs = (const float *)a->work + token * n_dims;
    for (int j = 0; j < half; j++) {
        /* normal: pairs (2j, 2j+1); neox: pairs (j, j + n_dims/2) */
        int p0 = neox ? j : 2 * j, p1 = neox ? j + half : 2 * j + 1;
        float c = cs[2 * j], s = cs[2 * j + 1];
        float x0 = x[p0], x1 = x[p1];
        y[p0] = x0 * c - x1 * s;
        y[p1] = x0 * s + x1 * c;
    }
    if (n > n_dims && y != x)
        memcpy(y + n_dims, x + n_dims, (size_t)(n - n_dims) * sizeof *y);
}

static void rotate_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                       int64_t i2, int64_t i3) {
    (void)i1, (void)i3;
    erg_cpu_rope_row(a, n, y, x, i2);
}

static void run(const erg_cpu_op_args *a, int phase) {
    if (phase == 0)
        erg_cpu_rope_table(a, a->node->n_src > 2 ? 2 : -1);
    else
        erg_cpu_for_rows(a, rotate_row);
}

const erg_cpu_op erg_cpu_op_rope = {run, 2, erg_cpu_rope_table_size, NULL, NULL};
