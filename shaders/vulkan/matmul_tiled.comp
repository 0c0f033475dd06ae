#version 450
// matmul_tiled.comp: MATMUL for wider products (prefill). A workgroup of 128
// threads computes a TN x TM tile of one batch's result (weight rows n x
// activation columns m). The K loop stages TK-wide slices of both operands
// in shared memory, weights dequantised once per slice and each then used TM
// times; each thread accumulates a 4 x 8 register tile (rows 4tn..4tn+3,
// columns 8tm..8tm+7), reading it per k as three vec4s. MATMUL_SWIGLU also
// stages the up weights' slice and keeps a second register tile.
// Specialisation constant: 0 SWIGLU (matmul_epilogue.glsl).
// Shared memory: 2 * TK * TS vec4s = 8.5 KiB (3 for MATMUL_SWIGLU: 12.8
// KiB), under the 16 KiB every device has.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "dequant.glsl"

layout(local_size_x = 128) in;
layout(constant_id = 0) const bool SWIGLU = false;

layout(push_constant) uniform PC { erg_vk_push_matmul p; };

#include "matmul_epilogue.glsl"

#define TN 64u
#define TM 64u
#define TK 16u
// Slices are stored k-major as vec4s of 4 consecutive rows (columns); 17
// rather than 16 vec4s per k halves the bank conflicts of the staging stores.
#define TS 17u

shared vec4 ws[TK * TS];
shared vec4 xs[TK * TS];
shared vec4 us[SWIGLU ? TK * TS : 1u];  // the up weights' slice

// Elements k..k+3 of a weight row, zeros past the row's end (plain types
// only: quantised rows are whole blocks, a multiple of TK).
vec4 load_w(uint wsel, uint row, uint k) {
#ifdef WT_PLAIN
    if (k + 4u > p.K) {
        vec4 v = vec4(0.0);
        [[unroll]] for (uint c = 0u; c < 4u; c++)
            if (k + c < p.K)
                v[c] = wt_get1(wsel, row, k + c);
        return v;
    }
#endif
    return wt_get4(wsel, row, k);
}

vec4 load_x(uint col, uint k) {
    vec4 v = vec4(0.0);
    [[unroll]] for (uint c = 0u; c < 4u; c++)
        if (k + c < p.K)
            v[c] = src1_f32(col + 4u * (k + c));
    return v;
}

void main() {
    uint tiles_n = (p.N + TN - 1u) / TN, tiles_m = (p.M + TM - 1u) / TM;
    uint g = group_index();
    uint n0 = (g % tiles_n) * TN;
    g /= tiles_n;
    uint m0 = (g % tiles_m) * TM;
    g /= tiles_m;
    uint b2 = g % p.x_ne2, b3 = g / p.x_ne2;
    if (b3 >= p.x_ne3)
        return;
    uint tid = gl_LocalInvocationID.x;
    uint tn = tid % 16u, tm = tid / 16u;

    // Each thread stages two vec4s of each slice: row (or column) q / 4,
    // elements 4 * (q % 4) .. +3, for q = tid and tid + 128, so that
    // neighbouring threads read neighbouring bytes. Rows past N and columns
    // past M repeat the last one; their results are not written.
    uint wb2 = b2 / (p.x_ne2 / p.w_ne2), wb3 = b3 / (p.x_ne3 / p.w_ne3);
    uint w_base = p.off_w + wb2 * p.nb_w2 + wb3 * p.nb_w3;
    uint u_base = p.off_c + wb2 * p.nb_c2 + wb3 * p.nb_c3;
    uint x_base = p.off_x + b2 * p.nb_x2 + b3 * p.nb_x3;
    uint w_row[2], u_row[2], x_col[2], slot[2], kq[2];
    [[unroll]] for (uint h = 0u; h < 2u; h++) {
        uint q = tid + 128u * h;
        slot[h] = q / 4u;
        kq[h] = 4u * (q % 4u);
        w_row[h] = w_base + min(n0 + slot[h], p.N - 1u) * p.nb_w1;
        u_row[h] = u_base + min(n0 + slot[h], p.N - 1u) * p.nb_c1;
        x_col[h] = x_base + min(m0 + slot[h], p.M - 1u) * p.nb_x1;
    }

    vec4 acc[8], acc_up[8];  // acc[j][i]: column 8tm + j, row 4tn + i
    [[unroll]] for (uint j = 0u; j < 8u; j++) {
        acc[j] = vec4(0.0);
        acc_up[j] = vec4(0.0);
    }

    for (uint k0 = 0u; k0 < p.K; k0 += TK) {
        [[unroll]] for (uint h = 0u; h < 2u; h++) {
            vec4 w = load_w(0u, w_row[h], k0 + kq[h]);
            vec4 x = load_x(x_col[h], k0 + kq[h]);
            uint v = slot[h] / 4u, e = slot[h] % 4u;
            [[unroll]] for (uint c = 0u; c < 4u; c++) {
                ws[(kq[h] + c) * TS + v][e] = w[c];
                xs[(kq[h] + c) * TS + v][e] = x[c];
            }
            if (SWIGLU) {
                vec4 u = load_w(1u, u_row[h], k0 + kq[h]);
                [[unroll]] for (uint c = 0u; c < 4u; c++)
                    us[(kq[h] + c) * TS + v][e] = u[c];
            }
        }
        barrier();
        [[unroll]] for (uint k = 0u; k < TK; k++) {
            vec4 a = ws[k * TS + tn];
            vec4 b0 = xs[k * TS + 2u * tm], b1 = xs[k * TS + 2u * tm + 1u];
            [[unroll]] for (uint j = 0u; j < 4u; j++) {
                acc[j] += a * b0[j];
                acc[j + 4u] += a * b1[j];
            }
            if (SWIGLU) {
                vec4 a_up = us[k * TS + tn];
                [[unroll]] for (uint j = 0u; j < 4u; j++) {
                    acc_up[j] += a_up * b0[j];
                    acc_up[j + 4u] += a_up * b1[j];
                }
            }
        }
        barrier();
    }

    uint d_base = p.off_d + b2 * p.nb_d2 + b3 * p.nb_d3;
    [[unroll]] for (uint j = 0u; j < 8u; j++) {
        uint m = m0 + 8u * tm + j;
        [[unroll]] for (uint i = 0u; i < 4u; i++) {
            uint n = n0 + 4u * tn + i;
            if (n < p.N && m < p.M)
                dst_f32(d_base + 4u * n + m * p.nb_d1,
                        epilogue(acc[j][i], acc_up[j][i], n, m, b2, b3));
        }
    }
}
