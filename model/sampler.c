/* Sampling the next token (see sampler.h). */
#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void erg_rng_seed(erg_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t erg_rng_next(erg_rng *r) {
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double erg_rng_uniform(erg_rng *r) { return (double)(erg_rng_next(r) >> 11) * 0x1.0p-53; }

static int by_logit_desc(const void *a, const void *b) {
    const erg_candidate *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->id - y->id; /* ties: the lower id first, so the order is total */
}

static void swap(erg_candidate *a, erg_candidate *b) {
    erg_candidate t = *a;
    *a = *b;
    *b = t;
}

/* Moves the k best candidates to the front, in no order (quickselect with a
 * three-way partition): top-k need not sort a whole vocabulary. */
static void select_best(erg_candidate *c, size_t n, size_t k) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        erg_candidate pivot = c[lo + (hi - lo) / 2];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            int cmp = by_logit_desc(&c[i], &pivot);
            if (cmp < 0)
                swap(&c[lt++], &c[i++]);
            else if (cmp > 0)
                swap(&c[i], &c[--gt]);
            else
                i++;
        }
        if (k <= lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return;
    }
}

/* How many of the best candidates surely hold what top-p and min-p keep,
 * found without sorting the whole vocabulary: the best m (selected, not
 * sorted) hold the top-p cut when their mass reaches top_p, and the min-p
 * cut when one of them falls below min_p times the best. m grows 4x. */
static size_t cut_bound(const erg_sampler_params *p, erg_candidate *c, size_t n, float max,
                        double total) {
    for (size_t m = 64; m < n; m *= 4) {
        select_best(c, n, m);
        double mass = 0, min_p = p->min_p > 0 ? p->min_p : 0;
        bool below = false;
        for (size_t i = 0; i < m; i++) {
            double e = exp((double)c[i].logit - max);
            mass += e;
            below = below || e < min_p; /* the best has e = 1 */
        }
        if (below || (p->top_p > 0 && p->top_p < 1 && mass / total >= p->top_p))
            return m;
    }
    return n;
}

size_t erg_sampler_candidates(const erg_sampler_params *p, const float *logits, size_t n,
                              const int32_t *recent, size_t n_recent, erg_candidate *c) {
    for (size_t i = 0; i < n; i++)
        c[i] = (erg_candidate){(int32_t)i, logits[i], 0};
    bool repeat = p->repeat_penalty > 0 && p->repeat_penalty != 1.0f;
    for (size_t r = 0; (repeat || p->presence_penalty != 0) && r < n_recent; r++) {
        int32_t id = recent[r];
        bool seen = false; /* each token is penalised once, however often it came */
        for (size_t q = 0; q < r && !seen; q++)
            seen = recent[q] == id;
        if (seen || id < 0 || (size_t)id >= n)
            continue;
        float l = c[id].logit;
        if (repeat)
            l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
        c[id].logit = l - p->presence_penalty;
    }
    if (p->temperature <= 0) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        c[0] = (erg_candidate){c[best].id, c[best].logit, 1.0f};
        return 1;
    }
    float max = c[0].logit /= p->temperature;
    for (size_t i = 1; i < n; i++)
        if ((c[i].logit /= p->temperature) > max)
            max = c[i].logit;
    bool cut = (p->top_p > 0 && p->top_p < 1) || p->min_p > 0;
    size_t k = p->top_k && p->top_k < n ? p->top_k : n;
    /* The mass top-p measures against: the k top-k keeps, else all. */
    double total = 0;
    if (k < n) {
        select_best(c, n, k);
        for (size_t i = 0; i < k; i++)
            total += exp((double)c[i].logit - max);
    } else {
        for (size_t i = 0; i < n; i++)
            total += exp((double)c[i].logit - max);
        if (cut)
            k = cut_bound(p, c, n, max, total);
    }
    /* Most likely first, unless nothing will be cut (then in id order). */
    if (k < n || cut)
        qsort(c, k, sizeof *c, by_logit_desc);
    for (size_t i = 0; i < k; i++)
        c[i].p = (float)(exp((double)c[i].logit - max) / total);
    if (p->top_p > 0 && p->top_p < 1) {
        double cum = 0;
        size_t keep = 0;
        while (keep < k && cum < p->top_p)
            cum += c[keep++].p;
        k = keep;
    }
    if (p->min_p > 0) {
        size_t keep = 1;
        while (keep < k && c[keep].p >= p->min_p * c[0].p)
            keep++;
        k = keep;
    }
    double sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += c[i].p;
    for (size_t i = 0; i < k; i++)
        c[i].p = (float)(c[i].p / sum);
    return k;
}

int32_t erg_sampler_sample(const erg_sampler_params *p, const float *logits, size_t n,
                           const int32_t *recent, size_t n_recent, erg_candidate *c, erg_rng *rng) {
    size_t k = erg_sampler_candidates(p, logits, n, recent, n_recent, c);
    if (k == 1)
        return c[0].id;
    double u = erg_rng_uniform(rng), cum = 0;
    for (size_t i = 0; i < k; i++) {
        cum += c[i].p;
        if (u < cum)
            return c[i].id;
    }
    return c[k - 1].id; /* rounding left u just past the last sum */
}
