/* Top-1 agreement, KL divergence and normalised error of logits against a reference. */
#include "bench/accuracy.h"

#include <math.h>
#include <string.h>

static size_t argmax(const float *x, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        best = x[i] > x[best] ? i : best;
    return best;
}

/* log(sum exp(x)), shifted by the maximum so nothing overflows. */
static double log_sum_exp(const float *x, size_t n) {
    double max = x[argmax(x, n)], sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += exp((double)x[i] - max);
    return max + log(sum);
}

/* KL(softmax(p) || softmax(q)) = sum P (log P - log Q), in log space. */
static double kl_row(const float *p, const float *q, size_t n) {
    double lp = log_sum_exp(p, n), lq = log_sum_exp(q, n), kl = 0;
    for (size_t i = 0; i < n; i++) {
        double log_p = (double)p[i] - lp, log_q = (double)q[i] - lq;
        kl += exp(log_p) * (log_p - log_q);
    }
    return kl > 0 ? kl : 0; /* rounding can leave a tiny negative */
}

erg_status erg_bench_accuracy_compare(const float *ref, const float *dev, size_t n_positions,
                                      size_t n_vocab, erg_bench_accuracy *out) {
    memset(out, 0, sizeof *out);
    if (n_positions == 0 || n_vocab == 0)
        return ERG_INVALID_ARGUMENT;
    size_t agree = 0;
    double kl = 0, err = 0, norm = 0;
    for (size_t p = 0; p < n_positions; p++) {
        const float *r = ref + p * n_vocab, *d = dev + p * n_vocab;
        for (size_t i = 0; i < n_vocab; i++) {
            if (!isfinite(r[i]) || !isfinite(d[i]))
                return ERG_FORMAT;
            err += ((double)d[i] - r[i]) * ((double)d[i] - r[i]);
            norm += (double)r[i] * r[i];
        }
        agree += argmax(r, n_vocab) == argmax(d, n_vocab);
        kl += kl_row(r, d, n_vocab);
    }
    out->top1_agreement = (double)agree / (double)n_positions;
    out->kl_divergence = kl / (double)n_positions;
    out->nrmse = norm > 0 ? sqrt(err / norm) : sqrt(err);
    return ERG_OK;
}
