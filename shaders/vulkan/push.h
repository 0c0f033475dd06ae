/*
 * push.h: the push-constant blocks of erg's Vulkan kernels, written once and
 * included by both the C host code and the GLSL shaders, so the two layouts
 * cannot drift. Every field is 4 bytes, which std430 push-constant blocks and
 * C lay out identically; the host static_asserts each size against the
 * 128 bytes every Vulkan device guarantees.
 *
 * Conventions shared by every kernel:
 *  - bindings 0, 1, 2 hold sources 0, 1, 2 of the node, binding 3 its
 *    result; each is a buffer of 32-bit words;
 *  - off_* is the byte offset of the tensor's first element inside its
 *    binding (bindings start at an aligned offset below the tensor);
 *  - nb_* are byte strides, ne_* element counts, as in the IR;
 *  - workgroups are laid out in x then y (x at most 65535), and a kernel
 *    finds its linear group as x + y * gl_NumWorkGroups.x.
 */
#ifndef ERG_VK_PUSH_H
#define ERG_VK_PUSH_H

#ifdef GL_core_profile
#define ERG_U32 uint
#define ERG_F32 float
#else
#include <stdint.h>
#define ERG_U32 uint32_t
#define ERG_F32 float
#endif

/* SCALE, SILU, GELU, SOFTMAX, CPY, FILL: one source of shape ne to a
 * result of the same shape, both with any strides (CPY reads transposed
 * views and writes transposed cache rows; FILL only writes). */
struct erg_vk_push_unary {
    ERG_U32 off_a, off_d;
    ERG_U32 ne0, ne1, ne2, ne3;
    ERG_U32 nb_a0, nb_a1, nb_a2, nb_a3;
    ERG_U32 nb_d0, nb_d1, nb_d2, nb_d3;
    ERG_U32 i0, i1;   /* SOFTMAX: causal, n_past */
    ERG_F32 f0;       /* SCALE: scale; SOFTMAX: scale; FILL: the value */
};

/* ADD, MUL, SWIGLU: src1 (shape ne_b) broadcast over src0 (shape ne). */
struct erg_vk_push_binary {
    ERG_U32 off_a, off_b, off_d;
    ERG_U32 ne0, ne1, ne2, ne3;
    ERG_U32 nb_a1, nb_a2, nb_a3;
    ERG_U32 ne_b0, ne_b1, ne_b2, ne_b3;
    ERG_U32 nb_b1, nb_b2, nb_b3;
    ERG_U32 nb_d1, nb_d2, nb_d3;
};

/* RMS_NORM and RMS_NORM_MUL: rows of src0 (shape ne) normalised, then, for
 * RMS_NORM_MUL, times src1 (shape ne_b) broadcast as MUL's. */
struct erg_vk_push_norm {
    ERG_U32 off_a, off_b, off_d;
    ERG_U32 ne0, ne1, ne2, ne3;
    ERG_U32 nb_a1, nb_a2, nb_a3;
    ERG_U32 ne_b0, ne_b1, ne_b2, ne_b3;
    ERG_U32 nb_b1, nb_b2, nb_b3;
    ERG_U32 nb_d1, nb_d2, nb_d3;
    ERG_F32 eps;
};

/* ROPE and ROPE_STORE: src0 [ne0 = head dim, ne1 = heads, ne2 = tokens], src1 I32
 * positions [ne2], binding 2 optional F32 frequency factors [n_dims / 2];
 * the result (ROPE_STORE: a cache view, F32/F16/BF16) has strides nb_d. */
struct erg_vk_push_rope {
    ERG_U32 off_a, off_p, off_f, off_d;
    ERG_U32 ne0, ne1, ne2, ne3;
    ERG_U32 nb_a1, nb_a2, nb_a3;
    ERG_U32 nb_d1, nb_d2, nb_d3;
    ERG_U32 n_dims, mode, has_factors;
    /* theta_j = pos * freq_scale * step^j with step = base^(-2 / n_dims),
     * computed by the host in double and passed as a float pair */
    ERG_F32 step_hi, step_lo, freq_scale;
};

/* GET_ROWS: rows src1[i] of the weight matrix src0 (row length ne0, row
 * stride nb_w1, w_rows rows), dequantised to F32 rows of dst (stride
 * nb_d1); an id outside [0, w_rows) gives a row of zeros. */
struct erg_vk_push_get_rows {
    ERG_U32 off_w, off_i, off_d;
    ERG_U32 ne0, n_rows;
    ERG_U32 nb_w1, nb_d1;
    ERG_U32 w_rows;
};

/* MATMUL: dst[n, m] = sum_k w[k, n] * x[k, m] over batches (b2, b3) of x;
 * w broadcasts: batch b2 of x reads w batch b2 / (x_ne2 / w_ne2).
 * The fused epilogues read src2 at off_c: with add set (MATMUL_ADD) the F32
 * addend (shape ne_c, broadcast by modulo, row strides nb_c); MATMUL_SWIGLU
 * (the kernels' SWIGLU constant) the up weights (w's type and shape,
 * strides nb_c; ne_c unused). */
struct erg_vk_push_matmul {
    ERG_U32 off_w, off_x, off_d;
    ERG_U32 K, N, M;
    ERG_U32 w_ne2, w_ne3, nb_w1, nb_w2, nb_w3;
    ERG_U32 x_ne2, x_ne3, nb_x1, nb_x2, nb_x3;
    ERG_U32 nb_d1, nb_d2, nb_d3;
    ERG_U32 add, off_c, ne_c0, ne_c1, ne_c2, ne_c3, nb_c1, nb_c2, nb_c3;
    ERG_U32 n_k0, n_v0, off_v; /* MATMUL_QKV: first rows of Wk and Wv; Wv's offset */
};

/* ATTENTION: q [D, nt, H] (src0, F32), K [D, n_kv, H / group] (src1) and
 * V [n_kv, Dv, H / group] (src2, transposed), K and V F32 or F16 by the
 * shader's constant; dst [Dv, H, nt] F32. Head h reads KV head h / group;
 * with causal set, position j is masked for token i when j > n_past + i.
 * n_dims > 0: q is rotated first as ROPE does (positions at binding 4,
 * factors at binding 5 where has_factors), the rest as erg_vk_push_rope. */
struct erg_vk_push_attention {
    ERG_U32 off_q, off_k, off_v, off_d;
    ERG_U32 D, Dv, nt, H, n_kv, group;
    ERG_U32 nb_q1, nb_q2, nb_k1, nb_k2, nb_v1, nb_v2, nb_d1, nb_d2;
    ERG_U32 causal, n_past;
    ERG_F32 scale;
    ERG_U32 off_p, off_f, n_dims, mode, has_factors;
    ERG_F32 step_hi, step_lo, freq_scale;
};

#endif
