// common.glsl: what every erg compute shader shares: the six bindings
// (sources 0-2, the result, and sources 3 and 4, as 32-bit words), the push-constant structs,
// byte-addressed reads and F32/F16/BF16 stores that need no 8/16-bit storage
// feature, and the linear workgroup index over a 2D grid. (Weights are read
// through dequant.glsl.)
#extension GL_GOOGLE_include_directive : require

#include "push.h"

layout(std430, set = 0, binding = 0) readonly buffer Src0 { uint src0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src1 { uint src1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Src2 { uint src2[]; };
layout(std430, set = 0, binding = 3) buffer Dst { uint dst[]; };
layout(std430, set = 0, binding = 4) readonly buffer Src3 { uint src3[]; };
layout(std430, set = 0, binding = 5) readonly buffer Src4 { uint src4[]; };

uint group_index() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

float src0_f32(uint byte_off) { return uintBitsToFloat(src0[byte_off >> 2]); }
float src1_f32(uint byte_off) { return uintBitsToFloat(src1[byte_off >> 2]); }
float src2_f32(uint byte_off) { return uintBitsToFloat(src2[byte_off >> 2]); }
int src1_i32(uint byte_off) { return int(src1[byte_off >> 2]); }
int src3_i32(uint byte_off) { return int(src3[byte_off >> 2]); }
float src4_f32(uint byte_off) { return uintBitsToFloat(src4[byte_off >> 2]); }
// F16 at an even byte: unpackHalf2x16 reads the low half of the shifted word.
float src1_f16(uint b) { return unpackHalf2x16(src1[b >> 2] >> ((b & 2u) * 8u)).x; }
float src2_f16(uint b) { return unpackHalf2x16(src2[b >> 2] >> ((b & 2u) * 8u)).x; }

void dst_f32(uint byte_off, float v) { dst[byte_off >> 2] = floatBitsToUint(v); }

// A 16-bit store into a word other invocations may be writing the other half
// of: clear our half, then set it, both atomically.
void dst_u16(uint byte_off, uint bits) {
    uint shift = (byte_off & 2u) * 8u;
    atomicAnd(dst[byte_off >> 2], ~(0xFFFFu << shift));
    atomicOr(dst[byte_off >> 2], (bits & 0xFFFFu) << shift);
}

// F32 to F16 and BF16 bits, rounding to nearest even exactly as the CPU
// reference does (base/fp16.h), whatever the device's own conversion does.
uint f32_to_f16_bits(float f) {
    uint x = floatBitsToUint(f);
    uint sign = (x >> 16) & 0x8000u;
    uint absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u)
        return sign | 0x7c00u | (absx > 0x7f800000u ? (0x200u | ((absx >> 13) & 0x3ffu)) : 0u);
    if (absx >= 0x477ff000u)
        return sign | 0x7c00u;
    if (absx < 0x38800000u) {
        if (absx < 0x33000000u)
            return sign;
        uint e = absx >> 23;
        uint m = (absx & 0x7fffffu) | 0x800000u;
        uint shift = 126u - e;
        uint r = m >> shift;
        uint rem = m & ((1u << shift) - 1u);
        uint half_ = 1u << (shift - 1u);
        if (rem > half_ || (rem == half_ && (r & 1u) != 0u))
            r++;
        return sign | r;
    }
    uint r = absx + 0xfffu + ((absx >> 13) & 1u);
    return sign | ((r - 0x38000000u) >> 13);
}

uint f32_to_bf16_bits(float f) {
    uint x = floatBitsToUint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (x >> 16) | 0x40u;
    x += 0x7fffu + ((x >> 16) & 1u);
    return x >> 16;
}

// A result element of type DT_* at byte_off.
const uint DT_F32 = 0u, DT_F16 = 1u, DT_BF16 = 2u;
void dst_store(uint dt, uint byte_off, float v) {
    if (dt == DT_F16)
        dst_u16(byte_off, f32_to_f16_bits(v));
    else if (dt == DT_BF16)
        dst_u16(byte_off, f32_to_bf16_bits(v));
    else
        dst_f32(byte_off, v);
}

// Linear element e of a shape ne as (i0, i1, i2, i3).
uvec4 unravel(uint e, uint ne0, uint ne1, uint ne2) {
    uint i0 = e % ne0;
    e /= ne0;
    uint i1 = e % ne1;
    e /= ne1;
    return uvec4(i0, i1, e % ne2, e / ne2);
}
