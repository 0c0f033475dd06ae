/*
 * elementwise.cl: ADD, MUL, SWIGLU (src1 broadcast over src0: a src1 row
 * shorter than the result's repeats along it), SCALE, SILU, GELU, and FILL
 * (every element = scale; src0 is the result). Rows of the sources are
 * contiguous (F32), any strides between rows.
 *
 * NDRange (LWS * g, rows): the g work-groups of a row stride along it.
 */
#define EW_ADD 0
#define EW_MUL 1
#define EW_SWIGLU 2
#define EW_SCALE 3
#define EW_SILU 4
#define EW_GELU 5
#define EW_FILL 6

float silu(float x) { return x / (1.0f + exp(-x)); }

/* 0.5 x (1 + tanh(u)) written as x / (1 + exp(-2u)): the same function,
 * without the cancellation of 1 + tanh(u) for large negative u. */
float gelu(float x) {
    float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return x / (1.0f + exp(-2.0f * u));
}

KERNEL void k_elementwise(int op, float scale, __global const uchar *a, ulong a_off, long4 a_nb,
                          __global const uchar *b, ulong b_off, long4 b_nb, long4 b_ne,
                          __global uchar *y, ulong y_off, long4 y_nb, long4 ne) {
    long4 i = row_index(get_global_id(1), ne);
    __global const float *ar = (__global const float *)row_at(a + a_off, a_nb, i.s1, i.s2, i.s3);
    __global const float *br = (__global const float *)row_at(
        b + b_off, b_nb, i.s1 % b_ne.s1, i.s2 % b_ne.s2, i.s3 % b_ne.s3);
    __global float *yr = (__global float *)row_at_w(y + y_off, y_nb, i.s1, i.s2, i.s3);
    for (long i0 = get_global_id(0); i0 < ne.s0; i0 += get_global_size(0)) {
        float x = op == EW_FILL ? 0.0f : ar[i0], r;
        switch (op) {
        case EW_ADD: r = x + br[i0 % b_ne.s0]; break;
        case EW_MUL: r = x * br[i0 % b_ne.s0]; break;
        case EW_SWIGLU: r = silu(x) * br[i0 % b_ne.s0]; break;
        case EW_SCALE: r = x * scale; break;
        case EW_SILU: r = silu(x); break;
        case EW_FILL: r = scale; break;
        default: r = gelu(x); break;
        }
        yr[i0] = r;
    }
}
