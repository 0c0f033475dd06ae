/*
 * softmax.cl: softmax over each row of x * scale. With the causal mask,
 * row i1 (the query at position n_past + i1) sees columns j <= n_past + i1
 * only; the others are 0, and a row that sees nothing is all 0 (not NaN).
 * One work-group per row; NDRange (LWS * rows).
 */
KERNEL void k_softmax(__global const uchar *x, ulong x_off, long4 x_nb, __global uchar *y,
                      ulong y_off, long4 y_nb, long4 ne, float scale, int causal, int n_past) {
    __local float scratch[LWS];
    long4 i = row_index(get_group_id(0), ne);
    __global const float *xr = (__global const float *)row_at(x + x_off, x_nb, i.s1, i.s2, i.s3);
    __global float *yr = (__global float *)row_at_w(y + y_off, y_nb, i.s1, i.s2, i.s3);
    long n = ne.s0, valid = causal ? min((long)n_past + i.s1 + 1, n) : n;
    float mx = -INFINITY;
    for (long k = get_local_id(0); k < valid; k += LWS)
        mx = fmax(mx, xr[k] * scale);
    mx = group_max(mx, scratch);
    float part = 0.0f;
    for (long k = get_local_id(0); k < valid; k += LWS) {
        float e = exp(xr[k] * scale - mx);
        yr[k] = e;
        part += e;
    }
    float inv = 1.0f / group_sum(part, scratch);
    /* Each work-item rescales the elements it wrote itself. */
    for (long k = get_local_id(0); k < n; k += LWS)
        yr[k] = k < valid ? yr[k] * inv : 0.0f;
}
