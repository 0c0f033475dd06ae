/* The memory planner on seeded random DAGs: no two tensors alive at one step
 * share bytes (lifetimes recomputed here), results computed in place only
 * over the sources the rule allows, the reported sizes, and poisoning's
 * FILL nodes. End to end on the CPU backend, random graphs give the same
 * bits, with no NaN, with every tensor in memory of its own, planned, and
 * planned with freed memory poisoned. */
#include "tests/test.h"

#include "backends/cpu/cpu_backend.h"
#include "graph/builder.h"
#include "graph/plan_memory.h"
#include "graph/poison.h"
#include "graph/validate.h"

#include <limits.h>
#include <stdint.h>

#define MAX_LEAVES 512
#define MAX_TENSORS 2048

/* ---- random DAGs ----------------------------------------------------------- */

typedef struct {
    erg_graph g;
    uint64_t rng;
    float *data[MAX_LEAVES]; /* weights' data and inputs' values */
    int32_t leaf[MAX_LEAVES];
    int n_leaves, n_weights;
    double bound[MAX_TENSORS]; /* a bound on |values|: ops keep results finite */
    int32_t pool[MAX_TENSORS]; /* what ops may read: contiguous F32 inputs and results */
    int n_pool;
    bool fused; /* MATMUL_ADD as well */
} dag;

static uint32_t next_u32(dag *d) { /* xorshift64* */
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return (uint32_t)((d->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static int below(dag *d, int n) { return (int)(next_u32(d) % (uint32_t)n); }

static float unit(dag *d) { return (float)next_u32(d) / 2147483648.0f - 1.0f; }

/* A tensor's bound (0 for the -1 of a failed builder call: validation
 * reports the graph's error). */
static double bound_of(const dag *d, int32_t id) { return id >= 0 ? d->bound[id] : 0.0; }

static void add_pool(dag *d, int32_t id, double bound) {
    if (id < 0)
        return;
    d->bound[id] = bound;
    d->pool[d->n_pool++] = id;
}

/* A weight (values in [-scale, scale]) or an input of [ne0, ne1]. */
static int32_t leaf(dag *d, bool input, int64_t ne0, int64_t ne1, float scale) {
    int64_t ne[2] = {ne0, ne1};
    float *v = malloc((size_t)(ne0 * ne1) * sizeof *v);
    for (int64_t i = 0; i < ne0 * ne1; i++)
        v[i] = unit(d) * scale;
    int32_t id = input ? erg_gb_input(&d->g, "in", ERG_DT_F32, 2, ne)
                       : erg_gb_weight(&d->g, "w", ERG_DT_F32, 2, ne, d->n_weights++, v);
    if (id < 0) {
        free(v);
        return id;
    }
    d->data[d->n_leaves] = v;
    d->leaf[d->n_leaves++] = id;
    d->bound[id] = scale;
    if (input)
        add_pool(d, id, scale);
    return id;
}

/* Mostly one of the last few results (short lifetimes), else any. */
static int32_t pick(dag *d) {
    int n = d->n_pool;
    if (below(d, 10) < 6)
        return d->pool[n - 1 - below(d, n < 6 ? n : 6)];
    return d->pool[below(d, n)];
}

/* A second operand for a of a's shape: a result from the pool when one
 * fits, else a new input; or (broadcast) a weight of one column. */
static int32_t operand(dag *d, int32_t a, bool broadcast) {
    const erg_tensor *ta = &d->g.tensors[a];
    if (broadcast && below(d, 4) == 0)
        return leaf(d, false, ta->ne[0], 1, 1.0f);
    if (below(d, 10) < 7) {
        int start = below(d, d->n_pool);
        for (int k = 0; k < d->n_pool; k++) {
            int32_t b = d->pool[(start + k) % d->n_pool];
            if (erg_tensor_same_shape(&d->g.tensors[b], ta))
                return b;
        }
    }
    return leaf(d, true, ta->ne[0], ta->ne[1], 1.0f);
}

static const int64_t widths[] = {8, 16, 32, 48, 64};

/* Appends one random op (a few nodes for the view cases). */
static void grow(dag *d) {
    erg_graph *g = &d->g;
    int32_t a = pick(d), b;
    int64_t ne0 = g->tensors[a].ne[0], ne1 = g->tensors[a].ne[1];
    double ba = d->bound[a];
    if (ba > 1e3) {
        add_pool(d, erg_gb_rms_norm(g, a, 1e-5f), 8.0 * ne0);
        return;
    }
    int64_t n_out = widths[below(d, 5)];
    switch (below(d, 13)) {
    case 0: {
        float s = 2.0f * unit(d);
        add_pool(d, erg_gb_scale(g, a, s), fabs(s) * ba);
        break;
    }
    case 1:
        add_pool(d, erg_gb_silu(g, a), ba);
        break;
    case 2:
        add_pool(d, erg_gb_gelu(g, a), ba);
        break;
    case 3:
    case 4:
        b = operand(d, a, true);
        add_pool(d, erg_gb_add(g, a, b), ba + bound_of(d, b));
        break;
    case 5:
        b = operand(d, a, true);
        add_pool(d, erg_gb_mul(g, a, b), ba * bound_of(d, b));
        break;
    case 6:
        b = operand(d, a, false);
        add_pool(d, below(d, 2) ? erg_gb_swiglu(g, a, b) : erg_gb_swiglu(g, b, a),
                 ba * bound_of(d, b));
        break;
    case 7:
        b = leaf(d, false, ne0, n_out, 1.0f / (float)ne0);
        add_pool(d, erg_gb_matmul(g, b, a), ba);
        break;
    case 8: {
        if (!d->fused) {
            add_pool(d, erg_gb_rms_norm(g, a, 1e-5f), 8.0 * ne0);
            break;
        }
        /* The addend: x itself where the shapes allow (it must not run in
         * place: the product reads x whole), a result, or a bias. */
        if (below(d, 3) == 0)
            n_out = ne0;
        int32_t w = leaf(d, false, ne0, n_out, 1.0f / (float)ne0), c = -1;
        if (n_out == ne0 && below(d, 2) == 0) {
            c = a;
        } else {
            for (int k = d->n_pool - 1; k >= 0 && c < 0; k--)
                if (g->tensors[d->pool[k]].ne[0] == n_out && g->tensors[d->pool[k]].ne[1] == ne1)
                    c = d->pool[k];
            if (c < 0)
                c = leaf(d, false, n_out, 1, 1.0f);
        }
        add_pool(d, erg_gb_matmul_add(g, w, a, c), ba + bound_of(d, c));
        break;
    }
    case 9:
        add_pool(d, erg_gb_rms_norm(g, a, 1e-5f), 8.0 * ne0);
        break;
    case 10:
        add_pool(d, erg_gb_softmax(g, a, 1.0f, false, 0), 1.0);
        break;
    case 11:
        if (ne1 >= 2 && below(d, 2)) { /* a slice of rows */
            int64_t k = 1 + below(d, (int)ne1 - 1), r0 = below(d, (int)(ne1 - k + 1));
            int64_t vne[2] = {ne0, k};
            size_t vnb[2] = {sizeof(float), g->tensors[a].nb[1]};
            add_pool(d, erg_gb_view(g, a, -1, 2, vne, vnb, (size_t)r0 * vnb[1]), ba);
        } else {
            int64_t rne[2] = {ne0 * ne1, 1};
            if (ne0 % 2 == 0 && below(d, 2)) {
                rne[0] = ne0 / 2;
                rne[1] = ne1 * 2;
            }
            add_pool(d, erg_gb_reshape(g, a, 2, rne), ba);
        }
        break;
    default:
        add_pool(d, erg_gb_cont(g, erg_gb_permute(g, a, 1, 0, 2, 3), ERG_DT_F32), ba);
        break;
    }
}

/* A DAG of about n_nodes nodes (seeded); some results are outputs. */
static dag *make_dag(uint64_t seed, int n_nodes, bool fused) {
    dag *d = calloc(1, sizeof *d);
    erg_graph_init(&d->g, NULL);
    d->rng = seed * 0x9E3779B97F4A7C15ull + 7;
    d->fused = fused;
    int64_t m = 1 + below(d, 5);
    for (int k = 1 + below(d, 3); k > 0; k--)
        leaf(d, true, widths[below(d, 5)], m, 1.0f);
    /* A step adds at most two leaves and four tensors. */
    while (d->g.n_nodes < (size_t)n_nodes && d->g.status == ERG_OK &&
           d->n_leaves + 2 <= MAX_LEAVES && d->g.n_tensors + 4 <= MAX_TENSORS)
        grow(d);
    for (size_t t = 0; t < d->g.n_tensors; t++)
        if (d->g.tensors[t].kind == ERG_TENSOR_ACTIVATION && below(d, 100) < 8)
            erg_gb_mark_output(&d->g, (int32_t)t);
    erg_gb_mark_output(&d->g, d->pool[d->n_pool - 1]);
    return d;
}

static void free_dag(dag *d) {
    for (int i = 0; i < d->n_leaves; i++)
        free(d->data[i]);
    erg_graph_free(&d->g);
    free(d);
}

/* ---- the planner's invariants ------------------------------------------- */

/* Lifetimes recomputed here: the steps from which to which each tensor's
 * storage is needed (inputs from -1, outputs to INT_MAX). */
static void lifetimes(const erg_graph *g, int *first, int *last) {
    for (size_t t = 0; t < g->n_tensors; t++) {
        const erg_tensor *x = &g->tensors[t];
        first[t] = x->kind == ERG_TENSOR_INPUT ? -1 : x->producer;
        last[t] = (x->flags & ERG_TENSOR_FLAG_OUTPUT) ? INT_MAX : first[t];
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        for (int s = 0; s < n->n_src; s++) {
            int32_t r = erg_tensor_storage_root(g, n->src[s]);
            if ((int)i > last[r])
                last[r] = (int)i;
        }
        const erg_tensor *v = &g->tensors[n->dst];
        if (v->kind == ERG_TENSOR_VIEW && (v->flags & ERG_TENSOR_FLAG_OUTPUT))
            last[v->view_src] = INT_MAX;
    }
}

/* The op/source pairs the issue allows to run in place. */
static bool allowed_pair(erg_op op, int s) {
    switch (op) {
    case ERG_OP_ADD:
    case ERG_OP_MUL:
    case ERG_OP_SWIGLU:
        return s <= 1;
    case ERG_OP_SCALE:
    case ERG_OP_SILU:
    case ERG_OP_GELU:
        return s == 0;
    case ERG_OP_MATMUL_ADD:
        return s == 2;
    default:
        return false;
    }
}

/* Source s of node n covers exactly the bytes of n's result, elementwise. */
static bool covers_result(const erg_graph *g, const erg_node *n, int s) {
    const erg_tensor *x = &g->tensors[n->src[s]], *d = &g->tensors[n->dst];
    const erg_tensor *r = &g->tensors[erg_tensor_storage_root(g, n->src[s])];
    return allowed_pair(n->op, s) && erg_tensor_same_shape(x, d) && x->dtype == d->dtype &&
           erg_tensor_is_contiguous(x) && (x->kind != ERG_TENSOR_VIEW || x->view_offset == 0) &&
           erg_tensor_nbytes(r) == erg_tensor_nbytes(d);
}

static size_t aligned(const erg_graph *g, size_t t, size_t align) {
    return (erg_tensor_nbytes(&g->tensors[t]) + align - 1) / align * align;
}

/* Every in-place result took the bytes of an allowed source that dies at
 * its node and that no other operand reads otherwise. */
static int check_inplace(const erg_graph *g, const erg_memory_plan *p, const int *last) {
    int n_inplace = 0;
    for (size_t t = 0; t < g->n_tensors; t++) {
        int32_t r = p->inplace_of[t];
        if (r < 0)
            continue;
        n_inplace++;
        const erg_node *n = &g->nodes[g->tensors[t].producer];
        CHECK(g->tensors[t].kind == ERG_TENSOR_ACTIVATION);
        CHECK(g->tensors[r].kind == ERG_TENSOR_ACTIVATION);
        CHECK(p->offset[t] == p->offset[r]);
        CHECK_EQ_INT(last[r], g->tensors[t].producer);
        CHECK_EQ_INT(p->released_after[r], -1);
        bool via_allowed = false, other_reads = false;
        for (int s = 0; s < n->n_src; s++) {
            if (erg_tensor_storage_root(g, n->src[s]) != r)
                continue;
            if (covers_result(g, n, s))
                via_allowed = true;
            else
                other_reads = true;
        }
        CHECK_MSG(via_allowed && !other_reads, "%s over %s", erg_op_name(n->op),
                  g->tensors[r].name);
    }
    CHECK_EQ_INT(n_inplace, p->n_inplace);
    return n_inplace;
}

/* The largest total size alive at one step, a result computed in place
 * counted once with its source. */
static size_t lower_bound(const erg_graph *g, const erg_memory_plan *p, const int *first,
                          const int *last, size_t align) {
    size_t peak = 0;
    for (int s = -1; s < (int)g->n_nodes; s++) {
        size_t live = 0;
        for (size_t t = 0; t < g->n_tensors; t++) {
            if (p->offset[t] == ERG_PLAN_NONE || first[t] > s || last[t] < s)
                continue;
            int32_t r = p->inplace_of[t];
            if (r < 0 || last[r] < s)
                live += aligned(g, t, align);
        }
        if (live > peak)
            peak = live;
    }
    return peak;
}

/* Plans g and checks the plan against lifetimes computed here. */
static int check_plan(const erg_graph *g, size_t align, erg_memory_plan *p) {
    erg_diag diag;
    CHECK_STATUS(erg_plan_memory(g, align, p, &diag), ERG_OK);
    size_t nt = g->n_tensors;
    int *first = malloc(nt * sizeof *first), *last = malloc(nt * sizeof *last);
    lifetimes(g, first, last);
    size_t naive = 0;
    int overlaps = 0;
    for (size_t a = 0; a < nt; a++) {
        const erg_tensor *x = &g->tensors[a];
        bool planned = x->kind == ERG_TENSOR_ACTIVATION || x->kind == ERG_TENSOR_INPUT;
        CHECK(planned == (p->offset[a] != ERG_PLAN_NONE));
        if (!planned)
            continue;
        naive += aligned(g, a, align);
        CHECK(p->offset[a] % align == 0 && p->offset[a] + erg_tensor_nbytes(x) <= p->arena_bytes);
        bool donor = false;
        for (size_t t = 0; t < nt; t++)
            donor |= p->inplace_of[t] == (int32_t)a;
        int expect = donor || last[a] < 0 || last[a] >= (int)g->n_nodes ? -1 : last[a];
        CHECK_EQ_INT(p->released_after[a], expect);
        size_t a0 = p->offset[a], a1 = a0 + erg_tensor_nbytes(x);
        for (size_t b = a + 1; b < nt; b++) {
            if (p->offset[b] == ERG_PLAN_NONE || p->inplace_of[a] == (int32_t)b ||
                p->inplace_of[b] == (int32_t)a)
                continue;
            size_t b0 = p->offset[b], b1 = b0 + erg_tensor_nbytes(&g->tensors[b]);
            if (first[a] <= last[b] && first[b] <= last[a] && a0 < b1 && b0 < a1)
                overlaps++;
        }
    }
    CHECK_EQ_INT(overlaps, 0);
    int n_inplace = check_inplace(g, p, last);
    CHECK_EQ_INT(p->lower_bound_bytes, lower_bound(g, p, first, last, align));
    CHECK(p->arena_bytes >= p->lower_bound_bytes);
    CHECK(p->naive_bytes >= p->arena_bytes);
    CHECK_EQ_INT(p->naive_bytes, naive);
    free(first);
    free(last);
    return n_inplace;
}

/* Poisons g with plan p: one FILL(NaN) right after the last reader of each
 * freed F32 tensor, nothing else moved; g stays valid and p binds it. */
static void check_poison(erg_graph *g, const erg_memory_plan *p) {
    size_t nn = g->n_nodes, nt = g->n_tensors;
    int *first = malloc(nt * sizeof *first), *last = malloc(nt * sizeof *last);
    int32_t *old_dst = malloc((nn + 1) * sizeof *old_dst);
    char *want = calloc(nt, 1);
    lifetimes(g, first, last);
    for (size_t i = 0; i < nn; i++)
        old_dst[i] = g->nodes[i].dst;
    size_t n_want = 0;
    for (size_t t = 0; t < nt; t++) {
        const erg_tensor *x = &g->tensors[t];
        bool donor = false;
        for (size_t u = 0; u < nt; u++)
            donor |= p->inplace_of[u] == (int32_t)t;
        want[t] = p->offset[t] != ERG_PLAN_NONE && !donor && last[t] >= 0 && last[t] < (int)nn &&
                  x->dtype == ERG_DT_F32 && erg_tensor_is_contiguous(x);
        n_want += (size_t)want[t];
    }
    erg_diag diag;
    CHECK_STATUS(erg_plan_poison(g, p, &diag), ERG_OK);
    CHECK_STATUS(erg_graph_validate(g, &diag), ERG_OK);
    CHECK_EQ_INT(g->n_nodes, nn + n_want);
    size_t k = 0; /* original nodes seen */
    for (size_t j = 0; j < g->n_nodes; j++) {
        const erg_node *n = &g->nodes[j];
        if (k < nn && n->dst == old_dst[k]) {
            k++;
            continue;
        }
        int32_t t = n->src[0];
        CHECK_MSG(n->op == ERG_OP_FILL && isnan(n->fparams[ERG_FILL_F_VALUE]) && t < (int32_t)nt &&
                      want[t] == 1 && (int)k - 1 == last[t],
                  "node %zu (%s) after original node %zu", j, erg_op_name(n->op), k);
        if (t < (int32_t)nt)
            want[t] = 2;
    }
    CHECK_EQ_INT(k, nn);
    for (size_t t = 0; t < nt; t++)
        CHECK(want[t] != 1);
    /* The plan binds the longer graph: a FILL's result is its root's bytes. */
    char *arena = malloc(p->arena_bytes + 1);
    erg_memory_plan_bind(p, g, arena);
    for (size_t j = 0; j < g->n_nodes; j++)
        if (g->nodes[j].op == ERG_OP_FILL)
            CHECK(erg_tensor_host_data(g, g->nodes[j].dst) ==
                  arena + p->offset[g->nodes[j].src[0]]);
    /* The plan is of the graph before: poisoning twice is refused. */
    CHECK_STATUS(erg_plan_poison(g, p, &diag), ERG_INVALID_ARGUMENT);
    free(arena);
    free(first);
    free(last);
    free(old_dst);
    free(want);
}

static void check_random_dags(void) {
    static const size_t aligns[] = {4, 16, 64, 256};
    int n_inplace = 0, n_graphs = 60;
    size_t naive = 0, arena = 0, bound = 0;
    for (int i = 0; i < n_graphs; i++) {
        dag *d = make_dag((uint64_t)i, 10 + (i * 37) % 191, i % 2 == 1);
        erg_diag diag;
        CHECK_MSG(erg_graph_validate(&d->g, &diag) == ERG_OK, "graph %d: %s", i, diag.msg);
        erg_memory_plan p;
        erg_memory_plan_init(&p, NULL);
        n_inplace += check_plan(&d->g, aligns[i % 4], &p);
        naive += p.naive_bytes;
        arena += p.arena_bytes;
        bound += p.lower_bound_bytes;
        check_poison(&d->g, &p);
        erg_memory_plan_free(&p);
        free_dag(d);
    }
    CHECK(n_inplace > 100);
    printf("%d random DAGs: %d results in place; arena %zu, naive %zu, lower bound %zu bytes\n",
           n_graphs, n_inplace, arena, naive, bound);
}

/* ---- in-place decisions on a small graph -------------------------------- */

static void check_inplace_cases(void) {
    erg_graph g;
    erg_graph_init(&g, NULL);
    int64_t ne[2] = {8, 4}, col[2] = {8, 1}, wne[2] = {8, 8}, half[2] = {8, 2}, flat[2] = {32, 1};
    size_t half_nb[2] = {4, 32};
    int32_t in = erg_gb_input(&g, "in", ERG_DT_F32, 2, ne);
    int32_t bias = erg_gb_weight(&g, "bias", ERG_DT_F32, 2, col, 0, NULL);
    int32_t w = erg_gb_weight(&g, "w", ERG_DT_F32, 2, wne, 1, NULL);
    int32_t a = erg_gb_scale(&g, in, 2.0f);    /* over an input: no */
    int32_t b = erg_gb_silu(&g, a);            /* a is read later: no */
    int32_t c = erg_gb_add(&g, a, bias);       /* over a (src1 broadcast) */
    int32_t e = erg_gb_mul(&g, c, c);          /* over c, read twice */
    int32_t f = erg_gb_add(&g, b, e);          /* over b, the first allowed */
    int32_t h = erg_gb_rms_norm(&g, f, 1e-5f); /* not elementwise: no */
    int32_t v = erg_gb_view(&g, h, -1, 2, half, half_nb, 64);
    int32_t k = erg_gb_gelu(&g, v); /* over a slice of h: no */
    int32_t s = erg_gb_silu(&g, h); /* over h, which k read before */
    int32_t sr = erg_gb_reshape(&g, s, 2, flat);
    int32_t l = erg_gb_scale(&g, sr, 0.5f); /* over s, through a whole reshape */
    int32_t q = erg_gb_silu(&g, l);         /* l is an output: no */
    int32_t x = erg_gb_silu(&g, in);
    int32_t mm = erg_gb_matmul_add(&g, w, x, x); /* x is also the product's input: no */
    int32_t o = erg_gb_add(&g, mm, k);           /* over mm, not over the broadcast k */
    erg_gb_mark_output(&g, l);
    erg_gb_mark_output(&g, q);
    erg_gb_mark_output(&g, o);
    erg_diag diag;
    CHECK_STATUS(erg_graph_validate(&g, &diag), ERG_OK);
    erg_memory_plan p;
    erg_memory_plan_init(&p, NULL);
    check_plan(&g, 64, &p);
    const int32_t expect[][2] = {{a, -1}, {b, -1}, {c, a},  {e, c},  {f, b},   {h, -1}, {k, -1},
                                 {s, h},  {l, s},  {q, -1}, {x, -1}, {mm, -1}, {o, mm}};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        CHECK_MSG(p.inplace_of[expect[i][0]] == expect[i][1], "%s over %d, want %d",
                  g.tensors[expect[i][0]].name, p.inplace_of[expect[i][0]], expect[i][1]);
    check_poison(&g, &p);
    erg_memory_plan_free(&p);
    erg_graph_free(&g);
}

/* ---- end to end on the CPU backend ------------------------------------ */

enum { OWN_MEMORY, PLANNED, POISONED };

/* Runs the DAG of seed on the CPU with its tensors in memory of their own,
 * planned, or planned and poisoned; returns its outputs' bytes (malloc'd)
 * and sets *in_place to the results the plan computed in place. */
static float *run_dag(erg_backend_device *dev, uint64_t seed, int n_nodes, int mode, size_t *n_out,
                      int *in_place) {
    const erg_backend *cpu = &erg_cpu_backend;
    dag *d = make_dag(seed, n_nodes, true);
    erg_graph *g = &d->g;
    size_t nt = g->n_tensors;
    erg_diag diag = {{0}};
    erg_memory_plan p;
    erg_memory_plan_init(&p, NULL);
    CHECK_STATUS(erg_plan_memory(g, 64, &p, &diag), ERG_OK);
    *in_place = (int)p.n_inplace;
    if (mode == POISONED)
        CHECK_STATUS(erg_plan_poison(g, &p, &diag), ERG_OK);
    /* Memory starts as NaN, so a read of bytes nothing wrote shows too. */
    size_t bytes = mode == OWN_MEMORY ? p.naive_bytes : p.arena_bytes;
    char *arena = cpu->host_alloc(dev, bytes + 1);
    memset(arena, 0xff, bytes + 1);
    if (mode == OWN_MEMORY) {
        size_t off = 0;
        for (size_t t = 0; t < nt; t++) {
            if (p.offset[t] == ERG_PLAN_NONE)
                continue;
            g->tensors[t].data = arena + off;
            off += (erg_tensor_nbytes(&g->tensors[t]) + 63) / 64 * 64;
        }
    } else {
        erg_memory_plan_bind(&p, g, arena);
    }
    erg_weight_desc descs[MAX_LEAVES];
    for (int i = 0; i < d->n_leaves; i++) {
        const erg_tensor *l = &g->tensors[d->leaf[i]];
        if (l->kind == ERG_TENSOR_INPUT)
            memcpy(l->data, d->data[i], erg_tensor_nbytes(l));
        else
            descs[l->ext_id] =
                (erg_weight_desc){l->dtype, {l->ne[0], l->ne[1], 1, 1}, l->data, l->nb[1], false, false};
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_tensor *w = &g->tensors[g->nodes[i].src[0]];
        erg_op op = g->nodes[i].op;
        if ((op == ERG_OP_MATMUL || op == ERG_OP_MATMUL_ADD) && w->kind == ERG_TENSOR_WEIGHT)
            descs[w->ext_id].matmul = true;
    }
    erg_backend_weights *weights = NULL;
    erg_backend_exec *exec = NULL;
    size_t wbytes = 0;
    CHECK_STATUS(cpu->weights_prepare(dev, descs, (size_t)d->n_weights, &weights, &wbytes, &diag),
                 ERG_OK);
    erg_exec_options opts = {false, weights};
    CHECK_STATUS(cpu->exec_create(dev, &opts, &exec, &diag), ERG_OK);
    erg_status st = erg_backend_run(cpu, dev, exec, g, NULL, &diag);
    CHECK_MSG(st == ERG_OK, "seed %llu: %s", (unsigned long long)seed, diag.msg);
    /* The outputs, in tensor order (poisoning's views come after). */
    size_t total = 0;
    for (size_t t = 0; t < nt; t++)
        if (g->tensors[t].flags & ERG_TENSOR_FLAG_OUTPUT)
            total += erg_tensor_nbytes(&g->tensors[t]);
    float *out = malloc(total + 1);
    *n_out = total / sizeof(float);
    char *at = (char *)out;
    for (size_t t = 0; t < nt; t++) {
        if (!(g->tensors[t].flags & ERG_TENSOR_FLAG_OUTPUT))
            continue;
        size_t n = erg_tensor_nbytes(&g->tensors[t]);
        memcpy(at, erg_tensor_host_data(g, (int32_t)t), n);
        at += n;
    }
    cpu->exec_free(exec);
    cpu->weights_free(weights);
    cpu->host_free(dev, arena);
    erg_memory_plan_free(&p);
    free_dag(d);
    return out;
}

static void check_end_to_end(void) {
    erg_logger log = {NULL, NULL, ERG_LOG_WARN};
    erg_backend_env env = {NULL, &log, 2, NULL, false};
    erg_backend_device *dev = NULL;
    erg_diag diag = {{0}};
    if (erg_backend_open(&erg_cpu_backend, &env, 0, &dev, &diag) != ERG_OK) {
        CHECK_MSG(false, "cannot open the CPU backend: %s", diag.msg);
        return;
    }
    int n_graphs = 16, in_place = 0;
    for (int i = 0; i < n_graphs; i++) {
        uint64_t seed = 1000 + (uint64_t)i;
        int n_nodes = 10 + (i * 53) % 150, n;
        size_t n0, n1, n2;
        float *own = run_dag(dev, seed, n_nodes, OWN_MEMORY, &n0, &n);
        float *planned = run_dag(dev, seed, n_nodes, PLANNED, &n1, &n);
        float *poisoned = run_dag(dev, seed, n_nodes, POISONED, &n2, &n);
        in_place += n;
        size_t nan = 0;
        for (size_t k = 0; k < n0; k++)
            nan += isnan(own[k]) != 0;
        CHECK_MSG(nan == 0 && n0 > 0, "seed %llu: %zu NaN of %zu", (unsigned long long)seed, nan,
                  n0);
        CHECK_MSG(n1 == n0 && memcmp(own, planned, n0 * sizeof *own) == 0,
                  "seed %llu: planned memory changes the outputs", (unsigned long long)seed);
        CHECK_MSG(n2 == n0 && memcmp(own, poisoned, n0 * sizeof *own) == 0,
                  "seed %llu: poisoned memory changes the outputs", (unsigned long long)seed);
        free(own);
        free(planned);
        free(poisoned);
    }
    CHECK(in_place > 20);
    printf("end to end: %d graphs on the CPU, %d results in place\n", n_graphs, in_place);
    erg_cpu_backend.close(dev);
}

int main(void) {
    check_inplace_cases();
    check_random_dags();
    check_end_to_end();
    return erg_test_result("test_plan_memory");
}
