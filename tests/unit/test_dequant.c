/*
 * test_dequant: erg_dequantize_row(_f64) on blocks written byte by byte from
 * the block definitions in graph/dtype.h, against values worked out by hand
 * (the arithmetic is in the comments). No block here comes from erg's
 * quantiser.
 */
#include "graph/dtype.h"
#include "tests/test.h"

#include <stdint.h>

/* Dequantizes n elements both ways; checks the listed (index, value) pairs
 * exactly, and that the double variant equals the float one wherever the
 * float value is exact (all values in these blocks are). */
typedef struct {
    int i;
    float v;
} expect;

static void check_block(erg_dtype t, const void *blk, int n, const expect *e, int ne,
                        const char *what) {
    static float f[2 * ERG_QK_K];
    static double d[2 * ERG_QK_K];
    erg_dequantize_row(t, blk, f, n);
    erg_dequantize_row_f64(t, blk, d, n);
    for (int k = 0; k < ne; k++)
        CHECK_MSG(f[e[k].i] == e[k].v, "%s element %d: got %.9g, want %.9g", what, e[k].i,
                  f[e[k].i], e[k].v);
    int mismatch = 0;
    for (int i = 0; i < n; i++)
        mismatch += (double)f[i] != d[i];
    CHECK_MSG(mismatch == 0, "%s: %d elements differ between f32 and f64", what, mismatch);
}

static void test_f16_bf16(void) {
    /* f16: sign | 5-bit exponent (bias 15) | 10-bit mantissa */
    const uint16_t h[] = {
        0x3C00, /* 2^0 = 1 */
        0xC000, /* -2^1 = -2 */
        0x3555, /* 2^-2 * (1 + 341/1024) = 1365/4096 = 0.333251953125 */
        0x7BFF, /* 2^15 * (1 + 1023/1024) = 65504, the largest finite */
        0x0001, /* subnormal: 1 * 2^-24 */
        0x03FF, /* largest subnormal: 1023 * 2^-24 */
        0x0400, /* smallest normal: 2^-14 */
        0x8000, /* -0 */
        0x7C00, /* +inf */
        0xFC00, /* -inf */
        0x7E00, /* nan */
    };
    const float want[] = {1.0f,          -2.0f,     0.333251953125f, 65504.0f,
                          5.9604644775390625e-08f, 6.0975551605224609375e-05f,
                          6.103515625e-05f, -0.0f,  INFINITY,        -INFINITY};
    float f[11];
    double d[11];
    erg_dequantize_row(ERG_DT_F16, h, f, 11);
    erg_dequantize_row_f64(ERG_DT_F16, h, d, 11);
    for (int i = 0; i < 10; i++) {
        CHECK_MSG(f[i] == want[i], "f16 %#06x: got %.9g", h[i], f[i]);
        CHECK(d[i] == (double)want[i]);
    }
    CHECK(signbit(f[7]) && signbit(d[7]));
    CHECK(isnan(f[10]) && isnan(d[10]));

    /* bf16: the top 16 bits of an f32 (8-bit exponent, 7-bit mantissa) */
    const uint16_t b[] = {
        0x3F80, /* 1 */
        0xC040, /* -2^1 * 1.5 = -3 */
        0x4049, /* 2^1 * (1 + 73/128) = 3.140625 */
        0x0001, /* subnormal: 2^-126 * 1/128 = 2^-133 */
        0x0080, /* smallest normal: 2^-126 */
        0x7F80, /* +inf */
        0xFF80, /* -inf */
        0x7FC0, /* nan */
    };
    const float bwant[] = {1.0f, -3.0f, 3.140625f, 9.18354961579912115600575419704879436e-41f,
                           1.17549435082228750796873653722224568e-38f, INFINITY, -INFINITY};
    erg_dequantize_row(ERG_DT_BF16, b, f, 8);
    erg_dequantize_row_f64(ERG_DT_BF16, b, d, 8);
    for (int i = 0; i < 7; i++) {
        CHECK_MSG(f[i] == bwant[i], "bf16 %#06x: got %.9g", b[i], f[i]);
        CHECK(d[i] == (double)bwant[i]);
    }
    CHECK(isnan(f[7]) && isnan(d[7]));

    /* f32 is copied bit for bit (from unaligned memory too) */
    uint8_t raw[1 + 2 * 4];
    const float src[2] = {-1.5f, 3.0e-39f};
    memcpy(raw + 1, src, sizeof src);
    erg_dequantize_row(ERG_DT_F32, raw + 1, f, 2);
    erg_dequantize_row_f64(ERG_DT_F32, raw + 1, d, 2);
    CHECK(f[0] == -1.5f && f[1] == 3.0e-39f);
    CHECK(d[0] == -1.5 && d[1] == (double)3.0e-39f);
}

static void test_q4_0(void) {
    /* two blocks: d = 0.5 (f16 0x3800) and d = -2 (0xC000).
     * qs[j] = j | (15 - j) << 4: element j has nibble j, element j+16 nibble 15-j;
     * value = (nibble - 8) * d */
    erg_block_q4_0 b[2];
    b[0].d = 0x3800;
    b[1].d = 0xC000;
    for (int j = 0; j < 16; j++)
        b[0].qs[j] = b[1].qs[j] = (uint8_t)(j | (15 - j) << 4);
    const expect e[] = {
        {0, -4.0f},   /* (0 - 8) * 0.5 */
        {1, -3.5f},   /* (1 - 8) * 0.5 */
        {8, 0.0f},    /* (8 - 8) * 0.5 */
        {15, 3.5f},   /* (15 - 8) * 0.5 */
        {16, 3.5f},   /* element 16 = high nibble of qs[0] = 15: (15 - 8) * 0.5 */
        {31, -4.0f},  /* high nibble of qs[15] = 0: (0 - 8) * 0.5 */
        {32, 16.0f},  /* block 1, nibble 0: (0 - 8) * -2 */
        {47, -14.0f}, /* nibble 15: (15 - 8) * -2 */
        {50, -10.0f}, /* element 18 of block 1: high nibble of qs[2] = 13: (13 - 8) * -2 */
    };
    check_block(ERG_DT_Q4_0, b, 64, e, (int)(sizeof e / sizeof e[0]), "q4_0");
}

static void test_q4_1(void) {
    /* d = 0.25 (0x3400), m = -1 (0xBC00); value = nibble * d + m */
    erg_block_q4_1 b;
    b.d = 0x3400;
    b.m = 0xBC00;
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | (15 - j) << 4);
    const expect e[] = {
        {0, -1.0f},   /* 0 * 0.25 - 1 */
        {4, 0.0f},    /* 4 * 0.25 - 1 */
        {15, 2.75f},  /* 15 * 0.25 - 1 */
        {16, 2.75f},  /* high nibble of qs[0] = 15 */
        {29, -0.5f},  /* high nibble of qs[13] = 2: 2 * 0.25 - 1 */
    };
    check_block(ERG_DT_Q4_1, &b, 32, e, (int)(sizeof e / sizeof e[0]), "q4_1");
}

static void test_q5_0(void) {
    /* d = 1 (0x3C00); qs[j] = j | j << 4 (elements j and j+16 both have low
     * bits j); qh bytes 0F 00 F0 81 = little-endian u32 0x81F0000F: bits 0-3
     * (elements 0-3), bits 20-23 (elements 20-23), bits 24 and 31 (elements
     * 24 and 31) carry 16. value = (low | 16 * bit - 16) * d */
    erg_block_q5_0 b;
    b.d = 0x3C00;
    const uint8_t qh[4] = {0x0F, 0x00, 0xF0, 0x81};
    memcpy(b.qh, qh, 4);
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | j << 4);
    const expect e[] = {
        {0, 0.0f},    /* 0 + 16 - 16 */
        {3, 3.0f},    /* 3 + 16 - 16 */
        {4, -12.0f},  /* 4 - 16 */
        {15, -1.0f},  /* 15 - 16 */
        {16, -16.0f}, /* low bits 0, bit 16 clear: 0 - 16 */
        {19, -13.0f}, /* 3 - 16 */
        {20, 4.0f},   /* bit 20 set: 4 + 16 - 16 */
        {23, 7.0f},   /* bit 23 set */
        {24, 8.0f},   /* bit 24 (byte 3, bit 0) set: 8 + 16 - 16 */
        {25, -7.0f},  /* 9 - 16 */
        {31, 15.0f},  /* bit 31 set: 15 + 16 - 16 */
    };
    check_block(ERG_DT_Q5_0, &b, 32, e, (int)(sizeof e / sizeof e[0]), "q5_0");
}

static void test_q5_1(void) {
    /* d = 0.5 (0x3800), m = 2 (0x4000); qh bytes 01 80 00 01 = 0x01008001:
     * bits 0, 15, 24. value = (low | 16 * bit) * 0.5 + 2 */
    erg_block_q5_1 b;
    b.d = 0x3800;
    b.m = 0x4000;
    const uint8_t qh[4] = {0x01, 0x80, 0x00, 0x01};
    memcpy(b.qh, qh, 4);
    for (int j = 0; j < 16; j++)
        b.qs[j] = (uint8_t)(j | j << 4);
    const expect e[] = {
        {0, 10.0f},   /* (0 + 16) * 0.5 + 2 */
        {1, 2.5f},    /* 1 * 0.5 + 2 */
        {15, 17.5f},  /* (15 + 16) * 0.5 + 2 */
        {16, 2.0f},   /* 0 * 0.5 + 2 */
        {24, 14.0f},  /* (8 + 16) * 0.5 + 2 */
        {31, 9.5f},   /* 15 * 0.5 + 2 */
    };
    check_block(ERG_DT_Q5_1, &b, 32, e, (int)(sizeof e / sizeof e[0]), "q5_1");
}

static void test_q8_0(void) {
    /* d = 1.5 (0x3E00); qs[j] = 8j - 128, qs[31] = 127; value = qs * 1.5 */
    erg_block_q8_0 b;
    b.d = 0x3E00;
    for (int j = 0; j < 32; j++)
        b.qs[j] = (int8_t)(8 * j - 128);
    b.qs[31] = 127;
    const expect e[] = {
        {0, -192.0f}, /* -128 * 1.5 */
        {1, -180.0f}, /* -120 * 1.5 */
        {16, 0.0f},   /* 0 * 1.5 */
        {17, 12.0f},  /* 8 * 1.5 */
        {31, 190.5f}, /* 127 * 1.5 */
    };
    check_block(ERG_DT_Q8_0, &b, 32, e, (int)(sizeof e / sizeof e[0]), "q8_0");
}

static void test_q2_k(void) {
    /* d = 1 (0x3C00), dmin = 0.5 (0x3800); scales[g] = g | (15 - g) << 4, so
     * group g (16 elements) is g * q - 0.5 * (15 - g). Element i reads 2 bits
     * at shift 2*((i%128)/32) of qs[32*(i/128) + i%32]. qs = 0x1B (levels 3,2,1,0
     * at shifts 0,2,4,6) in the first half, 0xE4 (0,1,2,3) in the second;
     * qs[5] = 0 and qs[37] = 0xFF to check the byte index. */
    erg_block_q2_k b;
    b.d = 0x3C00;
    b.dmin = 0x3800;
    for (int g = 0; g < 16; g++)
        b.scales[g] = (uint8_t)(g | (15 - g) << 4);
    for (int l = 0; l < 32; l++) {
        b.qs[l] = 0x1B;
        b.qs[32 + l] = 0xE4;
    }
    b.qs[5] = 0;
    b.qs[37] = 0xFF;
    const expect e[] = {
        {0, -7.5f},   /* g0, level 3: 0 * 3 - 0.5 * 15 */
        {40, -2.5f},  /* g2, shift 2 of 0x1B = 2: 2 * 2 - 0.5 * 13 */
        {37, -6.5f},  /* g2, qs[5] = 0: 2 * 0 - 6.5 */
        {53, 0.0f},   /* g3, qs[21] = 0x1B, shift 2: 3 * 2 - 0.5 * 12 */
        {69, -5.5f},  /* g4, qs[5] = 0: 4 * 0 - 0.5 * 11 */
        {70, -1.5f},  /* g4, shift 4 of 0x1B = 1: 4 * 1 - 5.5 */
        {100, -4.5f}, /* g6, shift 6 of 0x1B = 0: 0 - 0.5 * 9 */
        {130, -3.5f}, /* g8, shift 0 of 0xE4 = 0: 0 - 0.5 * 7 */
        {133, 20.5f}, /* g8, qs[37] = 0xFF: 8 * 3 - 0.5 * 7 */
        {200, 22.5f}, /* g12, shift 4 of 0xE4 = 2: 12 * 2 - 0.5 * 3 */
        {255, 45.0f}, /* g15, shift 6 of 0xE4 = 3: 15 * 3 - 0 */
    };
    check_block(ERG_DT_Q2_K, &b, 256, e, (int)(sizeof e / sizeof e[0]), "q2_k");
}

static void test_q3_k(void) {
    /* d = 0.5 (0x3800). 6-bit scales, bias 32: low 4 bits of group g in the
     * low (g < 8) or high (g >= 8) nibble of scales[g % 8], high 2 bits at bit
     * 2*(g/4) of scales[8 + g%4].
     *   scales[0..7] = 0x21: low 1 for g < 8, 2 for g >= 8
     *   scales[8] = 0xE4: high bits 0 (g0), 1 (g4), 2 (g8), 3 (g12)
     *   scales[9..11] = 0xAA: high bits 2 for every other group
     * so g0: 1 - 32 = -31, g1: 1 + 32 - 32 = 1, g4: 1 + 16 - 32 = -15,
     *    g8: 2 + 32 - 32 = 2, g12: 2 + 48 - 32 = 18, g13: 2.
     * Low 2 quant bits as in q2_k (0x1B first half, 0xE4 second half); the 3rd
     * bit, hmask[i%32] bit 4*(i/128) + (i%128)/32, set = +0, clear = -4:
     * hmask = 0x0F (first half set, second clear), hmask[3] = 0xF0. */
    erg_block_q3_k b;
    b.d = 0x3800;
    for (int i = 0; i < 8; i++)
        b.scales[i] = 0x21;
    b.scales[8] = 0xE4;
    b.scales[9] = b.scales[10] = b.scales[11] = 0xAA;
    for (int l = 0; l < 32; l++) {
        b.qs[l] = 0x1B;
        b.qs[32 + l] = 0xE4;
        b.hmask[l] = 0x0F;
    }
    b.hmask[3] = 0xF0;
    const expect e[] = {
        {0, -46.5f},  /* g0: 0.5 * -31 * 3 */
        {16, 1.5f},   /* g1: 0.5 * 1 * 3 */
        {66, -7.5f},  /* g4, level 1, hmask bit 2 set: 0.5 * -15 * 1 */
        {67, 22.5f},  /* g4, hmask[3] bit 2 clear: 0.5 * -15 * (1 - 4) */
        {128, -4.0f}, /* g8, level 0, bit 4 clear: 0.5 * 2 * (0 - 4) */
        {131, 0.0f},  /* g8, hmask[3] bit 4 set: 0.5 * 2 * 0 */
        {200, -18.0f},/* g12, level 2, bit 6 clear: 0.5 * 18 * (2 - 4) */
        {215, -2.0f}, /* g13, level 2, bit 6 clear: 0.5 * 2 * (2 - 4) */
    };
    check_block(ERG_DT_Q3_K, &b, 256, e, (int)(sizeof e / sizeof e[0]), "q3_k");
}

/* Scales and mins of the q4_k/q5_k blocks below, packed by hand:
 *   sc = {1, 2, 3, 63, 17, 40, 5, 33},  m = {0, 7, 63, 1, 48, 2, 31, 16}
 * bytes 0-3: sc[j] | (sc[j+4] >> 4) << 6   = 1|1<<6, 2|2<<6, 3|0<<6, 63|2<<6
 * bytes 4-7: m[j] | (m[j+4] >> 4) << 6     = 0|3<<6, 7|0<<6, 63|1<<6, 1|1<<6
 * bytes 8-11: (sc[j+4] & 15) | (m[j+4] & 15) << 4 = 1|0, 8|2<<4, 5|15<<4, 1|0 */
static const uint8_t k_scales[12] = {0x41, 0x82, 0x03, 0xBF, 0xC0, 0x07,
                                     0x7F, 0x41, 0x01, 0x28, 0xF5, 0x01};
static const uint8_t k_sc[8] = {1, 2, 3, 63, 17, 40, 5, 33};
static const uint8_t k_m[8] = {0, 7, 63, 1, 48, 2, 31, 16};

static void test_k_scale_unpack(void) {
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        erg_k_scale_min(j, k_scales, &sc, &m);
        CHECK_MSG(sc == k_sc[j] && m == k_m[j], "group %d: sc %d m %d", j, sc, m);
    }
}

static void test_q4_k(void) {
    /* d = 1 (0x3C00), dmin = 0.25 (0x3400); group g = i/32 is sc[g] * q - 0.25 * m[g].
     * Element l = i % 32 of group g is in byte b = 32 * (g / 2) + l of qs, low
     * nibble for even g, high for odd g; qs[b] = n | (15 - n) << 4 with
     * n = (b / 4) % 16, so q = n in even groups and 15 - n in odd groups. */
    erg_block_q4_k b;
    b.d = 0x3C00;
    b.dmin = 0x3400;
    memcpy(b.scales, k_scales, 12);
    for (int i = 0; i < 128; i++)
        b.qs[i] = (uint8_t)((i >> 2 & 15) | (15 - (i >> 2 & 15)) << 4);
    const expect e[] = {
        {0, 0.0f},     /* g0, b0, n0: 1 * 0 - 0.25 * 0 */
        {5, 1.0f},     /* g0, b5, n1: 1 * 1 - 0 */
        {37, 26.25f},  /* g1, b5, q = 15 - 1: 2 * 14 - 0.25 * 7 */
        {70, 11.25f},  /* g2, b38, n9: 3 * 9 - 0.25 * 63 */
        {127, -0.25f}, /* g3, b63, q = 15 - 15: 63 * 0 - 0.25 * 1 */
        {140, 39.0f},  /* g4, b76, n = 19 % 16 = 3: 17 * 3 - 0.25 * 48 */
        {170, 519.5f}, /* g5, b74, q = 15 - 2: 40 * 13 - 0.25 * 2 */
        {200, 42.25f}, /* g6, b104, n = 26 % 16 = 10: 5 * 10 - 0.25 * 31 */
        {255, -4.0f},  /* g7, b127, q = 15 - 15: 33 * 0 - 0.25 * 16 */
    };
    check_block(ERG_DT_Q4_K, &b, 256, e, (int)(sizeof e / sizeof e[0]), "q4_k");

    /* Where float rounds, the f64 variant computes in double: dmin = 2^-24
     * (0x0001), group 0 with sc 1, m 1 and q = 2: 2 - 2^-24 needs 25 bits,
     * so float gives 2 (tie to even) and double 1.99999994039535522. */
    erg_block_q4_k r;
    memset(&r, 0, sizeof r);
    r.d = 0x3C00;
    r.dmin = 0x0001;
    r.scales[0] = 1; /* sc of group 0 */
    r.scales[4] = 1; /* m of group 0 */
    r.qs[0] = 2;
    float f[256];
    double d[256];
    erg_dequantize_row(ERG_DT_Q4_K, &r, f, 256);
    erg_dequantize_row_f64(ERG_DT_Q4_K, &r, d, 256);
    CHECK(f[0] == 2.0f);
    CHECK(d[0] == 2.0 - 0x1p-24);
    CHECK(f[1] == -0x1p-24f && d[1] == -0x1p-24); /* 1 * 0 - 2^-24 */
}

static void test_q5_k(void) {
    /* As q4_k, plus the 5th bit of element l of group g: bit g of qh[l],
     * qh[l] = 0xAA for even l (odd groups get +16), 0x55 for odd l (even groups). */
    erg_block_q5_k b;
    b.d = 0x3C00;
    b.dmin = 0x3400;
    memcpy(b.scales, k_scales, 12);
    for (int i = 0; i < 128; i++)
        b.qs[i] = (uint8_t)((i >> 2 & 15) | (15 - (i >> 2 & 15)) << 4);
    for (int l = 0; l < 32; l++)
        b.qh[l] = l % 2 ? 0x55 : 0xAA;
    const expect e[] = {
        {0, 0.0f},      /* g0, l0 even: no +16: 1 * 0 - 0 */
        {5, 17.0f},     /* g0, l5 odd, b5: 1 * (1 + 16) - 0 */
        {37, 26.25f},   /* g1, l5 odd: 2 * 14 - 1.75 */
        {38, 58.25f},   /* g1, l6 even, b6: 2 * ((15 - 1) + 16) - 1.75 */
        {140, 39.0f},   /* g4, l12 even: 17 * 3 - 12 */
        {171, 519.5f},  /* g5, l11 odd, b75: 40 * (15 - 2) - 0.5 */
        {172, 1119.5f}, /* g5, l12 even, b76: 40 * ((15 - 3) + 16) - 0.5 */
        {254, 524.0f},  /* g7, l30 even, b126: 33 * ((15 - 15) + 16) - 4 */
        {255, -4.0f},   /* g7, l31 odd: 33 * 0 - 4 */
    };
    check_block(ERG_DT_Q5_K, &b, 256, e, (int)(sizeof e / sizeof e[0]), "q5_k");
}

static void test_q6_k(void) {
    /* d = 0.5 (0x3800); int8 scales {1,-1,2,-2,3,-3,4,-4,5,-5,6,-6,7,-7,127,-128};
     * value = 0.5 * scale[i/16] * (q - 32), q = low 4 bits | 2 high bits << 4.
     * Per half h (128 elements), quarter k = (i%128)/32, l = i%32: low bits in
     * ql[64h + l + 32(k%2)], low nibble for k < 2, high nibble for k >= 2;
     * ql[b] = n | (15 - n) << 4 with n = (b / 4) % 16, so low = n (k < 2) or
     * 15 - n (k >= 2). High bits at 2k of qh[32h + l]: qh = 0xE4 (k) in half
     * 0, 0x1B (3 - k) in half 1. */
    erg_block_q6_k b;
    b.d = 0x3800;
    const int8_t sc[16] = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 127, -128};
    memcpy(b.scales, sc, 16);
    for (int i = 0; i < 128; i++)
        b.ql[i] = (uint8_t)((i >> 2 & 15) | (15 - (i >> 2 & 15)) << 4);
    for (int l = 0; l < 32; l++) {
        b.qh[l] = 0xE4;
        b.qh[32 + l] = 0x1B;
    }
    const expect e[] = {
        {0, -16.0f},     /* g0, ql[0] n0: 0.5 * 1 * (0 - 32) */
        {17, 14.0f},     /* g1, ql[17] n4: 0.5 * -1 * (4 - 32) */
        {40, -6.0f},     /* g2, k1, ql[40] n10: 0.5 * 2 * (10 + 16 - 32) */
        {77, 18.0f},     /* g4, k2, ql[13] n3: 0.5 * 3 * ((15 - 3) + 32 - 32) */
        {104, 42.0f},    /* g6, k3, ql[40] n10: 0.5 * 4 * ((15 - 10) + 48 - 32) */
        {127, -32.0f},   /* g7, k3, ql[63] n15: 0.5 * -4 * ((15 - 15) + 48 - 32) */
        {128, 40.0f},    /* g8, half 1, k0, ql[64] n0: 0.5 * 5 * (0 + 48 - 32) */
        {200, -10.5f},   /* g12, k2, ql[72] n2: 0.5 * 7 * ((15 - 2) + 16 - 32) */
        {239, -1778.0f}, /* g14, k3, ql[111] n11: 0.5 * 127 * ((15 - 11) + 0 - 32) */
        {255, 2048.0f},  /* g15, k3, ql[127] n15: 0.5 * -128 * (0 - 32) */
    };
    check_block(ERG_DT_Q6_K, &b, 256, e, (int)(sizeof e / sizeof e[0]), "q6_k");
}

static void test_q8_k(void) {
    /* f32 d = 0.25, qs[i] = i - 128; value = 0.25 * (i - 128) */
    erg_block_q8_k b;
    memset(&b, 0, sizeof b);
    b.d = 0.25f;
    for (int i = 0; i < 256; i++)
        b.qs[i] = (int8_t)(i - 128);
    const expect e[] = {
        {0, -32.0f},   /* 0.25 * -128 */
        {130, 0.5f},   /* 0.25 * 2 */
        {255, 31.75f}, /* 0.25 * 127 */
    };
    check_block(ERG_DT_Q8_K, &b, 256, e, (int)(sizeof e / sizeof e[0]), "q8_k");
}

static void test_unsupported_untouched(void) {
    /* types without a decoder leave dst as it was */
    uint8_t blk[64] = {0};
    float f[32];
    double d[32];
    for (int i = 0; i < 32; i++)
        f[i] = 7.0f, d[i] = 7.0;
    erg_dequantize_row(ERG_DT_Q8_1, blk, f, 32);
    erg_dequantize_row((erg_dtype)99, blk, f, 32);
    erg_dequantize_row(ERG_DT_I32, blk, f, 8);
    erg_dequantize_row_f64(ERG_DT_Q8_1, blk, d, 32);
    erg_dequantize_row_f64((erg_dtype)5, blk, d, 32);
    int changed = 0;
    for (int i = 0; i < 32; i++)
        changed += f[i] != 7.0f || d[i] != 7.0;
    CHECK_EQ_INT(changed, 0);
}

int main(void) {
    test_f16_bf16();
    test_q4_0();
    test_q4_1();
    test_q5_0();
    test_q5_1();
    test_q8_0();
    test_q2_k();
    test_q3_k();
    test_k_scale_unpack();
    test_q4_k();
    test_q5_k();
    test_q6_k();
    test_q8_k();
    test_unsupported_untouched();
    return erg_test_result("test_dequant");
}
