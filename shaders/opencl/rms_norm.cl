/*
 * rms_norm.cl: y = x / sqrt(mean(x^2) + eps) over each row, times w when
 * has_w (RMS_NORM_MUL: w broadcast over x as MUL's src1, each index modulo
 * w's extent). One work-group per row; NDRange (LWS * rows).
 */
KERNEL void k_rms_norm(__global const uchar *x, ulong x_off, long4 x_nb, __global const uchar *w,
                       ulong w_off, long4 w_nb, long4 w_ne, int has_w, __global uchar *y,
                       ulong y_off, long4 y_nb, long4 ne, float eps) {
    __local float scratch[LWS];
    long4 i = row_index(get_group_id(0), ne);
    __global const float *xr = (__global const float *)row_at(x + x_off, x_nb, i.s1, i.s2, i.s3);
    __global const float *wr = (__global const float *)row_at(
        w + w_off, w_nb, i.s1 % w_ne.s1, i.s2 % w_ne.s2, i.s3 % w_ne.s3);
    __global float *yr = (__global float *)row_at_w(y + y_off, y_nb, i.s1, i.s2, i.s3);
    float sq = 0.0f;
    for (long k = get_local_id(0); k < ne.s0; k += LWS)
        sq += xr[k] * xr[k];
    float sum = group_sum(sq, scratch);
    float s = 1.0f / sqrt(sum / (float)ne.s0 + eps);
    for (long k = get_local_id(0); k < ne.s0; k += LWS)
        yr[k] = has_w ? xr[k] * s * wr[k % w_ne.s0] : xr[k] * s;
}
