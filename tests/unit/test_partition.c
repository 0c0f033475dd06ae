/*
 * The partitioner: on random chains and DAGs it finds the optimum brute
 * force finds, for every policy, with and without a power cap or a latency
 * limit; on constructed tables the edp, latency and energy optima differ
 * and each policy finds its own; a device that cannot run a node never gets
 * it; and it stays fast on a graph shaped like a 28-layer model's step.
 */
#include "hal/timer.h"
#include "scheduler/partition.h"
#include "tests/test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_N 9
#define MAX_D 3
#define MAX_E (MAX_N * 3)

typedef struct table {
    size_t n, nd;
    double sec[MAX_N * MAX_D], jou[MAX_N * MAX_D];
    bool runs[MAX_N * MAX_D];
    uint32_t edge_start[MAX_N + 1];
    erg_part_edge edges[MAX_E];
    double lat[MAX_D * MAX_D], spb[MAX_D * MAX_D], watts[MAX_D * MAX_D];
} table;

static erg_part_problem problem_of(const table *t) {
    return (erg_part_problem){t->n,         t->nd,    t->sec,  t->jou, t->runs, t->edge_start,
                              t->edges,     t->lat,   t->spb,  t->watts};
}

static double urand(double lo, double hi) { return lo + (hi - lo) * rand() / (double)RAND_MAX; }

/* n nodes on nd devices; each node reads the one before it (a chain) and,
 * for a DAG, up to two earlier nodes as well. */
static void random_table(table *t, size_t n, size_t nd, bool dag) {
    t->n = n;
    t->nd = nd;
    for (size_t i = 0; i < n; i++) {
        size_t any = (size_t)rand() % nd;
        for (size_t d = 0; d < nd; d++) {
            t->sec[i * nd + d] = urand(0.1, 3);
            t->jou[i * nd + d] = t->sec[i * nd + d] * urand(0.5, 8);
            t->runs[i * nd + d] = d == any || rand() % 4 != 0;
        }
    }
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        t->edge_start[i] = (uint32_t)ne;
        if (i > 0)
            t->edges[ne++] = (erg_part_edge){(uint32_t)(i - 1), (uint64_t)(rand() % 1000)};
        for (int k = 0; dag && i > 1 && k < 2; k++)
            if (rand() % 2) {
                uint32_t from = (uint32_t)((size_t)rand() % (i - 1));
                t->edges[ne++] = (erg_part_edge){from, (uint64_t)(rand() % 1000)};
            }
    }
    t->edge_start[n] = (uint32_t)ne;
    for (size_t a = 0; a < nd; a++)
        for (size_t b = 0; b < nd; b++) {
            t->lat[a * nd + b] = a == b ? 0 : urand(0, 0.5);
            t->spb[a * nd + b] = a == b ? 0 : urand(0, 1e-3);
            t->watts[a * nd + b] = urand(0.5, 4);
        }
}

/* The brute-force oracle's own reckoning of a placement's cost. */
static void cost_of(const table *t, const uint8_t *a, double *sec, double *jou) {
    *sec = *jou = 0;
    for (size_t i = 0; i < t->n; i++) {
        *sec += t->sec[i * t->nd + a[i]];
        *jou += t->jou[i * t->nd + a[i]];
        for (uint32_t k = t->edge_start[i]; k < t->edge_start[i + 1]; k++) {
            size_t src = a[t->edges[k].from], pair = src * t->nd + a[i];
            if (src == a[i])
                continue;
            double x = t->lat[pair] + (double)t->edges[k].bytes * t->spb[pair];
            *sec += x;
            *jou += x * t->watts[pair];
        }
    }
}

static double value(erg_policy p, double s, double j) {
    return p == ERG_POLICY_LATENCY ? s : p == ERG_POLICY_ENERGY ? j : s * j;
}

/* The best value over every placement, or INFINITY if none is feasible. */
static double brute_force(const table *t, const erg_part_goal *g) {
    uint8_t a[MAX_N] = {0};
    double best = INFINITY;
    for (;;) {
        bool ok = true;
        for (size_t i = 0; i < t->n; i++)
            ok &= t->runs[i * t->nd + a[i]];
        double s, j;
        cost_of(t, a, &s, &j);
        ok &= g->latency_limit_s <= 0 || s <= g->latency_limit_s;
        ok &= g->power_cap_w <= 0 || j <= g->power_cap_w * s;
        if (ok && value(g->policy, s, j) < best)
            best = value(g->policy, s, j);
        size_t i = 0;
        while (i < t->n && ++a[i] == t->nd)
            a[i++] = 0;
        if (i == t->n)
            return best;
    }
}

static void check_against_brute_force(bool dag) {
    int n_infeasible = 0, n_cases = 0;
    for (int c = 0; c < 150; c++) {
        table t;
        random_table(&t, 1 + (size_t)rand() % MAX_N, 1 + (size_t)rand() % MAX_D, dag);
        erg_part_problem p = problem_of(&t);
        for (int pol = ERG_POLICY_EDP; pol <= ERG_POLICY_ENERGY; pol++)
            for (int lim = 0; lim < 3; lim++) {
                erg_part_goal g = {(erg_policy)pol, lim == 1 ? urand(1, 6) : 0,
                                   lim == 2 ? urand(0.5, 2) * (double)t.n : 0};
                double want = brute_force(&t, &g);
                uint8_t a[MAX_N];
                erg_part_result r;
                erg_diag diag;
                erg_status st = erg_partition(&p, &g, NULL, a, &r, &diag);
                n_cases++;
                if (isinf(want)) {
                    CHECK_MSG(st == ERG_UNSUPPORTED, "case %d: infeasible, status %d", c, st);
                    n_infeasible++;
                    continue;
                }
                CHECK_MSG(st == ERG_OK, "case %d: %s", c, diag.msg);
                if (st != ERG_OK)
                    continue;
                CHECK(r.exact && r.lower_bound <= value(g.policy, r.seconds, r.joules) * (1 + 1e-12));
                double s, j;
                cost_of(&t, a, &s, &j);
                for (size_t i = 0; i < t.n; i++)
                    CHECK(t.runs[i * t.nd + a[i]]);
                CHECK_NEAR(s, r.seconds, 1e-9 * (1 + s));
                CHECK_NEAR(j, r.joules, 1e-9 * (1 + j));
                CHECK_MSG(fabs(value(g.policy, s, j) - want) <= 1e-9 * (1 + want),
                          "case %d (%s, policy %d, limit kind %d): %g, brute force %g", c,
                          dag ? "dag" : "chain", pol, lim, value(g.policy, s, j), want);
            }
    }
    /* The limits are drawn so that both outcomes occur. */
    printf("%s: %d of %d cases infeasible\n", dag ? "dags" : "chains", n_infeasible, n_cases);
    CHECK(n_infeasible > 0 && n_infeasible < n_cases / 2);
}

/* Three devices: fast and hungry (0), balanced (1), slow and frugal (2);
 * transfers cost so much that every policy keeps the chain on one device. */
static void three_way_table(table *t) {
    const double sec[3] = {1, 2, 4}, jou[3] = {10, 3, 2.5};
    t->n = 3;
    t->nd = 3;
    for (size_t i = 0; i < 3; i++) {
        for (size_t d = 0; d < 3; d++) {
            t->sec[i * 3 + d] = sec[d];
            t->jou[i * 3 + d] = jou[d];
            t->runs[i * 3 + d] = true;
        }
        t->edge_start[i] = (uint32_t)(i ? i - 1 : 0);
        if (i)
            t->edges[i - 1] = (erg_part_edge){(uint32_t)(i - 1), 100};
    }
    t->edge_start[3] = 2;
    for (size_t k = 0; k < 9; k++) {
        t->lat[k] = k % 4 == 0 ? 0 : 100;
        t->spb[k] = 0;
        t->watts[k] = 1;
    }
}

static void check_policies_differ(void) {
    table t;
    three_way_table(&t);
    erg_part_problem p = problem_of(&t);
    /* All on 0: 3 s, 30 J (EDP 90); all on 1: 6 s, 9 J (54); all on 2:
     * 12 s, 7.5 J (90). */
    const struct {
        erg_part_goal goal;
        uint8_t device;
        double sec, jou;
    } cases[] = {
        {{ERG_POLICY_EDP, 0, 0}, 1, 6, 9},
        {{ERG_POLICY_DEFAULT, 0, 0}, 1, 6, 9},
        {{ERG_POLICY_LATENCY, 0, 0}, 0, 3, 30},
        {{ERG_POLICY_ENERGY, 0, 0}, 2, 12, 7.5},
        /* Latency under a 1 W cap: 0 (10 W) and 1 (1.5 W) are over it. */
        {{ERG_POLICY_LATENCY, 1.0, 0}, 2, 12, 7.5},
        /* Energy within 7 s: 2 is too slow. */
        {{ERG_POLICY_ENERGY, 0, 7.0}, 1, 6, 9},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint8_t a[3];
        erg_part_result r;
        erg_diag diag;
        CHECK_STATUS(erg_partition(&p, &cases[c].goal, NULL, a, &r, &diag), ERG_OK);
        for (size_t i = 0; i < 3; i++)
            CHECK_MSG(a[i] == cases[c].device, "case %zu: node %zu on %u, want %u", c, i, a[i],
                      cases[c].device);
        CHECK_NEAR(r.seconds, cases[c].sec, 1e-12);
        CHECK_NEAR(r.joules, cases[c].jou, 1e-12);
    }
    /* Out of reach: under 0.5 W, and within 2 s. */
    uint8_t a[3];
    erg_part_result r;
    erg_diag diag;
    erg_part_goal cap = {ERG_POLICY_EDP, 0.5, 0}, limit = {ERG_POLICY_EDP, 0, 2};
    CHECK_STATUS(erg_partition(&p, &cap, NULL, a, &r, &diag), ERG_UNSUPPORTED);
    CHECK(strstr(diag.msg, "power cap of 0.500 W") != NULL);
    CHECK_STATUS(erg_partition(&p, &limit, NULL, a, &r, &diag), ERG_UNSUPPORTED);
    CHECK(strstr(diag.msg, "latency limit of 2000.000 ms"));
}

/* Device 0 is best for everything but cannot run node 1: node 1 goes to
 * the next best, and a node no device runs is an error naming it. */
static void check_unsupported(void) {
    table t;
    three_way_table(&t);
    for (size_t k = 0; k < 9; k++)
        t.lat[k] = 0;
    t.runs[1 * 3 + 0] = false;
    erg_part_problem p = problem_of(&t);
    erg_part_goal g = {ERG_POLICY_LATENCY, 0, 0};
    uint8_t a[3];
    erg_part_result r;
    erg_diag diag;
    CHECK_STATUS(erg_partition(&p, &g, NULL, a, &r, &diag), ERG_OK);
    CHECK(a[0] == 0 && a[1] == 1 && a[2] == 0);
    t.runs[1 * 3 + 1] = t.runs[1 * 3 + 2] = false;
    CHECK_STATUS(erg_partition(&p, &g, NULL, a, &r, &diag), ERG_UNSUPPORTED);
    CHECK(strstr(diag.msg, "node 1") != NULL);
}

/* A step of a 28-layer model: per layer 20 nodes in a chain, the residual
 * stream read again at the layer's middle and end, and one node (the
 * positions' rope table) read by every layer; 4 devices, one of which runs
 * only the matmuls. */
static void check_speed(void) {
    enum { LAYERS = 28, PER = 20, N = LAYERS * PER + 2, D = 4 };
    static double sec[N * D], jou[N * D], lat[D * D], spb[D * D], watts[D * D];
    static bool runs[N * D];
    static uint32_t edge_start[N + 1];
    static erg_part_edge edges[N * 3];
    static uint8_t a[N];
    size_t ne = 0;
    for (size_t i = 0; i < N; i++) {
        edge_start[i] = (uint32_t)ne;
        bool matmul = i % PER == 3 || i % PER == 12;
        for (size_t d = 0; d < D; d++) {
            /* Every layer has the same shapes, so the same costs. */
            if (i <= PER) {
                sec[i * D + d] = (matmul ? 1e-3 : 1e-5) * urand(0.5, 2);
                jou[i * D + d] = sec[i * D + d] * urand(1, 10);
            } else {
                sec[i * D + d] = sec[(i - PER) * D + d];
                jou[i * D + d] = jou[(i - PER) * D + d];
            }
            runs[i * D + d] = d != 3 || matmul;
        }
        if (i > 0)
            edges[ne++] = (erg_part_edge){(uint32_t)(i - 1), 4096};
        size_t layer0 = 1 + (i - 1) / PER * PER;
        if (i > 1 && (i % PER == 10 || i % PER == 0) && layer0 > 1)
            edges[ne++] = (erg_part_edge){(uint32_t)(layer0 - 1), 4096};
        if (i > 1 && i % PER == 5)
            edges[ne++] = (erg_part_edge){0, 256};
    }
    edge_start[N] = (uint32_t)ne;
    for (size_t k = 0; k < D * D; k++) {
        lat[k] = k % (D + 1) == 0 ? 0 : 2e-5;
        spb[k] = k % (D + 1) == 0 ? 0 : 1e-10;
        watts[k] = 2;
    }
    erg_part_problem p = {N, D, sec, jou, runs, edge_start, edges, lat, spb, watts};
    for (int pol = ERG_POLICY_EDP; pol <= ERG_POLICY_ENERGY; pol++) {
        erg_part_goal g = {(erg_policy)pol, 0, 0};
        erg_part_result r;
        erg_diag diag;
        double t0 = erg_time_s();
        CHECK_STATUS(erg_partition(&p, &g, NULL, a, &r, &diag), ERG_OK);
        double ms = (erg_time_s() - t0) * 1e3;
        double v = erg_partition_objective((erg_policy)pol, r.seconds, r.joules);
        printf("28-layer step (%d nodes, %d devices), policy %d: %.2f ms, %zu states at most, "
               "%zu labels, %s (gap to the lower bound %.3g%%)\n",
               N, D, pol, ms, r.max_states, r.n_labels, r.exact ? "exact" : "budget reached",
               (v / r.lower_bound - 1) * 100);
        /* Release: 7 to 20 ms here; sanitizers make it several times slower. */
        CHECK(ms < 1000);
        CHECK(r.lower_bound > 0 && r.lower_bound <= v);
        /* Latency and energy are exact at any size. */
        CHECK(r.exact || pol == ERG_POLICY_EDP);
        double s, j;
        erg_partition_cost(&p, a, &s, &j);
        CHECK_NEAR(s, r.seconds, 1e-12);
        CHECK_NEAR(j, r.joules, 1e-12);
        for (size_t i = 0; i < N; i++)
            CHECK(runs[i * D + a[i]]);
    }
}

int main(void) {
    srand(12345);
    check_against_brute_force(false);
    check_against_brute_force(true);
    check_policies_differ();
    check_unsupported();
    check_speed();
    return erg_test_result("test_partition");
}
