/*
 * sampler.h: choosing the next token from a row of logits. The steps, in
 * order: repetition and presence penalties over the recent tokens,
 * temperature, top-k, softmax, top-p, min-p, then one draw from what is left
 * (renormalised). Temperature 0 is greedy: the argmax after the penalties.
 * The generator is xoshiro256** seeded with splitmix64, so a seed gives the
 * same draws on every machine.
 */
#ifndef ERG_MODEL_SAMPLER_H
#define ERG_MODEL_SAMPLER_H

#include "base/alloc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct erg_sampler_params {
    float temperature;      /* <= 0: greedy */
    uint32_t top_k;         /* 0: off */
    float top_p;            /* <= 0 or >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* <= 0 or 1: off */
    float presence_penalty; /* 0: off */
} erg_sampler_params;

typedef struct erg_rng {
    uint64_t s[4];
} erg_rng;

void erg_rng_seed(erg_rng *r, uint64_t seed);
uint64_t erg_rng_next(erg_rng *r);
/* Uniform in [0, 1). */
double erg_rng_uniform(erg_rng *r);

/* A candidate token and its probability once the filters ran. */
typedef struct erg_candidate {
    int32_t id;
    float logit;
    float p;
} erg_candidate;

/* Runs the penalties and filters on logits[0..n) (the logits are not
 * changed) given the recent tokens; fills cand (n entries of room) with the
 * tokens left, their p summing to 1: most likely first, except when no
 * filter is on (then in id order, as sorting a vocabulary costs more than
 * the draw). Returns how many are left (1 for greedy). */
size_t erg_sampler_candidates(const erg_sampler_params *p, const float *logits, size_t n,
                              const int32_t *recent, size_t n_recent, erg_candidate *cand);

/* Draws a token from logits: candidates as above, then one draw from rng. */
int32_t erg_sampler_sample(const erg_sampler_params *p, const float *logits, size_t n,
                           const int32_t *recent, size_t n_recent, erg_candidate *scratch,
                           erg_rng *rng);

#endif
