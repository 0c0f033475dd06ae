/* The conformance cases of the fused ops (RMS_NORM_MUL, MATMUL_ADD,
 * MATMUL_SWIGLU, MATMUL_QKV, ROPE_STORE, ATTENTION) and FILL, each against a
 * double-precision reference of the unfused computation. Tolerances follow
 * cases.c. */
#include "tests/conformance/harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const erg_dtype weight_types[] = {ERG_DT_F32,  ERG_DT_F16,  ERG_DT_BF16, ERG_DT_Q8_0,
                                         ERG_DT_Q4_0, ERG_DT_Q4_1, ERG_DT_Q5_0, ERG_DT_Q5_1,
                                         ERG_DT_Q4_K, ERG_DT_Q5_K, ERG_DT_Q6_K};
#define N_WEIGHT_TYPES (sizeof weight_types / sizeof weight_types[0])

/* As in cases.c: float paths differ from double by rounding only; dot
 * products are bounded per element (FLOAT_DOT of sum |w x|, plus half an
 * 8-bit activation step per block on default quantized paths) and on average
 * (TOL_ACT_Q8 of the terms' root-sum-square). */
#define TOL_FLOAT 2e-5
#define FLOAT_DOT 1e-5
#define TOL_ACT_Q8 1e-2
/* The largest |silu'(x)| (about 1.0998, at x ~ 2.4). */
#define SILU_SLOPE 1.1

static void tally(conf_stats *st, int result) {
    st->cases++;
    if (result == 0)
        st->failed++;
    if (result < 0)
        st->skipped++;
}

static double *alloc_ref(const conf_case *c, int32_t id) {
    return calloc((size_t)erg_tensor_nelements(&c->g.tensors[id]), sizeof(double));
}

static double silu(double x) { return x / (1.0 + exp(-x)); }

/* A case's reference, per-element bound and normalising scale, or a
 * failure to build. */
typedef struct ref_set {
    double *ref, *bound, *rss;
} ref_set;

static bool ref_alloc(conf_case *c, int32_t y, ref_set *r, conf_stats *st) {
    *r = (ref_set){0};
    if (y >= 0) {
        r->ref = alloc_ref(c, y);
        r->bound = alloc_ref(c, y);
        r->rss = alloc_ref(c, y);
    }
    if (r->ref && r->bound && r->rss)
        return true;
    printf("FAIL %s: could not build (%s)\n", c->label, c->g.diag.msg);
    tally(st, 0);
    return false;
}

static void ref_free(ref_set *r) {
    free(r->ref);
    free(r->bound);
    free(r->rss);
}

/* ---- MATMUL_ADD, MATMUL_SWIGLU ----------------------------------------------------- */

typedef struct dot_ref {
    double value, bound, rss;
} dot_ref;

/* sum_k w[k, n, b / r2] x[k, m, b] with matmul_case's bound (cases.c). */
static dot_ref dot_of(const conf_case *c, int32_t w, int32_t x, int64_t n, int64_t m, int64_t b,
                      int64_t r2, bool act_q8) {
    const erg_tensor *tw = &c->g.tensors[w];
    int64_t K = tw->ne[0], act_block = erg_dtype_get((int)tw->dtype)->block_size;
    double acc = 0, abs_sum = 0, sq_sum = 0, act_err = 0, half_step = 0;
    for (int64_t k = 0; k < K; k++) {
        if (act_q8 && k % act_block == 0) {
            double amax = 0;
            for (int64_t j = k; j < k + act_block; j++)
                amax = fmax(amax, fabs(case_get(c, x, j, m, b, 0)));
            half_step = amax / 254.0 * (1.0 + 1e-5);
        }
        double wv = case_get(c, w, k, n, b / r2, 0), xv = case_get(c, x, k, m, b, 0);
        acc += wv * xv;
        abs_sum += fabs(wv * xv);
        sq_sum += wv * xv * wv * xv;
        act_err += fabs(wv) * half_step;
    }
    return (dot_ref){acc, act_err + FLOAT_DOT * abs_sum + 1e-30, sqrt(sq_sum)};
}

typedef struct fmm_shape {
    int64_t K, N, M, B;  /* x is [K, M, B]; the weight has one batch */
    int64_t add_ne[3];   /* MATMUL_ADD's addend: a bias [N], a residual [N, M], ... */
} fmm_shape;

static void matmul_add_case(conf_target *t, conf_stats *st, erg_dtype dt, fmm_shape s,
                            bool ref_math, uint64_t seed) {
    conf_case c;
    case_init(&c, seed, "MATMUL_ADD %s K=%lld N=%lld M=%lld batch %lld + [%lld,%lld,%lld]",
              erg_dtype_name(dt), (long long)s.K, (long long)s.N, (long long)s.M, (long long)s.B,
              (long long)s.add_ne[0], (long long)s.add_ne[1], (long long)s.add_ne[2]);
    int64_t wne[2] = {s.K, s.N}, xne[3] = {s.K, s.M, s.B};
    int32_t w = case_leaf(&c, dt, 2, wne, 1.0);
    int32_t x = case_leaf(&c, ERG_DT_F32, 3, xne, 1.0);
    int32_t add = case_leaf(&c, ERG_DT_F32, 3, s.add_ne, 4.0);
    int32_t y = erg_gb_matmul_add(&c.g, w, x, add);
    ref_set r;
    if (!ref_alloc(&c, y, &r, st)) {
        case_free(&c);
        return;
    }
    bool act_q8 = !ref_math && erg_dtype_get((int)dt)->quantized;
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t m = 0; m < s.M; m++)
            for (int64_t n = 0; n < s.N; n++) {
                dot_ref d = dot_of(&c, w, x, n, m, b, s.B, act_q8);
                double av = case_get(&c, add, n % s.add_ne[0], m % s.add_ne[1], b % s.add_ne[2], 0);
                int64_t i = n + s.N * (m + s.M * b);
                r.ref[i] = d.value + av;
                /* the add rounds once more, at the result's magnitude */
                r.bound[i] = d.bound + FLOAT_DOT * (fabs(d.value) + fabs(av));
                r.rss[i] = sqrt(d.rss * d.rss + av * av);
            }
    tally(st, case_check_dot(&c, t, ref_math, y, r.ref, r.bound, r.rss,
                             act_q8 ? TOL_ACT_Q8 : TOL_FLOAT));
    ref_free(&r);
    case_free(&c);
}

/*
 * silu(g) * u from dots g and u within bounds Bg and Bu: the result is off
 * by at most SILU_SLOPE * Bg * (|u| + Bu) + |silu(g)| * Bu, plus float
 * rounding of the epilogue (FLOAT_DOT of the result). On average the error
 * moves like the linearisation silu'(g) u dg + silu(g) du, so the terms'
 * root-sum-squares scale through those factors, as cases.c's TOL_ACT_Q8
 * assumes of one dot (correlation of dg and du costs at most sqrt(2), inside
 * its 2x room).
 */
static void swiglu_ref(dot_ref g, dot_ref u, double *ref, double *bound, double *rss) {
    double sg = silu(g.value), sig = 1.0 / (1.0 + exp(-g.value));
    double slope = sig * (1.0 + g.value * (1.0 - sig));
    *ref = sg * u.value;
    *bound = SILU_SLOPE * g.bound * (fabs(u.value) + u.bound) + fabs(sg) * u.bound +
             FLOAT_DOT * fabs(*ref) + 1e-30;
    *rss = sqrt(pow(slope * u.value * g.rss, 2) + pow(sg * u.rss, 2));
}

static void matmul_swiglu_case(conf_target *t, conf_stats *st, erg_dtype dt, fmm_shape s,
                               bool ref_math, uint64_t seed) {
    conf_case c;
    case_init(&c, seed, "MATMUL_SWIGLU %s K=%lld N=%lld M=%lld batch %lld", erg_dtype_name(dt),
              (long long)s.K, (long long)s.N, (long long)s.M, (long long)s.B);
    int64_t wne[2] = {s.K, s.N}, xne[3] = {s.K, s.M, s.B};
    /* Weights of scale 1/sqrt(K) put the gate around silu's bend. */
    double ws = 1.0 / sqrt((double)s.K);
    int32_t wg = case_leaf(&c, dt, 2, wne, ws);
    int32_t x = case_leaf(&c, ERG_DT_F32, 3, xne, 1.0);
    int32_t wu = case_leaf(&c, dt, 2, wne, ws);
    int32_t y = erg_gb_matmul_swiglu(&c.g, wg, x, wu);
    ref_set r;
    if (!ref_alloc(&c, y, &r, st)) {
        case_free(&c);
        return;
    }
    bool act_q8 = !ref_math && erg_dtype_get((int)dt)->quantized;
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t m = 0; m < s.M; m++)
            for (int64_t n = 0; n < s.N; n++) {
                int64_t i = n + s.N * (m + s.M * b);
                swiglu_ref(dot_of(&c, wg, x, n, m, b, s.B, act_q8),
                           dot_of(&c, wu, x, n, m, b, s.B, act_q8), &r.ref[i], &r.bound[i],
                           &r.rss[i]);
            }
    tally(st, case_check_dot(&c, t, ref_math, y, r.ref, r.bound, r.rss,
                             act_q8 ? TOL_ACT_Q8 : TOL_FLOAT));
    ref_free(&r);
    case_free(&c);
}

/* MATMUL_QKV: the products with weights of Nq, Nk and Nv rows, each
 * contiguous and one after another in the flat result. */
static void matmul_qkv_case(conf_target *t, conf_stats *st, erg_dtype dt, int64_t K,
                            const int64_t n[3], int64_t M, bool ref_math, uint64_t seed) {
    conf_case c;
    case_init(&c, seed, "MATMUL_QKV %s K=%lld N=%lld,%lld,%lld M=%lld", erg_dtype_name(dt),
              (long long)K, (long long)n[0], (long long)n[1], (long long)n[2], (long long)M);
    int64_t xne[2] = {K, M};
    int32_t w[3];
    for (int p = 0; p < 3; p++) {
        int64_t wne[2] = {K, n[p]};
        w[p] = case_leaf(&c, dt, 2, wne, 1.0);
    }
    int32_t x = case_leaf(&c, ERG_DT_F32, 2, xne, 1.0);
    int32_t y = erg_gb_matmul_qkv(&c.g, w[0], x, w[1], w[2]);
    ref_set r;
    if (!ref_alloc(&c, y, &r, st)) {
        case_free(&c);
        return;
    }
    bool act_q8 = !ref_math && erg_dtype_get((int)dt)->quantized;
    int64_t i = 0;
    for (int p = 0; p < 3; p++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t row = 0; row < n[p]; row++, i++) {
                dot_ref d = dot_of(&c, w[p], x, row, m, 0, 1, act_q8);
                r.ref[i] = d.value;
                r.bound[i] = d.bound;
                r.rss[i] = d.rss;
            }
    tally(st, case_check_dot(&c, t, ref_math, y, r.ref, r.bound, r.rss,
                             act_q8 ? TOL_ACT_Q8 : TOL_FLOAT));
    ref_free(&r);
    case_free(&c);
}

static void fused_matmul_cases(conf_target *t, conf_stats *st) {
    /* Decode, small M, prefill-like M >= 33, odd N; row counts in multiples
     * of 8 take the packed weight layouts. */
    static const fmm_shape add_shapes[] = {
        {256, 64, 1, 1, {64, 1, 1}},   /* bias, decode */
        {256, 17, 1, 1, {17, 1, 1}},   /* odd N */
        {512, 40, 5, 1, {40, 5, 1}},   /* residual */
        {256, 64, 33, 1, {64, 1, 1}},  /* bias, prefill */
        {256, 17, 33, 1, {17, 33, 1}}, /* residual, odd N, prefill */
        {256, 24, 3, 2, {24, 1, 2}},   /* weight and addend broadcast over a batch */
        {256, 24, 3, 1, {8, 1, 1}},    /* an addend row repeated along the column */
    };
    static const fmm_shape swiglu_shapes[] = {
        {256, 64, 1, 1, {0}}, {256, 17, 1, 1, {0}},  {512, 40, 5, 1, {0}},
        {256, 64, 33, 1, {0}}, {256, 17, 33, 1, {0}}, {256, 8, 2, 2, {0}},
    };
    uint64_t seed = 1000;
    for (size_t d = 0; d < N_WEIGHT_TYPES; d++)
        for (int ref = 0; ref < 2; ref++) {
            for (size_t i = 0; i < sizeof add_shapes / sizeof add_shapes[0]; i++)
                matmul_add_case(t, st, weight_types[d], add_shapes[i], ref, seed++);
            for (size_t i = 0; i < sizeof swiglu_shapes / sizeof swiglu_shapes[0]; i++)
                matmul_swiglu_case(t, st, weight_types[d], swiglu_shapes[i], ref, seed++);
        }
    /* Q, K and V rows: grouped-query (Nk = Nv < Nq) and equal; rows in
     * multiples of 8 take the packed layouts, 17 does not; decode and
     * prefill (M >= 33: tiles on the CPU, the tiled GPU kernels). */
    static const struct {
        int64_t K, n[3], M;
    } qkv_shapes[] = {
        {256, {64, 16, 16}, 1}, {256, {48, 48, 48}, 3},  {512, {32, 8, 8}, 1},
        {256, {64, 16, 16}, 33}, {256, {17, 24, 17}, 1}, {256, {40, 16, 24}, 34},
    };
    for (size_t d = 0; d < N_WEIGHT_TYPES; d++)
        for (int ref = 0; ref < 2; ref++)
            for (size_t i = 0; i < sizeof qkv_shapes / sizeof qkv_shapes[0]; i++)
                matmul_qkv_case(t, st, weight_types[d], qkv_shapes[i].K, qkv_shapes[i].n,
                                qkv_shapes[i].M, ref, seed++);
}

/* ---- RMS_NORM_MUL ------------------------------------------------------------------------ */

static void rms_norm_mul_case(conf_target *t, conf_stats *st, const int64_t ne[3],
                              const int64_t wne[3], bool strided, uint64_t seed) {
    conf_case c;
    case_init(&c, seed, "RMS_NORM_MUL [%lld,%lld,%lld] by [%lld,%lld,%lld]%s", (long long)ne[0],
              (long long)ne[1], (long long)ne[2], (long long)wne[0], (long long)wne[1],
              (long long)wne[2], strided ? " strided rows" : "");
    int32_t a;
    if (strided) { /* rows of a permuted view, as a per-head norm reads them */
        int64_t pne[3] = {ne[0], ne[2], ne[1]};
        a = erg_gb_permute(&c.g, case_leaf(&c, ERG_DT_F32, 3, pne, 2.0), 0, 2, 1, 3);
    } else {
        a = case_leaf(&c, ERG_DT_F32, 3, ne, 2.0);
    }
    int32_t w = case_leaf(&c, ERG_DT_F32, 3, wne, 1.0);
    const double eps = 1e-5;
    int32_t y = erg_gb_rms_norm_mul(&c.g, a, w, (float)eps);
    double *ref = y >= 0 ? alloc_ref(&c, y) : NULL;
    if (!ref) {
        printf("FAIL %s: could not build (%s)\n", c.label, c.g.diag.msg);
        tally(st, 0);
        case_free(&c);
        return;
    }
    for (int64_t i2 = 0; i2 < ne[2]; i2++)
        for (int64_t i1 = 0; i1 < ne[1]; i1++) {
            double ss = 0;
            for (int64_t i0 = 0; i0 < ne[0]; i0++)
                ss += pow(case_get(&c, a, i0, i1, i2, 0), 2);
            double scale = 1.0 / sqrt(ss / (double)ne[0] + (double)(float)eps);
            for (int64_t i0 = 0; i0 < ne[0]; i0++)
                ref[i0 + ne[0] * (i1 + ne[1] * i2)] =
                    case_get(&c, a, i0, i1, i2, 0) * scale *
                    case_get(&c, w, i0 % wne[0], i1 % wne[1], i2 % wne[2], 0);
        }
    tally(st, case_check(&c, t, false, y, ref, TOL_FLOAT));
    free(ref);
    case_free(&c);
}

static void rms_norm_mul_cases(conf_target *t, conf_stats *st) {
    static const struct {
        int64_t ne[3], wne[3];
        bool strided;
    } cases[] = {
        {{1, 1, 1}, {1, 1, 1}, false},
        {{256, 5, 2}, {256, 1, 1}, false},  /* one weight row for every row */
        {{4099, 2, 1}, {4099, 1, 1}, false},
        {{64, 4, 3}, {64, 1, 1}, false},    /* qk-norm: [head_dim, heads, tokens] */
        {{64, 4, 3}, {64, 1, 1}, true},
        {{128, 3, 5}, {128, 1, 1}, true},
        {{64, 3, 4}, {16, 3, 1}, false},    /* a weight row repeated along the row */
        {{96, 6, 2}, {96, 6, 2}, false},    /* a weight per row */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        rms_norm_mul_case(t, st, cases[i].ne, cases[i].wne, cases[i].strided, 1400 + i);
}

/* ---- ROPE_STORE --------------------------------------------------------------------------- */

/* Relative spacing of the values of dt (a rounding moves a value by at
 * most this times its magnitude, plus the smallest subnormal step). */
static double dtype_rel_step(erg_dtype dt) {
    return dt == ERG_DT_F16 ? 0x1p-10 : dt == ERG_DT_BF16 ? 0x1p-7 : 0x1p-23;
}

static double round_to(erg_dtype dt, double x) {
    if (dt == ERG_DT_F16)
        return erg_f16_to_f32(erg_f32_to_f16((float)x));
    if (dt == ERG_DT_BF16)
        return erg_bf16_to_f32(erg_f32_to_bf16((float)x));
    return (float)x;
}

typedef struct rope_store_shape {
    int64_t hd, n_kv_heads, nt, n_past;
    int n_dims;
    float freq_scale;
} rope_store_shape;

/* Element of the rope of x's row (h, tkn) at i, and the float rounding it
 * may carry; cases.c's ROPE reference. */
static double rope_elem(const conf_case *c, int32_t x, int32_t ff, const int32_t *pos, int64_t h,
                        int64_t tkn, int64_t i, int n_dims, erg_rope_mode mode, double base,
                        double freq_scale, double *err) {
    double v = case_get(c, x, i, h, tkn, 0);
    *err = 0;
    if (i >= n_dims)
        return v;
    bool neox = mode == ERG_ROPE_NEOX;
    int half = n_dims / 2;
    int64_t j = neox ? i % half : i / 2;
    int64_t i0 = neox ? j : 2 * j, i1 = neox ? j + half : 2 * j + 1;
    double theta = pos[tkn] * freq_scale * pow(base, -2.0 * (double)j / n_dims);
    if (ff >= 0)
        theta /= case_get(c, ff, j, 0, 0, 0);
    double a = case_get(c, x, i0, h, tkn, 0), b = case_get(c, x, i1, h, tkn, 0);
    *err = FLOAT_DOT * (fabs(a) + fabs(b));
    return i == i0 ? a * cos(theta) - b * sin(theta) : a * sin(theta) + b * cos(theta);
}

/* Frequency factors 1 + 0.37 j for n_dims rotated dims (up to 256). */
static int32_t factors_leaf(conf_case *c, int n_dims) {
    int64_t fne = n_dims / 2;
    int32_t ff = case_leaf(c, ERG_DT_F32, 1, &fne, 1.0);
    float fv[128];
    for (int64_t j = 0; j < fne; j++)
        fv[j] = 1.0f + (float)j * 0.37f;
    case_leaf_set(c, ff, fv);
    return ff;
}

/* ROPE of k [hd, heads, nt] stored into a KV cache [hd, n_ctx, heads] of
 * dtype dt at positions n_past.. (model/build_llama.c's layout): the whole
 * cache is checked, the rest of it unchanged. */
static void rope_store_case(conf_target *t, conf_stats *st, erg_dtype dt, rope_store_shape s,
                            erg_rope_mode mode, bool factors, uint64_t seed) {
    conf_case c;
    case_init(&c, seed,
              "ROPE_STORE %s -> %s cache hd=%lld heads=%lld tokens=%lld n_past=%lld dims=%d%s "
              "scale=%g",
              mode == ERG_ROPE_NEOX ? "neox" : "normal", erg_dtype_name(dt), (long long)s.hd,
              (long long)s.n_kv_heads, (long long)s.nt, (long long)s.n_past, s.n_dims,
              factors ? " factors" : "", (double)s.freq_scale);
    int64_t n_ctx = s.n_past + s.nt + 3;
    int64_t cache_ne[3] = {s.hd, n_ctx, s.n_kv_heads}, x_ne[3] = {s.hd, s.n_kv_heads, s.nt};
    int32_t cache = case_leaf(&c, dt, 3, cache_ne, 1.0);
    int32_t x = case_leaf(&c, ERG_DT_F32, 3, x_ne, 1.0);
    int32_t pos_v[64];
    for (int64_t i = 0; i < s.nt; i++)
        pos_v[i] = (int32_t)((s.n_past + i) * 131 % 5000);
    int32_t pos = case_leaf_i32(&c, pos_v, s.nt);
    int32_t ff = factors ? factors_leaf(&c, s.n_dims) : -1;
    size_t es = erg_dtype_get((int)dt)->type_size, krow = (size_t)s.hd * es;
    int64_t dst_ne[3] = {s.hd, s.n_kv_heads, s.nt};
    size_t dst_nb[3] = {es, (size_t)n_ctx * krow, krow};
    int32_t dst = erg_gb_view(&c.g, cache, -1, 3, dst_ne, dst_nb, (size_t)s.n_past * krow);
    const double base = 10000.0;
    int32_t y = erg_gb_rope_store(&c.g, x, pos, ff, dst, s.n_dims, mode, (float)base,
                                  s.freq_scale);
    double *ref = y >= 0 ? alloc_ref(&c, cache) : NULL;
    double *bound = y >= 0 ? alloc_ref(&c, cache) : NULL;
    if (!ref || !bound) {
        printf("FAIL %s: could not build (%s)\n", c.label, c.g.diag.msg);
        tally(st, 0);
    } else {
        /* Untouched elements keep their bytes (bound 0); a stored one may
         * round to the neighbour of the exact value's rounding. */
        memcpy(ref, case_vals(&c, cache), (size_t)(s.hd * n_ctx * s.n_kv_heads) * sizeof *ref);
        for (int64_t h = 0; h < s.n_kv_heads; h++)
            for (int64_t tkn = 0; tkn < s.nt; tkn++)
                for (int64_t i = 0; i < s.hd; i++) {
                    double err;
                    double v = rope_elem(&c, x, ff, pos_v, h, tkn, i, s.n_dims, mode, base,
                                         s.freq_scale, &err);
                    int64_t at = i + s.hd * (s.n_past + tkn + n_ctx * h);
                    ref[at] = round_to(dt, v);
                    bound[at] = err + dtype_rel_step(dt) * (fabs(v) + err) + 0x1p-24;
                }
        tally(st, case_check_dot(&c, t, false, y, ref, bound, NULL,
                                 fmax(TOL_FLOAT, dtype_rel_step(dt))));
    }
    free(ref);
    free(bound);
    case_free(&c);
}

static void rope_store_cases(conf_target *t, conf_stats *st) {
    static const erg_dtype types[] = {ERG_DT_F16, ERG_DT_F32, ERG_DT_BF16};
    static const rope_store_shape shapes[] = {
        {64, 2, 7, 0, 64, 1.0f},    /* prefill */
        {128, 2, 1, 9, 64, 1.0f},   /* decode, partial rotation */
        {64, 1, 3, 5, 64, 0.25f},   /* after a prefix, linear scaling */
    };
    uint64_t seed = 1500;
    for (size_t d = 0; d < sizeof types / sizeof types[0]; d++)
        for (int m = 0; m < 2; m++)
            for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
                for (int f = 0; f < 2; f++)
                    if (d < 2 || (i == 0 && f == 0)) /* BF16 once per mode */
                        rope_store_case(t, st, types[d], shapes[i],
                                        m ? ERG_ROPE_NEOX : ERG_ROPE_NORMAL, f, seed++);
}

/* ---- ATTENTION ---------------------------------------------------------------------------- */

typedef struct attn_shape {
    int64_t D, Dv, H, Hkv, nt, n_kv;
    int32_t n_past;
    bool causal;
} attn_shape;

/*
 * One query row's reference, its q (qv) given with the error each element
 * may carry (qerr: the rotation's, or 0). The scores are float dots, each
 * within Delta = scale * (FLOAT_DOT * sum |K q| + sum |K| qerr) (+ FLOAT_DOT
 * for the exp and the scaling); softmax then moves each p_j by at most a
 * factor e^(+-2 Delta), so the output is off by at most
 * (e^(2 Delta) - 1 + FLOAT_DOT) * sum p_j |V_j|, the last term the float
 * sums. That sum also normalises the error.
 */
static void attention_row(const conf_case *c, const double *qv, const double *qerr, int32_t k,
                          int32_t v, attn_shape s, double scale, int64_t i, int64_t h, double *sc,
                          double *ref, double *bound, double *rss) {
    int64_t hk = h / (s.H / s.Hkv);
    int64_t valid = s.causal ? s.n_past + i + 1 : s.n_kv;
    if (valid > s.n_kv)
        valid = s.n_kv;
    double mx = -INFINITY, delta = 0, sum = 0;
    for (int64_t j = 0; j < valid; j++) {
        double dot = 0, abs_sum = 0, q_err = 0;
        for (int64_t d = 0; d < s.D; d++) {
            double kd = case_get(c, k, d, j, hk, 0), p = kd * qv[d];
            dot += p;
            abs_sum += fabs(p);
            q_err += fabs(kd) * qerr[d];
        }
        sc[j] = dot * scale;
        mx = fmax(mx, sc[j]);
        delta = fmax(delta, scale * (FLOAT_DOT * abs_sum + q_err) + FLOAT_DOT);
    }
    for (int64_t j = 0; j < valid; j++)
        sum += (sc[j] = exp(sc[j] - mx));
    for (int64_t d = 0; d < s.Dv; d++) {
        double acc = 0, abs_acc = 0;
        for (int64_t j = 0; j < valid; j++) {
            double pv = sc[j] / sum * case_get(c, v, j, d, hk, 0);
            acc += pv;
            abs_acc += fabs(pv);
        }
        ref[d] = acc;
        bound[d] = (expm1(2 * delta) + FLOAT_DOT) * abs_acc + 1e-30;
        rss[d] = abs_acc;
    }
}

/* ATTENTION's rope of q, where a case has one. */
typedef struct attn_rope {
    int n_dims;           /* 0: none */
    erg_rope_mode mode;
    bool factors;
} attn_rope;

/* q [D, H, nt] (a projection's rows) read as [D, nt, H] through a permute,
 * K and V views of caches longer than n_kv (model/build_llama.c's layout);
 * with rope.n_dims, q rotated at positions (n_past + i) * 131 % 5000. */
static void attention_case(conf_target *t, conf_stats *st, erg_dtype dt, attn_shape s,
                           attn_rope rope, uint64_t seed) {
    conf_case c;
    case_init(&c, seed,
              "ATTENTION %s D=%lld Dv=%lld heads %lld/%lld tokens=%lld n_kv=%lld %s n_past=%d%s%s%s",
              erg_dtype_name(dt), (long long)s.D, (long long)s.Dv, (long long)s.H,
              (long long)s.Hkv, (long long)s.nt, (long long)s.n_kv,
              s.causal ? "causal" : "full", s.n_past, !rope.n_dims ? ""
              : rope.mode == ERG_ROPE_NEOX ? " rope neox" : " rope normal",
              rope.n_dims && rope.n_dims < s.D ? " partial" : "", rope.factors ? " factors" : "");
    int64_t n_ctx = s.n_kv + 5;
    size_t es = erg_dtype_get((int)dt)->type_size;
    int64_t kc_ne[3] = {s.D, n_ctx, s.Hkv}, vc_ne[2] = {n_ctx, s.Dv * s.Hkv};
    int64_t q_ne[3] = {s.D, s.H, s.nt};
    int32_t kc = case_leaf(&c, dt, 3, kc_ne, 1.0);
    int32_t vc = case_leaf(&c, dt, 2, vc_ne, 1.0);
    int32_t q_rows = case_leaf(&c, ERG_DT_F32, 3, q_ne, 1.0);
    int32_t q = erg_gb_permute(&c.g, q_rows, 0, 2, 1, 3);
    int64_t k_ne[3] = {s.D, s.n_kv, s.Hkv}, v_ne[3] = {s.n_kv, s.Dv, s.Hkv};
    size_t k_nb[3] = {es, (size_t)s.D * es, (size_t)(n_ctx * s.D) * es};
    size_t v_nb[3] = {es, (size_t)n_ctx * es, (size_t)(n_ctx * s.Dv) * es};
    int32_t k = erg_gb_view(&c.g, kc, -1, 3, k_ne, k_nb, 0);
    int32_t v = erg_gb_view(&c.g, vc, -1, 3, v_ne, v_nb, 0);
    double scale = 1.0 / sqrt((double)s.D);
    int32_t pos_v[256], ff = -1;
    for (int64_t i = 0; i < s.nt; i++)
        pos_v[i] = (int32_t)((s.n_past + i) * 131 % 5000);
    const double base = 10000.0;
    int32_t y;
    if (rope.n_dims) {
        int32_t pos = case_leaf_i32(&c, pos_v, s.nt);
        if (rope.factors)
            ff = factors_leaf(&c, rope.n_dims);
        y = erg_gb_attention_rope(&c.g, q, k, v, (float)scale, s.causal, s.n_past, pos, ff,
                                  rope.n_dims, rope.mode, (float)base, 1.0f);
    } else {
        y = erg_gb_attention(&c.g, q, k, v, (float)scale, s.causal, s.n_past);
    }
    ref_set r;
    double *sc = malloc((size_t)s.n_kv * sizeof *sc);
    double *qv = malloc((size_t)s.D * 2 * sizeof *qv);
    if (!sc || !qv || !ref_alloc(&c, y, &r, st)) {
        free(sc);
        free(qv);
        case_free(&c);
        return;
    }
    for (int64_t i = 0; i < s.nt; i++)
        for (int64_t h = 0; h < s.H; h++) {
            for (int64_t d = 0; d < s.D; d++) {
                qv[s.D + d] = 0;
                qv[d] = rope.n_dims ? rope_elem(&c, q_rows, ff, pos_v, h, i, d, rope.n_dims,
                                                rope.mode, base, 1.0, &qv[s.D + d])
                                    : case_get(&c, q_rows, d, h, i, 0);
            }
            int64_t at = s.Dv * (h + s.H * i);
            attention_row(&c, qv, qv + s.D, k, v, s, (float)scale, i, h, sc, r.ref + at,
                          r.bound + at, r.rss + at);
        }
    tally(st, case_check_dot(&c, t, false, y, r.ref, r.bound, r.rss, TOL_FLOAT));
    free(sc);
    free(qv);
    ref_free(&r);
    case_free(&c);
}

static void attention_cases(conf_target *t, conf_stats *st) {
    static const attn_shape shapes[] = {
        {64, 64, 4, 2, 1, 1, 0, true},        /* the first token */
        {128, 128, 4, 2, 1, 300, 299, true},  /* decode */
        {40, 40, 2, 2, 7, 7, 0, true},        /* prefill */
        {64, 64, 4, 1, 5, 37, 32, true},      /* prefill after a prefix */
        {128, 128, 2, 1, 33, 300, 267, true},
        {40, 40, 2, 2, 140, 145, 5, true},    /* a prompt longer than a kernel block */
        {64, 40, 4, 2, 5, 37, 0, false},      /* full, Dv != D */
        {40, 40, 2, 1, 3, 300, 0, false},
    };
    static const erg_dtype types[] = {ERG_DT_F16, ERG_DT_F32};
    static const attn_rope no_rope = {0, ERG_ROPE_NORMAL, false};
    uint64_t seed = 1600;
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            attention_case(t, st, types[d], shapes[i], no_rope, seed++);
    /* With the rope of q (graph/fuse_attention_rope.c): both modes, partial
     * rotation, factors, decode and prefill, grouped heads. */
    static const struct {
        attn_shape s;
        attn_rope rope;
    } roped[] = {
        {{128, 128, 4, 2, 1, 300, 299, true}, {128, ERG_ROPE_NEOX, false}},
        {{64, 64, 4, 1, 5, 37, 32, true}, {64, ERG_ROPE_NORMAL, false}},
        {{64, 64, 4, 2, 7, 7, 0, true}, {32, ERG_ROPE_NEOX, true}},
        {{128, 128, 2, 1, 33, 300, 267, true}, {64, ERG_ROPE_NORMAL, true}},
        {{40, 40, 2, 2, 140, 145, 5, true}, {40, ERG_ROPE_NEOX, false}},
        {{64, 40, 4, 2, 5, 37, 0, false}, {64, ERG_ROPE_NEOX, true}},
    };
    for (size_t d = 0; d < 2; d++)
        for (size_t i = 0; i < sizeof roped / sizeof roped[0]; i++)
            attention_case(t, st, types[d], roped[i].s, roped[i].rope, seed++);
}

/* ---- FILL --------------------------------------------------------------------------------- */

static void fill_cases(conf_target *t, conf_stats *st) {
    static const int64_t shapes[][2] = {{1, 1}, {37, 5}, {4099, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        conf_case c;
        case_init(&c, 1700 + i, "FILL [%lld,%lld]", (long long)shapes[i][0],
                  (long long)shapes[i][1]);
        int32_t a = case_leaf(&c, ERG_DT_F32, 2, shapes[i], 1.0);
        const float value = -1.5f;
        int32_t y = erg_gb_fill(&c.g, a, value);
        double *ref = alloc_ref(&c, a);
        for (int64_t k = 0; k < shapes[i][0] * shapes[i][1]; k++)
            ref[k] = value;
        tally(st, case_check(&c, t, false, y, ref, 0.0));
        free(ref);
        case_free(&c);
    }
}

void conf_run_fused(conf_target *t, conf_stats *st) {
    fused_matmul_cases(t, st);
    rms_norm_mul_cases(t, st);
    rope_store_cases(t, st);
    attention_cases(t, st);
    fill_cases(t, st);
}
