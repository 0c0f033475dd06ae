/*
 * harness.h: building and running one-op conformance cases (internal to the
 * suite). A case owns a graph, the memory of its source tensors, and double
 * copies of the source values for the references.
 */
#ifndef ERG_TESTS_CONFORMANCE_HARNESS_H
#define ERG_TESTS_CONFORMANCE_HARNESS_H

#include "tests/conformance/conformance.h"

#include "graph/builder.h"

#define CASE_MAX_LEAVES 8

typedef struct conf_case {
    erg_graph g;
    void *mem[CASE_MAX_LEAVES];     /* storage of each leaf */
    double *vals[CASE_MAX_LEAVES];  /* exact value of each leaf element (logical order) */
    int32_t ids[CASE_MAX_LEAVES];
    int n_leaves;
    uint64_t rng;
    char label[160];
} conf_case;

void case_init(conf_case *c, uint64_t seed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void case_free(conf_case *c);

/* A leaf of dtype dt with random values (normal, times scale); quantized
 * types hold the quantisation of those values. Its exact values (what the
 * bytes mean) are kept in c->vals[slot]; returns the tensor id. */
int32_t case_leaf(conf_case *c, erg_dtype dt, int n_dims, const int64_t *ne, double scale);
/* Replaces the values of an F32 leaf. */
void case_leaf_set(conf_case *c, int32_t id, const float *v);
/* An I32 leaf with the given values. */
int32_t case_leaf_i32(conf_case *c, const int32_t *v, int64_t n);
/* The exact values of leaf id (logical order: i0 fastest). */
const double *case_vals(const conf_case *c, int32_t id);

/* Element (i0, i1, i2, i3) of a leaf or view of one, through its strides. */
double case_get(const conf_case *c, int32_t id, int64_t i0, int64_t i1, int64_t i2, int64_t i3);

/*
 * Runs the case's graph on t (reference_math picks the exec), with `out` as
 * the result (for a result that aliases a leaf, the whole leaf), and
 * compares it with ref (doubles, logical order) by
 * normalised error <= tol. Returns 1 on pass, 0 on failure (printed), -1 if
 * the backend does not support the case (printed as skipped).
 */
int case_check(conf_case *c, conf_target *t, bool reference_math, int32_t out, const double *ref,
               double tol);

/* The same with a bound per element instead (bound NULL: normalised error
 * <= tol): |got[i] - ref[i]| <= bound[i], for results whose error can be
 * bounded exactly, such as dot products of quantised activations. */
int case_check_dot(conf_case *c, conf_target *t, bool reference_math, int32_t out,
                   const double *ref, const double *bound, const double *rss, double tol);

/* The cases of the fused ops (cases_fused.c), part of conf_run_all. */
void conf_run_fused(conf_target *t, conf_stats *st);

#endif
