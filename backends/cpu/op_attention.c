/*
 * ATTENTION: dst[:, h, i] = softmax_j(scale * K[:, j, hk] . q[:, i, h]) . V[j, :, hk]
 * with hk = h / (H / Hkv), positions j > n_past + i masked when causal.
 *
 * Flash-attention style: the kv positions are walked once, in blocks of
 * BLOCK, keeping per query a running max, a running sum of the exponentials
 * and an unnormalised output that is rescaled whenever the max grows;
 * nothing of size n_kv is stored. A work item is a tile of query rows times
 * query heads that share a kv head (their q columns gathered side by side),
 * so each block of K and V is read once for the whole tile. The products are
 * the F32-activation matmul kernels: scores = K block x q columns, output +=
 * V block (rows of V are features, contiguous over positions) x probability
 * columns.
 *
 * With positions (src3) and optional factors (src4), q is rotated as ROPE
 * would rotate it, as each column is gathered: phase 0 fills ROPE's cos/sin
 * table per query row (op_rope.c) at the start of the scratch.
 */
#include "backends/cpu/cpu_ops.h"

#include "base/checked.h"

#include <math.h>
#include <string.h>

#define BLOCK 128    /* kv positions per step */
#define TILE_COLS 32 /* queries (rows x heads) per work item, when there are enough */

typedef struct attn_geom {
    const erg_tensor *q, *k, *v, *y;
    const char *qd, *kd, *vd;
    char *yd;
    int64_t D, Dv, H, nt, n_kv, group; /* group: query heads per kv head */
    int64_t rows, heads;               /* a work item's query rows and heads */
    float scale;
    bool causal, rope;
    int64_t n_past;
    erg_cpu_matmul_kernel kk, vk;
} attn_geom;

static int64_t n_items(const attn_geom *m) {
    return (m->nt + m->rows - 1) / m->rows * (m->H / m->heads);
}

static void geom(const erg_cpu_op_args *a, attn_geom *m) {
    const erg_graph *g = a->g;
    const erg_node *n = a->node;
    m->q = &g->tensors[n->src[0]];
    m->k = &g->tensors[n->src[1]];
    m->v = &g->tensors[n->src[2]];
    m->y = &g->tensors[n->dst];
    m->qd = erg_tensor_host_data(g, n->src[0]);
    m->kd = erg_tensor_host_data(g, n->src[1]);
    m->vd = erg_tensor_host_data(g, n->src[2]);
    m->yd = erg_tensor_host_data(g, n->dst);
    m->D = m->q->ne[0];
    m->Dv = m->v->ne[1];
    m->nt = m->q->ne[1];
    m->H = m->q->ne[2];
    m->n_kv = m->k->ne[1];
    m->group = m->H / m->k->ne[2];
    /* Whole groups and as many rows as fill a tile, unless that leaves too
     * few items for the threads. */
    m->heads = m->group;
    m->rows = TILE_COLS / m->heads > 1 ? TILE_COLS / m->heads : 1;
    m->rows = m->rows < m->nt ? m->rows : m->nt;
    while (m->rows > 1 && n_items(m) < 2 * a->nth)
        m->rows = (m->rows + 1) / 2;
    while (m->heads % 2 == 0 && n_items(m) < 2 * a->nth)
        m->heads /= 2;
    m->scale = n->fparams[ERG_ATTENTION_F_SCALE];
    m->causal = n->iparams[ERG_ATTENTION_I_CAUSAL] != 0;
    m->rope = n->n_src > 3;
    m->n_past = n->iparams[ERG_ATTENTION_I_N_PAST];
    m->kk = a->k->matmul[m->k->dtype];
    m->vk = a->k->matmul[m->v->dtype];
}

/* A thread's scratch, for the tile's cols queries. */
typedef struct attn_state {
    double *sum;       /* [cols] running sums */
    float *q;          /* [D x cols] gathered q columns */
    float *s;          /* [BLOCK x cols] scores, then probabilities */
    float *blk, *acc;  /* [Dv x cols] the block's output, the running output */
    float *mx, *corr;  /* [cols] running max, this block's rescale factor */
} attn_state;

static size_t thread_bytes(const attn_geom *m) {
    size_t cols = (size_t)(m->rows * m->heads);
    size_t floats = cols * (size_t)(m->D + BLOCK + 2 * m->Dv + 2);
    return erg_align_up(cols * sizeof(double) + floats * sizeof(float), 64);
}

/* The rope table's bytes before the threads' scratch. */
static size_t table_bytes(const erg_cpu_op_args *a, const attn_geom *m) {
    return m->rope ? erg_align_up(erg_cpu_rope_table_size(a), 64) : 0;
}

static attn_state thread_state(const erg_cpu_op_args *a, const attn_geom *m) {
    int64_t cols = m->rows * m->heads;
    attn_state st;
    st.sum = (double *)((char *)a->work + table_bytes(a, m) + (size_t)a->ith * thread_bytes(m));
    st.q = (float *)(st.sum + cols);
    st.s = st.q + m->D * cols;
    st.blk = st.s + BLOCK * cols;
    st.acc = st.blk + m->Dv * cols;
    st.mx = st.acc + m->Dv * cols;
    st.corr = st.mx + cols;
    return st;
}

static size_t work_size(const erg_cpu_op_args *a) {
    attn_geom m;
    geom(a, &m);
    return table_bytes(a, &m) + (size_t)a->nth * thread_bytes(&m);
}

/* The table must be whole before any query is rotated. */
static bool phase_barrier(const erg_cpu_op_args *a) {
    return a->node->n_src > 3;
}

static bool supports(const erg_graph *g, const erg_node *n, const erg_cpu_kernels *k,
                     erg_diag *why) {
    for (int s = 1; s <= 2; s++) {
        erg_dtype dt = g->tensors[n->src[s]].dtype;
        if (!k->matmul[dt].gemm || k->matmul[dt].act_format != ERG_ACT_F32) {
            erg_fail(why, ERG_UNSUPPORTED, "no %s matmul with F32 activations at level %s",
                     erg_dtype_name(dt), k->name);
            return false;
        }
    }
    return true;
}

/* Kv positions query row i sees. */
static int64_t visible(const attn_geom *m, int64_t i) {
    int64_t v = m->causal ? m->n_past + i + 1 : m->n_kv;
    return v < 0 ? 0 : v > m->n_kv ? m->n_kv : v;
}

/* The max of s[j] * scale (from the min of s when scale < 0). */
static float scaled_max(const erg_cpu_kernels *k, int64_t n, const float *s, float scale) {
    if (scale >= 0)
        return k->max(n, s) * scale;
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++)
        m = fmaxf(m, s[j] * scale);
    return m;
}

/* Kv positions [j0, j0 + n) of kv head hk for the tile's queries: rows
 * i0.. (rows of them) x heads h0.., query c = r * heads + head. */
static void attend_block(const erg_cpu_op_args *a, const attn_geom *m, const attn_state *st,
                         int64_t i0, int64_t rows, int64_t hk, int64_t j0, int64_t n) {
    int64_t cols = rows * m->heads;
    const char *k = m->kd + hk * (int64_t)m->k->nb[2] + j0 * (int64_t)m->k->nb[1];
    const char *v = m->vd + hk * (int64_t)m->v->nb[2] + j0 * (int64_t)m->v->nb[0];
    m->kk.gemm(m->D, k, m->k->nb[1], n, st->q, (size_t)m->D * sizeof(float), cols, st->s, BLOCK);
    for (int64_t c = 0; c < cols; c++) {
        float *s = st->s + c * BLOCK;
        int64_t vis = visible(m, i0 + c / m->heads) - j0;
        vis = vis > n ? n : vis;
        if (vis <= 0) { /* all masked: nothing to add, nothing to rescale */
            memset(s, 0, (size_t)n * sizeof *s);
            st->corr[c] = 1.0f;
            continue;
        }
        float mx = fmaxf(st->mx[c], scaled_max(a->k, vis, s, m->scale));
        st->corr[c] = st->mx[c] == -INFINITY ? 0.0f : (float)exp((double)st->mx[c] - mx);
        st->mx[c] = mx;
        st->sum[c] = st->sum[c] * st->corr[c] + a->k->exp_sum(vis, s, s, m->scale, mx);
        memset(s + vis, 0, (size_t)(n - vis) * sizeof *s);
    }
    m->vk.gemm(n, v, m->v->nb[1], m->Dv, st->s, BLOCK * sizeof(float), cols, st->blk,
               (size_t)m->Dv);
    for (int64_t c = 0; c < cols; c++) {
        float *acc = st->acc + c * m->Dv;
        a->k->scale(m->Dv, acc, acc, st->corr[c]);
        a->k->add(m->Dv, acc, acc, st->blk + c * m->Dv);
    }
}

/* Query rows [i0, i0 + rows) x heads [h0, h0 + heads). */
static void attend(const erg_cpu_op_args *a, const attn_geom *m, const attn_state *st, int64_t i0,
                   int64_t rows, int64_t h0) {
    int64_t cols = rows * m->heads;
    for (int64_t c = 0; c < cols; c++) {
        const char *q = m->qd + (i0 + c / m->heads) * (int64_t)m->q->nb[1] +
                        (h0 + c % m->heads) * (int64_t)m->q->nb[2];
        if (m->rope)
            erg_cpu_rope_row(a, m->D, st->q + c * m->D, (const float *)q, i0 + c / m->heads);
        else
            memcpy(st->q + c * m->D, q, (size_t)m->D * sizeof(float));
        st->mx[c] = -INFINITY;
        st->sum[c] = 0;
    }
    memset(st->acc, 0, (size_t)(m->Dv * cols) * sizeof(float));
    int64_t end = visible(m, i0 + rows - 1); /* the last row sees the most */
    for (int64_t j0 = 0; j0 < end; j0 += BLOCK)
        attend_block(a, m, st, i0, rows, h0 / m->group, j0, end - j0 < BLOCK ? end - j0 : BLOCK);
    for (int64_t c = 0; c < cols; c++) {
        float *y = (float *)erg_cpu_row_ptr(m->yd, m->y, h0 + c % m->heads, i0 + c / m->heads, 0);
        /* nothing visible: an all-zero row, as the unfused softmax gives */
        a->k->scale(m->Dv, y, st->acc + c * m->Dv,
                    st->sum[c] > 0 ? (float)(1.0 / st->sum[c]) : 0.0f);
    }
}

static void run(const erg_cpu_op_args *a, int phase) {
    attn_geom m;
    geom(a, &m);
    if (phase == 0) {
        if (m.rope)
            erg_cpu_rope_table(a);
        return;
    }
    attn_state st = thread_state(a, &m);
    int64_t per_tile = m.H / m.heads, total = n_items(&m);
    for (int64_t c; (c = atomic_fetch_add_explicit(a->chunk, 1, memory_order_relaxed)) < total;) {
        int64_t i0 = c / per_tile * m.rows;
        attend(a, &m, &st, i0, m.nt - i0 < m.rows ? m.nt - i0 : m.rows, (c % per_tile) * m.heads);
    }
}

const erg_cpu_op erg_cpu_op_attention = {run, 2, work_size, phase_barrier, supports};
