/*
 * test_fp16.c: base/fp16.h against references built here from the
 * definition of the formats (every half value decoded from its fields; the
 * nearest half / bfloat16 found by search, ties to even), and against the
 * F16C hardware conversions when the CPU has them.
 */
#include "base/fp16.h"
#include "hal/cpu_info.h"
#include "tests/test.h"

#include "erg/erg.h"

#include <float.h>
#include <stdbool.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_F16C_CODE 1
#endif

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint32_t rng_u32(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* Random floats: raw bit patterns (every class) or values in the half range. */
static float random_float(int i) {
    uint32_t u = rng_u32();
    if (i % 2)
        return erg_bits_f32(u);
    float f = (float)((u >> 8) * (1.0 / 16777216.0)) * 70000.0f * ((u & 1) ? -1.0f : 1.0f);
    return (i % 4 == 2) ? f * 1e-5f : f; /* every other one near the subnormal halves */
}

/* ---- references from the definitions --------------------------------------- */

/* The value of a finite half, from its fields. */
static double half_value(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* The nearest finite half to |f| (ties to the even encoding), or inf when
 * |f| >= 65520 (= 65504 + half an ulp, which rounds up to 2^16). */
static uint16_t nearest_half(float f) {
    double a = fabs((double)f);
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    if (a >= 65520.0)
        return sign | 0x7c00;
    uint16_t lo = 0, hi = 0x7bff; /* largest encoding with value <= a */
    while (lo < hi) {
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if (half_value(mid) <= a)
            lo = mid;
        else
            hi = (uint16_t)(mid - 1);
    }
    if (lo == 0x7bff)
        return sign | lo;
    double below = a - half_value(lo), above = half_value((uint16_t)(lo + 1)) - a;
    bool up = above < below || (above == below && (lo & 1));
    return sign | (uint16_t)(lo + up);
}

/* The expected f16 of any float: NaN keeps sign and top payload bits, quiet. */
static uint16_t expected_f16(float f) {
    uint32_t u = erg_f32_bits(f);
    if (isnan(f))
        return (uint16_t)(((u >> 16) & 0x8000) | 0x7e00 | ((u >> 13) & 0x3ff));
    return nearest_half(f);
}

/* The expected bf16: the nearer of the two bf16 values around f (ties to the
 * even one; past the largest finite one, inf); NaN keeps its top half, quiet. */
static uint16_t expected_bf16(float f) {
    uint32_t u = erg_f32_bits(f);
    if (isnan(f))
        return (uint16_t)((u >> 16) | 0x40);
    uint16_t lo = (uint16_t)(u >> 16);
    if (isinf(f) || (u & 0xffff) == 0)
        return lo;
    double a = fabs((double)f), vlo = fabs((double)erg_bits_f32((uint32_t)lo << 16));
    /* the next bf16 magnitude up; after the largest finite one, 2^128 */
    double vhi = (lo & 0x7fff) == 0x7f7f ? ldexp(1.0, 128)
                                         : fabs((double)erg_bits_f32((uint32_t)(lo + 1) << 16));
    bool up = vhi - a < a - vlo || (vhi - a == a - vlo && (lo & 1));
    return (uint16_t)(lo + up);
}

/* ---- tests ---------------------------------------------------------------- */

/* f16 -> f32 for all 65536 halves against their field values (NaNs: the
 * payload moved up, sign kept). */
static void test_f16_to_f32_all(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = erg_f16_to_f32((uint16_t)h);
        uint32_t got = erg_f32_bits(f), want;
        if (((h >> 10) & 31) == 31)
            want = ((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13);
        else
            want = erg_f32_bits((float)half_value((uint16_t)h));
        bad += got != want;
    }
    CHECK_MSG(bad == 0, "erg_f16_to_f32: %d of 65536 halves wrong", bad);
}

/* Hand-picked f32 -> f16 cases, with the expected encodings written out. */
static void test_f32_to_f16_edges(void) {
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        {0.0f, 0x0000},         {-0.0f, 0x8000},        {1.0f, 0x3c00},
        {-2.0f, 0xc000},        {65504.0f, 0x7bff},     {65519.0f, 0x7bff},
        {65519.996f, 0x7bff},   {65520.0f, 0x7c00},     {-65520.0f, 0xfc00},
        {1e10f, 0x7c00},        {INFINITY, 0x7c00},     {-INFINITY, 0xfc00},
        {0x1p-24f, 0x0001},     {0x1p-25f, 0x0000},     {0x1.000002p-25f, 0x0001},
        {0x1.8p-24f, 0x0002},   {0x1p-26f, 0x0000},     {0x1p-14f, 0x0400},
        {0x1.ffcp-15f, 0x0400}, {0x1.ff8p-15f, 0x03ff}, {0x1.ff4p-15f, 0x03fe},
        {0x1.002p0f, 0x3c00},   {0x1.006p0f, 0x3c02},   {0x1.002002p0f, 0x3c01},
        {-0x1p-24f, 0x8001},    {FLT_TRUE_MIN, 0x0000}, {-FLT_TRUE_MIN, 0x8000},
        {NAN, 0x7e00},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = erg_f32_to_f16(cases[i].f);
        CHECK_MSG(got == cases[i].h, "erg_f32_to_f16(%a) = 0x%04x, expected 0x%04x", cases[i].f,
                  got, cases[i].h);
        CHECK_MSG(nearest_half(cases[i].f) == cases[i].h || isnan(cases[i].f),
                  "reference nearest_half(%a) = 0x%04x", cases[i].f, nearest_half(cases[i].f));
    }
    /* a signalling NaN comes out quiet, sign and top payload bits kept */
    CHECK_EQ_INT(erg_f32_to_f16(erg_bits_f32(0xff800001u)), 0xfe00);
    CHECK_EQ_INT(erg_f32_to_f16(erg_bits_f32(0x7fc02000u)), 0x7e01);
}

/* f32 -> f16 and f32 -> bf16 on random floats against the references. */
static void test_random_against_reference(void) {
    enum { N = 1 << 21 };
    int bad_f16 = 0, bad_bf16 = 0;
    for (int i = 0; i < N; i++) {
        float f = random_float(i);
        bad_f16 += erg_f32_to_f16(f) != expected_f16(f);
        bad_bf16 += erg_f32_to_bf16(f) != expected_bf16(f);
    }
    CHECK_MSG(bad_f16 == 0, "erg_f32_to_f16: %d of %d random floats wrong", bad_f16, N);
    CHECK_MSG(bad_bf16 == 0, "erg_f32_to_bf16: %d of %d random floats wrong", bad_bf16, N);
    /* bf16 edges: rounding to even, overflow to inf, NaN stays NaN */
    CHECK_EQ_INT(erg_f32_to_bf16(erg_bits_f32(0x3f808000u)), 0x3f80);
    CHECK_EQ_INT(erg_f32_to_bf16(erg_bits_f32(0x3f818000u)), 0x3f82);
    CHECK_EQ_INT(erg_f32_to_bf16(FLT_MAX), 0x7f80);
    CHECK_EQ_INT(erg_f32_to_bf16(erg_bits_f32(0x7f800001u)), 0x7fc0);
    for (uint32_t h = 0; h < 65536; h++)
        bad_bf16 += erg_f32_bits(erg_bf16_to_f32((uint16_t)h)) != h << 16;
    CHECK_MSG(bad_bf16 == 0, "erg_bf16_to_f32: %d values wrong", bad_bf16);
}

#ifdef HAVE_F16C_CODE
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) {
    return (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
}

/* Against F16C: all halves (NaNs compared as NaN: the hardware may quiet a
 * signalling one), and 4 million random floats, bit for bit. */
static void test_against_f16c(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float a = erg_f16_to_f32((uint16_t)h), b = hw_f16_to_f32((uint16_t)h);
        bad += isnan(a) ? !isnan(b) : erg_f32_bits(a) != erg_f32_bits(b);
    }
    CHECK_MSG(bad == 0, "erg_f16_to_f32 differs from F16C on %d halves", bad);
    enum { N = 1 << 22 };
    bad = 0;
    for (int i = 0; i < N; i++) {
        float f = random_float(i);
        bad += erg_f32_to_f16(f) != hw_f32_to_f16(f);
    }
    CHECK_MSG(bad == 0, "erg_f32_to_f16 differs from F16C on %d of %d floats", bad, N);
}
#endif

int main(void) {
    test_f16_to_f32_all();
    test_f32_to_f16_edges();
    test_random_against_reference();
#ifdef HAVE_F16C_CODE
    erg_cpu_info info;
    erg_cpu_info_probe(&info);
    if (info.features & ERG_CPU_FEATURE_F16C)
        test_against_f16c();
    else
        printf("no F16C on this CPU: hardware comparison not run\n");
#endif
    return erg_test_result("test_fp16");
}
