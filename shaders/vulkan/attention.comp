#version 450
// attention.comp: ATTENTION in one pass over the KV positions (flash
// attention: an online softmax, no score matrix in memory). A workgroup
// takes BR query rows that share a KV head: its row r is row rho0 + r of the
// head's G * nt rows (G = H / Hkv), token rho / G of query head
// hk * G + rho % G, so grouped-query heads share every K and V load.
// Its WG threads split the head dims: thread t keeps in registers q and the
// output of the 4-dim chunks t, t + WG, ... (NC chunks of q and K, NCV of V
// and the output). The positions go four at a time: each thread dots its K
// chunks with its q chunks, the workgroup adds the partial scores
// (subgroupAdd; through shared memory too only where the driver made more
// than one subgroup), and then every thread takes the same online-softmax
// step: it raises each row's running max, rescales the row's sum and its
// outputs by exp(old max - new max), and adds p = exp(s - max) and p . V for
// its V chunks (V's rows are contiguous in position: read 4 at a time).
// WG is the device's subgroup size, so most devices run no barrier at all.
// Specialisation constants: 0 WG, 1 BR (rows), 2 NC = ceil(D / 4 / WG),
// 3 NCV = ceil(Dv / 4 / WG), 4 KV_F16 (bit 0: K is F16, bit 1: V is F16;
// else F32). With p.n_dims > 0 each q element is rotated as ROPE rotates it
// as it is loaded, reading its pair's other element itself (rope.glsl).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "common.glsl"
#include "rope.glsl"

layout(constant_id = 0) const uint WG = 32;
layout(constant_id = 1) const uint BR = 1;
layout(constant_id = 2) const uint NC = 1;
layout(constant_id = 3) const uint NCV = 1;
layout(constant_id = 4) const uint KV_F16 = 0;
layout(local_size_x_id = 0) in;

layout(push_constant) uniform PC { erg_vk_push_attention p; };

const float NEG = -3.402823466e38;  // a masked score
const bool K_F16 = (KV_F16 & 1u) != 0u, V_F16 = (KV_F16 & 2u) != 0u;
const uint K_BYTES = K_F16 ? 2u : 4u, V_BYTES = V_F16 ? 2u : 4u;

shared vec4 red[BR * WG];  // each subgroup's partial scores, where there are several

// K elements k .. k+3 of a row from byte b (F16: b even).
vec4 k4(uint b) {
    if (!K_F16)
        return vec4(src1_f32(b), src1_f32(b + 4u), src1_f32(b + 8u), src1_f32(b + 12u));
    if ((b & 3u) == 0u)
        return vec4(unpackHalf2x16(src1[b >> 2]), unpackHalf2x16(src1[(b >> 2) + 1u]));
    return vec4(src1_f16(b), src1_f16(b + 2u), src1_f16(b + 4u), src1_f16(b + 6u));
}
// V at positions j .. j+3 of a row from byte b; only the first n are read,
// the rest are 0 (they may lie past the tensor).
vec4 v4(uint b, uint n) {
    if (n >= 4u && V_F16 && (b & 3u) == 0u)
        return vec4(unpackHalf2x16(src2[b >> 2]), unpackHalf2x16(src2[(b >> 2) + 1u]));
    vec4 v = vec4(0.0);
    [[unroll]] for (uint c = 0u; c < 4u; c++)
        if (c < n)
            v[c] = V_F16 ? src2_f16(b + 2u * c) : src2_f32(b + 4u * c);
    return v;
}

// q element i of the row at byte qb of token tok, rotated where n_dims > 0.
float q_elem(uint qb, uint tok, uint i) {
    float x = src0_f32(qb + 4u * i);
    if (i >= p.n_dims)
        return x;
    uint half_ = p.n_dims / 2u;
    bool neox = p.mode == MODE_NEOX;
    uint j = neox ? i % half_ : i / 2u;
    bool first = neox ? i < half_ : (i & 1u) == 0u;
    uint other = neox ? (first ? i + half_ : i - half_) : i ^ 1u;
    float y = src0_f32(qb + 4u * other);
    float factor = p.has_factors != 0u ? src4_f32(p.off_f + j * 4u) : 1.0;
    vec2 cs = rope_cos_sin(src3_i32(p.off_p + tok * 4u), p.freq_scale, p.step_hi, p.step_lo, j,
                           factor);
    return first ? x * cs.x - y * cs.y : y * cs.y + x * cs.x;
}

// The workgroup's sums of each row's partial scores.
void workgroup_sum(inout vec4 s[BR]) {
    [[unroll]] for (uint r = 0u; r < BR; r++)
        s[r] = subgroupAdd(s[r]);
    if (gl_NumSubgroups == 1u)
        return;
    if (subgroupElect()) {
        [[unroll]] for (uint r = 0u; r < BR; r++)
            red[r * WG + gl_SubgroupID] = s[r];
    }
    barrier();
    [[unroll]] for (uint r = 0u; r < BR; r++) {
        s[r] = vec4(0.0);
        for (uint i = 0u; i < gl_NumSubgroups; i++)
            s[r] += red[r * WG + i];
    }
    barrier();
}

void main() {
    uint G = p.group, rows = G * p.nt;
    uint row_groups = (rows + BR - 1u) / BR;
    uint g = group_index();
    uint hk = g / row_groups, rho0 = (g % row_groups) * BR;
    if (hk * G >= p.H)
        return;
    uint t = gl_LocalInvocationID.x, D4 = p.D / 4u, DV4 = p.Dv / 4u;

    // Rows past the last repeat it (their results are not written). Row r
    // sees the positions below limit[r]; the walk stops at the largest.
    uint limit[BR];
    vec4 q[BR * NC];
    [[unroll]] for (uint r = 0u; r < BR; r++) {
        uint rho = min(rho0 + r, rows - 1u);
        limit[r] = p.causal != 0u ? min(p.n_kv, p.n_past + rho / G + 1u) : p.n_kv;
        uint qb = p.off_q + (rho / G) * p.nb_q1 + (hk * G + rho % G) * p.nb_q2;
        [[unroll]] for (uint i = 0u; i < NC; i++) {
            uint c = t + i * WG, b = qb + 16u * c;
            if (c >= D4)
                q[r * NC + i] = vec4(0.0);
            else if (p.n_dims == 0u)
                q[r * NC + i] = p.scale * vec4(src0_f32(b), src0_f32(b + 4u), src0_f32(b + 8u),
                                               src0_f32(b + 12u));
            else
                q[r * NC + i] = p.scale * vec4(q_elem(qb, rho / G, 4u * c),
                                               q_elem(qb, rho / G, 4u * c + 1u),
                                               q_elem(qb, rho / G, 4u * c + 2u),
                                               q_elem(qb, rho / G, 4u * c + 3u));
        }
    }
    uint kv_end = limit[BR - 1u];

    float m[BR], l[BR];
    vec4 o[BR * NCV];
    [[unroll]] for (uint r = 0u; r < BR; r++) {
        m[r] = NEG;
        l[r] = 0.0;
        [[unroll]] for (uint i = 0u; i < NCV; i++)
            o[r * NCV + i] = vec4(0.0);
    }
    uint k_row = p.off_k + hk * p.nb_k2, v_row = p.off_v + hk * p.nb_v2;

    for (uint j0 = 0u; j0 < kv_end; j0 += 4u) {
        uint n = min(4u, kv_end - j0);
        vec4 s[BR];
        [[unroll]] for (uint r = 0u; r < BR; r++)
            s[r] = vec4(0.0);
        [[unroll]] for (uint c = 0u; c < 4u; c++) {
            if (c < n) {
                uint kb = k_row + (j0 + c) * p.nb_k1;
                [[unroll]] for (uint i = 0u; i < NC; i++) {
                    if (t + i * WG < D4) {
                        vec4 kv = k4(kb + 4u * K_BYTES * (t + i * WG));
                        [[unroll]] for (uint r = 0u; r < BR; r++)
                            s[r][c] += dot(kv, q[r * NC + i]);
                    }
                }
            }
        }
        workgroup_sum(s);

        vec4 pr[BR];
        float alpha[BR];
        [[unroll]] for (uint r = 0u; r < BR; r++) {
            bvec4 seen = lessThan(j0 + uvec4(0u, 1u, 2u, 3u), uvec4(limit[r]));
            vec4 sr = mix(vec4(NEG), s[r], seen);
            float mx = max(m[r], max(max(sr.x, sr.y), max(sr.z, sr.w)));
            alpha[r] = exp(m[r] - mx);
            pr[r] = mix(vec4(0.0), exp(sr - mx), seen);
            l[r] = l[r] * alpha[r] + dot(pr[r], vec4(1.0));
            m[r] = mx;
        }
        [[unroll]] for (uint i = 0u; i < NCV; i++) {
            if (t + i * WG < DV4) {
                uint vb = v_row + 4u * (t + i * WG) * p.nb_v1 + j0 * V_BYTES;
                vec4 v0 = v4(vb, n), v1 = v4(vb + p.nb_v1, n), v2 = v4(vb + 2u * p.nb_v1, n),
                     v3 = v4(vb + 3u * p.nb_v1, n);
                [[unroll]] for (uint r = 0u; r < BR; r++) {
                    vec4 pv = vec4(dot(pr[r], v0), dot(pr[r], v1), dot(pr[r], v2), dot(pr[r], v3));
                    o[r * NCV + i] = o[r * NCV + i] * alpha[r] + pv;
                }
            }
        }
    }

    [[unroll]] for (uint r = 0u; r < BR; r++) {
        uint rho = rho0 + r;
        if (rho >= rows)
            break;
        uint b = p.off_d + (hk * G + rho % G) * p.nb_d1 + (rho / G) * p.nb_d2;
        [[unroll]] for (uint i = 0u; i < NCV; i++) {
            uint d = 4u * (t + i * WG);
            if (d < p.Dv) {
                vec4 y = o[r * NCV + i] / l[r];
                dst_f32(b + 4u * d, y.x);
                dst_f32(b + 4u * d + 4u, y.y);
                dst_f32(b + 4u * d + 8u, y.z);
                dst_f32(b + 4u * d + 12u, y.w);
            }
        }
    }
}
