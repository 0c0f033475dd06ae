/*
 * fp16.h: bit-exact scalar conversions between float and IEEE half (F16) and
 * bfloat16 (BF16), rounding to nearest even. SIMD kernels use hardware
 * conversions (F16C, NEON) and must agree with these.
 */
#ifndef ERG_BASE_FP16_H
#define ERG_BASE_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t erg_f16;
typedef uint16_t erg_bf16;

static inline uint32_t erg_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float erg_bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float erg_f16_to_f32(erg_f16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) /* inf / nan */
        return erg_bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return erg_bits_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return erg_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

static inline erg_f16 erg_f32_to_f16(float f) {
    uint32_t x = erg_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan (keep nan quiet and non-zero) */
        return (erg_f16)(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u | ((absx >> 13) & 0x3ffu) : 0));
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (erg_f16)(sign | 0x7c00u);
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u) /* below half of the smallest subnormal */
            return (erg_f16)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; /* 14 .. 24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
        return (erg_f16)(sign | r);
    }
    uint32_t r = absx + 0xfffu + ((absx >> 13) & 1u); /* round to nearest even */
    return (erg_f16)(sign | ((r - 0x38000000u) >> 13));
}

static inline float erg_bf16_to_f32(erg_bf16 h) { return erg_bits_f32((uint32_t)h << 16); }

static inline erg_bf16 erg_f32_to_bf16(float f) {
    uint32_t x = erg_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* nan: keep it a quiet nan */
        return (erg_bf16)((x >> 16) | 0x40u);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (erg_bf16)(x >> 16);
}

#endif
