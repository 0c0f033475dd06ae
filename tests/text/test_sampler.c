/*
 * The sampler on fixed logits: top-k, top-p and min-p keep exactly the
 * support they should (also over a 100000-token vocabulary), temperature
 * scales the odds as exp(dl / T), the penalties move the right logits, and
 * draws follow the probabilities (checked by counts within 5 standard
 * deviations over 40000 draws).
 */
#include "tests/test.h"

#include "model/sampler.h"

#define N 6
static const float logits[N] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, -3.0f};

static void softmax(const float *l, size_t n, float t, double *p) {
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += exp((l[i] - l[0]) / t);
    for (size_t i = 0; i < n; i++)
        p[i] = exp((l[i] - l[0]) / t) / sum;
}

/* The candidates' ids in order, as "0,1,2". */
static size_t support(const erg_sampler_params *sp, erg_candidate *c, char *out) {
    size_t k = erg_sampler_candidates(sp, logits, N, NULL, 0, c);
    out[0] = '\0';
    for (size_t i = 0; i < k; i++)
        sprintf(out + strlen(out), "%s%d", i ? "," : "", c[i].id);
    return k;
}

static void test_support(void) {
    erg_candidate c[N];
    char s[64];
    erg_sampler_params greedy = {0};
    CHECK_EQ_INT(support(&greedy, c, s), 1);
    CHECK(strcmp(s, "0") == 0 && c[0].p == 1.0f);
    erg_sampler_params topk = {.temperature = 1, .top_k = 3};
    support(&topk, c, s);
    CHECK_MSG(strcmp(s, "0,1,2") == 0, "top-k 3 kept %s", s);
    double p[N];
    softmax(logits, 3, 1, p);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(c[i].p, p[i], 1e-6);
    /* softmax over all six: 0.5609 0.2063 0.1252 0.0759 0.0279 0.0038,
     * cumulative 0.561 0.767 0.892 0.968 0.996 */
    softmax(logits, N, 1, p);
    erg_sampler_params topp = {.temperature = 1, .top_p = 0.85f};
    support(&topp, c, s);
    CHECK_MSG(strcmp(s, "0,1,2") == 0, "top-p 0.85 kept %s", s);
    CHECK_NEAR(c[0].p, p[0] / (p[0] + p[1] + p[2]), 1e-6);
    topp.top_p = 0.9f;
    support(&topp, c, s);
    CHECK_MSG(strcmp(s, "0,1,2,3") == 0, "top-p 0.9 kept %s", s);
    topp.top_p = 0.5f;
    support(&topp, c, s);
    CHECK_MSG(strcmp(s, "0") == 0, "top-p 0.5 kept %s", s);
    erg_sampler_params minp = {.temperature = 1, .min_p = 0.2f};
    support(&minp, c, s); /* p >= 0.2 * 0.5609 = 0.1122: 0, 1, 2 */
    CHECK_MSG(strcmp(s, "0,1,2") == 0, "min-p 0.2 kept %s", s);
    minp.min_p = 0.1f; /* >= 0.0561: 0, 1, 2, 3 */
    support(&minp, c, s);
    CHECK_MSG(strcmp(s, "0,1,2,3") == 0, "min-p 0.1 kept %s", s);
    erg_sampler_params all = {.temperature = 1, .top_k = 5, .top_p = 0.95f, .min_p = 0.1f};
    support(&all, c, s); /* top-k 5, then top-p keeps 4 (0.972 of 5), min-p 4 */
    CHECK_MSG(strcmp(s, "0,1,2,3") == 0, "top-k 5 + top-p 0.95 + min-p 0.1 kept %s", s);
    double sum = 0;
    for (int i = 0; i < 4; i++)
        sum += c[i].p;
    CHECK_NEAR(sum, 1.0, 1e-6);
}

static void test_temperature(void) {
    erg_candidate c[N];
    const float temps[] = {0.25f, 0.5f, 1.0f, 2.0f, 4.0f};
    for (size_t t = 0; t < sizeof temps / sizeof temps[0]; t++) {
        erg_sampler_params sp = {.temperature = temps[t]};
        CHECK_EQ_INT(erg_sampler_candidates(&sp, logits, N, NULL, 0, c), N);
        /* The odds of two tokens are exp((l0 - l1) / T). */
        CHECK_NEAR(c[0].p / c[1].p, exp(1.0 / temps[t]), 1e-4 * exp(1.0 / temps[t]));
        CHECK_NEAR(c[1].p / c[3].p, exp(1.0 / temps[t]), 1e-4 * exp(1.0 / temps[t]));
    }
}

static void test_penalties(void) {
    erg_candidate c[N];
    const int32_t recent[] = {0, 4, 0, 0};
    /* Repetition 2: 2.0 -> 1.0, -1.0 -> -2.0 (each once, however often seen). */
    erg_sampler_params rep = {.temperature = 1, .repeat_penalty = 2};
    erg_sampler_candidates(&rep, logits, N, recent, 4, c);
    double want[N] = {1.0, 1.0, 0.5, 0.0, -2.0, -3.0}, p[N];
    double sum = 0;
    for (int i = 0; i < N; i++)
        sum += exp(want[i]);
    for (int i = 0; i < N; i++)
        p[i] = exp(want[i]) / sum;
    for (int i = 0; i < N; i++)
        if (c[i].id == 0 || c[i].id == 4)
            CHECK_NEAR(c[i].p, p[c[i].id], 1e-6);
    /* Presence 1.5 on token 0: 2.0 -> 0.5, so greedy now picks token 1. */
    erg_sampler_params pres = {.presence_penalty = 1.5f};
    CHECK_EQ_INT(erg_sampler_candidates(&pres, logits, N, recent, 1, c), 1);
    CHECK_EQ_INT(c[0].id, 1);
}

/* Counts over many draws match the probabilities; nothing outside the
 * support is ever drawn. */
static void test_draws(void) {
    enum { DRAWS = 40000 };
    erg_candidate c[N];
    erg_sampler_params sp = {.temperature = 0.8f, .top_k = 4, .min_p = 0.05f};
    size_t k = erg_sampler_candidates(&sp, logits, N, NULL, 0, c);
    double p[N] = {0};
    for (size_t i = 0; i < k; i++)
        p[c[i].id] = c[i].p;
    int counts[N] = {0};
    erg_rng rng;
    erg_rng_seed(&rng, 42);
    for (int i = 0; i < DRAWS; i++)
        counts[erg_sampler_sample(&sp, logits, N, NULL, 0, c, &rng)]++;
    for (int i = 0; i < N; i++) {
        double mean = DRAWS * p[i], sd = sqrt(DRAWS * p[i] * (1 - p[i]));
        CHECK_MSG(fabs(counts[i] - mean) <= 5 * sd + (p[i] == 0 ? 0 : 1),
                  "token %d drawn %d times, expected %.1f +- %.1f", i, counts[i], mean, sd);
    }
    CHECK_EQ_INT(counts[4] + counts[5], 0);
}

static int by_value_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* A large vocabulary with a heavy tail (p ~ rank^-1.2, ids shuffled): top-p
 * and min-p keep what a full sort says, though the sampler sorts only a
 * prefix it grows until it holds the cut. */
static void test_large_vocabulary(void) {
    enum { V = 100000 };
    float *l = malloc(V * sizeof *l);
    double *sorted = malloc(V * sizeof *sorted);
    erg_candidate *c = malloc(V * sizeof *c);
    erg_rng rng;
    erg_rng_seed(&rng, 3);
    for (int i = 0; i < V; i++)
        l[i] = (float)(-1.2 * log(i + 1.0));
    for (int i = V - 1; i > 0; i--) { /* shuffle */
        int j = (int)(erg_rng_next(&rng) % (uint64_t)(i + 1));
        float t = l[i];
        l[i] = l[j];
        l[j] = t;
    }
    double total = 0;
    for (int i = 0; i < V; i++)
        total += sorted[i] = exp(l[i]);
    qsort(sorted, V, sizeof *sorted, by_value_desc);
    const float top_ps[] = {0.5f, 0.9f};
    for (int t = 0; t < 2; t++) {
        size_t want = 0;
        for (double cum = 0; want < V && cum < top_ps[t];)
            cum += sorted[want++] / total;
        erg_sampler_params sp = {.temperature = 1, .top_p = top_ps[t]};
        size_t k = erg_sampler_candidates(&sp, l, V, NULL, 0, c);
        CHECK_MSG(k == want, "top-p %.1f over %d tokens kept %zu, a full sort %zu", top_ps[t], V,
                  k, want);
        bool ordered = true;
        for (size_t i = 0; i + 1 < k; i++)
            ordered = ordered && c[i].logit >= c[i + 1].logit;
        CHECK(ordered && fabs(exp(c[k - 1].logit) - sorted[k - 1]) < 1e-9);
    }
    /* min-p 0.01: rank^-1.2 >= 0.01 up to rank 46. */
    erg_sampler_params sp = {.temperature = 1, .min_p = 0.01f};
    CHECK_EQ_INT(erg_sampler_candidates(&sp, l, V, NULL, 0, c), 46);
    free(l);
    free(sorted);
    free(c);
}

static void test_rng(void) {
    erg_rng a, b, c;
    erg_rng_seed(&a, 7);
    erg_rng_seed(&b, 7);
    erg_rng_seed(&c, 8);
    int same = 0, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = erg_rng_next(&a);
        same += x == erg_rng_next(&b);
        differ += x != erg_rng_next(&c);
    }
    CHECK_EQ_INT(same, 100);
    CHECK_EQ_INT(differ, 100);
    double lo = 1, hi = 0;
    for (int i = 0; i < 10000; i++) {
        double u = erg_rng_uniform(&a);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(lo >= 0 && lo < 0.01 && hi < 1 && hi > 0.99);
}

int main(void) {
    test_support();
    test_temperature();
    test_penalties();
    test_draws();
    test_large_vocabulary();
    test_rng();
    return erg_test_result("test_sampler");
}
