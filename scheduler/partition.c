/* The exact partitioner: a dynamic program over the live frontier with a
 * Pareto front of labels per state (partition.h explains the model). */
#include "scheduler/partition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Frontier states at one step beyond this are refused (a graph whose
 * outputs stay live that long is not a transformer's step). */
#define MAX_STATES (1u << 18)
#define NO_PARENT UINT32_MAX
/* Weights of the EDP bound, around the weight of the best scalar pass. */
#define N_LAMBDA 9
/* Labels the exact pass may keep before it gives up (and the best scalar
 * placement stands, with its proven gap): near-ties between placements grow
 * the front exponentially on graphs of hundreds of nodes. */
#define MAX_FRONT_LABELS (1u << 14)

typedef struct label {
    double t, e;
    uint32_t state;
    uint32_t parent; /* index of the label of the previous step */
    uint8_t dev;     /* the device of this step's node */
} label;

/* SCALAR keeps one label per state, the least w_t * t + w_e * e, ties going
 * to the faster then the more frugal (exact for latency and energy, an
 * incumbent for the rest); FRONT keeps the Pareto front,
 * less the labels whose lower bound cannot beat the incumbent. */
enum { SCALAR, FRONT };

typedef struct solver {
    const erg_part_problem *p;
    const erg_allocator *a;
    erg_policy policy;
    double cap;               /* 0: no power cap */
    double limit;             /* 0: no latency limit */
    int mode;
    double w_t, w_e;          /* SCALAR's weights */
    double incumbent;         /* the best feasible objective found so far */
    double *t_rest, *e_rest;  /* per node i: least time / energy of nodes i.. */
    /* Per weight k and node i: the least lambda[k] * t + e of nodes i..
     * (each on its best device, transfers left out), [k * (n + 1) + i]. */
    double lambda[N_LAMBDA];
    double *w_rest;
    int64_t *last_use;        /* per node: its last reader, -1 if none */
    uint32_t *front_prev, *front_cur; /* live nodes, in node order */
    size_t n_prev, n_cur;
    int32_t *pos;             /* per node: its place in front_prev, -1 if none */
    label *labels;            /* every kept label, step by step */
    size_t n_labels, cap_labels;
    label *cand, *cand_tmp;   /* one step's candidates, and room to sort them */
    size_t cap_cand, cap_cand_tmp;
    size_t max_states;
    bool over_budget;         /* the exact pass hit MAX_FRONT_LABELS */
} solver;

double erg_partition_objective(erg_policy policy, double seconds, double joules) {
    switch (policy) {
    case ERG_POLICY_LATENCY:
        return seconds;
    case ERG_POLICY_ENERGY:
        return joules;
    default:
        return seconds * joules;
    }
}

static double xfer_seconds(const erg_part_problem *p, uint8_t a, uint8_t b, uint64_t bytes) {
    size_t k = (size_t)a * p->n_devices + b;
    return p->xfer_latency_s[k] + (double)bytes * p->xfer_s_per_byte[k];
}

void erg_partition_cost(const erg_part_problem *p, const uint8_t *assign, double *seconds,
                        double *joules) {
    double t = 0, e = 0;
    for (size_t i = 0; i < p->n_nodes; i++) {
        uint8_t d = assign[i];
        t += p->seconds[i * p->n_devices + d];
        e += p->joules[i * p->n_devices + d];
        for (uint32_t k = p->edge_start[i]; k < p->edge_start[i + 1]; k++) {
            uint8_t s = assign[p->edges[k].from];
            if (s == d)
                continue;
            double xt = xfer_seconds(p, s, d, p->edges[k].bytes);
            t += xt;
            e += xt * p->xfer_watts[(size_t)s * p->n_devices + d];
        }
    }
    *seconds = t;
    *joules = e;
}

static int by_time_energy(const void *pa, const void *pb) {
    const label *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->e < b->e ? -1 : a->e > b->e;
}

/* Orders the step's n candidates by state, stably: a radix sort on the
 * state's bytes (states are below MAX_STATES, so three passes), linear
 * where a comparison sort of thousands of labels per step was most of a
 * placement's time. */
static erg_status sort_by_state(solver *s, size_t n, erg_diag *diag) {
    if (!n)
        return ERG_OK;
    if (!erg_grow_array(s->a, (void **)&s->cand_tmp, sizeof *s->cand_tmp, &s->cap_cand_tmp, n))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "partition candidates");
    label *from = s->cand, *to = s->cand_tmp;
    for (unsigned shift = 0; (MAX_STATES - 1) >> shift; shift += 8) {
        size_t count[257] = {0};
        for (size_t k = 0; k < n; k++)
            count[((from[k].state >> shift) & 0xff) + 1]++;
        for (size_t b = 1; b < 257; b++)
            count[b] += count[b - 1];
        for (size_t k = 0; k < n; k++)
            to[count[(from[k].state >> shift) & 0xff]++] = from[k];
        label *tmp = from;
        from = to;
        to = tmp;
    }
    if (from != s->cand)
        memcpy(s->cand, from, n * sizeof *from);
    return ERG_OK;
}

static erg_status check_problem(const erg_part_problem *p, erg_diag *diag) {
    if (p->n_devices == 0 || p->n_devices > ERG_PART_MAX_DEVICES)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "partition over %zu devices (1 to %d)",
                        p->n_devices, ERG_PART_MAX_DEVICES);
    for (size_t i = 0; i < p->n_nodes; i++) {
        bool any = false;
        for (size_t d = 0; d < p->n_devices; d++)
            any |= p->runs[i * p->n_devices + d];
        if (!any)
            return erg_fail(diag, ERG_UNSUPPORTED, "no device can run node %zu", i);
        for (uint32_t k = p->edge_start[i]; k < p->edge_start[i + 1]; k++)
            if (p->edges[k].from >= i)
                return erg_fail(diag, ERG_INVALID_ARGUMENT,
                                "node %zu reads node %u, which is not before it", i,
                                p->edges[k].from);
    }
    return ERG_OK;
}

/* The device of live node j in a state of the previous step. */
static uint8_t dev_in_state(const solver *s, uint32_t state, uint32_t j) {
    uint32_t v = state;
    for (int32_t k = 0; k < s->pos[j]; k++)
        v /= (uint32_t)s->p->n_devices;
    return (uint8_t)(v % s->p->n_devices);
}

/* The state after node i runs on d, from the previous state. */
static uint32_t next_state(const solver *s, uint32_t prev, size_t i, uint8_t d) {
    uint32_t state = 0, mul = 1;
    for (size_t k = 0; k < s->n_cur; k++) {
        uint32_t j = s->front_cur[k];
        state += mul * (j == i ? d : dev_in_state(s, prev, j));
        mul *= (uint32_t)s->p->n_devices;
    }
    return state;
}

static bool dominated(const label *kept, size_t n, const label *x, double cap) {
    for (size_t k = 0; k < n; k++)
        if (kept[k].t <= x->t && kept[k].e <= x->e &&
            kept[k].e - cap * kept[k].t <= x->e - cap * x->t)
            return true;
    return false;
}

static bool feasible(const solver *s, double t, double e) {
    return (s->limit <= 0 || t <= s->limit) && (s->cap <= 0 || e <= s->cap * t);
}

static erg_status keep(solver *s, const label *x, erg_diag *diag) {
    if (s->mode == FRONT && s->n_labels >= MAX_FRONT_LABELS) {
        s->over_budget = true;
        return ERG_OK;
    }
    if (!erg_grow_array(s->a, (void **)&s->labels, sizeof *s->labels, &s->cap_labels,
                        s->n_labels + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "partition labels (%zu)", s->n_labels);
    s->labels[s->n_labels++] = *x;
    return ERG_OK;
}

/* Keeps, per state, the least weighted label (SCALAR) or the labels no
 * other label of the state dominates (FRONT). */
static erg_status keep_fronts(solver *s, size_t n_cand, erg_diag *diag) {
    ERG_RETURN_IF_ERROR(sort_by_state(s, n_cand, diag));
    for (size_t g = 0; g < n_cand;) {
        size_t end = g;
        while (end < n_cand && s->cand[end].state == s->cand[g].state)
            end++;
        if (s->mode == SCALAR) {
            size_t best = g;
            for (size_t k = g + 1; k < end; k++)
                if (s->w_t * s->cand[k].t + s->w_e * s->cand[k].e <
                    s->w_t * s->cand[best].t + s->w_e * s->cand[best].e)
                    best = k;
            ERG_RETURN_IF_ERROR(keep(s, &s->cand[best], diag));
            g = end;
            continue;
        }
        qsort(&s->cand[g], end - g, sizeof *s->cand, by_time_energy);
        size_t first = s->n_labels;
        double best_e = INFINITY;
        for (size_t k = g; k < end; k++) {
            const label *x = &s->cand[k];
            /* Sorted by time: a label is kept if it saves energy (and, under
             * a cap, if nothing kept beats it on all three criteria). */
            bool useful = s->cap > 0
                              ? !dominated(&s->labels[first], s->n_labels - first, x, s->cap)
                              : x->e < best_e;
            if (!useful)
                continue;
            ERG_RETURN_IF_ERROR(keep(s, x, diag));
            if (x->e < best_e)
                best_e = x->e;
        }
        g = end;
    }
    return ERG_OK;
}

/* A lower bound of the final T * E from a label (t, e) after node i: the
 * final point has T >= lt, E >= le and, for each weight, lambda T + E >= c
 * (what the rest adds at that weight at least). T * E is concave along
 * each such line, so its least value on the region one line leaves is at
 * one of the region's two corners; the bound is the largest of those. */
static double edp_bound(const solver *s, size_t i, double t, double e, double lt, double le) {
    size_t n1 = s->p->n_nodes + 1;
    double best = lt * le;
    for (int k = 0; k < N_LAMBDA; k++) {
        double lam = s->lambda[k];
        double c = lam * t + e + s->w_rest[k * n1 + i + 1];
        double corner_a = lt * fmax(le, c - lam * lt);
        double corner_b = fmax(lt, (c - le) / lam) * le;
        best = fmax(best, fmin(corner_a, corner_b));
    }
    return best;
}

/* A lower bound of the objective over all placements (transfers left out). */
static double root_bound(const solver *s) {
    double lt = s->t_rest[0], le = s->e_rest[0];
    if (s->policy != ERG_POLICY_EDP || !s->w_rest)
        return erg_partition_objective(s->policy, lt, le);
    double best = lt * le;
    for (int k = 0; k < N_LAMBDA; k++) {
        double lam = s->lambda[k], c = s->w_rest[(size_t)k * (s->p->n_nodes + 1)];
        best = fmax(best, fmin(lt * fmax(le, c - lam * lt), fmax(lt, (c - le) / lam) * le));
    }
    return best;
}

/* Whether a label after node i may still lead to a placement better than
 * the incumbent, and within the latency limit. */
static bool promising(const solver *s, size_t i, double t, double e) {
    double lt = t + s->t_rest[i + 1], le = e + s->e_rest[i + 1];
    if (s->limit > 0 && lt > s->limit)
        return false;
    if (s->mode == SCALAR || isinf(s->incumbent))
        return true;
    if (s->policy == ERG_POLICY_EDP)
        return edp_bound(s, i, t, e, lt, le) < s->incumbent;
    return erg_partition_objective(s->policy, lt, le) < s->incumbent;
}

/* The weights of the EDP bound, lambda0 * 2^-4 .. 2^4, and the least
 * weighted cost of each suffix at each. */
static erg_status weights_init(solver *s, double lambda0, erg_diag *diag) {
    const erg_part_problem *p = s->p;
    size_t n = p->n_nodes, nd = p->n_devices;
    s->w_rest = erg_malloc(s->a, N_LAMBDA * (n + 1) * sizeof *s->w_rest);
    if (!s->w_rest)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "partition of %zu nodes", n);
    for (int k = 0; k < N_LAMBDA; k++) {
        double lam = s->lambda[k] = lambda0 * ldexp(1.0, k - N_LAMBDA / 2);
        double *r = s->w_rest + (size_t)k * (n + 1);
        r[n] = 0;
        for (size_t i = n; i-- > 0;) {
            double m = INFINITY;
            for (size_t d = 0; d < nd; d++)
                if (p->runs[i * nd + d])
                    m = fmin(m, lam * p->seconds[i * nd + d] + p->joules[i * nd + d]);
            r[i] = r[i + 1] + m;
        }
    }
    return ERG_OK;
}

/* Extends the labels of step i-1 ([begin, end)) by node i on every device. */
static erg_status step(solver *s, size_t i, size_t begin, size_t end, erg_diag *diag) {
    const erg_part_problem *p = s->p;
    size_t nd = p->n_devices;
    for (size_t k = 0; k < s->n_prev; k++)
        s->pos[s->front_prev[k]] = (int32_t)k;
    s->n_cur = 0;
    for (size_t k = 0; k < s->n_prev; k++)
        if (s->last_use[s->front_prev[k]] > (int64_t)i)
            s->front_cur[s->n_cur++] = s->front_prev[k];
    if (s->last_use[i] > (int64_t)i)
        s->front_cur[s->n_cur++] = (uint32_t)i;
    double n_states = pow((double)nd, (double)s->n_cur);
    if (n_states > MAX_STATES)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "partition: %zu node outputs are live at node %zu (%.0f device states); "
                        "the limit is %u states",
                        s->n_cur, i, n_states, MAX_STATES);
    if ((size_t)n_states > s->max_states)
        s->max_states = (size_t)n_states;
    if (!erg_grow_array(s->a, (void **)&s->cand, sizeof *s->cand, &s->cap_cand,
                        (end - begin) * nd))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "partition candidates");
    size_t n_cand = 0;
    for (size_t l = begin; l < end; l++) {
        const label *prev = &s->labels[l];
        for (uint8_t d = 0; d < nd; d++) {
            if (!p->runs[i * nd + d])
                continue;
            double t = prev->t + p->seconds[i * nd + d];
            double e = prev->e + p->joules[i * nd + d];
            for (uint32_t k = p->edge_start[i]; k < p->edge_start[i + 1]; k++) {
                uint8_t src = dev_in_state(s, prev->state, p->edges[k].from);
                if (src == d)
                    continue;
                double xt = xfer_seconds(p, src, d, p->edges[k].bytes);
                t += xt;
                e += xt * p->xfer_watts[(size_t)src * nd + d];
            }
            if (promising(s, i, t, e))
                s->cand[n_cand++] =
                    (label){t, e, next_state(s, prev->state, i, d), (uint32_t)l, d};
        }
    }
    uint32_t *tmp = s->front_prev;
    s->front_prev = s->front_cur;
    s->front_cur = tmp;
    s->n_prev = s->n_cur;
    return keep_fronts(s, n_cand, diag);
}

/* One pass of the dynamic program in the solver's mode. *found: a feasible
 * placement came out, written to assign, with its time and energy. */
static erg_status run_dp(solver *s, uint8_t *assign, double *t, double *e, bool *found,
                         erg_diag *diag) {
    const erg_part_problem *p = s->p;
    *found = false;
    s->n_labels = 0;
    s->n_prev = 0;
    ERG_RETURN_IF_ERROR(keep(s, &(label){0, 0, 0, NO_PARENT, 0}, diag));
    size_t begin = 0, end = 1;
    for (size_t i = 0; i < p->n_nodes && begin < end && !s->over_budget; i++) {
        ERG_RETURN_IF_ERROR(step(s, i, begin, end, diag));
        begin = end;
        end = s->n_labels;
    }
    if (s->over_budget)
        return ERG_OK;
    size_t best = SIZE_MAX;
    double best_v = INFINITY;
    for (size_t l = begin; l < end; l++) {
        const label *x = &s->labels[l];
        if (!feasible(s, x->t, x->e))
            continue;
        double v = s->mode == SCALAR ? s->w_t * x->t + s->w_e * x->e
                                     : erg_partition_objective(s->policy, x->t, x->e);
        if (v < best_v || best == SIZE_MAX) {
            best = l;
            best_v = v;
        }
    }
    if (best == SIZE_MAX)
        return ERG_OK;
    *found = true;
    *t = s->labels[best].t;
    *e = s->labels[best].e;
    for (size_t i = p->n_nodes, l = best; i-- > 0; l = s->labels[l].parent)
        assign[i] = s->labels[l].dev;
    return ERG_OK;
}

/* Tries a placement from one pass; keeps it if it beats the incumbent. */
static erg_status try_pass(solver *s, uint8_t *scratch, uint8_t *assign, erg_part_result *r,
                           double *t, double *e, bool *found, erg_diag *diag) {
    ERG_RETURN_IF_ERROR(run_dp(s, scratch, t, e, found, diag));
    if (!*found)
        return ERG_OK;
    double v = erg_partition_objective(s->policy, *t, *e);
    if (v < s->incumbent) {
        s->incumbent = v;
        r->seconds = *t;
        r->joules = *e;
        memcpy(assign, scratch, s->p->n_nodes);
    }
    return ERG_OK;
}

static erg_status solver_init(solver *s, erg_diag *diag) {
    const erg_part_problem *p = s->p;
    size_t n = p->n_nodes, nd = p->n_devices;
    s->last_use = erg_malloc(s->a, (n + 1) * sizeof *s->last_use);
    s->front_prev = erg_malloc(s->a, (n + 1) * sizeof *s->front_prev);
    s->front_cur = erg_malloc(s->a, (n + 1) * sizeof *s->front_cur);
    s->pos = erg_malloc(s->a, (n + 1) * sizeof *s->pos);
    s->t_rest = erg_malloc(s->a, (n + 1) * sizeof *s->t_rest);
    s->e_rest = erg_malloc(s->a, (n + 1) * sizeof *s->e_rest);
    if (!s->last_use || !s->front_prev || !s->front_cur || !s->pos || !s->t_rest || !s->e_rest)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "partition of %zu nodes", n);
    for (size_t i = 0; i < n; i++)
        s->last_use[i] = -1;
    for (size_t i = 0; i < n; i++)
        for (uint32_t k = p->edge_start[i]; k < p->edge_start[i + 1]; k++)
            s->last_use[p->edges[k].from] = (int64_t)i;
    /* Lower bounds of what the nodes from i on add: each on its cheapest
     * device, transfers left out. */
    s->t_rest[n] = s->e_rest[n] = 0;
    for (size_t i = n; i-- > 0;) {
        double mt = INFINITY, me = INFINITY;
        for (size_t d = 0; d < nd; d++)
            if (p->runs[i * nd + d]) {
                mt = fmin(mt, p->seconds[i * nd + d]);
                me = fmin(me, p->joules[i * nd + d]);
            }
        s->t_rest[i] = s->t_rest[i + 1] + mt;
        s->e_rest[i] = s->e_rest[i + 1] + me;
    }
    return ERG_OK;
}

static void solver_free(solver *s) {
    erg_free(s->a, s->last_use);
    erg_free(s->a, s->front_prev);
    erg_free(s->a, s->front_cur);
    erg_free(s->a, s->pos);
    erg_free(s->a, s->t_rest);
    erg_free(s->a, s->e_rest);
    erg_free(s->a, s->w_rest);
    erg_free(s->a, s->labels);
    erg_free(s->a, s->cand);
    erg_free(s->a, s->cand_tmp);
}

/* Scalar passes first: least latency, least energy, then weighted sums that
 * home in on the least EDP (weight = energy / time of the last result). They
 * are exact for latency and energy without a cap, and give the incumbent
 * that lets the exact front pass cut nearly every label otherwise. */
static erg_status solve(solver *s, uint8_t *assign, erg_part_result *r, erg_diag *diag) {
    size_t n = s->p->n_nodes;
    uint8_t *scratch = erg_malloc(s->a, n + 1);
    if (!scratch)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "partition of %zu nodes", n);
    double t = 0, e = 0;
    bool found, any_within_limit;
    s->mode = SCALAR;
    s->w_t = 1, s->w_e = 0;
    erg_status st = try_pass(s, scratch, assign, r, &t, &e, &found, diag);
    any_within_limit = found || s->cap > 0;
    double lambda = found && t > 0 ? e / t : 1;
    if (st == ERG_OK) {
        s->w_t = 0, s->w_e = 1;
        st = try_pass(s, scratch, assign, r, &t, &e, &found, diag);
    }
    for (int k = 0; k < 8 && st == ERG_OK && s->policy != ERG_POLICY_LATENCY &&
                    s->policy != ERG_POLICY_ENERGY;
         k++) {
        s->w_t = lambda, s->w_e = 1;
        st = try_pass(s, scratch, assign, r, &t, &e, &found, diag);
        if (!found || t <= 0 || fabs(e / t - lambda) <= 1e-12 * lambda)
            break;
        lambda = e / t;
    }
    bool exact = s->cap <= 0 && s->limit <= 0 && s->policy != ERG_POLICY_EDP &&
                 s->policy != ERG_POLICY_DEFAULT;
    if (st == ERG_OK && !exact && s->policy == ERG_POLICY_EDP)
        st = weights_init(s, lambda > 0 ? lambda : 1, diag);
    if (st == ERG_OK && !exact) {
        s->mode = FRONT;
        st = try_pass(s, scratch, assign, r, &t, &e, &found, diag);
    }
    erg_free(s->a, scratch);
    ERG_RETURN_IF_ERROR(st);
    r->n_labels = s->n_labels;
    r->max_states = s->max_states;
    r->exact = !s->over_budget;
    r->lower_bound = root_bound(s);
    if (!isinf(s->incumbent))
        return ERG_OK;
    if (!any_within_limit)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "no placement finishes within the latency limit of %.3f ms",
                        s->limit * 1e3);
    return erg_fail(diag, ERG_UNSUPPORTED, "no placement stays under the power cap of %.3f W%s",
                    s->cap, s->limit > 0 ? " within the latency limit" : "");
}

erg_status erg_partition(const erg_part_problem *p, const erg_part_goal *goal,
                         const erg_allocator *alloc, uint8_t *assign, erg_part_result *result,
                         erg_diag *diag) {
    *result = (erg_part_result){0};
    ERG_RETURN_IF_ERROR(check_problem(p, diag));
    solver s = {.p = p,
                .a = erg_allocator_or_default(alloc),
                .policy = goal->policy == ERG_POLICY_DEFAULT ? ERG_POLICY_EDP : goal->policy,
                .cap = goal->power_cap_w,
                .limit = goal->latency_limit_s,
                .incumbent = INFINITY};
    erg_status st = solver_init(&s, diag);
    if (st == ERG_OK)
        st = solve(&s, assign, result, diag);
    solver_free(&s);
    return st;
}
