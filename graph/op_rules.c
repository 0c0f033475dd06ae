#include "graph/op_rules.h"

#include <stdio.h>
#include <string.h>

static void shape_str(const erg_tensor *t, char *buf, size_t n) {
    snprintf(buf, n, "%s[%lld,%lld,%lld,%lld]", erg_dtype_name(t->dtype), (long long)t->ne[0],
             (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3]);
}

static erg_status bad(const erg_graph *g, erg_op op, int n_src, const int32_t *src,
                      const char *why, erg_diag *diag) {
    char shapes[4 * 96] = "";
    size_t used = 0;
    for (int i = 0; i < n_src && i < 4; i++) {
        char s[96];
        shape_str(&g->tensors[src[i]], s, sizeof s);
        int w = snprintf(shapes + used, sizeof shapes - used, "%s%s", i ? ", " : "", s);
        if (w > 0 && (size_t)w < sizeof shapes - used)
            used += (size_t)w;
    }
    return erg_fail(diag, ERG_INVALID_ARGUMENT, "%s: %s (%s)", erg_op_name(op), why, shapes);
}

static bool is_f32_rows(const erg_tensor *t) {
    return t->dtype == ERG_DT_F32 && t->nb[0] == sizeof(float);
}

static bool is_i32_vector(const erg_tensor *t, int64_t len) {
    return t->dtype == ERG_DT_I32 && t->ne[0] == len && t->ne[1] * t->ne[2] * t->ne[3] == 1;
}

static bool cpy_dtype_ok(erg_dtype dt) {
    return dt == ERG_DT_F32 || dt == ERG_DT_F16 || dt == ERG_DT_BF16;
}

/* A destination CPY and ROPE_STORE write into: F32/F16/BF16, contiguous rows. */
static bool store_target_ok(const erg_tensor *t) {
    return cpy_dtype_ok(t->dtype) && t->nb[0] == erg_dtype_get((int)t->dtype)->type_size;
}

/* MATMUL's rules on w (src0) and x (src1); the product's shape in ne. */
static const char *matmul_rules(const erg_tensor *w, const erg_tensor *x, int64_t ne[4]) {
    if (!erg_dtype_get((int)w->dtype)->weight_type || !erg_tensor_rows_contiguous(w))
        return "src0 must have contiguous rows of a weight type";
    if (!is_f32_rows(x))
        return "src1 must be F32 with contiguous rows";
    if (w->ne[0] != x->ne[0])
        return "row lengths differ";
    if (x->ne[2] % w->ne[2] != 0 || x->ne[3] % w->ne[3] != 0)
        return "src0 does not broadcast over src1's batch";
    ne[0] = w->ne[1];
    ne[1] = x->ne[1];
    ne[2] = x->ne[2];
    ne[3] = x->ne[3];
    return NULL;
}

/* The rules of a rotation of rows of ne0 elements, n_tok tokens: positions
 * and optional factors (NULL), n_dims and mode. */
static const char *rotation_rules(int64_t ne0, int64_t n_tok, const erg_tensor *pos,
                                  const erg_tensor *f, int n_dims, int mode) {
    if (!is_i32_vector(pos, n_tok))
        return "positions must be I32, one per token";
    if (n_dims <= 0 || n_dims % 2 != 0 || n_dims > ne0)
        return "rotated dims must be even, > 0 and <= ne0";
    if (mode != ERG_ROPE_NORMAL && mode != ERG_ROPE_NEOX)
        return "unknown rope mode";
    if (f && (f->dtype != ERG_DT_F32 || f->ne[0] < n_dims / 2 || !erg_tensor_is_contiguous(f)))
        return "freq factors must be F32 of n_dims/2 values";
    return NULL;
}

/* ROPE's rules on x, positions and optional factors (NULL). */
static const char *rope_rules(const erg_tensor *x, const erg_tensor *pos, const erg_tensor *f,
                              const int32_t *iparams) {
    if (!is_f32_rows(x))
        return "src0 must be F32 with contiguous rows";
    return rotation_rules(x->ne[0], x->ne[2], pos, f, iparams[ERG_ROPE_I_N_DIMS],
                          iparams[ERG_ROPE_I_MODE]);
}

/* ATTENTION's rules: q [D, nt, H] F32, K [D, n_kv, Hkv] and V [n_kv, Dv, Hkv]
 * F32 or F16 with contiguous rows, H a multiple of Hkv. */
static const char *attention_rules(const erg_tensor *q, const erg_tensor *k, const erg_tensor *v,
                                   int64_t ne[4]) {
    if (q->dtype != ERG_DT_F32 || q->nb[0] != sizeof(float))
        return "q must be F32 with contiguous rows";
    for (int i = 0; i < 2; i++) {
        const erg_tensor *t = i ? v : k;
        if ((t->dtype != ERG_DT_F32 && t->dtype != ERG_DT_F16) ||
            t->nb[0] != erg_dtype_get((int)t->dtype)->type_size)
            return "K and V must be F32 or F16 with contiguous rows";
    }
    if (k->ne[0] != q->ne[0] || v->ne[0] != k->ne[1] || v->ne[2] != k->ne[2])
        return "q, K and V shapes do not match";
    if (q->ne[3] != 1 || k->ne[3] != 1 || v->ne[3] != 1 || q->ne[2] % k->ne[2] != 0)
        return "heads of q must be a multiple of K's, in three dims";
    ne[0] = v->ne[1];
    ne[1] = q->ne[2];
    ne[2] = q->ne[1];
    ne[3] = 1;
    return NULL;
}

erg_status erg_op_infer(const erg_graph *g, erg_op op, int n_src, const int32_t *src,
                        const int32_t *iparams, erg_dtype dt_hint, erg_dtype *dt, int64_t ne[4],
                        erg_diag *diag) {
    int want = erg_op_n_src(op);
    if ((unsigned)op >= ERG_OP_COUNT)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "unknown op %d", (int)op);
    if (want >= 0 ? n_src != want : (n_src < 1 || n_src > ERG_MAX_SRC))
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "%s: takes %d sources, got %d",
                        erg_op_name(op), want, n_src);
    for (int i = 0; i < n_src; i++)
        if (src[i] < 0 || (size_t)src[i] >= g->n_tensors)
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "%s: source %d is not a tensor (id %d)",
                            erg_op_name(op), i, src[i]);
    const erg_tensor *a = &g->tensors[src[0]];
    const erg_tensor *b = n_src > 1 ? &g->tensors[src[1]] : NULL;
    *dt = ERG_DT_F32;
    memcpy(ne, a->ne, sizeof a->ne);

    switch (op) {
    case ERG_OP_GET_ROWS:
        if (!erg_dtype_get((int)a->dtype)->weight_type || a->ne[2] * a->ne[3] != 1 ||
            !erg_tensor_rows_contiguous(a))
            return bad(g, op, n_src, src, "src0 must be a weight matrix", diag);
        if (!is_i32_vector(b, b->ne[0]))
            return bad(g, op, n_src, src, "src1 must be an I32 vector of row ids", diag);
        ne[1] = b->ne[0];
        ne[2] = ne[3] = 1;
        return ERG_OK;
    case ERG_OP_MATMUL:
    case ERG_OP_MATMUL_ADD:
    case ERG_OP_MATMUL_SWIGLU: {
        const char *why = matmul_rules(a, b, ne);
        if (why)
            return bad(g, op, n_src, src, why, diag);
        const erg_tensor *c = op == ERG_OP_MATMUL ? NULL : &g->tensors[src[2]];
        if (op == ERG_OP_MATMUL_ADD) {
            if (!is_f32_rows(c))
                return bad(g, op, n_src, src, "src2 must be F32 with contiguous rows", diag);
            for (int i = 0; i < ERG_MAX_DIMS; i++)
                if (ne[i] % c->ne[i] != 0)
                    return bad(g, op, n_src, src, "src2 does not broadcast to the product", diag);
        }
        if (op == ERG_OP_MATMUL_SWIGLU &&
            (c->dtype != a->dtype || !erg_tensor_same_shape(a, c) || !erg_tensor_rows_contiguous(c)))
            return bad(g, op, n_src, src, "src2 must be a weight of src0's type and shape", diag);
        return ERG_OK;
    }
    case ERG_OP_MATMUL_QKV: {
        /* Three 2-D weights of one type and row length over one 2-D x; the
         * products stored one after another, flat. */
        const char *why = matmul_rules(a, b, ne);
        int64_t rows = a->ne[1];
        for (int i = 2; i < 4 && !why; i++) {
            const erg_tensor *w = &g->tensors[src[i]];
            if (w->dtype != a->dtype || w->ne[0] != a->ne[0] || !erg_tensor_rows_contiguous(w) ||
                w->ne[2] * w->ne[3] != 1)
                why = "src2 and src3 must be 2-D weights of src0's type and row length";
            rows += w->ne[1];
        }
        if (!why && (a->ne[2] * a->ne[3] != 1 || b->ne[2] * b->ne[3] != 1))
            why = "src0 and src1 must be 2-D";
        if (why)
            return bad(g, op, n_src, src, why, diag);
        ne[0] = rows * b->ne[1];
        ne[1] = ne[2] = ne[3] = 1;
        return ERG_OK;
    }
    case ERG_OP_ADD:
    case ERG_OP_MUL:
    case ERG_OP_RMS_NORM_MUL:
    case ERG_OP_SWIGLU:
        if (!is_f32_rows(a) || !is_f32_rows(b))
            return bad(g, op, n_src, src, "sources must be F32 with contiguous rows", diag);
        for (int i = 0; i < ERG_MAX_DIMS; i++) {
            bool ok = op == ERG_OP_SWIGLU ? a->ne[i] == b->ne[i] : a->ne[i] % b->ne[i] == 0;
            if (!ok)
                return bad(g, op, n_src, src,
                           op == ERG_OP_SWIGLU ? "shapes differ" : "src1 does not broadcast to src0",
                           diag);
        }
        return ERG_OK;
    case ERG_OP_SCALE:
    case ERG_OP_RMS_NORM:
    case ERG_OP_SOFTMAX:
    case ERG_OP_SILU:
    case ERG_OP_GELU:
        if (!is_f32_rows(a))
            return bad(g, op, n_src, src, "src0 must be F32 with contiguous rows", diag);
        return ERG_OK;
    case ERG_OP_ROPE: {
        if (n_src < 2 || n_src > 3)
            return bad(g, op, n_src, src, "takes a tensor, positions and optional factors", diag);
        const char *why = rope_rules(a, b, n_src == 3 ? &g->tensors[src[2]] : NULL, iparams);
        return why ? bad(g, op, n_src, src, why, diag) : ERG_OK;
    }
    case ERG_OP_ROPE_STORE: {
        if (n_src < 3)
            return bad(g, op, n_src, src,
                       "takes a tensor, positions, a destination and optional factors", diag);
        const erg_tensor *d = &g->tensors[src[2]];
        const char *why = rope_rules(a, b, n_src == 4 ? &g->tensors[src[3]] : NULL, iparams);
        if (!why && !store_target_ok(d))
            why = "destination must be F32/F16/BF16 with contiguous rows";
        if (!why && !erg_tensor_same_shape(a, d))
            why = "shapes differ";
        if (why)
            return bad(g, op, n_src, src, why, diag);
        *dt = d->dtype;
        memcpy(ne, d->ne, sizeof d->ne);
        return ERG_OK;
    }
    case ERG_OP_ATTENTION: {
        if (n_src < 3)
            return bad(g, op, n_src, src,
                       "takes q, K, V and optional positions and factors to rotate q", diag);
        const char *why = attention_rules(a, b, &g->tensors[src[2]], ne);
        if (!why && n_src > 3)
            why = rotation_rules(a->ne[0], a->ne[1], &g->tensors[src[3]],
                                 n_src > 4 ? &g->tensors[src[4]] : NULL,
                                 iparams[ERG_ATTENTION_I_ROPE_N_DIMS],
                                 iparams[ERG_ATTENTION_I_ROPE_MODE]);
        return why ? bad(g, op, n_src, src, why, diag) : ERG_OK;
    }
    case ERG_OP_FILL:
        if (a->dtype != ERG_DT_F32 || !erg_tensor_is_contiguous(a))
            return bad(g, op, n_src, src, "fills a contiguous F32 tensor", diag);
        return ERG_OK;
    case ERG_OP_CPY:
        if (n_src > 2 || a->dtype != ERG_DT_F32)
            return bad(g, op, n_src, src, "copies one F32 tensor", diag);
        if (n_src == 1) {
            if (!cpy_dtype_ok(dt_hint))
                return bad(g, op, n_src, src, "result must be F32, F16 or BF16", diag);
            *dt = dt_hint;
            return ERG_OK;
        }
        if (!store_target_ok(b))
            return bad(g, op, n_src, src, "destination must be F32/F16/BF16 with contiguous rows",
                       diag);
        if (!erg_tensor_same_shape(a, b))
            return bad(g, op, n_src, src, "shapes differ", diag);
        *dt = b->dtype;
        memcpy(ne, b->ne, sizeof b->ne);
        return ERG_OK;
    case ERG_OP_RESHAPE:
    case ERG_OP_VIEW:
    case ERG_OP_PERMUTE:
        if (n_src > 2)
            return bad(g, op, n_src, src, "takes a source and an optional dependency", diag);
        *dt = a->dtype;
        return ERG_OK;
    case ERG_OP_COUNT:
        break;
    }
    return erg_fail(diag, ERG_INVALID_ARGUMENT, "unknown op %d", (int)op);
}
