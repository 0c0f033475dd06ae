/* ROPE: rotary position embedding. src0 is [head_dim, n_heads, n_tokens, 1],
 * src1 the I32 position of each token, src2 optional F32 frequency factors.
 * Phase 0 fills a cos/sin table per token (shared by every head), phase 1
 * rotates the rows. ROPE_STORE (op_rope_store.c) and ATTENTION with a rope
 * of q (op_attention.c) share both pieces. */
#include "backends/cpu/cpu_ops.h"

#include <math.h>
#include <string.h>

/* Where the node keeps the rotation's params and sources: ROPE's slots, or
 * ATTENTION's (positions src3, factors src4, one token per q column). */
typedef struct rope_params {
    int n_dims;
    bool neox;
    double base, freq_scale;
    int pos_src, factors_src; /* factors_src: -1 without factors */
    int64_t n_tok;
} rope_params;

static rope_params params_of(const erg_cpu_op_args *a) {
    const erg_node *n = a->node;
    const erg_tensor *x = &a->g->tensors[n->src[0]];
    if (n->op == ERG_OP_ATTENTION)
        return (rope_params){n->iparams[ERG_ATTENTION_I_ROPE_N_DIMS],
                             n->iparams[ERG_ATTENTION_I_ROPE_MODE] == ERG_ROPE_NEOX,
                             n->fparams[ERG_ATTENTION_F_ROPE_FREQ_BASE],
                             n->fparams[ERG_ATTENTION_F_ROPE_FREQ_SCALE],
                             3,
                             n->n_src > 4 ? 4 : -1,
                             x->ne[1]};
    int factors = n->op == ERG_OP_ROPE_STORE ? 3 : 2;
    return (rope_params){n->iparams[ERG_ROPE_I_N_DIMS],
                         n->iparams[ERG_ROPE_I_MODE] == ERG_ROPE_NEOX,
                         n->fparams[ERG_ROPE_F_FREQ_BASE],
                         n->fparams[ERG_ROPE_F_FREQ_SCALE],
                         1,
                         n->n_src > factors ? factors : -1,
                         x->ne[2]};
}

size_t erg_cpu_rope_table_size(const erg_cpu_op_args *a) {
    rope_params p = params_of(a);
    return (size_t)p.n_tok * (size_t)p.n_dims * sizeof(float);
}

void erg_cpu_rope_table(const erg_cpu_op_args *a) {
    const erg_graph *g = a->g;
    rope_params p = params_of(a);
    const int32_t *pos = erg_tensor_host_data(g, a->node->src[p.pos_src]);
    const float *factors =
        p.factors_src >= 0 ? erg_tensor_host_data(g, a->node->src[p.factors_src]) : NULL;
    float *table = a->work;
    int64_t t0, t1;
    erg_cpu_split(p.n_tok, a->ith, a->nth, &t0, &t1);
    /* theta_j = p * freq_scale * base^(-2j / n_dims): one pow, then a
     * running product (in double, so the drift stays far below float). */
    const double step = pow(p.base, -2.0 / p.n_dims);
    for (int64_t t = t0; t < t1; t++) {
        float *cs = table + t * p.n_dims;
        double theta = pos[t] * p.freq_scale;
        for (int j = 0; j < p.n_dims / 2; j++, theta *= step) {
            double th = factors ? theta / factors[j] : theta;
            cs[2 * j] = (float)cos(th);
            cs[2 * j + 1] = (float)sin(th);
        }
    }
}

void erg_cpu_rope_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x,
                      int64_t token) {
    rope_params p = params_of(a);
    int half = p.n_dims / 2;
    const float *cs = (const float *)a->work + token * p.n_dims;
    for (int j = 0; j < half; j++) {
        /* normal: pairs (2j, 2j+1); neox: pairs (j, j + n_dims/2) */
        int p0 = p.neox ? j : 2 * j, p1 = p.neox ? j + half : 2 * j + 1;
        float c = cs[2 * j], s = cs[2 * j + 1];
        float x0 = x[p0], x1 = x[p1];
        y[p0] = x0 * c - x1 * s;
        y[p1] = x0 * s + x1 * c;
    }
    if (n > p.n_dims && y != x)
        memcpy(y + p.n_dims, x + p.n_dims, (size_t)(n - p.n_dims) * sizeof *y);
}

static void rotate_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                       int64_t i2, int64_t i3) {
    (void)i1, (void)i3;
    erg_cpu_rope_row(a, n, y, x, i2);
}

static void run(const erg_cpu_op_args *a, int phase) {
    if (phase == 0)
        erg_cpu_rope_table(a);
    else
        erg_cpu_for_rows(a, rotate_row);
}

const erg_cpu_op erg_cpu_op_rope = {run, 2, erg_cpu_rope_table_size, NULL, NULL};
