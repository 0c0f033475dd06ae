/* The matmul family, run by the matmul driver (mm_driver.h); the fused ops
 * add an epilogue on each block of the product while it is in cache.
 *   MATMUL:        dst[n, m, b2, b3] = sum_k W[k, n, b2/r2, b3/r3] * X[k, m, b2, b3]
 *   MATMUL_ADD:    dst = W x + addend (broadcast by modulo per dim)
 *   MATMUL_SWIGLU: dst = silu(W_gate x) * (W_up x), both products from one
 *                  conversion of x
 *   MATMUL_QKV:    dst = Wq x, then Wk x, then Wv x (flat), the three from one
 *                  conversion of x; no epilogue */
#include "backends/cpu/mm_driver.h"

static void add_epilogue(const erg_cpu_op_args *a, const erg_cpu_mm *m, int64_t b2, int64_t b3,
                         int64_t r0, int64_t nr, int64_t c0, int64_t nc, float *y,
                         const float *y2) {
    (void)y2;
    const erg_tensor *t = &a->g->tensors[a->node->src[2]];
    void *d = erg_tensor_host_data(a->g, a->node->src[2]);
    for (int64_t c = 0; c < nc; c++) {
        const float *add = (const float *)erg_cpu_row_ptr(d, t, (c0 + c) % t->ne[1],
                                                          b2 % t->ne[2], b3 % t->ne[3]);
        float *yc = y + c * m->N;
        if (t->ne[0] == m->N) {
            a->k->add(nr, yc, yc, add + r0);
        } else { /* a shorter addend row repeats along the column */
            for (int64_t r = 0; r < nr; r++)
                yc[r] += add[(r0 + r) % t->ne[0]];
        }
    }
}

static void swiglu_epilogue(const erg_cpu_op_args *a, const erg_cpu_mm *m, int64_t b2,
                            int64_t b3, int64_t r0, int64_t nr, int64_t c0, int64_t nc, float *y,
                            const float *y2) {
    (void)b2, (void)b3, (void)r0, (void)c0;
    for (int64_t c = 0; c < nc; c++)
        a->k->swiglu(nr, y + c * m->N, y + c * m->N, y2 + c * nr);
}

static void geom(const erg_cpu_op_args *a, erg_cpu_mm *m) {
    const erg_node *n = a->node;
    if (n->op == ERG_OP_MATMUL_SWIGLU) {
        int32_t w[2] = {n->src[0], n->src[2]};
        erg_cpu_mm_init(m, a, 2, w, swiglu_epilogue);
    } else if (n->op == ERG_OP_MATMUL_QKV) {
        int32_t w[3] = {n->src[0], n->src[2], n->src[3]};
        erg_cpu_mm_init_stacked(m, a, 3, w);
    } else {
        erg_cpu_mm_init(m, a, 1, &n->src[0], n->op == ERG_OP_MATMUL_ADD ? add_epilogue : NULL);
    }
}

static size_t work_size(const erg_cpu_op_args *a) {
    erg_cpu_mm m;
    geom(a, &m);
    return erg_cpu_mm_work_size(a, &m);
}

static bool phase_barrier(const erg_cpu_op_args *a) {
    erg_cpu_mm m;
    geom(a, &m);
    return erg_cpu_mm_phase_barrier(&m);
}

/* MATMUL_SWIGLU's and MATMUL_QKV's weights have one dtype (graph/op_rules.c). */
static bool supports(const erg_graph *g, const erg_node *n, const erg_cpu_kernels *k,
                     erg_diag *why) {
    return erg_cpu_mm_supports(&g->tensors[n->src[0]], k, why);
}

static void run(const erg_cpu_op_args *a, int phase) {
    erg_cpu_mm m;
    geom(a, &m);
    erg_cpu_mm_run(a, &m, phase);
}

const erg_cpu_op erg_cpu_op_matmul = {run, ERG_CPU_MM_PHASES, work_size, phase_barrier, supports};
const erg_cpu_op erg_cpu_op_matmul_add = {run, ERG_CPU_MM_PHASES, work_size, phase_barrier,
                                          supports};
const erg_cpu_op erg_cpu_op_matmul_swiglu = {run, ERG_CPU_MM_PHASES, work_size, phase_barrier,
                                             supports};
