/*
 * accuracy.h: how far a device's logits are from the reference's on the
 * same prompt, position by position: top-1 agreement, KL divergence of the
 * device's next-token distribution from the reference's, and the normalised
 * error of the raw logits.
 */
#ifndef ERG_BENCH_ACCURACY_H
#define ERG_BENCH_ACCURACY_H

#include "erg/erg.h"

#include <stddef.h>

typedef struct erg_bench_accuracy {
    /* Share of positions whose argmax (first index on ties) is the same. */
    double top1_agreement;
    /* Mean over positions of KL(P_ref || P_dev) in nats, P = softmax(logits). */
    double kl_divergence;
    /* sqrt(sum (dev - ref)^2 / sum ref^2) over every logit; when the
     * reference is all zeros, sqrt(sum dev^2). */
    double nrmse;
} erg_bench_accuracy;

/* ref and dev hold n_positions rows of n_vocab logits. ERG_INVALID_ARGUMENT
 * when either count is 0; ERG_FORMAT when a logit is not finite. */
erg_status erg_bench_accuracy_compare(const float *ref, const float *dev, size_t n_positions,
                                      size_t n_vocab, erg_bench_accuracy *out);

#endif
