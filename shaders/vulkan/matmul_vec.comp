#version 450
// matmul_vec.comp: MATMUL streaming weight rows. A workgroup computes
// ROWS x COLS register tiles: rows of the weights by activation columns
// m0 .. m0+COLS-1 of one batch (b2, b3). Its WG threads form WG / LANES sets
// of LANES threads, each set a tile of its own ROWS rows; the threads of a
// set take consecutive units of those rows (dequant.glsl). A thread reads a
// unit of each of its rows, then for each vec4 of the unit loads the COLS
// activations once and dequantises each row's vec4 once, so every word it
// loads feeds ROWS or COLS products. The partial sums of a set are then
// added: with USE_SUBGROUPS by subgroupAdd, then through shared memory only
// where the workgroup holds more than one subgroup; without, by a
// shared-memory tree. Several sets (LANES < WG) need the workgroup to be one
// subgroup with USE_SUBGROUPS. MATMUL_SWIGLU streams the same rows of the up
// weights (binding 2) beside the gate's, against the same activation loads,
// into a second set of sums. MATMUL_QKV's rows are Wq's (binding 0), then
// Wk's (binding 2, from row p.n_k0), then Wv's (binding 4, from p.n_v0); the
// workgroups take row groups of each weight in turn, so that a workgroup
// reads one weight (a uniform branch to a copy of the loop for it), and
// write each weight's product contiguous ([rows, M]) after the previous one.
// Specialisation constants: 0 WG (a power of two), 1 ROWS, 2 COLS, 3 LANES
// (a power of two dividing WG), 4 FUSED: 0 none, 1 MATMUL_SWIGLU
// (matmul_epilogue.glsl), 2 MATMUL_QKV.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#ifdef USE_SUBGROUPS
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "common.glsl"
#include "dequant.glsl"

layout(constant_id = 0) const uint WG = 64;
layout(constant_id = 1) const uint ROWS = 2;
layout(constant_id = 2) const uint COLS = 1;
layout(constant_id = 3) const uint LANES = 64;
layout(constant_id = 4) const uint FUSED = 0;
const bool SWIGLU = FUSED == 1u;
const bool QKV = FUSED == 2u;
layout(local_size_x_id = 0) in;

layout(push_constant) uniform PC { erg_vk_push_matmul p; };

#include "matmul_epilogue.glsl"

const uint SETS = WG / LANES;
const uint OUT = ROWS * COLS;
// Sums: output o of the gate (or only) product at o, of the up product at OUT + o.
const uint SUMS = OUT * PRODS;

// Partial sums: sum o of thread (or subgroup) t at red[o * WG + t].
shared float red[SUMS * WG];

vec4 x4(uint o) { return vec4(src1_f32(o), src1_f32(o + 4u), src1_f32(o + 8u), src1_f32(o + 12u)); }

uint row_groups_of(uint n) { return (n + ROWS * SETS - 1u) / (ROWS * SETS); }

// This thread's partial sums over its rows of the weights at binding wsel
// (a literal: the choice folds away) and, with SWIGLU, of the up rows.
void accumulate(uint wsel, uint lane, uint rows[ROWS], uint up_rows[ROWS], uint cols[COLS],
                inout float acc[SUMS]) {
    uint n_blocks = p.K / WT_BLOCK;
    for (uint i = lane; i < n_blocks * WT_UNITS; i += LANES) {
        uint b = i / WT_UNITS, u = i % WT_UNITS;
        uint xk = 4u * (b * WT_BLOCK + u * WT_UNIT_K);
        wt_unit units[ROWS], ups[ROWS];
        [[unroll]] for (uint r = 0u; r < ROWS; r++) {
            units[r] = wt_load(wsel, rows[r] + b * WT_BLOCK_BYTES, u);
            if (SWIGLU)
                ups[r] = wt_load(1u, up_rows[r] + b * WT_BLOCK_BYTES, u);
        }
        [[unroll]] for (uint j = 0u; j < WT_UNIT_VECS; j++) {
            vec4 x[COLS];
            [[unroll]] for (uint c = 0u; c < COLS; c++)
                x[c] = x4(cols[c] + xk + 16u * j);
            [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                vec4 w = wt_vec(units[r], u, j);
                [[unroll]] for (uint c = 0u; c < COLS; c++)
                    acc[r * COLS + c] += dot(w, x[c]);
                if (SWIGLU) {
                    vec4 wu = wt_vec(ups[r], u, j);
                    [[unroll]] for (uint c = 0u; c < COLS; c++)
                        acc[OUT + r * COLS + c] += dot(wu, x[c]);
                }
            }
        }
    }
#ifdef WT_PLAIN
    for (uint k = n_blocks * WT_BLOCK + lane; k < p.K; k += LANES) {
        [[unroll]] for (uint c = 0u; c < COLS; c++) {
            float xv = src1_f32(cols[c] + 4u * k);
            [[unroll]] for (uint r = 0u; r < ROWS; r++) {
                acc[r * COLS + c] += wt_get1(wsel, rows[r], k) * xv;
                if (SWIGLU)
                    acc[OUT + r * COLS + c] += wt_get1(1u, up_rows[r], k) * xv;
            }
        }
    }
#endif
}

void main() {
    uint row_groups = QKV ? row_groups_of(p.n_k0) + row_groups_of(p.n_v0 - p.n_k0) +
                                row_groups_of(p.N - p.n_v0)
                          : row_groups_of(p.N);
    uint col_groups = (p.M + COLS - 1u) / COLS;
    uint g = group_index();
    uint tid = gl_LocalInvocationID.x, set = tid / LANES, lane = tid % LANES;
    uint rg = g % row_groups;
    g /= row_groups;
    // The weight whose rows the workgroup takes (part: 0 Wq, 1 Wk, 2 Wv),
    // its first row and row count; one weight of N rows unless QKV.
    uint part = 0u, first = 0u, n_rows = p.N;
    if (QKV) {
        uint gq = row_groups_of(p.n_k0), gk = row_groups_of(p.n_v0 - p.n_k0);
        part = rg < gq ? 0u : rg < gq + gk ? 1u : 2u;
        first = part == 0u ? 0u : part == 1u ? p.n_k0 : p.n_v0;
        n_rows = (part == 0u ? p.n_k0 : part == 1u ? p.n_v0 : p.N) - first;
        rg -= part == 0u ? 0u : part == 1u ? gq : gq + gk;
    }
    uint n0 = rg * ROWS * SETS + set * ROWS;
    uint m0 = (g % col_groups) * COLS, batch = g / col_groups;
    uint b2 = batch % p.x_ne2, b3 = batch / p.x_ne2;
    if (b3 >= p.x_ne3)
        return;

    // Rows past the weight's last repeat it and columns past M column M-1:
    // neither is written.
    uint wb2 = b2 / (p.x_ne2 / p.w_ne2), wb3 = b3 / (p.x_ne3 / p.w_ne3);
    uint w_off = part == 0u ? p.off_w : part == 1u ? p.off_c : p.off_v;
    uint w_base = w_off + wb2 * p.nb_w2 + wb3 * p.nb_w3;
    uint u_base = p.off_c + wb2 * p.nb_c2 + wb3 * p.nb_c3;
    uint rows[ROWS], up_rows[ROWS];
    [[unroll]] for (uint r = 0u; r < ROWS; r++) {
        rows[r] = w_base + min(n0 + r, n_rows - 1u) * p.nb_w1;
        up_rows[r] = u_base + min(n0 + r, p.N - 1u) * p.nb_c1;
    }
    uint x_base = p.off_x + b2 * p.nb_x2 + b3 * p.nb_x3;
    uint cols[COLS];
    [[unroll]] for (uint c = 0u; c < COLS; c++)
        cols[c] = x_base + min(m0 + c, p.M - 1u) * p.nb_x1;

    float acc[SUMS];
    [[unroll]] for (uint o = 0u; o < SUMS; o++)
        acc[o] = 0.0;
    if (!QKV || part == 0u)
        accumulate(0u, lane, rows, up_rows, cols, acc);
    else if (part == 1u)
        accumulate(1u, lane, rows, up_rows, cols, acc);
    else
        accumulate(2u, lane, rows, up_rows, cols, acc);

    // QKV: the weight's product is [n_rows, M], contiguous from row `first`'s place.
    uint d_col = QKV ? 4u * n_rows : p.nb_d1;
    uint d_base = p.off_d + 4u * first * p.M + 4u * n0 + m0 * d_col + b2 * p.nb_d2 + b3 * p.nb_d3;
#ifdef USE_SUBGROUPS
    [[unroll]] for (uint o = 0u; o < SUMS; o++)
        acc[o] = subgroupAdd(acc[o]);
    if (subgroupElect()) {
        [[unroll]] for (uint o = 0u; o < SUMS; o++)
            red[o * WG + gl_SubgroupID] = acc[o];
    }
    barrier();
    uint parts = gl_NumSubgroups;
#else
    [[unroll]] for (uint o = 0u; o < SUMS; o++)
        red[o * WG + tid] = acc[o];
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (tid < s) {
            [[unroll]] for (uint o = 0u; o < SUMS; o++)
                red[o * WG + tid] += red[o * WG + tid + s];
        }
        barrier();
    }
    uint parts = 1u;
#endif

    for (uint o = tid; o < OUT; o += WG) {
        uint r = o / COLS, c = o % COLS;
        if (n0 + r < n_rows && m0 + c < p.M) {
            float sum = 0.0, up = 0.0;
            for (uint t = 0u; t < parts; t++) {
                sum += red[o * WG + t];
                if (SWIGLU)
                    up += red[(OUT + o) * WG + t];
            }
            dst_f32(d_base + 4u * r + c * d_col, epilogue(sum, up, n0 + r, m0 + c, b2, b3));
        }
    }
}
