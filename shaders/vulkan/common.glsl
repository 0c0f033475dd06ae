// common.glsl: what every erg compute shader shares: the four bindings
// (sources 0-2 and the result, as 32-bit words), the push-constant structs,
// byte-addressed reads that need no 8/16-bit storage feature, and the linear
// workgroup index over a 2D grid.
#extension GL_GOOGLE_include_directive : require

#include "push.h"

layout(std430, set = 0, binding = 0) readonly buffer Src0 { uint src0[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src1 { uint src1[]; };
layout(std430, set = 0, binding = 2) readonly buffer Src2 { uint src2[]; };
layout(std430, set = 0, binding = 3) buffer Dst { uint dst[]; };

uint group_index() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

// Reads from binding 0 at any byte offset (quantised blocks are 2-byte aligned).
uint src0_u8(uint byte_off) { return (src0[byte_off >> 2] >> ((byte_off & 3u) * 8u)) & 0xFFu; }
uint src0_u16(uint byte_off) {  // byte_off even
    return (src0[byte_off >> 2] >> ((byte_off & 2u) * 8u)) & 0xFFFFu;
}
uint src0_u32(uint byte_off) {  // byte_off even
    if ((byte_off & 3u) == 0u)
        return src0[byte_off >> 2];
    return src0_u16(byte_off) | (src0_u16(byte_off + 2u) << 16);
}
float src0_f16(uint byte_off) { return unpackHalf2x16(src0_u16(byte_off)).x; }
float src0_bf16(uint byte_off) { return uintBitsToFloat(src0_u16(byte_off) << 16); }
float src0_f32(uint byte_off) { return uintBitsToFloat(src0[byte_off >> 2]); }
float src1_f32(uint byte_off) { return uintBitsToFloat(src1[byte_off >> 2]); }
float src2_f32(uint byte_off) { return uintBitsToFloat(src2[byte_off >> 2]); }
int src1_i32(uint byte_off) { return int(src1[byte_off >> 2]); }

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

// Linear element e of a shape ne as (i0, i1, i2, i3).
uvec4 unravel(uint e, uint ne0, uint ne1, uint ne2) {
    uint i0 = e % ne0;
    e /= ne0;
    uint i1 = e % ne1;
    e /= ne1;
    return uvec4(i0, i1, e % ne2, e / ne2);
}
