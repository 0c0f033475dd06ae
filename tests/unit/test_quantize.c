/*
 * test_quantize: erg_quantize_rows for every type erg writes.
 *  - round trips on seeded data with error bounds per type;
 *  - q8_0 and q4_0 bytes worked out by hand;
 *  - bytes of every quantized type against llama.cpp's reference quantiser;
 *  - K-quant scale packing for every 6-bit value.
 */
#include "graph/dtype.h"
#include "model/quantize.h"
#include "tests/test.h"

#include <stdint.h>

/* Deterministic data from pure float arithmetic (no libm), so the inputs
 * are the same bits on every machine. */
static uint32_t rng_state;
static float uniform01(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / 16777216.0f;
}
/* Sum of 4 uniforms, centred: close to a normal with sigma sqrt(1/3). */
static float gaussish(void) { return uniform01() + uniform01() + uniform01() + uniform01() - 2.0f; }

enum { ROWS = 8, COLS = 1024, N = ROWS * COLS };

typedef enum { GAUSS, OUTLIER, ZEROS, CONSTANT, NEGATIVE, N_KINDS } data_kind;
static const char *const kind_names[] = {"gaussian", "outlier", "zeros", "constant", "negative"};

static void make_data(data_kind k, float *x) {
    rng_state = 1234567u + (uint32_t)k;
    for (int i = 0; i < N; i++) {
        float g = gaussish();
        switch (k) {
        case GAUSS: x[i] = 0.05f * g; break;
        case OUTLIER: x[i] = i == 3000 ? 40.0f : 0.05f * g; break;
        case ZEROS: x[i] = 0.0f; break;
        case CONSTANT: x[i] = 0.3f; break;
        case NEGATIVE: x[i] = -fabsf(g) - 0.01f; break;
        default: break;
        }
    }
}

/* sqrt(sum (x - y)^2 / sum x^2); 0 when both are all zeros */
static double nrmse(const float *x, const float *y, int n) {
    double e = 0, s = 0;
    for (int i = 0; i < n; i++) {
        e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        s += (double)x[i] * x[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

static double round_trip(erg_dtype t, const float *x, float *y) {
    static uint8_t q[N * 4];
    size_t row = erg_dtype_row_size(t, COLS);
    size_t wrote = erg_quantize_rows(t, x, q, ROWS, COLS);
    CHECK_EQ_INT(wrote, ROWS * row);
    for (int r = 0; r < ROWS; r++)
        erg_dequantize_row(t, q + r * row, y + r * COLS, COLS);
    return nrmse(x, y, N);
}

/*
 * Bounds. A uniform quantizer with step D has RMS error D / sqrt(12). For a
 * block of 32 gaussian values the largest magnitude is about 2.1 sigma, so
 * symmetric types with 2^(b-1) levels each side have D ~ 2.1 sigma / 2^(b-1):
 * q4_0 ~ 0.26 sigma -> 0.076, q5_0 -> 0.038, q8_0 (127 levels) -> 0.0048.
 * Affine types spread 2^b - 1 steps over the range (slightly better), the
 * K-quants fit scale and min per 32 (q4_k, q5_k) or scale per 16 (q6_k,
 * 63 levels) by least squares. f16/bf16 round to 11/8 significant bits:
 * relative error at most 2^-11 / 2^-8. Measured values (gaussian, outlier,
 * negative): q4_0 .084/.090/.083, q4_1 .077/.084/.042, q5_0 .042/.054/.041,
 * q5_1 .038/.039/.020, q8_0 .0053/.0065/.0052, q4_k .070/.077/.039,
 * q5_k .036/.037/.020, q6_k .0175/.0195/.0173. The bounds sit ~15% above the
 * worst of these; the outlier's block spends its scale on one element.
 */
static const struct {
    erg_dtype t;
    double bound;
} bounds[] = {
    {ERG_DT_F32, 0.0},    {ERG_DT_F16, 0.0005}, {ERG_DT_BF16, 0.004}, {ERG_DT_Q8_0, 0.0075},
    {ERG_DT_Q6_K, 0.023}, {ERG_DT_Q5_K, 0.043}, {ERG_DT_Q5_1, 0.045}, {ERG_DT_Q5_0, 0.062},
    {ERG_DT_Q4_K, 0.088}, {ERG_DT_Q4_1, 0.097}, {ERG_DT_Q4_0, 0.104},
};
#define N_TYPES (int)(sizeof bounds / sizeof bounds[0])

static void test_round_trips(void) {
    static float x[N], y[N];
    double gauss_err[N_TYPES];
    for (int k = 0; k < N_KINDS; k++) {
        make_data((data_kind)k, x);
        for (int ti = 0; ti < N_TYPES; ti++) {
            erg_dtype t = bounds[ti].t;
            double e = round_trip(t, x, y);
            if (k == GAUSS)
                gauss_err[ti] = e;
            if (k == ZEROS) {
                /* all-zero rows come back exactly zero (no nan from 0/0) */
                CHECK_MSG(e == 0.0, "%s zeros: nrmse %g", erg_dtype_name(t), e);
            } else if (k == CONSTANT) {
                /* a constant row is one level: only the f16 scale (or bf16
                 * value) rounding and K-quant 6-bit scale rounding remain */
                double cb = t == ERG_DT_BF16 ? 0.004 : 0.001;
                CHECK_MSG(e <= cb, "%s constant: nrmse %g > %g", erg_dtype_name(t), e, cb);
            } else {
                CHECK_MSG(e <= bounds[ti].bound, "%s %s: nrmse %.5f > %.5f", erg_dtype_name(t),
                          kind_names[k], e, bounds[ti].bound);
            }
            if (k == OUTLIER) /* the outlier itself survives within 1% */
                CHECK_MSG(fabsf(y[3000] - 40.0f) < 0.4f, "%s outlier: %g", erg_dtype_name(t),
                          y[3000]);
        }
    }
    /* more bits, less error: bounds[] is ordered from most to fewest bits,
     * except q5_1 vs q5_k and q4_1 vs q4_k, which are close */
    CHECK(gauss_err[0] == 0.0);
    CHECK(gauss_err[1] < gauss_err[2] && gauss_err[2] < gauss_err[3]);
    CHECK(gauss_err[3] < gauss_err[4] && gauss_err[4] < gauss_err[5]);
    CHECK(gauss_err[5] < gauss_err[7] && gauss_err[6] < gauss_err[7]);
    CHECK(gauss_err[7] < gauss_err[8] && gauss_err[8] < gauss_err[10]);
}

static void test_q8_0_by_hand(void) {
    /* max |x| = 127, so d = 127 / 127 = 1 (f16 0x3C00) and q = roundf(x / 1),
     * half away from zero */
    float x[32];
    for (int j = 0; j < 32; j++)
        x[j] = (float)(j - 16); /* integers: q = x */
    x[0] = 127.0f;
    x[1] = -127.0f;
    x[2] = 0.5f;   /* -> 1 */
    x[3] = -0.5f;  /* -> -1 */
    x[4] = 2.5f;   /* -> 3 */
    x[5] = -2.5f;  /* -> -3 */
    x[6] = 0.49f;  /* -> 0 */
    x[7] = 3.7f;   /* -> 4 */
    const int8_t want[32] = {127, -127, 1, -1, 3, -3, 0, 4, -8, -7, -6, -5, -4, -3, -2, -1,
                             0,   1,    2, 3,  4, 5,  6, 7, 8,  9,  10, 11, 12, 13, 14, 15};
    erg_block_q8_0 b;
    CHECK_EQ_INT(erg_quantize_rows(ERG_DT_Q8_0, x, &b, 1, 32), 34);
    CHECK_EQ_INT(b.d, 0x3C00);
    CHECK(memcmp(b.qs, want, 32) == 0);

    /* max |x| = 63.5: d = 0.5 (0x3800), 1/d = 2; 0.3 * 2 = 0.6 -> 1, -0.2 * 2 -> 0 (-0.4) */
    for (int j = 0; j < 32; j++)
        x[j] = 0.0f;
    x[0] = 63.5f;
    x[1] = 0.3f;
    x[2] = -0.2f;
    x[3] = -63.5f;
    CHECK_EQ_INT(erg_quantize_rows(ERG_DT_Q8_0, x, &b, 1, 32), 34);
    CHECK_EQ_INT(b.d, 0x3800);
    CHECK(b.qs[0] == 127 && b.qs[1] == 1 && b.qs[2] == 0 && b.qs[3] == -127 && b.qs[31] == 0);
}

static void test_q4_0_by_hand(void) {
    /* Block 0: the largest magnitude is -4, so d = -4 / -8 = 0.5 (0x3800),
     * 1/d = 2, level = trunc(x * 2 + 8.5) capped at 15:
     *   -4 -> 0.5 -> 0;  3.5 -> 15.5 -> 15;  3.75 -> 16 -> 15;  0 -> 8;
     *   0.25 -> 9;  -0.25 -> 8 (8.0);  1 -> 10 (10.5);  -1.3 -> 5 (5.9)
     * Block 1: the largest magnitude is +4, so d = 4 / -8 = -0.5 (0xB800),
     * 1/d = -2: 4 -> 0;  -3.5 -> 15;  1 -> 6 (6.5);  0 -> 8;  -0.1 -> 8 (8.7) */
    float x[64];
    for (int j = 0; j < 64; j++)
        x[j] = 0.0f;
    x[0] = -4.0f, x[1] = 3.5f, x[2] = 3.75f, x[3] = 0.25f, x[4] = -0.25f;
    x[16] = 1.0f, x[17] = -1.3f;
    x[32] = 4.0f, x[33] = -3.5f, x[34] = 1.0f, x[48] = -0.1f;
    erg_block_q4_0 b[2];
    CHECK_EQ_INT(erg_quantize_rows(ERG_DT_Q4_0, x, b, 1, 64), 36);
    CHECK_EQ_INT(b[0].d, 0x3800);
    CHECK_EQ_INT(b[1].d, 0xB800);
    /* byte j = level(x[j]) | level(x[j + 16]) << 4 */
    CHECK_EQ_INT(b[0].qs[0], 0x00 | 10 << 4); /* x0 -> 0, x16 -> 10 */
    CHECK_EQ_INT(b[0].qs[1], 15 | 5 << 4);    /* x1 -> 15, x17 -> 5 */
    CHECK_EQ_INT(b[0].qs[2], 15 | 8 << 4);    /* x2 -> 15 (capped), x18 = 0 -> 8 */
    CHECK_EQ_INT(b[0].qs[3], 9 | 8 << 4);
    CHECK_EQ_INT(b[0].qs[4], 8 | 8 << 4);
    CHECK_EQ_INT(b[0].qs[15], 0x88);
    CHECK_EQ_INT(b[1].qs[0], 0 | 8 << 4);     /* x32 -> 0, x48 -> 8 */
    CHECK_EQ_INT(b[1].qs[1], 15 | 8 << 4);    /* x33 -> 15 */
    CHECK_EQ_INT(b[1].qs[2], 6 | 8 << 4);     /* x34 -> 6 */
}

/* FNV-1a over the bytes */
static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/*
 * Bytes against llama.cpp. The hashes are of the output of llama.cpp's own
 * ggml_quantize_chunk without an importance matrix (the call llama-quantize
 * makes; libggml-base as shipped in the @node-llama-cpp/linux-x64 3.22.1
 * npm package) on the 8 x 1024 matrix below:
 * row r is 2^(r-4) * gaussish(), row 5 has the outliers 60 and -60, row 6
 * has its first 300 values zero, row 7 is all negative.
 */
static void test_bytes_match_llama_cpp(void) {
    static float x[N];
    static uint8_t q[N * 4];
    rng_state = 42u;
    for (int r = 0; r < ROWS; r++) {
        float scale = (float)(1u << r) / 16.0f;
        for (int c = 0; c < COLS; c++) {
            float v = scale * gaussish();
            if (r == 5 && (c == 100 || c == 700))
                v = c == 100 ? 60.0f : -60.0f;
            if (r == 6 && c < 300)
                v = 0.0f;
            if (r == 7)
                v = -fabsf(v) - 0.001f;
            x[r * COLS + c] = v;
        }
    }
    static const struct {
        erg_dtype t;
        uint64_t hash;
    } golden[] = {
        {ERG_DT_Q4_0, 0x4e02330542808cb4ull}, {ERG_DT_Q4_1, 0x8329bcc4a31fba51ull},
        {ERG_DT_Q5_0, 0xf8d981318df938e0ull}, {ERG_DT_Q5_1, 0x530624acb7cb9d1bull},
        {ERG_DT_Q8_0, 0xd761f8c44f667250ull}, {ERG_DT_Q4_K, 0xb000d7ea4d882d58ull},
        {ERG_DT_Q5_K, 0xe013a84b17d1ea24ull}, {ERG_DT_Q6_K, 0x8f5b0a7dd0d4985cull},
        {ERG_DT_F16, 0xfed862f7d53f67cdull},  {ERG_DT_BF16, 0xe4986303e90a8f51ull},
    };
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        size_t n = erg_quantize_rows(golden[i].t, x, q, ROWS, COLS);
        uint64_t h = fnv1a(q, n);
        CHECK_MSG(h == golden[i].hash, "%s: hash %#llx, llama.cpp %#llx",
                  erg_dtype_name(golden[i].t), (unsigned long long)h,
                  (unsigned long long)golden[i].hash);
    }
}

static void test_k_scale_packing(void) {
    /* every value 0..63 as scale and as min of every group survives */
    int bad = 0;
    uint8_t sc[8], m[8], packed[ERG_K_SCALE_SIZE];
    for (int j = 0; j < 8; j++) {
        for (int v = 0; v < 64; v++) {
            for (int w = 0; w < 64; w++) {
                for (int o = 0; o < 8; o++) { /* other groups: varied values */
                    sc[o] = (uint8_t)((v * 7 + o * 13) & 63);
                    m[o] = (uint8_t)((w * 11 + o * 5) & 63);
                }
                sc[j] = (uint8_t)v;
                m[j] = (uint8_t)w;
                erg_k_pack_scale_min(sc, m, packed);
                for (int o = 0; o < 8; o++) {
                    uint8_t s2, m2;
                    erg_k_scale_min(o, packed, &s2, &m2);
                    bad += s2 != sc[o] || m2 != m[o];
                }
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_unsupported(void) {
    float x[256] = {0};
    uint8_t q[512];
    CHECK(erg_quantize_supported(ERG_DT_Q4_K) && erg_quantize_supported(ERG_DT_BF16));
    CHECK(!erg_quantize_supported(ERG_DT_Q2_K) && !erg_quantize_supported(ERG_DT_Q8_K));
    CHECK(!erg_quantize_supported(ERG_DT_I32));
    CHECK_EQ_INT(erg_quantize_rows(ERG_DT_Q3_K, x, q, 1, 256), 0);
    CHECK_EQ_INT(erg_quantize_rows(ERG_DT_Q4_K, x, q, 1, 96), 0); /* not whole super-blocks */
    CHECK_EQ_INT(erg_quantize_rows(ERG_DT_Q8_0, x, q, 2, 32), 68);
}

int main(void) {
    test_round_trips();
    test_q8_0_by_hand();
    test_q4_0_by_hand();
    test_bytes_match_llama_cpp();
    test_k_scale_packing();
    test_unsupported();
    return erg_test_result("test_quantize");
}
