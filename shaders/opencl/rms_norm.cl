/*
 * rms_norm.cl: y = x / sqrt(mean(x^2) + eps) over each row. One work-group
 * per row; NDRange (LWS * rows).
 */
KERNEL void k_rms_norm(__global const uchar *x, ulong x_off, long4 x_nb, __global uchar *y,
                       ulong y_off, long4 y_nb, long4 ne, float eps) {
    __local float scratch[LWS];
    long4 i = row_index(get_group_id(0), ne);
    __global const float *xr = (__global const float *)row_at(x + x_off, x_nb, i.s1, i.s2, i.s3);
    __global float *yr = (__global float *)row_at_w(y + y_off, y_nb, i.s1, i.s2, i.s3);
    float sq = 0.0f;
    for (long k = get_local_id(0); k < ne.s0; k += LWS)
        sq += xr[k] * xr[k];
    float sum = group_sum(sq, scratch);
    float s = 1.0f / sqrt(sum / (float)ne.s0 + eps);
    for (long k = get_local_id(0); k < ne.s0; k += LWS)
        yr[k] = xr[k] * s;
}
