#version 450
// Elementwise ops of two sources, src1 broadcast over src0: ADD, MUL and
// SWIGLU (silu(src0) * src1), chosen by the OP constant.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint OP = 0;
const uint OP_ADD = 0, OP_MUL = 1, OP_SWIGLU = 2;

layout(push_constant) uniform PC { erg_vk_push_binary p; };

void main() {
    uint e = group_index() * 256u + gl_LocalInvocationID.x;
    if (e >= p.ne0 * p.ne1 * p.ne2 * p.ne3)
        return;
    uvec4 i = unravel(e, p.ne0, p.ne1, p.ne2);
    uvec4 j = i % uvec4(p.ne_b0, p.ne_b1, p.ne_b2, p.ne_b3);
    float a = src0_f32(p.off_a + i.x * 4u + i.y * p.nb_a1 + i.z * p.nb_a2 + i.w * p.nb_a3);
    float b = src1_f32(p.off_b + j.x * 4u + j.y * p.nb_b1 + j.z * p.nb_b2 + j.w * p.nb_b3);
    float y;
    if (OP == OP_ADD)
        y = a + b;
    else if (OP == OP_MUL)
        y = a * b;
    else
        y = a / (1.0 + exp(-a)) * b;
    dst_f32(p.off_d + i.x * 4u + i.y * p.nb_d1 + i.z * p.nb_d2 + i.w * p.nb_d3, y);
}
