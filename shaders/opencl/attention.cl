/*
 * attention.cl: ATTENTION, y[:, h, i] = softmax_j(scale K[:, j, hk] . q[:, i, h]) V[j, :, hk]
 * for query row i of head h, hk = h / (H / Hkv), in one pass over the keys
 * (flash attention). With the causal mask, row i sees j <= n_past + i only;
 * a row that sees nothing is 0, as SOFTMAX then MATMUL give.
 *
 * One work-group per (head, query row); NDRange (LWS * H, nt). The keys go
 * by blocks of AT_BLOCK: work-item t scores keys j0 + t, j0 + t + LWS, ...
 * (dot products along their contiguous K rows), the block's maximum and
 * sum come from the group reductions, and the running maximum m and sum l
 * are rescaled by exp(m_old - m_new) as in online softmax. V is stored
 * transposed ([n_kv, Dv, Hkv]: a row holds one feature at every position),
 * so work-item t owns features t, t + LWS, ... and adds the block's
 * probabilities times a contiguous stretch of each of their rows. The
 * unnormalised output accumulates in y's row itself (F32, owned by this
 * group), which bounds neither D nor Dv; it is divided by l at the end.
 *
 * q: F32 rows (any strides between them); K, V: F16 or F32 rows (k_f16,
 * v_f16); dims = (D, Dv, n_kv, H / Hkv). The group first copies its q row
 * into local memory (at most AT_MAX_D elements), rotated as ROPE rotates it
 * where n_dims > 0 (positions pos, factors ff where has_factors: rope.cl).
 */

/* Keys a work-item scores per block, and the block: the group reductions
 * are paid once per block. */
#define AT_KEYS 4
#define AT_BLOCK (AT_KEYS * LWS)
#define AT_MAX_D 512 /* ERG_CL_ATTENTION_MAX_D of cl_program.h */

/* Element i of an F16 or F32 row. */
float load_elem(__global const uchar *row, int f16, long i) {
    return f16 ? load_f16(row + 2 * i) : ((__global const float *)row)[i];
}

/* Eight elements 8i..8i+7 of an F16 or F32 row. */
float8 load_elem8(__global const uchar *row, int f16, long i) {
    return f16 ? vload_half8(i, (__global const half *)row)
               : vload8(i, (__global const float *)row);
}

/* K row kr (D elements) . q. */
float attention_score(__global const uchar *kr, int k_f16, __local const float *q, long D) {
    float8 acc = 0.0f;
    long d = 0;
    for (; d + 8 <= D; d += 8)
        acc += load_elem8(kr, k_f16, d / 8) * vload8(d / 8, q);
    float s = hsum8(acc);
    for (; d < D; d++)
        s += load_elem(kr, k_f16, d) * q[d];
    return s;
}

/* p[0, n) . elements [0, n) of the V row vr. */
float attention_mix(__global const uchar *vr, int v_f16, __local const float *p, int n) {
    float8 acc = 0.0f;
    int j = 0;
    for (; j + 8 <= n; j += 8)
        acc += load_elem8(vr, v_f16, j / 8) * vload8(j / 8, p);
    float s = hsum8(acc);
    for (; j < n; j++)
        s += load_elem(vr, v_f16, j) * p[j];
    return s;
}

/* Element d of q row qr (D elements), rotated where n_dims > 0. */
float q_elem(__global const float *qr, int d, int p, int n_dims, int neox, float2 theta_scale,
             float freq_scale, __global const float *ff, int has_factors) {
    if (d >= n_dims)
        return qr[d];
    int half_ = n_dims / 2;
    int j = neox ? d % half_ : d / 2;
    int first = neox ? d < half_ : (d & 1) == 0;
    int other = neox ? (first ? d + half_ : d - half_) : d ^ 1;
    float2 cs = rope_cos_sin(p, freq_scale, theta_scale, j, has_factors ? ff[j] : 0.0f);
    float x = qr[d], y = qr[other];
    return first ? x * cs.x - y * cs.y : y * cs.y + x * cs.x;
}

KERNEL void k_attention(__global const uchar *q, ulong q_off, long4 q_nb, __global const uchar *k,
                        ulong k_off, long4 k_nb, int k_f16, __global const uchar *v, ulong v_off,
                        long4 v_nb, int v_f16, __global uchar *y, ulong y_off, long4 y_nb,
                        long4 dims, float scale, int causal, int n_past,
                        __global const uchar *pos, ulong pos_off, __global const uchar *ff,
                        ulong ff_off, int has_factors, int n_dims, int neox, float2 theta_scale,
                        float freq_scale) {
    __local float scratch[LWS], p[AT_BLOCK], qr[AT_MAX_D];
    int lid = (int)get_local_id(0);
    long h = get_group_id(0), i = get_global_id(1), hk = h / dims.s3;
    long D = dims.s0, Dv = dims.s1, n_kv = dims.s2, v_size = v_f16 ? 2 : 4;
    __global const float *qg = (__global const float *)row_at(q + q_off, q_nb, i, h, 0);
    int qp = n_dims > 0 ? ((__global const int *)(pos + pos_off))[i] : 0;
    for (int d = lid; d < D; d += LWS)
        qr[d] = q_elem(qg, d, qp, n_dims, neox, theta_scale, freq_scale,
                       (__global const float *)(ff + ff_off), has_factors);
    barrier(CLK_LOCAL_MEM_FENCE);
    __global const uchar *kh = k + k_off + hk * k_nb.s2;
    __global const uchar *vh = v + v_off + hk * v_nb.s2;
    __global float *yr = (__global float *)row_at_w(y + y_off, y_nb, h, i, 0);
    long n = causal ? clamp((long)n_past + i + 1, 0L, n_kv) : n_kv;
    float m = -INFINITY, l = 0.0f;
    for (long j0 = 0; j0 < n; j0 += AT_BLOCK) {
        int nb = (int)min((long)AT_BLOCK, n - j0);
        float s[AT_KEYS], mx = -INFINITY;
        for (int t = 0; t < AT_KEYS; t++) {
            int j = lid + t * LWS;
            s[t] = j < nb ? scale * attention_score(kh + (j0 + j) * k_nb.s1, k_f16, qr, D)
                          : -INFINITY;
            mx = fmax(mx, s[t]);
        }
        float m_new = fmax(m, group_max(mx, scratch)), sum = 0.0f;
        for (int t = 0; t < AT_KEYS; t++) {
            float e = lid + t * LWS < nb ? exp(s[t] - m_new) : 0.0f;
            p[lid + t * LWS] = e;
            sum += e;
        }
        /* exp(-inf) = 0 rescales the empty start; group_sum's barrier
         * publishes p */
        float alpha = exp(m - m_new);
        l = l * alpha + group_sum(sum, scratch);
        m = m_new;
        for (long d = lid; d < Dv; d += LWS) {
            float o = attention_mix(vh + d * v_nb.s1 + j0 * v_size, v_f16, p, nb);
            yr[d] = j0 == 0 ? o : yr[d] * alpha + o;
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* p is read before the next block writes it */
    }
    float inv = n > 0 ? 1.0f / l : 0.0f;
    for (long d = lid; d < Dv; d += LWS)
        yr[d] = n > 0 ? yr[d] * inv : 0.0f;
}
