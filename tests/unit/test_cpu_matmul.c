/*
 * test_cpu_matmul: every matmul kernel of every CPU level this machine runs
 * (or only the level named by ERG_CPU_FEATURES) against a double-precision
 * reference.
 *
 * Weights are random bytes with sane random scales (no quantiser involved);
 * activations are random floats quantised here by the q8a / q8k formula of
 * kernels.h. The reference is sum_i w_i * a_i in double, with w_i from
 * erg_dequantize_row_f64 and a_i = d * qs_i.
 *
 * Tolerance: |got - expected| <= 2e-6 * sum_i |w_i * a_i| + 1e-30.
 *
 * Shapes: k in {one block, two blocks, 1024} (and 4096 for q4_0, an odd
 * length for the float types), nr x nc over {1,2,3,4,5,7,8,9,17,33} x
 * {1,2,3,4,5,6,8,13,70}, with row strides larger than the rows, and sentinel
 * values around and between the output columns that must stay untouched.
 * The ARM levels (neon, dotprod) must have their own kernel for every type,
 * and their quantized kernels must equal the scalar level's bit for bit.
 */
#include "tests/test.h"

#include "backends/cpu/kernels.h"
#include "backends/cpu/pack.h"
#include "graph/dtype.h"
#include "hal/cpu_info.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TOL_REL 2e-6
#define TOL_ABS 1e-30

static const int n_rows[] = {1, 2, 3, 4, 5, 7, 8, 9, 17, 33};
/* 70: past the 64 columns the K-quant kernels accumulate at a time */
static const int n_cols[] = {1, 2, 3, 4, 5, 6, 8, 13, 70};
#define MAX_ROWS 33
#define MAX_COLS 70

/* Extra bytes past each weight row / activation column, odd so that rows
 * start at unaligned addresses; extra floats past each output column. */
#define W_PAD 40
#define A_PAD 24
#define C_PAD 3
#define C_GUARD 16
#define SENTINEL_BITS 0x7fc0dead

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Uniform in [-1, 1). */
static float rng_float(void) { return (float)((double)rng_u32() / 2147483648.0 - 1.0); }

/* A scale with random sign and magnitude in [0.001, 0.05], as f16. */
static erg_f16 rng_scale(void) {
    float m = 0.001f + 0.049f * (float)((double)rng_u32() / 4294967296.0);
    return erg_f32_to_f16(rng_u32() & 1 ? m : -m);
}

/* ---- weights --------------------------------------------------------------- */

/* Fills one row of k elements of type t with random content. */
static void fill_weight_row(erg_dtype t, uint8_t *row, int64_t k) {
    const erg_dtype_traits *tr = erg_dtype_get(t);
    size_t bytes = erg_dtype_row_size(t, k);
    for (size_t i = 0; i < bytes; i++)
        row[i] = (uint8_t)rng_u32();
    int64_t nb = k / tr->block_size;
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = row + (size_t)b * tr->type_size;
        switch (t) {
        case ERG_DT_F32: {
            float v = rng_float();
            memcpy(blk, &v, 4);
            break;
        }
        case ERG_DT_F16: {
            erg_f16 v = erg_f32_to_f16(rng_float());
            memcpy(blk, &v, 2);
            break;
        }
        case ERG_DT_BF16: {
            erg_bf16 v = erg_f32_to_bf16(rng_float());
            memcpy(blk, &v, 2);
            break;
        }
        case ERG_DT_Q4_0:
            ((erg_block_q4_0 *)blk)->d = rng_scale();
            break;
        case ERG_DT_Q4_1:
            ((erg_block_q4_1 *)blk)->d = rng_scale();
            ((erg_block_q4_1 *)blk)->m = rng_scale();
            break;
        case ERG_DT_Q5_0:
            ((erg_block_q5_0 *)blk)->d = rng_scale();
            break;
        case ERG_DT_Q5_1:
            ((erg_block_q5_1 *)blk)->d = rng_scale();
            ((erg_block_q5_1 *)blk)->m = rng_scale();
            break;
        case ERG_DT_Q8_0:
            ((erg_block_q8_0 *)blk)->d = rng_scale();
            break;
        case ERG_DT_Q4_K:
            ((erg_block_q4_k *)blk)->d = rng_scale();
            ((erg_block_q4_k *)blk)->dmin = rng_scale();
            break;
        case ERG_DT_Q5_K:
            ((erg_block_q5_k *)blk)->d = rng_scale();
            ((erg_block_q5_k *)blk)->dmin = rng_scale();
            break;
        case ERG_DT_Q6_K:
            ((erg_block_q6_k *)blk)->d = rng_scale();
            break;
        default:
            break;
        }
    }
}

/* ---- activations: the formulas of kernels.h ------------------------------- */

/* q8 of n values: d = max|x| / 127, qs = round(x / d); returns d. */
static float quantize_q8(const float *x, int n, int8_t *qs) {
    float amax = 0.0f;
    for (int i = 0; i < n; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < n; i++) {
        float v = roundf(x[i] * id);
        qs[i] = (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : v);
    }
    return d;
}

static void quantize_q8a(const float *x, erg_cpu_block_q8a *y, int64_t k) {
    for (int64_t b = 0; b < k / 32; b++) {
        y[b].d = quantize_q8(x + 32 * b, 32, y[b].qs);
        int sum = 0;
        for (int i = 0; i < 32; i++)
            sum += y[b].qs[i];
        y[b].s = y[b].d * (float)sum;
    }
}

static void quantize_q8k(const float *x, erg_block_q8_k *y, int64_t k) {
    for (int64_t b = 0; b < k / ERG_QK_K; b++) {
        y[b].d = quantize_q8(x + ERG_QK_K * b, ERG_QK_K, y[b].qs);
        for (int g = 0; g < ERG_QK_K / 16; g++) {
            int sum = 0;
            for (int i = 0; i < 16; i++)
                sum += y[b].qs[16 * g + i];
            y[b].bsums[g] = (int16_t)sum;
        }
    }
}

/* Random activations of k elements in format f into col; their exact values
 * (d * qs, or the floats themselves) into exact. Block magnitudes vary so
 * that the per-block scales differ. */
static void fill_act_col(erg_cpu_act_format f, uint8_t *col, double *exact, int64_t k) {
    float *x = malloc((size_t)k * sizeof(float));
    for (int64_t i = 0; i < k; i++)
        x[i] = rng_float() * (float)(1 + (i / 32) % 5);
    if (f == ERG_ACT_F32) {
        memcpy(col, x, (size_t)k * sizeof(float));
        for (int64_t i = 0; i < k; i++)
            exact[i] = x[i];
    } else if (f == ERG_ACT_Q8A) {
        erg_cpu_block_q8a *y = (erg_cpu_block_q8a *)col;
        quantize_q8a(x, y, k);
        for (int64_t i = 0; i < k; i++)
            exact[i] = (double)y[i / 32].d * y[i / 32].qs[i % 32];
    } else {
        erg_block_q8_k *y = (erg_block_q8_k *)col;
        quantize_q8k(x, y, k);
        for (int64_t i = 0; i < k; i++)
            exact[i] = (double)y[i / ERG_QK_K].d * y[i / ERG_QK_K].qs[i % ERG_QK_K];
    }
    free(x);
}

/* ---- one weight type at one k ------------------------------------------------ */

static erg_cpu_act_format expected_format(erg_dtype t) {
    switch (t) {
    case ERG_DT_F32:
    case ERG_DT_F16:
    case ERG_DT_BF16:
        return ERG_ACT_F32;
    case ERG_DT_Q4_K:
    case ERG_DT_Q5_K:
    case ERG_DT_Q6_K:
        return ERG_ACT_Q8K;
    default:
        return ERG_ACT_Q8A;
    }
}

/* The ARM levels' quantized kernels give the scalar level's results bit for
 * bit (docs/integration.md). */
static bool promises_scalar_bits(const erg_cpu_kernels *kern, erg_dtype t) {
    return (kern->level == ERG_CPU_NEON || kern->level == ERG_CPU_DOTPROD) &&
           erg_dtype_get(t)->quantized;
}

/* The outputs of c (nr x nc, stride ldc) that differ from the scalar kernel's. */
static int differ_from_scalar(erg_dtype t, int64_t k, const void *w, size_t ldw, int nr,
                              const void *a, size_t lda, int nc, const float *c, size_t ldc) {
    const erg_cpu_kernels *ref = erg_cpu_kernels_for(ERG_CPU_SCALAR);
    float *rc = malloc(ldc * (size_t)nc * sizeof(float));
    ref->matmul[t].gemm(k, w, ldw, nr, a, lda, nc, rc, ldc);
    int differ = 0;
    for (int col = 0; col < nc; col++)
        for (int r = 0; r < nr; r++)
            differ += memcmp(&c[r + (size_t)col * ldc], &rc[r + (size_t)col * ldc], 4) != 0;
    free(rc);
    return differ;
}

static bool is_sentinel(float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return u == SENTINEL_BITS;
}

/* The kernel of the packed layout that type t gets (pack.h), where the level
 * has one: the first 8, 16 and 32 rows of w packed, against every column
 * count, checked as the plain kernel is. */
static void test_packed(const erg_cpu_kernels *kern, erg_dtype t, int64_t k, const uint8_t *w,
                        size_t ldw, const uint8_t *a, size_t lda,
                        double expected[][MAX_COLS], double magnitude[][MAX_COLS]) {
    static const int packed_rows[] = {8, 16, 24, 32}; /* 24: three groups */
    erg_cpu_pack p = erg_cpu_pack_choose(t, k, ERG_CPU_PACK_ROWS);
    if (p == ERG_CPU_PACK_NONE || !kern->matmul_packed[p].gemm)
        return;
    erg_cpu_matmul_kernel mk = kern->matmul_packed[p];
    CHECK(mk.act_format == kern->matmul[t].act_format);
    size_t group = erg_cpu_pack_group_bytes(p, k);
    uint8_t *pw = malloc(group * (MAX_ROWS / ERG_CPU_PACK_ROWS));
    erg_cpu_pack_rows(p, w, ldw, 32, k, pw);
    for (size_t ir = 0; ir < sizeof packed_rows / sizeof packed_rows[0]; ir++) {
        for (size_t ic = 0; ic < sizeof n_cols / sizeof n_cols[0]; ic++) {
            int nr = packed_rows[ir], nc = n_cols[ic], bad = 0, clobbered = 0;
            size_t ldc = (size_t)nr + C_PAD, total = ldc * (size_t)nc + 2 * C_GUARD;
            float *buf = malloc(total * sizeof(float)), *c = buf + C_GUARD;
            for (size_t i = 0; i < total; i++)
                memcpy(&buf[i], &(uint32_t){SENTINEL_BITS}, 4);
            mk.gemm(k, pw, group, nr, a, lda, nc, c, ldc);
            for (size_t i = 0; i < total; i++) {
                ptrdiff_t off = (ptrdiff_t)i - C_GUARD;
                if (off < 0 || (size_t)off >= ldc * (size_t)nc || (size_t)off % ldc >= (size_t)nr) {
                    clobbered += !is_sentinel(buf[i]);
                    continue;
                }
                int r = (int)((size_t)off % ldc), col = (int)((size_t)off / ldc);
                double err = fabs((double)buf[i] - expected[r][col]);
                bad += !(err <= TOL_REL * magnitude[r][col] + TOL_ABS);
            }
            CHECK_MSG(bad == 0, "%s packed %s k=%lld nr=%d nc=%d: %d values out of tolerance",
                      kern->name, erg_dtype_name(t), (long long)k, nr, nc, bad);
            CHECK_MSG(clobbered == 0,
                      "%s packed %s k=%lld nr=%d nc=%d: %d floats written outside c", kern->name,
                      erg_dtype_name(t), (long long)k, nr, nc, clobbered);
            free(buf);
        }
    }
    free(pw);
}

static void test_type_k(const erg_cpu_kernels *kern, erg_dtype t, int64_t k) {
    erg_cpu_matmul_kernel mk = kern->matmul[t];
    CHECK_MSG(mk.gemm != NULL, "%s: no %s kernel", kern->name, erg_dtype_name(t));
    if (!mk.gemm)
        return;
    CHECK_EQ_INT(mk.act_format, expected_format(t));
    /* The ARM levels have a kernel of their own for every weight type
     * (docs/integration.md): one left scalar would pass the checks below. */
    if (kern->level == ERG_CPU_NEON || kern->level == ERG_CPU_DOTPROD)
        CHECK_MSG(mk.gemm != erg_cpu_kernels_for(ERG_CPU_SCALAR)->matmul[t].gemm,
                  "%s %s: the scalar kernel", kern->name, erg_dtype_name(t));

    size_t ldw = erg_dtype_row_size(t, k) + W_PAD;
    size_t lda = erg_cpu_act_row_size(mk.act_format, k) + A_PAD;
    uint8_t *w = calloc(MAX_ROWS, ldw);
    uint8_t *a = calloc(MAX_COLS, lda);
    double *wd = malloc(MAX_ROWS * (size_t)k * sizeof(double));
    double *ad = malloc(MAX_COLS * (size_t)k * sizeof(double));
    for (int r = 0; r < MAX_ROWS; r++) {
        fill_weight_row(t, w + r * ldw, k);
        erg_dequantize_row_f64(t, w + r * ldw, wd + r * k, k);
    }
    for (int c = 0; c < MAX_COLS; c++)
        fill_act_col(mk.act_format, a + c * lda, ad + c * k, k);

    double expected[MAX_ROWS][MAX_COLS], magnitude[MAX_ROWS][MAX_COLS];
    for (int r = 0; r < MAX_ROWS; r++)
        for (int c = 0; c < MAX_COLS; c++) {
            double s = 0.0, m = 0.0;
            for (int64_t i = 0; i < k; i++) {
                s += wd[r * k + i] * ad[c * k + i];
                m += fabs(wd[r * k + i] * ad[c * k + i]);
            }
            expected[r][c] = s;
            magnitude[r][c] = m;
        }

    float sentinel;
    uint32_t sentinel_bits = SENTINEL_BITS;
    memcpy(&sentinel, &sentinel_bits, 4);
    for (size_t ir = 0; ir < sizeof n_rows / sizeof n_rows[0]; ir++) {
        for (size_t ic = 0; ic < sizeof n_cols / sizeof n_cols[0]; ic++) {
            int nr = n_rows[ir], nc = n_cols[ic];
            size_t ldc = (size_t)nr + C_PAD, total = ldc * (size_t)nc + 2 * C_GUARD;
            float *buf = malloc(total * sizeof(float)), *c = buf + C_GUARD;
            for (size_t i = 0; i < total; i++)
                buf[i] = sentinel;
            mk.gemm(k, w, ldw, nr, a, lda, nc, c, ldc);

            int bad = 0, clobbered = 0;
            for (size_t i = 0; i < total; i++) {
                ptrdiff_t off = (ptrdiff_t)i - C_GUARD;
                bool inside =
                    off >= 0 && (size_t)off < ldc * (size_t)nc && (size_t)off % ldc < (size_t)nr;
                if (!inside) {
                    clobbered += !is_sentinel(buf[i]);
                    continue;
                }
                int r = (int)((size_t)off % ldc), col = (int)((size_t)off / ldc);
                double err = fabs((double)buf[i] - expected[r][col]);
                double tol = TOL_REL * magnitude[r][col] + TOL_ABS;
                if (!(err <= tol)) {
                    if (!bad)
                        printf("  %s %s k=%lld nr=%d nc=%d r=%d c=%d: got %.9g expected %.9g "
                               "(err %.3g, tol %.3g)\n",
                               kern->name, erg_dtype_name(t), (long long)k, nr, nc, r, col,
                               (double)buf[i], expected[r][col], err, tol);
                    bad++;
                }
            }
            CHECK_MSG(bad == 0, "%s %s k=%lld nr=%d nc=%d: %d values out of tolerance", kern->name,
                      erg_dtype_name(t), (long long)k, nr, nc, bad);
            CHECK_MSG(clobbered == 0, "%s %s k=%lld nr=%d nc=%d: %d floats written outside c",
                      kern->name, erg_dtype_name(t), (long long)k, nr, nc, clobbered);
            if (promises_scalar_bits(kern, t)) {
                int differ = differ_from_scalar(t, k, w, ldw, nr, a, lda, nc, c, ldc);
                CHECK_MSG(differ == 0, "%s %s k=%lld nr=%d nc=%d: %d values differ from scalar",
                          kern->name, erg_dtype_name(t), (long long)k, nr, nc, differ);
            }
            free(buf);
        }
    }
    test_packed(kern, t, k, w, ldw, a, lda, expected, magnitude);
    free(w);
    free(a);
    free(wd);
    free(ad);
}

static void test_level(const erg_cpu_kernels *kern) {
    static const erg_dtype types[] = {ERG_DT_F32,  ERG_DT_F16,  ERG_DT_BF16, ERG_DT_Q4_0,
                                      ERG_DT_Q4_1, ERG_DT_Q5_0, ERG_DT_Q5_1, ERG_DT_Q8_0,
                                      ERG_DT_Q4_K, ERG_DT_Q5_K, ERG_DT_Q6_K};
    int before = erg_test_failures_;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        erg_dtype t = types[i];
        int64_t bs = erg_dtype_get(t)->block_size;
        test_type_k(kern, t, bs);
        test_type_k(kern, t, 2 * bs);
        test_type_k(kern, t, 1024);
        if (t == ERG_DT_Q4_0)
            test_type_k(kern, t, 4096);
        if (bs == 1)
            test_type_k(kern, t, 1027); /* the vector loop and a tail */
    }
    printf("level %s: %s\n", kern->name, erg_test_failures_ == before ? "ok" : "FAILED");
}

int main(void) {
    erg_cpu_info info;
    erg_cpu_info_probe(&info);
    const char *forced = getenv("ERG_CPU_FEATURES");
    if (forced && *forced) {
        int level = erg_cpu_level_parse(forced);
        CHECK_MSG(level >= 0, "unknown ERG_CPU_FEATURES=%s", forced);
        if (level < 0)
            return erg_test_result("test_cpu_matmul");
        if (!erg_cpu_level_supported((erg_cpu_level)level, info.features))
            ERG_TEST_SKIP("this CPU cannot run level %s", forced);
        const erg_cpu_kernels *kern = erg_cpu_kernels_for((erg_cpu_level)level);
        CHECK(kern != NULL);
        if (kern)
            test_level(kern);
    } else {
        for (int l = 0; l < ERG_CPU_LEVEL_COUNT; l++) {
            if (!erg_cpu_level_supported((erg_cpu_level)l, info.features))
                continue;
            const erg_cpu_kernels *kern = erg_cpu_kernels_for((erg_cpu_level)l);
            CHECK(kern != NULL);
            if (kern)
                test_level(kern);
        }
    }
    return erg_test_result("test_cpu_matmul");
}
