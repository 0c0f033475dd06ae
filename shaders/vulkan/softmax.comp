#version 450
// SOFTMAX over rows of src0 * scale, with the causal mask when i0 is set:
// column j of row i1 is masked when j > n_past + i1. One workgroup per row;
// max and sum are reduced through shared memory.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG = 128;

layout(push_constant) uniform PC { erg_vk_push_unary p; };

shared float partial[WG];

float reduce(float v, bool take_max) {
    uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (t < s)
            partial[t] = take_max ? max(partial[t], partial[t + s]) : partial[t] + partial[t + s];
        barrier();
    }
    float r = partial[0];
    barrier();
    return r;
}

void main() {
    uint row = group_index();
    if (row >= p.ne1 * p.ne2 * p.ne3)
        return;
    uint i1 = row % p.ne1, i2 = (row / p.ne1) % p.ne2, i3 = row / (p.ne1 * p.ne2);
    uint a = p.off_a + i1 * p.nb_a1 + i2 * p.nb_a2 + i3 * p.nb_a3;
    uint d = p.off_d + i1 * p.nb_d1 + i2 * p.nb_d2 + i3 * p.nb_d3;
    uint n = p.i0 != 0u ? min(p.ne0, p.i1 + i1 + 1u) : p.ne0; // unmasked columns
    uint t = gl_LocalInvocationID.x;
    float m = -3.402823466e38;
    for (uint j = t; j < n; j += WG)
        m = max(m, src0_f32(a + j * 4u) * p.f0);
    m = reduce(m, true);
    float sum = 0.0;
    for (uint j = t; j < n; j += WG)
        sum += exp(src0_f32(a + j * 4u) * p.f0 - m);
    sum = reduce(sum, false);
    for (uint j = t; j < p.ne0; j += WG)
        dst_f32(d + j * 4u, j < n ? exp(src0_f32(a + j * 4u) * p.f0 - m) / sum : 0.0);
}
