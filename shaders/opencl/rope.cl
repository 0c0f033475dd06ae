/*
 * rope.cl: rotary position embedding. x is [head_dim, heads, tokens, 1];
 * pair j of token t turns by theta = pos[t] * freq_scale * base^(-2j/n_dims)
 * (divided by factor j when freq factors are given). NORMAL rotates
 * (x[2j], x[2j+1]), NEOX (x[j], x[j + n_dims/2]); elements past n_dims are
 * copied. y is F32, or for ROPE_STORE F32, F16 or BF16 (y_type: the
 * KV-cache write). One work-group per row (head, token); NDRange
 * (LWS * rows).
 *
 * Angles reach thousands of radians, where a float is off by 1e-4 rad: theta
 * is kept as a float-float pair (hi + lo, about 44 bits) from the position
 * to its reduction modulo 2 pi, and only the reduced angle is a float. That
 * needs neither fp64 nor anything past OpenCL 1.2 (fma is core).
 */

/* Exact sum of two floats as hi + lo. */
float2 ff_two_sum(float a, float b) {
#pragma OPENCL FP_CONTRACT OFF
    float s = a + b;
    float bb = s - a;
    float e = (a - (s - bb)) + (b - bb);
    return (float2)(s, e);
}

/* a + b renormalised, |a| >= |b|. */
float2 ff_fast_two_sum(float a, float b) {
#pragma OPENCL FP_CONTRACT OFF
    float s = a + b;
    float e = b - (s - a);
    return (float2)(s, e);
}

float2 ff_add(float2 a, float2 b) {
#pragma OPENCL FP_CONTRACT OFF
    float2 s = ff_two_sum(a.x, b.x);
    float e = s.y + (a.y + b.y);
    return ff_fast_two_sum(s.x, e);
}

float2 ff_mul(float2 a, float2 b) {
#pragma OPENCL FP_CONTRACT OFF
    float p = a.x * b.x;
    float e = fma(a.x, b.x, -p); /* the exact rounding error of p */
    e = fma(a.x, b.y, e);
    e = fma(a.y, b.x, e);
    return ff_fast_two_sum(p, e);
}

float2 ff_mul_f(float2 a, float b) {
#pragma OPENCL FP_CONTRACT OFF
    float p = a.x * b;
    float e = fma(a.x, b, -p);
    e = fma(a.y, b, e);
    return ff_fast_two_sum(p, e);
}

float2 ff_div_f(float2 a, float b) {
#pragma OPENCL FP_CONTRACT OFF
    float q = a.x / b;
    float r = fma(-q, b, a.x) + a.y; /* what q leaves of a */
    return ff_fast_two_sum(q, r / b);
}

/* base^e for an integer e >= 0, by squaring. */
float2 ff_pow(float2 base, int e) {
    float2 r = (float2)(1.0f, 0.0f);
    while (e) {
        if (e & 1)
            r = ff_mul(r, base);
        base = ff_mul(base, base);
        e >>= 1;
    }
    return r;
}

/* theta modulo 2 pi, in [-pi, pi], as a float. */
float ff_reduce_2pi(float2 theta) {
#pragma OPENCL FP_CONTRACT OFF
    const float2 two_pi = (float2)(6.28318548202514648f, -1.74845553146951715e-07f);
    float k = rint(theta.x * 0.159154943091895336f);
    float2 r = ff_add(theta, ff_mul_f(two_pi, -k));
    return r.x + r.y;
}

/* (cos, sin) of pair j's angle p * freq_scale * theta_scale^j / factor
 * (factor 0: none). theta_scale: base^(-2/n_dims) as a float-float pair,
 * made on the host in double. Shared with attention.cl's rotation of q. */
float2 rope_cos_sin(int p, float freq_scale, float2 theta_scale, int j, float factor) {
    /* p * freq_scale, exactly */
    float pf = (float)p * freq_scale;
    float2 start = (float2)(pf, fma((float)p, freq_scale, -pf));
    float2 theta = ff_mul(start, ff_pow(theta_scale, j));
    if (factor != 0.0f)
        theta = ff_div_f(theta, factor);
    float a = ff_reduce_2pi(theta);
    return (float2)(cos(a), sin(a));
}

/* has_factors: ff holds n_dims/2 F32 factors. */
KERNEL void k_rope(__global const uchar *x, ulong x_off, long4 x_nb, __global const uchar *pos,
                   ulong pos_off, long pos_nb0, __global const uchar *ff, ulong ff_off,
                   int has_factors, __global uchar *y, ulong y_off, long4 y_nb, long4 ne,
                   int y_type, int n_dims, int neox, float2 theta_scale, float freq_scale) {
    long4 i = row_index(get_group_id(0), ne);
    __global const float *xr = (__global const float *)row_at(x + x_off, x_nb, i.s1, i.s2, i.s3);
    __global uchar *yr = row_at_w(y + y_off, y_nb, i.s1, i.s2, i.s3);
    long ys = y_nb.s0;
    int p = *(__global const int *)(pos + pos_off + i.s2 * pos_nb0);
    int half_ = n_dims / 2;
    for (int j = get_local_id(0); j < half_; j += LWS) {
        float factor = has_factors ? ((__global const float *)(ff + ff_off))[j] : 0.0f;
        float2 cs = rope_cos_sin(p, freq_scale, theta_scale, j, factor);
        float c = cs.x, s = cs.y;
        int i0 = neox ? j : 2 * j, i1 = neox ? j + half_ : 2 * j + 1;
        float x0 = xr[i0], x1 = xr[i1];
        store_as(yr + i0 * ys, x0 * c - x1 * s, y_type);
        store_as(yr + i1 * ys, x0 * s + x1 * c, y_type);
    }
    for (long k = n_dims + get_local_id(0); k < ne.s0; k += LWS)
        store_as(yr + k * ys, xr[k], y_type);
}
