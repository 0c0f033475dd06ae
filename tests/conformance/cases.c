/* The conformance cases: every op, every weight type, odd shapes, broadcasts
 * and strided views, each against a double-precision reference. */
#include "tests/conformance/harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const erg_dtype weight_types[] = {ERG_DT_F32,  ERG_DT_F16,  ERG_DT_BF16, ERG_DT_Q8_0,
                                         ERG_DT_Q4_0, ERG_DT_Q4_1, ERG_DT_Q5_0, ERG_DT_Q5_1,
                                         ERG_DT_Q4_K, ERG_DT_Q5_K, ERG_DT_Q6_K};
#define N_WEIGHT_TYPES (sizeof weight_types / sizeof weight_types[0])

static void tally(conf_stats *st, int result) {
    st->cases++;
    if (result == 0)
        st->failed++;
    if (result < 0)
        st->skipped++;
}

/* Normalised-error bound of the float paths: they differ from double only by
 * rounding. */
#define TOL_FLOAT 2e-5
/* Matmuls are checked per element: float rounding is within FLOAT_DOT of
 * sum |w x|; default matmuls of quantized weights also round each activation
 * to 8 bits, at most half a step (the block's max |x| / 254) away. */
#define FLOAT_DOT 1e-5
/* ... and on average, activation rounding moves a dot product by about 0.5%
 * of the root-sum-square of its terms: the normalised error bound leaves 2x
 * room. */
#define TOL_ACT_Q8 1e-2
#define TOL_EXACT 1e-7

static double *alloc_ref(const conf_case *c, int32_t id) {
    return calloc((size_t)erg_tensor_nelements(&c->g.tensors[id]), sizeof(double));
}

/* ---- MATMUL ------------------------------------------------------------------ */

typedef struct mm_shape {
    int64_t K, N, M, a2, b2;
    bool x_strided; /* activations through a permuted view */
    bool w_strided; /* weight rows inside wider rows (like a KV-cache view) */
} mm_shape;

static void matmul_case(conf_target *t, conf_stats *st, erg_dtype dt, mm_shape s, bool ref_math,
                        uint64_t seed) {
    conf_case c;
    case_init(&c, seed, "MATMUL %s K=%lld N=%lld M=%lld batch %lld/%lld%s%s", erg_dtype_name(dt),
              (long long)s.K, (long long)s.N, (long long)s.M, (long long)s.a2, (long long)s.b2,
              s.x_strided ? " strided-x" : "", s.w_strided ? " strided-w" : "");
    int32_t w;
    if (s.w_strided) {
        int64_t ne[3] = {s.K + 8, s.N, s.a2};
        int32_t full = case_leaf(&c, dt, 3, ne, 1.0);
        const erg_tensor *tf = &c.g.tensors[full];
        int64_t vne[3] = {s.K, s.N, s.a2};
        size_t nb[3] = {tf->nb[0], tf->nb[1], tf->nb[2]};
        w = erg_gb_view(&c.g, full, -1, 3, vne, nb, 0);
    } else {
        int64_t ne[3] = {s.K, s.N, s.a2};
        w = case_leaf(&c, dt, 3, ne, 1.0);
    }
    int32_t x;
    if (s.x_strided) {
        int64_t ne[3] = {s.K, s.b2, s.M};
        x = erg_gb_permute(&c.g, case_leaf(&c, ERG_DT_F32, 3, ne, 1.0), 0, 2, 1, 3);
    } else {
        int64_t ne[3] = {s.K, s.M, s.b2};
        x = case_leaf(&c, ERG_DT_F32, 3, ne, 1.0);
    }
    int32_t y = erg_gb_matmul(&c.g, w, x);
    double *ref = y >= 0 ? alloc_ref(&c, y) : NULL;
    double *bound = y >= 0 ? alloc_ref(&c, y) : NULL;
    double *rss = y >= 0 ? alloc_ref(&c, y) : NULL;
    if (!ref || !bound || !rss) {
        printf("FAIL %s: could not build (%s)\n", c.label, c.g.diag.msg);
        tally(st, 0);
        free(ref);
        free(bound);
        free(rss);
        case_free(&c);
        return;
    }
    int64_t r2 = s.b2 / s.a2;
    bool act_q8 = !ref_math && erg_dtype_get((int)dt)->quantized;
    int64_t act_block = erg_dtype_get((int)dt)->block_size;
    for (int64_t b = 0; b < s.b2; b++)
        for (int64_t m = 0; m < s.M; m++)
            for (int64_t n = 0; n < s.N; n++) {
                double acc = 0, abs_sum = 0, sq_sum = 0, act_err = 0, half_step = 0;
                for (int64_t k = 0; k < s.K; k++) {
                    if (act_q8 && k % act_block == 0) {
                        double amax = 0;
                        for (int64_t j = k; j < k + act_block; j++)
                            amax = fmax(amax, fabs(case_get(&c, x, j, m, b, 0)));
                        half_step = amax / 254.0 * (1.0 + 1e-5);
                    }
                    double wv = case_get(&c, w, k, n, b / r2, 0), xv = case_get(&c, x, k, m, b, 0);
                    acc += wv * xv;
                    abs_sum += fabs(wv * xv);
                    sq_sum += wv * xv * wv * xv;
                    act_err += fabs(wv) * half_step;
                }
                ref[n + s.N * (m + s.M * b)] = acc;
                bound[n + s.N * (m + s.M * b)] = act_err + FLOAT_DOT * abs_sum + 1e-30;
                rss[n + s.N * (m + s.M * b)] = sqrt(sq_sum);
            }
    tally(st, case_check_dot(&c, t, ref_math, y, ref, bound, rss, act_q8 ? TOL_ACT_Q8 : TOL_FLOAT));
    free(ref);
    free(bound);
    free(rss);
    case_free(&c);
}

static void matmul_cases(conf_target *t, conf_stats *st) {
    static const mm_shape shapes[] = {
        {256, 1, 1, 1, 1, false, false},   {256, 7, 1, 1, 1, false, false},
        {512, 33, 1, 1, 1, false, false},  {256, 17, 2, 1, 1, false, false},
        {256, 9, 5, 1, 1, false, false},   {512, 70, 33, 1, 1, false, false},
        {1024, 130, 70, 1, 1, false, false}, {256, 4, 3, 2, 6, false, false},
        {256, 5, 4, 1, 3, true, false},
        /* Row counts in multiples of 8: the shapes weight packing takes. */
        {256, 8, 1, 1, 1, false, false},   {512, 64, 3, 1, 1, false, false},
        {256, 24, 9, 1, 1, false, false},  {1024, 136, 70, 1, 1, false, false},
        {512, 40, 1, 1, 1, false, false},  {256, 64, 1, 1, 1, false, false},
    };
    uint64_t seed = 100;
    for (size_t d = 0; d < N_WEIGHT_TYPES; d++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int ref = 0; ref < 2; ref++)
                matmul_case(t, st, weight_types[d], shapes[i], ref, seed++);
    /* Odd row lengths for the plain types, and KV-cache-like strided rows. */
    static const mm_shape plain[] = {
        {1, 1, 1, 1, 1, false, false},   {31, 3, 2, 1, 1, false, false},
        {65, 17, 9, 1, 1, false, false}, {64, 37, 5, 2, 8, true, true},
        {64, 129, 1, 8, 16, true, true},
    };
    static const erg_dtype plain_types[] = {ERG_DT_F32, ERG_DT_F16, ERG_DT_BF16};
    for (size_t d = 0; d < 3; d++)
        for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
            matmul_case(t, st, plain_types[d], plain[i], false, seed++);
}

/* ---- GET_ROWS -------------------------------------------------------------------- */

static void get_rows_cases(conf_target *t, conf_stats *st) {
    for (size_t d = 0; d < N_WEIGHT_TYPES; d++) {
        conf_case c;
        erg_dtype dt = weight_types[d];
        case_init(&c, 200 + d, "GET_ROWS %s", erg_dtype_name(dt));
        int64_t ne[2] = {512, 37};
        int32_t table = case_leaf(&c, dt, 2, ne, 1.0);
        int32_t ids_v[9] = {0, 36, 5, 5, 17, 1, 35, 20, 0};
        int32_t ids = case_leaf_i32(&c, ids_v, 9);
        int32_t y = erg_gb_get_rows(&c.g, table, ids);
        double *ref = alloc_ref(&c, y);
        for (int r = 0; r < 9; r++)
            for (int64_t k = 0; k < ne[0]; k++)
                ref[r * ne[0] + k] = case_get(&c, table, k, ids_v[r], 0, 0);
        tally(st, case_check(&c, t, false, y, ref, TOL_EXACT));
        free(ref);
        case_free(&c);
    }
}

/* ---- elementwise ------------------------------------------------------------------ */

static double silu(double x) { return x / (1.0 + exp(-x)); }

static double gelu(double x) {
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

typedef enum { EW_ADD, EW_MUL, EW_SCALE, EW_SILU, EW_GELU, EW_SWIGLU } ew_op;

static void elementwise_case(conf_target *t, conf_stats *st, ew_op op, const int64_t a_ne[3],
                             const int64_t b_ne[3], uint64_t seed) {
    static const char *const names[] = {"ADD", "MUL", "SCALE", "SILU", "GELU", "SWIGLU"};
    conf_case c;
    case_init(&c, seed, "%s [%lld,%lld,%lld] by [%lld,%lld,%lld]", names[op], (long long)a_ne[0],
              (long long)a_ne[1], (long long)a_ne[2], (long long)b_ne[0], (long long)b_ne[1],
              (long long)b_ne[2]);
    int32_t a = case_leaf(&c, ERG_DT_F32, 3, a_ne, 3.0);
    int32_t b = op == EW_ADD || op == EW_MUL || op == EW_SWIGLU ? case_leaf(&c, ERG_DT_F32, 3, b_ne, 2.0)
                                                                 : -1;
    const float s = -0.37f;
    int32_t y = op == EW_ADD    ? erg_gb_add(&c.g, a, b)
                : op == EW_MUL  ? erg_gb_mul(&c.g, a, b)
                : op == EW_SCALE ? erg_gb_scale(&c.g, a, s)
                : op == EW_SILU ? erg_gb_silu(&c.g, a)
                : op == EW_GELU ? erg_gb_gelu(&c.g, a)
                                : erg_gb_swiglu(&c.g, a, b);
    double *ref = alloc_ref(&c, y);
    for (int64_t i2 = 0; i2 < a_ne[2]; i2++)
        for (int64_t i1 = 0; i1 < a_ne[1]; i1++)
            for (int64_t i0 = 0; i0 < a_ne[0]; i0++) {
                double x = case_get(&c, a, i0, i1, i2, 0);
                double z = b >= 0 ? case_get(&c, b, i0 % b_ne[0], i1 % b_ne[1], i2 % b_ne[2], 0) : 0;
                double r = op == EW_ADD     ? x + z
                           : op == EW_MUL   ? x * z
                           : op == EW_SCALE ? x * s
                           : op == EW_SILU  ? silu(x)
                           : op == EW_GELU  ? gelu(x)
                                            : silu(x) * z;
                ref[i0 + a_ne[0] * (i1 + a_ne[1] * i2)] = r;
            }
    tally(st, case_check(&c, t, false, y, ref, TOL_FLOAT));
    free(ref);
    case_free(&c);
}

static void elementwise_cases(conf_target *t, conf_stats *st) {
    static const int64_t shapes[][2][3] = {
        {{1, 1, 1}, {1, 1, 1}},       {{7, 3, 1}, {7, 3, 1}},     {{67, 5, 2}, {67, 1, 1}},
        {{256, 9, 3}, {256, 9, 1}},   {{4099, 2, 1}, {4099, 1, 1}}, {{64, 4, 3}, {16, 1, 3}},
        {{1024, 1, 1}, {1024, 1, 1}},
    };
    uint64_t seed = 300;
    for (int op = EW_ADD; op <= EW_SWIGLU; op++)
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            const int64_t *b = shapes[i][1];
            /* swiglu takes equal shapes */
            elementwise_case(t, st, (ew_op)op, shapes[i][0], op == EW_SWIGLU ? shapes[i][0] : b,
                             seed++);
        }
}

/* ---- RMS_NORM ---------------------------------------------------------------------- */

static void rms_norm_cases(conf_target *t, conf_stats *st) {
    static const int64_t shapes[][3] = {{1, 1, 1}, {7, 3, 1}, {256, 5, 2}, {4099, 2, 1}, {64, 3, 4}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        for (int strided = 0; strided < 2; strided++) {
            conf_case c;
            const int64_t *ne = shapes[i];
            case_init(&c, 400 + i, "RMS_NORM [%lld,%lld,%lld]%s", (long long)ne[0], (long long)ne[1],
                      (long long)ne[2], strided ? " strided rows" : "");
            int32_t a;
            if (strided) { /* rows of a permuted view */
                int64_t pne[3] = {ne[0], ne[2], ne[1]};
                a = erg_gb_permute(&c.g, case_leaf(&c, ERG_DT_F32, 3, pne, 2.0), 0, 2, 1, 3);
            } else {
                a = case_leaf(&c, ERG_DT_F32, 3, ne, 2.0);
            }
            const double eps = 1e-5;
            int32_t y = erg_gb_rms_norm(&c.g, a, (float)eps);
            double *ref = alloc_ref(&c, y);
            for (int64_t i2 = 0; i2 < ne[2]; i2++)
                for (int64_t i1 = 0; i1 < ne[1]; i1++) {
                    double ss = 0;
                    for (int64_t i0 = 0; i0 < ne[0]; i0++)
                        ss += pow(case_get(&c, a, i0, i1, i2, 0), 2);
                    double scale = 1.0 / sqrt(ss / (double)ne[0] + (double)(float)eps);
                    for (int64_t i0 = 0; i0 < ne[0]; i0++)
                        ref[i0 + ne[0] * (i1 + ne[1] * i2)] = case_get(&c, a, i0, i1, i2, 0) * scale;
                }
            tally(st, case_check(&c, t, false, y, ref, TOL_FLOAT));
            free(ref);
            case_free(&c);
        }
    }
}

/* ---- ROPE ---------------------------------------------------------------------------- */

static void rope_case(conf_target *t, conf_stats *st, int64_t hd, int64_t nh, int64_t nt,
                      int n_dims, erg_rope_mode mode, bool factors, float freq_scale,
                      uint64_t seed) {
    conf_case c;
    case_init(&c, seed, "ROPE %s hd=%lld heads=%lld tokens=%lld dims=%d%s scale=%g",
              mode == ERG_ROPE_NEOX ? "neox" : "normal", (long long)hd, (long long)nh,
              (long long)nt, n_dims, factors ? " factors" : "", (double)freq_scale);
    int64_t ne[3] = {hd, nh, nt};
    int32_t x = case_leaf(&c, ERG_DT_F32, 3, ne, 1.0);
    int32_t *pos_v = malloc((size_t)nt * sizeof *pos_v);
    for (int64_t i = 0; i < nt; i++)
        pos_v[i] = (int32_t)((i * 977 + seed * 31) % 5000);
    int32_t pos = case_leaf_i32(&c, pos_v, nt);
    int32_t ff = -1;
    if (factors) {
        int64_t fne = n_dims / 2;
        ff = case_leaf(&c, ERG_DT_F32, 1, &fne, 1.0);
        float *fv = malloc((size_t)fne * sizeof *fv);
        for (int64_t j = 0; j < fne; j++)
            fv[j] = 1.0f + (float)j * 0.37f;
        case_leaf_set(&c, ff, fv);
        free(fv);
    }
    const float base = 10000.0f;
    int32_t y = erg_gb_rope(&c.g, x, pos, ff, n_dims, mode, base, freq_scale);
    double *ref = alloc_ref(&c, y);
    for (int64_t tkn = 0; tkn < nt; tkn++)
        for (int64_t h = 0; h < nh; h++) {
            double *out = ref + hd * (h + nh * tkn);
            for (int64_t i = 0; i < hd; i++)
                out[i] = case_get(&c, x, i, h, tkn, 0);
            for (int j = 0; j < n_dims / 2; j++) {
                double theta = pos_v[tkn] * (double)freq_scale * pow(base, -2.0 * j / n_dims);
                if (factors)
                    theta /= case_get(&c, ff, j, 0, 0, 0);
                int i0 = mode == ERG_ROPE_NEOX ? j : 2 * j;
                int i1 = mode == ERG_ROPE_NEOX ? j + n_dims / 2 : 2 * j + 1;
                double a = case_get(&c, x, i0, h, tkn, 0), b = case_get(&c, x, i1, h, tkn, 0);
                out[i0] = a * cos(theta) - b * sin(theta);
                out[i1] = a * sin(theta) + b * cos(theta);
            }
        }
    tally(st, case_check(&c, t, false, y, ref, TOL_FLOAT));
    free(ref);
    free(pos_v);
    case_free(&c);
}

static void rope_cases(conf_target *t, conf_stats *st) {
    uint64_t seed = 500;
    for (int m = 0; m < 2; m++) {
        erg_rope_mode mode = m ? ERG_ROPE_NEOX : ERG_ROPE_NORMAL;
        rope_case(t, st, 64, 4, 7, 64, mode, false, 1.0f, seed++);
        rope_case(t, st, 128, 3, 5, 64, mode, false, 1.0f, seed++); /* partial rotation */
        rope_case(t, st, 64, 2, 9, 64, mode, true, 1.0f, seed++);   /* Llama-3 factors */
        rope_case(t, st, 32, 5, 3, 32, mode, false, 0.25f, seed++); /* linear scaling */
        rope_case(t, st, 2, 1, 1, 2, mode, false, 1.0f, seed++);
    }
}

/* ---- SOFTMAX ------------------------------------------------------------------------- */

static void softmax_case(conf_target *t, conf_stats *st, int64_t n_kv, int64_t nq, int64_t nh,
                         bool causal, uint64_t seed) {
    conf_case c;
    int32_t n_past = (int32_t)(n_kv - nq);
    case_init(&c, seed, "SOFTMAX [%lld,%lld,%lld] %s n_past=%d", (long long)n_kv, (long long)nq,
              (long long)nh, causal ? "causal" : "full", n_past);
    int64_t ne[3] = {n_kv, nq, nh};
    int32_t a = case_leaf(&c, ERG_DT_F32, 3, ne, 4.0);
    const float scale = 0.125f;
    int32_t y = erg_gb_softmax(&c.g, a, scale, causal, n_past);
    double *ref = alloc_ref(&c, y);
    for (int64_t h = 0; h < nh; h++)
        for (int64_t q = 0; q < nq; q++) {
            int64_t valid = causal ? n_past + q + 1 : n_kv;
            if (valid > n_kv)
                valid = n_kv;
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < valid; j++)
                mx = fmax(mx, case_get(&c, a, j, q, h, 0) * scale);
            for (int64_t j = 0; j < valid; j++)
                sum += exp(case_get(&c, a, j, q, h, 0) * scale - mx);
            for (int64_t j = 0; j < n_kv; j++)
                ref[j + n_kv * (q + nq * h)] =
                    j < valid ? exp(case_get(&c, a, j, q, h, 0) * scale - mx) / sum : 0.0;
        }
    tally(st, case_check(&c, t, false, y, ref, TOL_FLOAT));
    free(ref);
    case_free(&c);
}

static void softmax_cases(conf_target *t, conf_stats *st) {
    softmax_case(t, st, 1, 1, 1, true, 600);
    softmax_case(t, st, 9, 9, 2, true, 601);
    softmax_case(t, st, 37, 5, 3, true, 602);
    softmax_case(t, st, 4099, 2, 1, true, 603);
    softmax_case(t, st, 70, 7, 2, false, 604);
}

/* ---- CPY --------------------------------------------------------------------------------- */

static double round_to(erg_dtype dt, double x) {
    if (dt == ERG_DT_F16)
        return erg_f16_to_f32(erg_f32_to_f16((float)x));
    if (dt == ERG_DT_BF16)
        return erg_bf16_to_f32(erg_f32_to_bf16((float)x));
    return (float)x;
}

static void cpy_cases(conf_target *t, conf_stats *st) {
    static const erg_dtype types[] = {ERG_DT_F32, ERG_DT_F16, ERG_DT_BF16};
    uint64_t seed = 700;
    for (size_t d = 0; d < 3; d++) {
        for (int strided = 0; strided < 2; strided++) {
            /* Into a new tensor (possibly from a transposed view). */
            conf_case c;
            case_init(&c, seed++, "CPY f32 -> new %s%s", erg_dtype_name(types[d]),
                      strided ? " from a transposed view" : "");
            int64_t ne[2] = {37, 11};
            int32_t a = case_leaf(&c, ERG_DT_F32, 2, ne, 100.0);
            if (strided)
                a = erg_gb_permute(&c.g, a, 1, 0, 2, 3);
            int32_t y = erg_gb_cont(&c.g, a, types[d]);
            const erg_tensor *ty = &c.g.tensors[y];
            double *ref = alloc_ref(&c, y);
            for (int64_t i1 = 0; i1 < ty->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < ty->ne[0]; i0++)
                    ref[i0 + ty->ne[0] * i1] = round_to(types[d], case_get(&c, a, i0, i1, 0, 0));
            tally(st, case_check(&c, t, false, y, ref, 0.0));
            free(ref);
            case_free(&c);
        }
        /* Into rows of an existing tensor, transposed (the V-cache write). */
        conf_case c;
        case_init(&c, seed++, "CPY f32 -> %s cache rows, transposed", erg_dtype_name(types[d]));
        int64_t cache_ne[2] = {16, 8}, src_ne[2] = {8, 3};
        int32_t cache = case_leaf(&c, types[d], 2, cache_ne, 1.0);
        int32_t src = case_leaf(&c, ERG_DT_F32, 2, src_ne, 1.0);
        size_t es = erg_dtype_get((int)types[d])->type_size;
        int64_t vne[2] = {3, 8};
        size_t vnb[2] = {es, 16 * es};
        int32_t dst = erg_gb_view(&c.g, cache, -1, 2, vne, vnb, 5 * es); /* positions 5..7 */
        int32_t y = erg_gb_cpy(&c.g, erg_gb_permute(&c.g, src, 1, 0, 2, 3), dst);
        double *ref = alloc_ref(&c, cache);
        memcpy(ref, case_vals(&c, cache), 16 * 8 * sizeof *ref);
        for (int64_t f = 0; f < 8; f++)
            for (int64_t p = 0; p < 3; p++)
                ref[f * 16 + 5 + p] = round_to(types[d], case_get(&c, src, f, p, 0, 0));
        tally(st, case_check(&c, t, false, y, ref, 0.0));
        free(ref);
        case_free(&c);
    }
}

/* ---- several nodes at once ------------------------------------------------------------ */

/* Two matmuls of one input with weights whose activation formats differ
 * (Q8_0 takes 8-bit blocks of 32, Q4_K of 256), summed: the threads run both
 * without a barrier between them, so each must keep its own converted
 * activations while the other's are in use. */
static void multi_node_cases(conf_target *t, conf_stats *st) {
    static const int64_t cols[] = {1, 64};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        conf_case c;
        int64_t K = 256, N = 512, M = cols[i];
        case_init(&c, 800 + i, "MATMUL q8_0 + MATMUL q4_k of one input, M=%lld", (long long)M);
        int64_t wne[2] = {K, N}, xne[2] = {K, M};
        int32_t w1 = case_leaf(&c, ERG_DT_Q8_0, 2, wne, 1.0);
        int32_t w2 = case_leaf(&c, ERG_DT_Q4_K, 2, wne, 1.0);
        int32_t x = case_leaf(&c, ERG_DT_F32, 2, xne, 1.0);
        int32_t y = erg_gb_add(&c.g, erg_gb_matmul(&c.g, w1, x), erg_gb_matmul(&c.g, w2, x));
        double *ref = alloc_ref(&c, y), *bound = alloc_ref(&c, y), *rss = alloc_ref(&c, y);
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double acc = 0, abs_sum = 0, sq = 0, err = 0;
                for (int w = 0; w < 2; w++) {
                    int64_t blk = w == 0 ? ERG_QK : ERG_QK_K;
                    double half_step = 0;
                    for (int64_t k = 0; k < K; k++) {
                        if (k % blk == 0) {
                            double amax = 0;
                            for (int64_t j = k; j < k + blk; j++)
                                amax = fmax(amax, fabs(case_get(&c, x, j, m, 0, 0)));
                            half_step = amax / 254.0 * (1.0 + 1e-5);
                        }
                        double wv = case_get(&c, w == 0 ? w1 : w2, k, n, 0, 0);
                        double xv = case_get(&c, x, k, m, 0, 0);
                        acc += wv * xv;
                        abs_sum += fabs(wv * xv);
                        sq += wv * xv * wv * xv;
                        err += fabs(wv) * half_step;
                    }
                }
                ref[n + N * m] = acc;
                bound[n + N * m] = err + FLOAT_DOT * abs_sum + 1e-30;
                rss[n + N * m] = sqrt(sq);
            }
        tally(st, case_check_dot(&c, t, false, y, ref, bound, rss, TOL_ACT_Q8));
        free(ref);
        free(bound);
        free(rss);
        case_free(&c);
    }
}

void conf_run_all(conf_target *t, conf_stats *st) {
    matmul_cases(t, st);
    get_rows_cases(t, st);
    elementwise_cases(t, st);
    rms_norm_cases(t, st);
    rope_cases(t, st);
    softmax_cases(t, st);
    cpy_cases(t, st);
    multi_node_cases(t, st);
    conf_run_fused(t, st);
}
