/*
 * MATMUL: dst[n, m, b2, b3] = sum_k W[k, n, b2/r2, b3/r3] * X[k, m, b2, b3].
 *
 * Phase 0 converts the activation columns X into the format the weight
 * type's kernel reads (8-bit blocks for quantized weights) into the node's
 * scratch: split across threads, or, for a few columns (decode), by every
 * thread for itself so that no barrier is needed. Phase 1 cuts the output
 * into chunks of rows x columns that threads take from a shared counter, and
 * runs the kernel on each; weights the device packed use the packed kernel.
 *
 * With reference_math, quantized weights are instead dequantised exactly,
 * a few rows at a time, and multiplied in F32 with the F32 activations.
 */
#include "backends/cpu/cpu_ops.h"

#define REF_ROWS 16 /* rows dequantised at a time on the reference path */
/* Up to this many activation columns (decode), every thread converts them
 * for itself: cheaper than making the other threads wait at a barrier. */
#define PRIVATE_COLS 4
/* Decode hands out rows in multiples of this (two packed groups). */
#define GUIDED_MIN_ROWS 16

typedef struct mm_geom {
    const erg_tensor *w, *x, *y;
    const char *wd, *xd;
    char *yd;
    int64_t K, N, M, B2, B3, r2, r3;
    erg_cpu_matmul_kernel kern;
    const erg_cpu_packed_weight *packed; /* the weight in a packed layout, or NULL */
    bool reference;  /* dequantise rows, F32 activations */
    bool convert;    /* phase 0 converts the activations */
    bool private_act; /* few columns: each thread converts them all for itself */
    size_t act_row;  /* bytes of one converted activation column */
} mm_geom;

static void geom(const erg_cpu_op_args *a, mm_geom *m) {
    const erg_graph *g = a->g;
    const erg_node *n = a->node;
    m->w = &g->tensors[n->src[0]];
    m->x = &g->tensors[n->src[1]];
    m->y = &g->tensors[n->dst];
    m->wd = erg_tensor_host_data(g, n->src[0]);
    m->xd = erg_tensor_host_data(g, n->src[1]);
    m->yd = erg_tensor_host_data(g, n->dst);
    m->K = m->w->ne[0];
    m->N = m->w->ne[1];
    m->M = m->x->ne[1];
    m->B2 = m->x->ne[2];
    m->B3 = m->x->ne[3];
    m->r2 = m->B2 / m->w->ne[2];
    m->r3 = m->B3 / m->w->ne[3];
    m->reference = a->reference_math && erg_dtype_get((int)m->w->dtype)->quantized;
    m->packed = m->reference || m->w->kind != ERG_TENSOR_WEIGHT
                    ? NULL
                    : erg_cpu_weights_packed(a->weights, m->w->ext_id);
    m->kern = m->packed        ? a->k->matmul_packed[m->packed->pack]
              : m->reference   ? a->k->matmul[ERG_DT_F32]
                               : a->k->matmul[m->w->dtype];
    m->convert = !m->reference && m->kern.act_format != ERG_ACT_F32;
    m->private_act = m->convert && m->M * m->B2 * m->B3 <= PRIVATE_COLS;
    m->act_row = erg_cpu_act_row_size(m->kern.act_format, m->K);
}

static size_t work_size(const erg_cpu_op_args *a) {
    mm_geom m;
    geom(a, &m);
    if (m.reference)
        return (size_t)a->nth * REF_ROWS * (size_t)m.K * sizeof(float);
    if (m.convert)
        return (size_t)(m.private_act ? a->nth : 1) * (size_t)(m.M * m.B2 * m.B3) * m.act_row;
    return 0;
}

static bool phase_barrier(const erg_cpu_op_args *a) {
    mm_geom m;
    geom(a, &m);
    return m.convert && !m.private_act;
}

/* Where this thread's converted activation columns are. */
static char *act_columns(const erg_cpu_op_args *a, const mm_geom *m) {
    size_t bytes = (size_t)(m->M * m->B2 * m->B3) * m->act_row;
    return (char *)a->work + (m->private_act ? (size_t)a->ith * bytes : 0);
}

static bool supports(const erg_graph *g, const erg_node *n, const erg_cpu_kernels *k,
                     erg_diag *why) {
    erg_dtype dt = g->tensors[n->src[0]].dtype;
    if (!k->matmul[dt].gemm) {
        erg_fail(why, ERG_UNSUPPORTED, "no %s matmul kernel at level %s", erg_dtype_name(dt),
                 k->name);
        return false;
    }
    if (!k->to_f32[dt]) {
        erg_fail(why, ERG_UNSUPPORTED, "no %s row conversion", erg_dtype_name(dt));
        return false;
    }
    return true;
}

/* Phase 0: activation column c = m + M * (b2 + B2 * b3) goes to work + c * act_row. */
static void convert_columns(const erg_cpu_op_args *a, const mm_geom *m) {
    int64_t n_cols = m->M * m->B2 * m->B3, c0 = 0, c1 = n_cols;
    if (!m->private_act)
        erg_cpu_split(n_cols, a->ith, a->nth, &c0, &c1);
    char *cols = act_columns(a, m);
    void (*quantize)(const float *, void *, int64_t) =
        m->kern.act_format == ERG_ACT_Q8K ? a->k->quantize_q8k : a->k->quantize_q8a;
    for (int64_t c = c0; c < c1; c++) {
        int64_t mm = c % m->M, b2 = (c / m->M) % m->B2, b3 = c / (m->M * m->B2);
        const float *x = (const float *)erg_cpu_row_ptr((void *)m->xd, m->x, mm, b2, b3);
        quantize(x, cols + c * (int64_t)m->act_row, m->K);
    }
}

/* Tiles of rows x columns for the threads to share. Batched products
 * (attention heads) cut whole heads; prefill cuts tiles that keep a block of
 * weights and activations in cache. */
static void tile_shape(const mm_geom *m, int64_t *rows, int64_t *cols) {
    *rows = m->M == 1 ? m->N : 64;
    *cols = m->M == 1 ? 1 : 64;
}

static void gemm_reference(const erg_cpu_op_args *a, const mm_geom *m, const char *w, int64_t nr,
                           const char *x, size_t lda, int64_t nc, float *y) {
    float *rows = (float *)a->work + (int64_t)a->ith * REF_ROWS * m->K;
    for (int64_t r = 0; r < nr; r += REF_ROWS) {
        int64_t n = nr - r < REF_ROWS ? nr - r : REF_ROWS;
        for (int64_t i = 0; i < n; i++)
            a->k->to_f32[m->w->dtype](w + (r + i) * (int64_t)m->w->nb[1], rows + i * m->K, m->K);
        m->kern.gemm(m->K, rows, (size_t)m->K * sizeof(float), n, x, lda, nc, y + r,
                     (size_t)m->N);
    }
}

/* Rows [r0, r0 + nr) x columns [c0, c0 + nc) of batch (b2, b3). */
static void multiply_block(const erg_cpu_op_args *a, const mm_geom *m, int64_t b2, int64_t b3,
                           int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
    const char *w;
    size_t ldw;
    if (m->packed) { /* rows come in groups of 8; blocks start on a group */
        w = (const char *)m->packed->data + (size_t)(r0 / ERG_CPU_PACK_ROWS) * m->packed->group_bytes;
        ldw = m->packed->group_bytes;
    } else {
        w = erg_cpu_row_ptr((void *)m->wd, m->w, r0, b2 / m->r2, b3 / m->r3);
        ldw = m->w->nb[1];
    }
    float *y = (float *)erg_cpu_row_ptr(m->yd, m->y, c0, b2, b3) + r0;
    const char *x;
    size_t lda;
    if (m->convert) {
        lda = m->act_row;
        x = act_columns(a, m) + (c0 + m->M * (b2 + m->B2 * b3)) * (int64_t)lda;
    } else {
        lda = m->x->nb[1];
        x = erg_cpu_row_ptr((void *)m->xd, m->x, c0, b2, b3);
    }
    if (m->reference)
        gemm_reference(a, m, w, nr, x, lda, nc, y);
    else
        m->kern.gemm(m->K, w, ldw, nr, x, lda, nc, y, (size_t)m->N);
}

/* Decode (one column, one batch): threads take runs of rows, long while
 * much is left (long streams for the prefetchers), shorter towards the end,
 * so that threads running at different speeds finish together. */
static void multiply_rows_guided(const erg_cpu_op_args *a, const mm_geom *m) {
    int64_t r0 = atomic_load_explicit(a->chunk, memory_order_relaxed);
    while (r0 < m->N) {
        int64_t n = (m->N - r0) / (2 * a->nth);
        n = n < GUIDED_MIN_ROWS ? GUIDED_MIN_ROWS : n / GUIDED_MIN_ROWS * GUIDED_MIN_ROWS;
        if (n > m->N - r0)
            n = m->N - r0;
        int expected = (int)r0;
        if (!atomic_compare_exchange_weak_explicit(a->chunk, &expected, (int)(r0 + n),
                                                   memory_order_relaxed, memory_order_relaxed)) {
            r0 = expected;
            continue;
        }
        multiply_block(a, m, 0, 0, r0, n, 0, 1);
        r0 = atomic_load_explicit(a->chunk, memory_order_relaxed);
    }
}

static void multiply_tiles(const erg_cpu_op_args *a, const mm_geom *m) {
    int64_t rows, cols;
    tile_shape(m, &rows, &cols);
    int64_t row_chunks = (m->N + rows - 1) / rows, col_chunks = (m->M + cols - 1) / cols;
    int64_t per_batch = row_chunks * col_chunks, total = per_batch * m->B2 * m->B3;
    for (int64_t c; (c = atomic_fetch_add_explicit(a->chunk, 1, memory_order_relaxed)) < total;) {
        int64_t batch = c / per_batch, rc = (c % per_batch) % row_chunks;
        int64_t cc = (c % per_batch) / row_chunks;
        int64_t r0 = rc * rows, c0 = cc * cols;
        int64_t nr = m->N - r0 < rows ? m->N - r0 : rows;
        int64_t nc = m->M - c0 < cols ? m->M - c0 : cols;
        multiply_block(a, m, batch % m->B2, batch / m->B2, r0, nr, c0, nc);
    }
}

static void run(const erg_cpu_op_args *a, int phase) {
    mm_geom m;
    geom(a, &m);
    if (phase == 0) {
        if (m.convert)
            convert_columns(a, &m);
    } else if (m.M == 1 && m.B2 * m.B3 == 1) {
        multiply_rows_guided(a, &m);
    } else {
        multiply_tiles(a, &m);
    }
}

const erg_cpu_op erg_cpu_op_matmul = {run, 2, work_size, phase_barrier, supports};
