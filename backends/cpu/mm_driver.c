/* The matmul driver (mm_driver.h describes it). */
#include "backends/cpu/mm_driver.h"

#include "base/checked.h"

#define REF_ROWS 16 /* rows dequantised at a time on the reference path */
/* Up to this many activation columns (decode), every thread converts them
 * for itself: cheaper than making the other threads wait at a barrier. */
#define PRIVATE_COLS 4
/* Decode hands out rows in multiples of this (two packed groups). */
#define GUIDED_MIN_ROWS 16
#define TILE 64 /* prefill tiles: rows and columns */

static void weight_init(erg_cpu_mm_weight *w, const erg_cpu_op_args *a, int32_t id,
                        bool reference) {
    w->t = &a->g->tensors[id];
    w->data = erg_tensor_host_data(a->g, id);
    w->packed = reference || w->t->kind != ERG_TENSOR_WEIGHT
                    ? NULL
                    : erg_cpu_weights_packed(a->weights, w->t->ext_id);
    w->kern = w->packed   ? a->k->matmul_packed[w->packed->pack]
              : reference ? a->k->matmul[ERG_DT_F32]
                          : a->k->matmul[w->t->dtype];
}

void erg_cpu_mm_init(erg_cpu_mm *m, const erg_cpu_op_args *a, int n_w, const int32_t *w_ids,
                     erg_cpu_mm_epilogue epilogue) {
    const erg_graph *g = a->g;
    const erg_node *n = a->node;
    const erg_tensor *w0 = &g->tensors[w_ids[0]];
    m->n_w = n_w;
    m->x = &g->tensors[n->src[1]];
    m->y = &g->tensors[n->dst];
    m->xd = erg_tensor_host_data(g, n->src[1]);
    m->yd = erg_tensor_host_data(g, n->dst);
    m->K = w0->ne[0];
    m->N = w0->ne[1];
    m->M = m->x->ne[1];
    m->B2 = m->x->ne[2];
    m->B3 = m->x->ne[3];
    m->r2 = m->B2 / w0->ne[2];
    m->r3 = m->B3 / w0->ne[3];
    m->reference = a->reference_math && erg_dtype_get((int)w0->dtype)->quantized;
    for (int i = 0; i < n_w; i++)
        weight_init(&m->w[i], a, w_ids[i], m->reference);
    /* Two weights have one type, and a packed layout reads its type's
     * activation format (kernels.h): one conversion serves both. */
    m->act_format = m->w[0].kern.act_format;
    m->convert = !m->reference && m->act_format != ERG_ACT_F32;
    m->private_act = m->convert && m->M * m->B2 * m->B3 <= PRIVATE_COLS;
    m->act_row = erg_cpu_act_row_size(m->act_format, m->K);
    m->epilogue = epilogue;
    m->stacked = false;
    m->row0[0] = 0;
    m->row0[1] = m->N;
}

void erg_cpu_mm_init_stacked(erg_cpu_mm *m, const erg_cpu_op_args *a, int n_w,
                             const int32_t *w_ids) {
    erg_cpu_mm_init(m, a, n_w, w_ids, NULL);
    m->stacked = true;
    for (int i = 0; i < n_w; i++)
        m->row0[i + 1] = m->row0[i] + m->w[i].t->ne[1];
    m->N = m->row0[n_w];
}

/* The weight whose rows hold row r (of the stacked rows), and so the end
 * of the block that starts there. */
static int part_of(const erg_cpu_mm *m, int64_t r) {
    int p = 0;
    while (m->stacked && p + 1 < m->n_w && r >= m->row0[p + 1])
        p++;
    return p;
}

static int64_t part_end(const erg_cpu_mm *m, int64_t r) {
    return m->stacked ? m->row0[part_of(m, r) + 1] : m->N;
}

/* Blocks of rows x columns for the threads to share. Batched products
 * (attention heads) cut whole heads; prefill cuts tiles that keep a block of
 * weights and activations in cache. */
static void tile_shape(const erg_cpu_mm *m, int64_t *rows, int64_t *cols) {
    *rows = m->M == 1 ? m->N : TILE;
    *cols = m->M == 1 ? 1 : TILE;
}

/* Scratch: the converted activations (shared, or one copy per thread), then
 * per thread the reference path's dequantised rows and the second weight's
 * block. */
static size_t act_bytes(const erg_cpu_mm *m, int nth) {
    if (!m->convert)
        return 0;
    size_t one = (size_t)(m->M * m->B2 * m->B3) * m->act_row;
    return erg_align_up((size_t)(m->private_act ? nth : 1) * one, 64);
}

static size_t ref_floats(const erg_cpu_mm *m) {
    return m->reference ? (size_t)REF_ROWS * (size_t)m->K : 0;
}

static size_t thread_bytes(const erg_cpu_mm *m) {
    int64_t rows, cols;
    tile_shape(m, &rows, &cols);
    size_t second = m->n_w == 2 && !m->stacked ? (size_t)(rows * cols) : 0;
    return erg_align_up((ref_floats(m) + second) * sizeof(float), 64);
}

size_t erg_cpu_mm_work_size(const erg_cpu_op_args *a, const erg_cpu_mm *m) {
    return act_bytes(m, a->nth) + (size_t)a->nth * thread_bytes(m);
}

bool erg_cpu_mm_phase_barrier(const erg_cpu_mm *m) { return m->convert && !m->private_act; }

static float *thread_scratch(const erg_cpu_op_args *a, const erg_cpu_mm *m) {
    return (float *)((char *)a->work + act_bytes(m, a->nth) + (size_t)a->ith * thread_bytes(m));
}

/* Where this thread's converted activation columns are. */
static char *act_columns(const erg_cpu_op_args *a, const erg_cpu_mm *m) {
    size_t bytes = (size_t)(m->M * m->B2 * m->B3) * m->act_row;
    return (char *)a->work + (m->private_act ? (size_t)a->ith * bytes : 0);
}

bool erg_cpu_mm_supports(const erg_tensor *w, const erg_cpu_kernels *k, erg_diag *why) {
    erg_dtype dt = w->dtype;
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
static void convert_columns(const erg_cpu_op_args *a, const erg_cpu_mm *m) {
    int64_t n_cols = m->M * m->B2 * m->B3, c0 = 0, c1 = n_cols;
    if (!m->private_act)
        erg_cpu_split(n_cols, a->ith, a->nth, &c0, &c1);
    char *cols = act_columns(a, m);
    void (*quantize)(const float *, void *, int64_t) =
        m->act_format == ERG_ACT_Q8K ? a->k->quantize_q8k : a->k->quantize_q8a;
    for (int64_t c = c0; c < c1; c++) {
        int64_t mm = c % m->M, b2 = (c / m->M) % m->B2, b3 = c / (m->M * m->B2);
        const float *x = (const float *)erg_cpu_row_ptr((void *)m->xd, m->x, mm, b2, b3);
        quantize(x, cols + c * (int64_t)m->act_row, m->K);
    }
}

static void gemm_reference(const erg_cpu_op_args *a, const erg_cpu_mm *m,
                           const erg_cpu_mm_weight *wt, const char *w, int64_t nr, const char *x,
                           size_t lda, int64_t nc, float *y, size_t ldc) {
    float *rows = thread_scratch(a, m);
    for (int64_t r = 0; r < nr; r += REF_ROWS) {
        int64_t n = nr - r < REF_ROWS ? nr - r : REF_ROWS;
        for (int64_t i = 0; i < n; i++)
            a->k->to_f32[wt->t->dtype](w + (r + i) * (int64_t)wt->t->nb[1], rows + i * m->K,
                                       m->K);
        wt->kern.gemm(m->K, rows, (size_t)m->K * sizeof(float), n, x, lda, nc, y + r, ldc);
    }
}

/* Rows [r0, r0 + nr) x columns [c0, c0 + nc) of batch (b2, b3) of weight
 * wt's product, into y (columns ldc floats apart). */
static void multiply(const erg_cpu_op_args *a, const erg_cpu_mm *m, const erg_cpu_mm_weight *wt,
                     int64_t b2, int64_t b3, int64_t r0, int64_t nr, int64_t c0, int64_t nc,
                     float *y, size_t ldc) {
    const char *w;
    size_t ldw;
    if (wt->packed) { /* rows come in groups of 8; blocks start on a group */
        w = (const char *)wt->packed->data +
            (size_t)(r0 / ERG_CPU_PACK_ROWS) * wt->packed->group_bytes;
        ldw = wt->packed->group_bytes;
    } else {
        w = erg_cpu_row_ptr((void *)wt->data, wt->t, r0, b2 / m->r2, b3 / m->r3);
        ldw = wt->t->nb[1];
    }
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
        gemm_reference(a, m, wt, w, nr, x, lda, nc, y, ldc);
    else
        wt->kern.gemm(m->K, w, ldw, nr, x, lda, nc, y, ldc);
}

/* One block of the result: each weight's product, then the epilogue.
 * Stacked weights: the block lies in one weight's rows, and goes to its
 * product's place in the flat result. */
static void multiply_block(const erg_cpu_op_args *a, const erg_cpu_mm *m, int64_t b2, int64_t b3,
                           int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
    if (m->stacked) {
        int p = part_of(m, r0);
        int64_t first = m->row0[p], rows = m->row0[p + 1] - first;
        float *y = (float *)m->yd + first * m->M + c0 * rows + (r0 - first);
        multiply(a, m, &m->w[p], 0, 0, r0 - first, nr, c0, nc, y, (size_t)rows);
        return;
    }
    float *y = (float *)erg_cpu_row_ptr(m->yd, m->y, c0, b2, b3) + r0;
    multiply(a, m, &m->w[0], b2, b3, r0, nr, c0, nc, y, (size_t)m->N);
    float *y2 = NULL;
    if (m->n_w == 2) {
        y2 = thread_scratch(a, m) + ref_floats(m);
        multiply(a, m, &m->w[1], b2, b3, r0, nr, c0, nc, y2, (size_t)nr);
    }
    if (m->epilogue)
        m->epilogue(a, m, b2, b3, r0, nr, c0, nc, y, y2);
}

/* Decode (one column, one batch): threads take runs of rows, long while
 * much is left (long streams for the prefetchers), shorter towards the end,
 * so that threads running at different speeds finish together. */
static void multiply_rows_guided(const erg_cpu_op_args *a, const erg_cpu_mm *m) {
    int64_t r0 = atomic_load_explicit(a->chunk, memory_order_relaxed);
    while (r0 < m->N) {
        int64_t n = (m->N - r0) / (2 * a->nth);
        n = n < GUIDED_MIN_ROWS ? GUIDED_MIN_ROWS : n / GUIDED_MIN_ROWS * GUIDED_MIN_ROWS;
        if (n > part_end(m, r0) - r0)
            n = part_end(m, r0) - r0;
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

/* Row chunk rc's first row: chunks of `rows` cut each weight's rows from
 * its first (one weight unless stacked). */
static int64_t chunk_row(const erg_cpu_mm *m, int64_t rows, int64_t rc) {
    int parts = m->stacked ? m->n_w : 1;
    for (int p = 0; p < parts; p++) {
        int64_t n = (m->row0[p + 1] - m->row0[p] + rows - 1) / rows;
        if (rc < n)
            return m->row0[p] + rc * rows;
        rc -= n;
    }
    return m->N;
}

static void multiply_tiles(const erg_cpu_op_args *a, const erg_cpu_mm *m) {
    int64_t rows, cols;
    tile_shape(m, &rows, &cols);
    int64_t row_chunks = 0, col_chunks = (m->M + cols - 1) / cols;
    for (int p = 0; p < (m->stacked ? m->n_w : 1); p++)
        row_chunks += (m->row0[p + 1] - m->row0[p] + rows - 1) / rows;
    int64_t per_batch = row_chunks * col_chunks, total = per_batch * m->B2 * m->B3;
    for (int64_t c; (c = atomic_fetch_add_explicit(a->chunk, 1, memory_order_relaxed)) < total;) {
        int64_t batch = c / per_batch, rc = (c % per_batch) % row_chunks;
        int64_t cc = (c % per_batch) / row_chunks;
        int64_t r0 = chunk_row(m, rows, rc), c0 = cc * cols;
        int64_t nr = part_end(m, r0) - r0 < rows ? part_end(m, r0) - r0 : rows;
        int64_t nc = m->M - c0 < cols ? m->M - c0 : cols;
        multiply_block(a, m, batch % m->B2, batch / m->B2, r0, nr, c0, nc);
    }
}

void erg_cpu_mm_run(const erg_cpu_op_args *a, const erg_cpu_mm *m, int phase) {
    if (phase == 0) {
        if (m->convert)
            convert_columns(a, m);
    } else if (m->M == 1 && m->B2 * m->B3 == 1) {
        multiply_rows_guided(a, m);
    } else {
        multiply_tiles(a, m);
    }
}
