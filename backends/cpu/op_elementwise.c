/* Elementwise ops: add and mul (src1 broadcast over src0), scale, silu,
 * gelu, swiglu. The result is contiguous; sources have contiguous rows. */
#include "backends/cpu/cpu_ops.h"

typedef void (*binary_fn)(int64_t n, float *y, const float *a, const float *b);

/* dst[r] = f(src0[r], src1[r mod broadcast]); a src1 row shorter than the
 * dst row repeats along it. */
static void run_broadcast(const erg_cpu_op_args *a, binary_fn f) {
    const erg_graph *g = a->g;
    const erg_tensor *t0 = &g->tensors[a->node->src[0]];
    const erg_tensor *t1 = &g->tensors[a->node->src[1]];
    const erg_tensor *td = &g->tensors[a->node->dst];
    void *d0 = erg_tensor_host_data(g, a->node->src[0]);
    void *d1 = erg_tensor_host_data(g, a->node->src[1]);
    void *dd = erg_tensor_host_data(g, a->node->dst);
    int64_t r0, r1;
    erg_cpu_split(erg_tensor_nrows(td), a->ith, a->nth, &r0, &r1);
    int64_t n0 = td->ne[0], n1 = t1->ne[0];
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        erg_cpu_row_index(td, r, &i1, &i2, &i3);
        const float *x = (const float *)erg_cpu_row_ptr(d0, t0, i1, i2, i3);
        const float *b = (const float *)erg_cpu_row_ptr(d1, t1, i1 % t1->ne[1], i2 % t1->ne[2],
                                                        i3 % t1->ne[3]);
        float *y = (float *)erg_cpu_row_ptr(dd, td, i1, i2, i3);
        for (int64_t off = 0; off < n0; off += n1)
            f(n1, y + off, x + off, b);
    }
}

static void run_add(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    run_broadcast(a, a->k->add);
}

static void run_mul(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    run_broadcast(a, a->k->mul);
}

static void run_swiglu(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    run_broadcast(a, a->k->swiglu);
}

static void silu_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                     int64_t i2, int64_t i3) {
    (void)i1, (void)i2, (void)i3;
    a->k->silu(n, y, x);
}

static void gelu_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                     int64_t i2, int64_t i3) {
    (void)i1, (void)i2, (void)i3;
    a->k->gelu(n, y, x);
}

static void scale_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x, int64_t i1,
                      int64_t i2, int64_t i3) {
    (void)i1, (void)i2, (void)i3;
    a->k->scale(n, y, x, a->node->fparams[ERG_SCALE_F_SCALE]);
}

static void run_silu(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    erg_cpu_for_rows(a, silu_row);
}

static void run_gelu(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    erg_cpu_for_rows(a, gelu_row);
}

static void run_scale(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    erg_cpu_for_rows(a, scale_row);
}

const erg_cpu_op erg_cpu_op_add = {run_add, 1, NULL, NULL, NULL};
const erg_cpu_op erg_cpu_op_mul = {run_mul, 1, NULL, NULL, NULL};
const erg_cpu_op erg_cpu_op_swiglu = {run_swiglu, 1, NULL, NULL, NULL};
const erg_cpu_op erg_cpu_op_silu = {run_silu, 1, NULL, NULL, NULL};
const erg_cpu_op erg_cpu_op_gelu = {run_gelu, 1, NULL, NULL, NULL};
const erg_cpu_op erg_cpu_op_scale = {run_scale, 1, NULL, NULL, NULL};
