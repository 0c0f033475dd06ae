#version 450
// ROPE: one invocation per rotated pair (and per copied element past
// n_dims), its angle from rope.glsl. ROPE_STORE writes the
// result converted to its destination's type (a KV-cache view) in the same
// pass.
// Specialisation constant: 0 DT, the result's type (DT_* of common.glsl).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"
#include "rope.glsl"

layout(local_size_x = 128) in;
layout(constant_id = 0) const uint DT = DT_F32;
layout(push_constant) uniform PC { erg_vk_push_rope p; };

const uint DT_BYTES = DT == DT_F32 ? 4u : 2u;

void main() {
    uint half_ = p.n_dims / 2u;
    uint per_row = half_ + (p.ne0 - p.n_dims); // pairs, then copied tail elements
    uint e = group_index() * 128u + gl_LocalInvocationID.x;
    if (e >= per_row * p.ne1 * p.ne2 * p.ne3)
        return;
    uint k = e % per_row, row = e / per_row;
    uint i1 = row % p.ne1, i2 = (row / p.ne1) % p.ne2, i3 = row / (p.ne1 * p.ne2);
    uint a = p.off_a + i1 * p.nb_a1 + i2 * p.nb_a2 + i3 * p.nb_a3;
    uint d = p.off_d + i1 * p.nb_d1 + i2 * p.nb_d2 + i3 * p.nb_d3;
    if (k >= half_) { // past the rotated dims: copied
        uint c = p.n_dims + (k - half_);
        dst_store(DT, d + c * DT_BYTES, src0_f32(a + c * 4u));
        return;
    }
    uint j = k;
    float factor = p.has_factors != 0u ? src2_f32(p.off_f + j * 4u) : 1.0;
    vec2 cs = rope_cos_sin(src1_i32(p.off_p + i2 * 4u), p.freq_scale, p.step_hi, p.step_lo, j,
                           factor);
    float c = cs.x, s = cs.y;
    uint p0 = p.mode == MODE_NEOX ? j : 2u * j;
    uint p1 = p.mode == MODE_NEOX ? j + half_ : 2u * j + 1u;
    float x0 = src0_f32(a + p0 * 4u), x1 = src0_f32(a + p1 * 4u);
    dst_store(DT, d + p0 * DT_BYTES, x0 * c - x1 * s);
    dst_store(DT, d + p1 * DT_BYTES, x0 * s + x1 * c);
}
