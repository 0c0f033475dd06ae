#version 450
// get_rows.comp: dst row i = row ids[i] of the weight table, dequantised to
// F32 (the embedding lookup). One workgroup per row; its threads take
// consecutive units of the row (dequant.glsl), so they read the row's bytes
// together.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "dequant.glsl"

layout(constant_id = 0) const uint WG = 64;
layout(local_size_x_id = 0) in;

layout(push_constant) uniform PC { erg_vk_push_get_rows p; };

void main() {
    uint r = group_index();
    if (r >= p.n_rows)
        return;
    uint tid = gl_LocalInvocationID.x;
    uint out_row = p.off_d + r * p.nb_d1;
    int id = src1_i32(p.off_i + 4u * r);
    if (id < 0 || uint(id) >= p.w_rows) {  // never read outside the table
        for (uint k = tid; k < p.ne0; k += WG)
            dst_f32(out_row + 4u * k, 0.0);
        return;
    }
    uint row = p.off_w + uint(id) * p.nb_w1;
    uint n_blocks = p.ne0 / WT_BLOCK;
    for (uint i = tid; i < n_blocks * WT_UNITS; i += WG) {
        uint b = i / WT_UNITS, u = i % WT_UNITS;
        wt_unit unit = wt_load(0u, row + b * WT_BLOCK_BYTES, u);
        uint o = out_row + 4u * (b * WT_BLOCK + u * WT_UNIT_K);
        [[unroll]] for (uint j = 0u; j < WT_UNIT_VECS; j++) {
            vec4 v = wt_vec(unit, u, j);
            dst_f32(o + 16u * j, v.x);
            dst_f32(o + 16u * j + 4u, v.y);
            dst_f32(o + 16u * j + 8u, v.z);
            dst_f32(o + 16u * j + 12u, v.w);
        }
    }
#ifdef WT_PLAIN
    for (uint k = n_blocks * WT_BLOCK + tid; k < p.ne0; k += WG)
        dst_f32(out_row + 4u * k, wt_get1(0u, row, k));
#endif
}
