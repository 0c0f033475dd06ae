/* erg bench's accuracy figures (top-1 agreement, KL divergence, NRMSE) on
 * inputs whose values are worked out by hand. */
#include "bench/accuracy.h"
#include "tests/test.h"

#include <float.h>

static void identical(void) {
    const float ref[6] = {0.5f, -1.0f, 2.0f, 3.0f, 3.0f, -7.0f};
    erg_bench_accuracy a;
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, ref, 2, 3, &a), ERG_OK);
    CHECK_NEAR(a.top1_agreement, 1.0, 0);
    CHECK_NEAR(a.kl_divergence, 0.0, 1e-15);
    CHECK_NEAR(a.nrmse, 0.0, 0);
}

/* Position 0: P = softmax(0, 0) = (1/2, 1/2), Q = softmax(ln 3, 0) =
 * (3/4, 1/4); both argmaxes are 0 (the reference's by the first-index tie
 * rule); KL = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3).
 * Position 1: ref (1, 3), dev (3, 1): argmaxes 1 and 0 differ; KL = (P1 -
 * P0)(ln P1 - ln P0) = tanh(1) x 2.
 * NRMSE: errors (ln 3, 0, 2, -2), reference (0, 0, 1, 3):
 * sqrt((ln²3 + 8) / 10). */
static void worked_example(void) {
    const float ref[4] = {0.0f, 0.0f, 1.0f, 3.0f};
    const float dev[4] = {(float)log(3.0), 0.0f, 3.0f, 1.0f};
    erg_bench_accuracy a;
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, dev, 2, 2, &a), ERG_OK);
    CHECK_NEAR(a.top1_agreement, 0.5, 0);
    double kl = (0.5 * log(4.0 / 3.0) + 2.0 * tanh(1.0)) / 2.0;
    CHECK_NEAR(a.kl_divergence, kl, 1e-6);
    double l3 = (double)(float)log(3.0);
    CHECK_NEAR(a.nrmse, sqrt((l3 * l3 + 8.0) / 10.0), 1e-9);
}

/* Adding a constant to every logit leaves the distribution and the argmax
 * alone, but not the raw logits. */
static void shifted(void) {
    const float ref[3] = {1.0f, 2.0f, 4.0f};
    const float dev[3] = {6.0f, 7.0f, 9.0f};
    erg_bench_accuracy a;
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, dev, 1, 3, &a), ERG_OK);
    CHECK_NEAR(a.top1_agreement, 1.0, 0);
    CHECK_NEAR(a.kl_divergence, 0.0, 1e-12);
    CHECK_NEAR(a.nrmse, sqrt(75.0 / 21.0), 1e-12);
}

/* Logits far beyond exp's range: the log-sum-exp shift keeps KL finite.
 * P ≈ (1, 0), Q = (1/2, 1/2): KL = ln 2. */
static void large_logits(void) {
    const float ref[2] = {1000.0f, 0.0f};
    const float dev[2] = {1000.0f, 1000.0f};
    erg_bench_accuracy a;
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, dev, 1, 2, &a), ERG_OK);
    CHECK_NEAR(a.kl_divergence, log(2.0), 1e-12);
    CHECK_NEAR(a.top1_agreement, 1.0, 0);
}

/* An all-zero reference: the error is the device's own size. */
static void zero_reference(void) {
    const float ref[2] = {0.0f, 0.0f};
    const float dev[2] = {3.0f, 4.0f};
    erg_bench_accuracy a;
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, dev, 1, 2, &a), ERG_OK);
    CHECK_NEAR(a.nrmse, 5.0, 1e-12);
}

static void bad_input(void) {
    const float ref[2] = {1.0f, 2.0f};
    const float nan[2] = {1.0f, NAN};
    const float inf[2] = {INFINITY, 0.0f};
    erg_bench_accuracy a;
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, ref, 0, 2, &a), ERG_INVALID_ARGUMENT);
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, ref, 1, 0, &a), ERG_INVALID_ARGUMENT);
    CHECK_EQ_INT(erg_bench_accuracy_compare(ref, nan, 1, 2, &a), ERG_FORMAT);
    CHECK_EQ_INT(erg_bench_accuracy_compare(inf, ref, 1, 2, &a), ERG_FORMAT);
}

int main(void) {
    identical();
    worked_example();
    shifted();
    large_logits();
    zero_reference();
    bad_input();
    return erg_test_result("test_bench_accuracy");
}
