/*
 * cpy.cl: copies F32 elements (any strides, such as a transposed view) into
 * F32, F16 or BF16 (any strides between elements too: the transposed V-cache
 * write), rounding to nearest even.
 *
 * NDRange (LWS * g, rows of the source): the g work-groups of a row stride
 * along it.
 */
KERNEL void k_cpy(__global const uchar *x, ulong x_off, long4 x_nb, __global uchar *y,
                  ulong y_off, long4 y_nb, long4 ne, int y_type) {
    long4 i = row_index(get_global_id(1), ne);
    __global const uchar *xr = row_at(x + x_off, x_nb, i.s1, i.s2, i.s3);
    __global uchar *yr = row_at_w(y + y_off, y_nb, i.s1, i.s2, i.s3);
    for (long i0 = get_global_id(0); i0 < ne.s0; i0 += get_global_size(0))
        store_as(yr + i0 * y_nb.s0, *(__global const float *)(xr + i0 * x_nb.s0), y_type);
}
