#version 450
// RMS_NORM and RMS_NORM_MUL: one workgroup per row; the sum of squares is
// reduced through shared memory, then every invocation scales its share of
// the row, and with MUL set multiplies it by the weight (src1, broadcast by
// modulo per dim) in the same pass.
// Specialisation constants: 0 WG (a power of two), 1 MUL.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;
layout(constant_id = 1) const bool MUL = false;

layout(push_constant) uniform PC { erg_vk_push_norm p; };

shared float partial[WG];

void main() {
    uint row = group_index();
    if (row >= p.ne1 * p.ne2 * p.ne3)
        return;
    uint i1 = row % p.ne1, i2 = (row / p.ne1) % p.ne2, i3 = row / (p.ne1 * p.ne2);
    uint a = p.off_a + i1 * p.nb_a1 + i2 * p.nb_a2 + i3 * p.nb_a3;
    uint b = MUL ? p.off_b + (i1 % p.ne_b1) * p.nb_b1 + (i2 % p.ne_b2) * p.nb_b2 +
                       (i3 % p.ne_b3) * p.nb_b3
                 : 0u;
    uint d = p.off_d + i1 * p.nb_d1 + i2 * p.nb_d2 + i3 * p.nb_d3;
    uint t = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint i = t; i < p.ne0; i += WG) {
        float x = src0_f32(a + i * 4u);
        sum += x * x;
    }
    partial[t] = sum;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (t < s)
            partial[t] += partial[t + s];
        barrier();
    }
    float scale = inversesqrt(partial[0] / float(p.ne0) + p.eps);
    for (uint i = t; i < p.ne0; i += WG) {
        float y = src0_f32(a + i * 4u) * scale;
        if (MUL)
            y *= src1_f32(b + (i % p.ne_b0) * 4u);
        dst_f32(d + i * 4u, y);
    }
}
