#include "graph/builder.h"

#include "graph/op_rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Records the graph's first error; later builder calls see it and do nothing. */
static int32_t fail(erg_graph *g, erg_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int32_t fail(erg_graph *g, erg_status st, const char *fmt, ...) {
    if (g->status == ERG_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g->diag.msg, sizeof g->diag.msg, fmt, ap);
        va_end(ap);
        g->status = st;
    }
    return -1;
}

static const int32_t no_params[ERG_MAX_IPARAMS];

static void set_contiguous_strides(erg_tensor *t) {
    t->nb[0] = erg_dtype_get((int)t->dtype)->type_size;
    t->nb[1] = erg_dtype_row_size(t->dtype, t->ne[0]);
    for (int i = 2; i < ERG_MAX_DIMS; i++)
        t->nb[i] = t->nb[i - 1] * (size_t)t->ne[i - 1];
}

static int32_t new_tensor(erg_graph *g, erg_tensor_kind kind, erg_dtype dt, int n_dims,
                          const int64_t *ne) {
    if (g->status != ERG_OK)
        return -1;
    const erg_dtype_traits *tr = erg_dtype_get((int)dt);
    if (!tr)
        return fail(g, ERG_INVALID_ARGUMENT, "tensor of unknown dtype %d", (int)dt);
    if (n_dims < 1 || n_dims > ERG_MAX_DIMS)
        return fail(g, ERG_INVALID_ARGUMENT, "tensor with %d dims (1..%d)", n_dims, ERG_MAX_DIMS);
    for (int i = 0; i < n_dims; i++)
        if (ne[i] < 1)
            return fail(g, ERG_INVALID_ARGUMENT, "tensor dim %d is %lld (must be >= 1)", i,
                        (long long)ne[i]);
    if (ne[0] % tr->block_size != 0)
        return fail(g, ERG_INVALID_ARGUMENT, "%s row of %lld elements is not a multiple of %u",
                    tr->name, (long long)ne[0], tr->block_size);
    if (!erg_grow_array(g->alloc, (void **)&g->tensors, sizeof(erg_tensor), &g->cap_tensors,
                        g->n_tensors + 1))
        return fail(g, ERG_OUT_OF_MEMORY, "out of memory growing the graph to %zu tensors",
                    g->n_tensors + 1);
    int32_t id = (int32_t)g->n_tensors++;
    erg_tensor *t = &g->tensors[id];
    memset(t, 0, sizeof *t);
    t->dtype = dt;
    t->kind = kind;
    t->producer = -1;
    t->view_src = -1;
    t->ext_id = -1;
    for (int i = 0; i < ERG_MAX_DIMS; i++)
        t->ne[i] = i < n_dims ? ne[i] : 1;
    set_contiguous_strides(t);
    return id;
}

/* Tensor names are made for every tensor of every step, so without
 * snprintf (which costs about as much as the rest of building a node). */
static size_t copy_name(char dst[ERG_NAME_MAX], const char *src) {
    size_t n = 0;
    while (n + 1 < ERG_NAME_MAX && src[n]) {
        dst[n] = src[n];
        n++;
    }
    dst[n] = 0;
    return n;
}

/* "OPNAME-id", as snprintf("%s-%d") would write it (truncated to fit). */
static void op_result_name(char dst[ERG_NAME_MAX], const char *op, int32_t id) {
    char digits[12];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + id % 10);
        id /= 10;
    } while (id > 0);
    size_t n = copy_name(dst, op);
    if (n + 1 < ERG_NAME_MAX)
        dst[n++] = '-';
    while (nd > 0 && n + 1 < ERG_NAME_MAX)
        dst[n++] = digits[--nd];
    dst[n] = 0;
}

static erg_node *new_node(erg_graph *g, erg_op op, int n_src, const int32_t *src, int32_t dst) {
    if (g->status != ERG_OK)
        return NULL;
    if (!erg_grow_array(g->alloc, (void **)&g->nodes, sizeof(erg_node), &g->cap_nodes,
                        g->n_nodes + 1)) {
        fail(g, ERG_OUT_OF_MEMORY, "out of memory growing the graph to %zu nodes", g->n_nodes + 1);
        return NULL;
    }
    int32_t id = (int32_t)g->n_nodes++;
    erg_node *n = &g->nodes[id];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->n_src = n_src;
    for (int i = 0; i < ERG_MAX_SRC; i++)
        n->src[i] = i < n_src ? src[i] : -1;
    n->dst = dst;
    g->tensors[dst].producer = id;
    op_result_name(g->tensors[dst].name, erg_op_name(op), dst);
    return n;
}

/* An op whose result is a new activation: checks the sources with the op's
 * rules, creates the result and the node. NULL after an error. */
static erg_node *compute(erg_graph *g, erg_op op, int n_src, const int32_t *src,
                         const int32_t *iparams, erg_dtype dt_hint) {
    if (g->status != ERG_OK)
        return NULL;
    erg_dtype dt;
    int64_t ne[4];
    erg_status st = erg_op_infer(g, op, n_src, src, iparams ? iparams : no_params, dt_hint, &dt,
                                 ne, &g->diag);
    if (st != ERG_OK) {
        g->status = st;
        return NULL;
    }
    int32_t t = new_tensor(g, ERG_TENSOR_ACTIVATION, dt, 4, ne);
    if (t < 0)
        return NULL;
    erg_node *n = new_node(g, op, n_src, src, t);
    if (n && iparams)
        memcpy(n->iparams, iparams, sizeof n->iparams);
    return n;
}

static int32_t dst_of(const erg_node *n) { return n ? n->dst : -1; }

static int32_t leaf(erg_graph *g, erg_tensor_kind kind, const char *name, erg_dtype dt,
                    int n_dims, const int64_t *ne, int32_t ext, void *data) {
    int32_t id = new_tensor(g, kind, dt, n_dims, ne);
    if (id < 0)
        return -1;
    erg_tensor *t = &g->tensors[id];
    t->ext_id = ext;
    t->data = data;
    copy_name(t->name, name);
    return id;
}

int32_t erg_gb_weight(erg_graph *g, const char *name, erg_dtype dt, int n_dims, const int64_t *ne,
                      int32_t model_index, const void *data) {
    return leaf(g, ERG_TENSOR_WEIGHT, name, dt, n_dims, ne, model_index, (void *)data);
}

int32_t erg_gb_input(erg_graph *g, const char *name, erg_dtype dt, int n_dims, const int64_t *ne) {
    return leaf(g, ERG_TENSOR_INPUT, name, dt, n_dims, ne, -1, NULL);
}

int32_t erg_gb_state(erg_graph *g, const char *name, erg_dtype dt, int n_dims, const int64_t *ne,
                     int32_t slot, void *data) {
    return leaf(g, ERG_TENSOR_STATE, name, dt, n_dims, ne, slot, data);
}

/* An op of two sources with an F32 result. */
static int32_t two_sources(erg_graph *g, erg_op op, int32_t a, int32_t b) {
    int32_t src[2] = {a, b};
    return dst_of(compute(g, op, 2, src, NULL, ERG_DT_F32));
}

int32_t erg_gb_get_rows(erg_graph *g, int32_t table, int32_t ids) {
    return two_sources(g, ERG_OP_GET_ROWS, table, ids);
}

int32_t erg_gb_matmul(erg_graph *g, int32_t w, int32_t x) {
    return two_sources(g, ERG_OP_MATMUL, w, x);
}

int32_t erg_gb_add(erg_graph *g, int32_t a, int32_t b) { return two_sources(g, ERG_OP_ADD, a, b); }

int32_t erg_gb_mul(erg_graph *g, int32_t a, int32_t b) { return two_sources(g, ERG_OP_MUL, a, b); }

int32_t erg_gb_swiglu(erg_graph *g, int32_t gate, int32_t up) {
    return two_sources(g, ERG_OP_SWIGLU, gate, up);
}

int32_t erg_gb_silu(erg_graph *g, int32_t a) {
    return dst_of(compute(g, ERG_OP_SILU, 1, &a, NULL, ERG_DT_F32));
}

int32_t erg_gb_gelu(erg_graph *g, int32_t a) {
    return dst_of(compute(g, ERG_OP_GELU, 1, &a, NULL, ERG_DT_F32));
}

int32_t erg_gb_scale(erg_graph *g, int32_t a, float s) {
    erg_node *n = compute(g, ERG_OP_SCALE, 1, &a, NULL, ERG_DT_F32);
    if (n)
        n->fparams[ERG_SCALE_F_SCALE] = s;
    return dst_of(n);
}

int32_t erg_gb_rms_norm(erg_graph *g, int32_t a, float eps) {
    erg_node *n = compute(g, ERG_OP_RMS_NORM, 1, &a, NULL, ERG_DT_F32);
    if (n)
        n->fparams[ERG_RMS_NORM_F_EPS] = eps;
    return dst_of(n);
}

int32_t erg_gb_rope(erg_graph *g, int32_t a, int32_t positions, int32_t freq_factors, int n_dims,
                    erg_rope_mode mode, float freq_base, float freq_scale) {
    int32_t src[3] = {a, positions, freq_factors};
    int32_t ip[ERG_MAX_IPARAMS] = {0};
    ip[ERG_ROPE_I_N_DIMS] = n_dims;
    ip[ERG_ROPE_I_MODE] = (int32_t)mode;
    erg_node *n = compute(g, ERG_OP_ROPE, freq_factors >= 0 ? 3 : 2, src, ip, ERG_DT_F32);
    if (n) {
        n->fparams[ERG_ROPE_F_FREQ_BASE] = freq_base;
        n->fparams[ERG_ROPE_F_FREQ_SCALE] = freq_scale;
    }
    return dst_of(n);
}

int32_t erg_gb_softmax(erg_graph *g, int32_t a, float scale, bool causal, int32_t n_past) {
    int32_t ip[ERG_MAX_IPARAMS] = {0};
    ip[ERG_SOFTMAX_I_CAUSAL] = causal;
    ip[ERG_SOFTMAX_I_N_PAST] = n_past;
    erg_node *n = compute(g, ERG_OP_SOFTMAX, 1, &a, ip, ERG_DT_F32);
    if (n)
        n->fparams[ERG_SOFTMAX_F_SCALE] = scale;
    return dst_of(n);
}

int32_t erg_gb_cont(erg_graph *g, int32_t a, erg_dtype dt) {
    return dst_of(compute(g, ERG_OP_CPY, 1, &a, NULL, dt));
}

/* A view tensor over the storage of `a` (through any chain of views), defined
 * by node `op` with sources {a, dep}. nb NULL: contiguous strides. */
static erg_node *new_view(erg_graph *g, erg_op op, int32_t a, int32_t dep, erg_dtype dt,
                          int n_dims, const int64_t *ne, const size_t *nb, size_t offset) {
    int32_t src[2] = {a, dep};
    int n_src = dep >= 0 ? 2 : 1;
    erg_dtype dt_checked;
    int64_t ne_checked[4];
    if (g->status != ERG_OK)
        return NULL;
    erg_status st = erg_op_infer(g, op, n_src, src, no_params, dt,
                                 &dt_checked, ne_checked, &g->diag);
    if (st != ERG_OK) {
        g->status = st;
        return NULL;
    }
    const erg_tensor *ta = &g->tensors[a];
    int32_t root = erg_tensor_storage_root(g, a);
    size_t base_off = ta->kind == ERG_TENSOR_VIEW ? ta->view_offset : 0;
    int32_t v = new_tensor(g, ERG_TENSOR_VIEW, dt, n_dims, ne);
    if (v < 0)
        return NULL;
    erg_tensor *tv = &g->tensors[v];
    tv->view_src = root;
    tv->view_offset = base_off + offset;
    if (nb)
        for (int i = 0; i < ERG_MAX_DIMS; i++)
            tv->nb[i] = i < n_dims ? nb[i] : tv->nb[i - 1] * (size_t)tv->ne[i - 1];
    const erg_tensor *troot = &g->tensors[root];
    if (tv->view_offset + erg_tensor_nbytes(tv) > erg_tensor_nbytes(troot)) {
        fail(g, ERG_INVALID_ARGUMENT,
             "%s of '%s': bytes [%zu, %zu) run past the end of its storage (%zu bytes)",
             erg_op_name(op), troot->name, tv->view_offset, tv->view_offset + erg_tensor_nbytes(tv),
             erg_tensor_nbytes(troot));
        return NULL;
    }
    return new_node(g, op, n_src, src, v);
}

int32_t erg_gb_reshape(erg_graph *g, int32_t a, int n_dims, const int64_t *ne) {
    if (g->status != ERG_OK || a < 0 || (size_t)a >= g->n_tensors)
        return fail(g, ERG_INVALID_ARGUMENT, "RESHAPE: source is not a tensor (id %d)", a);
    const erg_tensor *ta = &g->tensors[a];
    int64_t n = 1;
    for (int i = 0; i < n_dims && i < ERG_MAX_DIMS; i++)
        n *= ne[i];
    if (!erg_tensor_is_contiguous(ta) || n != erg_tensor_nelements(ta))
        return fail(g, ERG_INVALID_ARGUMENT,
                    "RESHAPE of '%s': needs a contiguous source of the same element count",
                    ta->name);
    return dst_of(new_view(g, ERG_OP_RESHAPE, a, -1, ta->dtype, n_dims, ne, NULL, 0));
}

int32_t erg_gb_view(erg_graph *g, int32_t a, int32_t dep, int n_dims, const int64_t *ne,
                    const size_t *nb, size_t offset) {
    if (g->status != ERG_OK || a < 0 || (size_t)a >= g->n_tensors)
        return fail(g, ERG_INVALID_ARGUMENT, "VIEW: source is not a tensor (id %d)", a);
    return dst_of(new_view(g, ERG_OP_VIEW, a, dep, g->tensors[a].dtype, n_dims, ne, nb, offset));
}

int32_t erg_gb_permute(erg_graph *g, int32_t a, int ax0, int ax1, int ax2, int ax3) {
    if (g->status != ERG_OK || a < 0 || (size_t)a >= g->n_tensors)
        return fail(g, ERG_INVALID_ARGUMENT, "PERMUTE: source is not a tensor (id %d)", a);
    int axes[4] = {ax0, ax1, ax2, ax3};
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        if (axes[i] < 0 || axes[i] > 3 || (seen & (1 << axes[i])))
            return fail(g, ERG_INVALID_ARGUMENT, "PERMUTE: axes %d,%d,%d,%d are not a permutation",
                        ax0, ax1, ax2, ax3);
        seen |= 1 << axes[i];
    }
    const erg_tensor *ta = &g->tensors[a];
    if (erg_dtype_get((int)ta->dtype)->block_size != 1 && axes[0] != 0)
        return fail(g, ERG_INVALID_ARGUMENT,
                    "PERMUTE of '%s': cannot move the row dim of a quantized tensor", ta->name);
    int64_t ne[4];
    size_t nb[4];
    for (int i = 0; i < 4; i++) {
        ne[axes[i]] = ta->ne[i];
        nb[axes[i]] = ta->nb[i];
    }
    erg_node *n = new_view(g, ERG_OP_PERMUTE, a, -1, ta->dtype, 4, ne, nb, 0);
    if (n)
        for (int i = 0; i < 4; i++)
            n->iparams[i] = axes[i];
    return dst_of(n);
}

/* A node that writes into an existing tensor, src[target]: its result is a
 * view aliasing that tensor, with its shape and strides. */
static erg_node *write_into(erg_graph *g, erg_op op, int n_src, const int32_t *src, int target,
                            const int32_t *iparams) {
    erg_dtype dt;
    int64_t ne[4];
    if (g->status != ERG_OK)
        return NULL;
    erg_status st = erg_op_infer(g, op, n_src, src, iparams ? iparams : no_params, ERG_DT_F32, &dt,
                                 ne, &g->diag);
    if (st != ERG_OK) {
        g->status = st;
        return NULL;
    }
    int32_t dst_view = src[target];
    const erg_tensor *td = &g->tensors[dst_view];
    int32_t root = erg_tensor_storage_root(g, dst_view);
    size_t off = td->kind == ERG_TENSOR_VIEW ? td->view_offset : 0;
    int32_t v = new_tensor(g, ERG_TENSOR_VIEW, dt, 4, ne);
    if (v < 0)
        return NULL;
    erg_tensor *tv = &g->tensors[v];
    memcpy(tv->nb, g->tensors[dst_view].nb, sizeof tv->nb);
    tv->view_src = root;
    tv->view_offset = off;
    erg_node *n = new_node(g, op, n_src, src, v);
    if (n && iparams)
        memcpy(n->iparams, iparams, sizeof n->iparams);
    return n;
}

int32_t erg_gb_cpy(erg_graph *g, int32_t src, int32_t dst_view) {
    int32_t s[2] = {src, dst_view};
    return dst_of(write_into(g, ERG_OP_CPY, 2, s, 1, NULL));
}

int32_t erg_gb_rms_norm_mul(erg_graph *g, int32_t a, int32_t w, float eps) {
    int32_t src[2] = {a, w};
    erg_node *n = compute(g, ERG_OP_RMS_NORM_MUL, 2, src, NULL, ERG_DT_F32);
    if (n)
        n->fparams[ERG_RMS_NORM_F_EPS] = eps;
    return dst_of(n);
}

int32_t erg_gb_matmul_add(erg_graph *g, int32_t w, int32_t x, int32_t addend) {
    int32_t src[3] = {w, x, addend};
    return dst_of(compute(g, ERG_OP_MATMUL_ADD, 3, src, NULL, ERG_DT_F32));
}

int32_t erg_gb_matmul_swiglu(erg_graph *g, int32_t w_gate, int32_t x, int32_t w_up) {
    int32_t src[3] = {w_gate, x, w_up};
    return dst_of(compute(g, ERG_OP_MATMUL_SWIGLU, 3, src, NULL, ERG_DT_F32));
}

int32_t erg_gb_matmul_qkv(erg_graph *g, int32_t wq, int32_t x, int32_t wk, int32_t wv) {
    int32_t src[4] = {wq, x, wk, wv};
    return dst_of(compute(g, ERG_OP_MATMUL_QKV, 4, src, NULL, ERG_DT_F32));
}

int32_t erg_gb_rope_store(erg_graph *g, int32_t a, int32_t positions, int32_t freq_factors,
                          int32_t dst_view, int n_dims, erg_rope_mode mode, float freq_base,
                          float freq_scale) {
    int32_t src[4] = {a, positions, dst_view, freq_factors};
    int32_t ip[ERG_MAX_IPARAMS] = {0};
    ip[ERG_ROPE_I_N_DIMS] = n_dims;
    ip[ERG_ROPE_I_MODE] = (int32_t)mode;
    erg_node *n = write_into(g, ERG_OP_ROPE_STORE, freq_factors >= 0 ? 4 : 3, src, 2, ip);
    if (n) {
        n->fparams[ERG_ROPE_F_FREQ_BASE] = freq_base;
        n->fparams[ERG_ROPE_F_FREQ_SCALE] = freq_scale;
    }
    return dst_of(n);
}

int32_t erg_gb_attention(erg_graph *g, int32_t q, int32_t k, int32_t v, float scale, bool causal,
                         int32_t n_past) {
    int32_t src[3] = {q, k, v};
    int32_t ip[ERG_MAX_IPARAMS] = {0};
    ip[ERG_ATTENTION_I_CAUSAL] = causal;
    ip[ERG_ATTENTION_I_N_PAST] = n_past;
    erg_node *n = compute(g, ERG_OP_ATTENTION, 3, src, ip, ERG_DT_F32);
    if (n)
        n->fparams[ERG_ATTENTION_F_SCALE] = scale;
    return dst_of(n);
}

int32_t erg_gb_attention_rope(erg_graph *g, int32_t q, int32_t k, int32_t v, float scale,
                              bool causal, int32_t n_past, int32_t positions, int32_t freq_factors,
                              int n_dims, erg_rope_mode mode, float freq_base, float freq_scale) {
    int32_t src[5] = {q, k, v, positions, freq_factors};
    int32_t ip[ERG_MAX_IPARAMS] = {0};
    ip[ERG_ATTENTION_I_CAUSAL] = causal;
    ip[ERG_ATTENTION_I_N_PAST] = n_past;
    ip[ERG_ATTENTION_I_ROPE_N_DIMS] = n_dims;
    ip[ERG_ATTENTION_I_ROPE_MODE] = (int32_t)mode;
    erg_node *n = compute(g, ERG_OP_ATTENTION, freq_factors >= 0 ? 5 : 4, src, ip, ERG_DT_F32);
    if (n) {
        n->fparams[ERG_ATTENTION_F_SCALE] = scale;
        n->fparams[ERG_ATTENTION_F_ROPE_FREQ_BASE] = freq_base;
        n->fparams[ERG_ATTENTION_F_ROPE_FREQ_SCALE] = freq_scale;
    }
    return dst_of(n);
}

int32_t erg_gb_fill(erg_graph *g, int32_t a, float value) {
    erg_node *n = write_into(g, ERG_OP_FILL, 1, &a, 0, NULL);
    if (n)
        n->fparams[ERG_FILL_F_VALUE] = value;
    return dst_of(n);
}

int32_t erg_gb_name(erg_graph *g, int32_t id, const char *fmt, ...) {
    if (g->status != ERG_OK || id < 0 || (size_t)id >= g->n_tensors)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->tensors[id].name, ERG_NAME_MAX, fmt, ap);
    va_end(ap);
    return id;
}

void erg_gb_mark_output(erg_graph *g, int32_t id) {
    if (g->status == ERG_OK && id >= 0 && (size_t)id < g->n_tensors)
        g->tensors[id].flags |= ERG_TENSOR_FLAG_OUTPUT;
}
