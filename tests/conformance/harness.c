#include "tests/conformance/harness.h"

#include "graph/plan_memory.h"
#include "graph/validate.h"
#include "model/quantize.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 256
#define DOT_MIN_AVERAGED 64
#define SENTINEL 0xA5

void case_init(conf_case *c, uint64_t seed, const char *fmt, ...) {
    memset(c, 0, sizeof *c);
    erg_graph_init(&c->g, NULL);
    c->rng = seed * 0x9E3779B97F4A7C15ull + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->label, sizeof c->label, fmt, ap);
    va_end(ap);
}

void case_free(conf_case *c) {
    for (int i = 0; i < c->n_leaves; i++) {
        free(c->mem[i]);
        free(c->vals[i]);
    }
    erg_graph_free(&c->g);
}

static double next_normal(conf_case *c) {
    /* xorshift64*, then Box-Muller */
    double u[2];
    for (int k = 0; k < 2; k++) {
        c->rng ^= c->rng >> 12;
        c->rng ^= c->rng << 25;
        c->rng ^= c->rng >> 27;
        u[k] = ((double)((c->rng * 0x2545F4914F6CDD1Dull) >> 11) + 1.0) * 0x1.0p-53;
    }
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

static int add_leaf(conf_case *c, void *mem, double *vals, int32_t id) {
    if (id < 0 || c->n_leaves == CASE_MAX_LEAVES) {
        free(mem);
        free(vals);
        return -1;
    }
    c->mem[c->n_leaves] = mem;
    c->vals[c->n_leaves] = vals;
    c->ids[c->n_leaves++] = id;
    return id;
}

int32_t case_leaf(conf_case *c, erg_dtype dt, int n_dims, const int64_t *ne, double scale) {
    int64_t ne4[4] = {1, 1, 1, 1};
    for (int i = 0; i < n_dims; i++)
        ne4[i] = ne[i];
    int64_t n = ne4[0] * ne4[1] * ne4[2] * ne4[3], rows = n / ne4[0];
    size_t row_bytes = erg_dtype_row_size(dt, ne4[0]);
    float *src = malloc((size_t)n * sizeof *src);
    double *vals = malloc((size_t)n * sizeof *vals);
    void *mem = calloc((size_t)rows, row_bytes);
    if (!src || !vals || !mem) {
        free(src);
        free(vals);
        free(mem);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        src[i] = (float)(next_normal(c) * scale);
    erg_quantize_rows(dt, src, mem, rows, ne4[0]);
    for (int64_t r = 0; r < rows; r++)
        erg_dequantize_row_f64(dt, (char *)mem + r * (int64_t)row_bytes, vals + r * ne4[0], ne4[0]);
    free(src);
    char name[32];
    snprintf(name, sizeof name, "src%d", c->n_leaves);
    int32_t id = erg_gb_weight(&c->g, name, dt, n_dims, ne, c->n_leaves, mem);
    return add_leaf(c, mem, vals, id);
}

void case_leaf_set(conf_case *c, int32_t id, const float *v) {
    const erg_tensor *t = &c->g.tensors[id];
    int64_t n = erg_tensor_nelements(t);
    for (int i = 0; i < c->n_leaves; i++) {
        if (c->ids[i] != id)
            continue;
        memcpy(c->mem[i], v, (size_t)n * sizeof *v);
        for (int64_t k = 0; k < n; k++)
            c->vals[i][k] = v[k];
    }
}

int32_t case_leaf_i32(conf_case *c, const int32_t *v, int64_t n) {
    int32_t *mem = malloc((size_t)n * sizeof *mem);
    double *vals = malloc((size_t)n * sizeof *vals);
    if (!mem || !vals) {
        free(mem);
        free(vals);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        mem[i] = v[i];
        vals[i] = v[i];
    }
    char name[32];
    snprintf(name, sizeof name, "ids%d", c->n_leaves);
    int32_t id = erg_gb_weight(&c->g, name, ERG_DT_I32, 1, &n, c->n_leaves, mem);
    return add_leaf(c, mem, vals, id);
}

const double *case_vals(const conf_case *c, int32_t id) {
    for (int i = 0; i < c->n_leaves; i++)
        if (c->ids[i] == id)
            return c->vals[i];
    return NULL;
}

double case_get(const conf_case *c, int32_t id, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const erg_tensor *t = &c->g.tensors[id];
    if (t->kind != ERG_TENSOR_VIEW)
        return case_vals(c, id)[i0 + t->ne[0] * (i1 + t->ne[1] * (i2 + t->ne[2] * i3))];
    /* A view of a contiguous leaf: find the element through the strides. */
    const erg_tensor *r = &c->g.tensors[t->view_src];
    const double *vals = case_vals(c, t->view_src);
    size_t rows_off = t->view_offset + (size_t)i1 * t->nb[1] + (size_t)i2 * t->nb[2] +
                      (size_t)i3 * t->nb[3];
    if (erg_dtype_get((int)t->dtype)->block_size == 1)
        return vals[(rows_off + (size_t)i0 * t->nb[0]) / r->nb[0]];
    return vals[(int64_t)(rows_off / r->nb[1]) * r->ne[0] + i0]; /* whole quantized rows */
}

/* The case's leaves as model weights (a matmul's first source marked as a
 * matrix), prepared on the device, and an executor that reads them. */
static erg_status prepare_exec(const conf_case *c, conf_target *t, bool reference_math,
                               erg_backend_weights **weights, erg_backend_exec **exec,
                               erg_diag *diag) {
    const erg_graph *g = &c->g;
    erg_weight_desc descs[CASE_MAX_LEAVES];
    for (int i = 0; i < c->n_leaves; i++) {
        const erg_tensor *l = &g->tensors[c->ids[i]];
        descs[i] = (erg_weight_desc){l->dtype, {l->ne[0], l->ne[1], l->ne[2], l->ne[3]}, l->data,
                                     l->nb[1], false, false};
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (n->op != ERG_OP_MATMUL && n->op != ERG_OP_MATMUL_ADD && n->op != ERG_OP_MATMUL_SWIGLU)
            continue;
        /* src0, and MATMUL_SWIGLU's up weight (src2) */
        int32_t mats[2] = {n->src[0], n->op == ERG_OP_MATMUL_SWIGLU ? n->src[2] : n->src[0]};
        for (int m = 0; m < 2; m++) {
            const erg_tensor *w = &g->tensors[mats[m]];
            if (w->kind == ERG_TENSOR_WEIGHT)
                descs[w->ext_id].matmul = true;
        }
    }
    size_t bytes = 0;
    if (t->backend->weights_prepare)
        ERG_RETURN_IF_ERROR(t->backend->weights_prepare(t->dev, descs, (size_t)c->n_leaves, weights,
                                                        &bytes, diag));
    erg_exec_options opts = {reference_math, *weights};
    return t->backend->exec_create(t->dev, &opts, exec, diag);
}

static double read_out(const erg_tensor *t, const void *data, int64_t i) {
    switch (t->dtype) {
    case ERG_DT_F16:
        return erg_f16_to_f32(((const erg_f16 *)data)[i]);
    case ERG_DT_BF16:
        return erg_bf16_to_f32(((const erg_bf16 *)data)[i]);
    default:
        return ((const float *)data)[i];
    }
}

int case_check(conf_case *c, conf_target *t, bool reference_math, int32_t out, const double *ref,
               double tol) {
    return case_check_dot(c, t, reference_math, out, ref, NULL, NULL, tol);
}

int case_check_dot(conf_case *c, conf_target *t, bool reference_math, int32_t out,
                   const double *ref, const double *bound, const double *rss, double tol) {
    erg_graph *g = &c->g;
    erg_diag diag = {{0}};
    const char *mode = reference_math ? "reference" : "default";
    if (t->int8_matmul_tol > 0) {
        bound = NULL;
        tol = t->int8_matmul_tol;
    }
    erg_gb_mark_output(g, out);
    if (erg_graph_validate(g, &diag) != ERG_OK) {
        printf("FAIL %s [%s, %s]: invalid graph: %s\n", c->label, t->name, mode, diag.msg);
        return 0;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (!t->backend->supports_node(t->dev, g, &g->nodes[i], &diag)) {
            printf("skip %s [%s, %s]: %s\n", c->label, t->name, mode, diag.msg);
            return -1;
        }
    }
    erg_memory_plan plan;
    erg_memory_plan_init(&plan, NULL);
    /* A result that aliases a leaf (CPY into a tensor) is checked over the
     * whole leaf, which starts from its own bytes. */
    int32_t checked = erg_tensor_storage_root(g, out);
    const erg_tensor *to = &g->tensors[checked];
    size_t out_bytes = erg_tensor_nbytes(to);
    int ok = 0;
    void *arena = NULL;
    erg_backend_weights *weights = NULL;
    erg_backend_exec *exec = NULL;
    /* Activations and the checked result live in the device's own host-
     * addressable memory, as a session's do (a GPU backend binds nothing
     * else), with the guards inside the same allocation. */
    unsigned char *guarded = t->backend->host_alloc(t->dev, out_bytes + 2 * GUARD);
    if (erg_plan_memory(g, 64, &plan, &diag) != ERG_OK || !guarded ||
        !(arena = t->backend->host_alloc(t->dev, plan.arena_bytes ? plan.arena_bytes : 1))) {
        printf("FAIL %s [%s, %s]: setup: %s\n", c->label, t->name, mode, diag.msg);
        goto done;
    }
    erg_memory_plan_bind(&plan, g, arena);
    memset(guarded, SENTINEL, out_bytes + 2 * GUARD);
    if (to->data)
        memcpy(guarded + GUARD, to->data, out_bytes);
    g->tensors[checked].data = guarded + GUARD;
    /* A leaf the graph writes (the destination of a CPY) is state, like a KV
     * cache: devices write it in place instead of reading a weight copy. */
    if (g->tensors[checked].kind == ERG_TENSOR_WEIGHT)
        g->tensors[checked].kind = ERG_TENSOR_STATE;
    if (prepare_exec(c, t, reference_math, &weights, &exec, &diag) != ERG_OK ||
        erg_backend_run(t->backend, t->dev, exec, g, NULL, &diag) != ERG_OK) {
        printf("FAIL %s [%s, %s]: run: %s\n", c->label, t->name, mode, diag.msg);
        goto done;
    }
    for (size_t i = 0; i < GUARD; i++) {
        if (guarded[i] != SENTINEL || guarded[GUARD + out_bytes + i] != SENTINEL) {
            printf("FAIL %s [%s, %s]: wrote outside the result (%s guard byte %zu)\n", c->label,
                   t->name, mode, guarded[i] != SENTINEL ? "leading" : "trailing", i);
            goto done;
        }
    }
    double err = 0, norm = 0, worst = 0;
    int64_t n = erg_tensor_nelements(to), worst_i = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = read_out(to, guarded + GUARD, i) - ref[i];
        if (bound && !(fabs(d) <= bound[i])) {
            printf("FAIL %s [%s, %s]: element %lld: got %.9g, want %.9g, off by %.3g > bound "
                   "%.3g\n",
                   c->label, t->name, mode, (long long)i, read_out(to, guarded + GUARD, i), ref[i],
                   fabs(d), bound[i]);
            goto done;
        }
        if (!(fabs(d) <= worst)) { /* also catches NaN */
            worst = isnan(d) ? INFINITY : fabs(d);
            worst_i = i;
        }
        err += d * d;
        norm += rss ? rss[i] * rss[i] : ref[i] * ref[i];
    }
    /* With a bound per element, the normalised error is an average, checked
     * only where it averages enough elements to be stable. */
    double nerr = norm > 0 ? sqrt(err / norm) : sqrt(err);
    bool averaged = !bound || n >= DOT_MIN_AVERAGED;
    if ((averaged && !(nerr <= tol)) || isinf(worst)) {
        printf("FAIL %s [%s, %s]: normalised error %.3g > %.3g (worst element %lld: got %.9g, "
               "want %.9g)\n",
               c->label, t->name, mode, nerr, tol, (long long)worst_i,
               read_out(to, guarded + GUARD, worst_i), ref[worst_i]);
        goto done;
    }
    ok = 1;
done:
    if (exec)
        t->backend->exec_free(exec);
    if (weights)
        t->backend->weights_free(weights);
    erg_memory_plan_free(&plan);
    if (arena)
        t->backend->host_free(t->dev, arena);
    if (guarded)
        t->backend->host_free(t->dev, guarded);
    return ok;
}
