/*
 * matmul.cl: dst[n, m, b2, b3] = sum_k W[k, n, b2 / r2, b3 / r3] * X[k, m, b2, b3]
 * for every weight type, in F32. W is a weight matrix (rows of blocks), X
 * has F32 rows; both, and dst, may be strided views (nb in bytes). The
 * broadcast of W over dims 2 and 3 (r2 = B2 / W.ne2, r3 = B3 / W.ne3) is
 * grouped-query attention.
 *
 * Each kernel has two variants, instances of one body by NW, the number of
 * weight matrices:
 *   NW = 1, k_matvec_T / k_matmul_T: MATMUL, and MATMUL_ADD's epilogue
 *     (has_add: plus addend[n % a_ne0, m % a_ne1, b2 % a_ne2, b3 % a_ne3]),
 *     and MATMUL_QKV: the N rows are W's [0, ends.s0), then WK's up to
 *     ends.s1, then WV's (2-D, W's type and row length); each weight's
 *     product is stored contiguous after the previous one's (stacked_at).
 *     MATMUL passes ends = (N, N): W's rows only, stored through y_nb;
 *   NW = 2, k_matvec_swiglu_T / k_matmul_swiglu_T: MATMUL_SWIGLU, the
 *     products of W (gate) and U (up, W's type and shape) from each chunk
 *     of X loaded once, stored as silu(gate) * up.
 *
 * Arguments of every kernel:
 *   w, w_off, w_nb     the weight matrix (the gate)
 *   x, x_off, x_nb     the activations
 *   y, y_off, y_nb     the result
 *   dims               (K, N, M, B2)
 *   ratio              (r2, r3)
 *   a, a_off, a_nb, a_ne, has_add    (NW = 1) the addend
 *   wk, wk_off, wv, wv_off, ends     (NW = 1) MATMUL_QKV's K and V weights
 *   u, u_off, u_nb                   (NW = 2) the up matrix
 * and k_matvec_* takes lane_bits (below) after them.
 */

/* W1_##NW(code) is code in the one-weight variant, W2_##NW(code) in the
 * two-weight one. */
#define W1_1(...) __VA_ARGS__
#define W1_2(...)
#define W2_1(...)
#define W2_2(...) __VA_ARGS__

/* The variant's arguments after ratio. */
#define MM_ARGS(NW)                                                                            \
    W1_##NW(__global const uchar *a, ulong a_off, long4 a_nb, long4 a_ne, int has_add,         \
            __global const uchar *wk, ulong wk_off, __global const uchar *wv, ulong wv_off,    \
            long2 ends)                                                                        \
        W2_##NW(__global const uchar *u, ulong u_off, long4 u_nb)

/* Row n of the stacked weights: W's rows [0, ends.s0), WK's [ends.s0,
 * ends.s1), WV's after (W's alone where ends.s0 = N). */
__global const uchar *stacked_row(__global const uchar *w, __global const uchar *wk,
                                  __global const uchar *wv, long2 ends, long4 nb, long n, long i2,
                                  long i3) {
    if (n >= ends.s1)
        return row_at(wv, nb, n - ends.s1, i2, i3);
    if (n >= ends.s0)
        return row_at(wk, nb, n - ends.s0, i2, i3);
    return row_at(w, nb, n, i2, i3);
}

/* Where result (n, m, b2, b3) goes: through y's strides, or, for stacked
 * weights, in its weight's contiguous [rows, M] product. */
__global uchar *stacked_at(__global uchar *y, long4 nb, long2 ends, long N, long M, long n, long m,
                           long b2, long b3) {
    if (ends.s0 >= N)
        return row_at_w(y, nb, m, b2, b3) + n * nb.s0;
    long first = n < ends.s0 ? 0 : n < ends.s1 ? ends.s0 : ends.s1;
    long rows = n < ends.s0 ? ends.s0 : n < ends.s1 ? ends.s1 - ends.s0 : N - ends.s1;
    return y + 4 * (first * M + m * rows + n - first);
}

/* The variant's weight row n and result address. */
#define MM_WROW_1(n, i2, i3)                                                                   \
    stacked_row(w + w_off, wk + wk_off, wv + wv_off, ends, w_nb, n, i2, i3)
#define MM_WROW_2(n, i2, i3) row_at(w + w_off, w_nb, n, i2, i3)
#define MM_YAT_1(n, m, b2, b3) stacked_at(y + y_off, y_nb, ends, dims.s1, dims.s2, n, m, b2, b3)
#define MM_YAT_2(n, m, b2, b3) (row_at_w(y + y_off, y_nb, m, b2, b3) + (n) * y_nb.s0)

/* Result (n, m, b2, b3) from its sum g (and up's sum up). */
#define MM_OUT_1(g, up, n, m, b2, b3)                                                          \
    (has_add ? (g) + *(__global const float *)(row_at(a + a_off, a_nb, (m) % a_ne.s1,          \
                                                      (b2) % a_ne.s2, (b3) % a_ne.s3) +        \
                                               ((n) % a_ne.s0) * 4)                            \
             : (g))
#define MM_OUT_2(g, up, n, m, b2, b3) (silu(g) * (up))

/* acc + the lane-wise products of two chunks (contracted to FMAs where the
 * device has them; mad() is not, on PoCL). The chain through acc is four
 * FMAs long, which other columns' chains fill; chunk_dot1, for a column on
 * its own, adds one sum to acc and leaves the rest to run side by side. */
float8 chunk_dot(chunk a, chunk b, float8 acc) {
    return acc + a.v0 * b.v0 + a.v1 * b.v1 + a.v2 * b.v2 + a.v3 * b.v3;
}

float8 chunk_dot1(chunk a, chunk b, float8 acc) {
    return acc + ((a.v0 * b.v0 + a.v1 * b.v1) + (a.v2 * b.v2 + a.v3 * b.v3));
}

/* Chunk c of an activation column x of K elements: whole, or (the last
 * one) with zeros past K. */
chunk load_x(__global const float *x, long c) {
    return chunk_of(vload8(4 * c, x), vload8(4 * c + 1, x), vload8(4 * c + 2, x),
                    vload8(4 * c + 3, x));
}

chunk load_x_tail(__global const float *x, long c, long K) {
    float t[CHUNK];
    for (int i = 0; i < CHUNK; i++)
        t[i] = c * CHUNK + i < K ? x[c * CHUNK + i] : 0.0f;
    return chunk_load(t);
}

/*
 * Matrix-vector (decode, a few columns, and on CPU devices every matmul):
 * a work-item owns one weight row and up to MV_COLS columns, and `lanes`
 * work-items (a power of two up to LWS) share a row, taking its chunks in
 * turn. Each chunk is dequantised once and multiplied with every column
 * into a float8 accumulator per column (and weight); the lanes of a row
 * then sum in local memory. With lanes = 1 (a CPU device: PoCL runs each
 * work-item's K loop in SIMD lanes) nothing is shared and the one barrier
 * is all the group waits on; a GPU takes up to 32 lanes so that a row's
 * chunks are read side by side. The columns are spelled out (MV_EACH_COL),
 * not looped over, so that their accumulators stay in registers, and one
 * column (M = 1, decode) has a loop of its own. With two weights the 16
 * accumulators outgrow AVX2's registers, yet on PoCL 8 columns still beat
 * 4 (which dequantise twice as often) by 10-40% at 32 columns. lane_bits =
 * log2(lanes). NDRange: (LWS * ceil(N * lanes / LWS), ceil(M / MV_COLS),
 * B2 * B3).
 */
#define MV_COLS 8
#define MV_EACH_COL(F, NW) F(0, NW) F(1, NW) F(2, NW) F(3, NW) F(4, NW) F(5, NW) F(6, NW) F(7, NW)
#define MV_FIRST_COL(F, NW) F(0, NW)

/* Chunk v of the row (and u of the up row) times chunk c of column j, if
 * there is a column j. */
#define MV_COL_BY(j, NW, DOT, LOAD)                                                            \
    if (j < nc) {                                                                              \
        chunk xj = LOAD;                                                                       \
        acc##j = DOT(v, xj, acc##j);                                                           \
        W2_##NW(up##j = DOT(u, xj, up##j);)                                                    \
    }
#define MV_XC(j) ((__global const float *)(xc + j * xs))
#define MV_COL(j, NW) MV_COL_BY(j, NW, chunk_dot, load_x(MV_XC(j), c))
#define MV_COL1(j, NW) MV_COL_BY(j, NW, chunk_dot1, load_x(MV_XC(j), c))
#define MV_COL_TAIL(j, NW) MV_COL_BY(j, NW, chunk_dot, load_x_tail(MV_XC(j), c, K))
#define MV_ZERO(j, NW)                                                                         \
    float8 acc##j = 0.0f;                                                                      \
    W2_##NW(float8 up##j = 0.0f;)
#define MV_SUM(j, NW)                                                                          \
    if (j < nc) {                                                                              \
        sums[j][lid] = hsum8(acc##j);                                                          \
        W2_##NW(sums[MV_COLS + j][lid] = hsum8(up##j);)                                        \
    }

/* Chunk c of the row (and of the up row). */
#define MV_DEQ(T, NW)                                                                          \
    chunk v = deq_##T(wr, c, K);                                                               \
    W2_##NW(chunk u = deq_##T(ur, c, K);)

/* This work-item's chunks of row wr times the columns COLS names, each by
 * COL. */
#define MV_ROW(T, NW, COLS, COL)                                                               \
    for (long c = lane; c < full; c += lanes) {                                                \
        MV_DEQ(T, NW)                                                                          \
        COLS(COL, NW)                                                                          \
    }                                                                                          \
    if (PARTIAL_##T && full * CHUNK < K && full % lanes == lane) {                             \
        long c = full;                                                                         \
        MV_DEQ(T, NW)                                                                          \
        COLS(MV_COL_TAIL, NW)                                                                  \
    }

#define MATVEC(T, V, NW)                                                                       \
    KERNEL void k_matvec_##V##T(__global const uchar *w, ulong w_off, long4 w_nb,              \
                                __global const uchar *x, ulong x_off, long4 x_nb,              \
                                __global uchar *y, ulong y_off, long4 y_nb, long4 dims,        \
                                long2 ratio, MM_ARGS(NW), int lane_bits) {                     \
        __local float sums[NW * MV_COLS][LWS];                                                 \
        int lid = (int)get_local_id(0), lanes = 1 << lane_bits, lane = lid & (lanes - 1);      \
        long K = dims.s0, n = (long)((get_group_id(0) * LWS + lid) >> lane_bits);              \
        long m0 = get_global_id(1) * MV_COLS, xs = x_nb.s1, full = K / CHUNK;                  \
        int b = (int)get_global_id(2), b2 = b % (int)dims.s3, b3 = b / (int)dims.s3;           \
        int nc = (int)min((long)MV_COLS, dims.s2 - m0);                                        \
        bool live = n < dims.s1;                                                               \
        MV_EACH_COL(MV_ZERO, NW)                                                               \
        if (live) {                                                                            \
            int w2 = b2 / (int)ratio.s0, w3 = b3 / (int)ratio.s1;                              \
            __global const uchar *wr = MM_WROW_##NW(n, w2, w3);                                \
            W2_##NW(__global const uchar *ur = row_at(u + u_off, u_nb, n, w2, w3);)            \
            __global const uchar *xc = row_at(x + x_off, x_nb, m0, b2, b3);                    \
            if (nc == 1) {                                                                     \
                MV_ROW(T, NW, MV_FIRST_COL, MV_COL1)                                           \
            } else {                                                                           \
                MV_ROW(T, NW, MV_EACH_COL, MV_COL)                                             \
            }                                                                                  \
        }                                                                                      \
        MV_EACH_COL(MV_SUM, NW)                                                                \
        barrier(CLK_LOCAL_MEM_FENCE);                                                          \
        for (int h = lanes / 2; h > 0; h /= 2) {                                               \
            if (lane < h)                                                                      \
                for (int j = 0; j < nc; j++) {                                                 \
                    sums[j][lid] += sums[j][lid + h];                                          \
                    W2_##NW(sums[MV_COLS + j][lid] += sums[MV_COLS + j][lid + h];)             \
                }                                                                              \
            barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        }                                                                                      \
        if (live && lane == 0)                                                                 \
            for (int j = 0; j < nc; j++)                                                       \
                *(__global float *)MM_YAT_##NW(n, m0 + j, b2, b3) =                            \
                    MM_OUT_##NW(sums[j][lid], sums[MV_COLS + j][lid], n, m0 + j, b2, b3);      \
    }

/*
 * Matrix-matrix (prefill on GPUs): a work-group computes a tile of TN rows
 * x TM columns. Per chunk of K, work-items 0..31 dequantise one weight row
 * each (and its up row) into local memory while 32..63 load one activation
 * column each; then each work-item multiplies a 4 x 4 block of the tile
 * (rows tn + 8i, columns tm + 8j). NDRange: (LWS * ceil(N / TN),
 * ceil(M / TM), B2 * B3).
 */
#define TN 32
#define TM 32

#define MATMUL(T, V, NW)                                                                       \
    KERNEL void k_matmul_##V##T(__global const uchar *w, ulong w_off, long4 w_nb,              \
                                __global const uchar *x, ulong x_off, long4 x_nb,              \
                                __global uchar *y, ulong y_off, long4 y_nb, long4 dims,        \
                                long2 ratio, MM_ARGS(NW)) {                                    \
        __local float ws[NW][CHUNK][TN + 1];                                                   \
        __local float xs[CHUNK][TM + 1];                                                       \
        long K = dims.s0, N = dims.s1, M = dims.s2;                                            \
        long n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM, b = get_group_id(2);        \
        long b2 = b % dims.s3, b3 = b / dims.s3;                                               \
        int lid = (int)get_local_id(0), tn = lid % 8, tm = lid / 8;                            \
        /* rows tn + 8i and columns tm + 8j inside the result: i < ni, j < nj */               \
        int ni = (int)clamp((N - n0 - tn + 7) / 8, 0L, 4L);                                    \
        int nj = (int)clamp((M - m0 - tm + 7) / 8, 0L, 4L);                                    \
        /* the row or column this work-item loads */                                           \
        long n_load = n0 + lid, m_load = m0 + lid - 32;                                        \
        long n_safe = n_load < N ? n_load : 0, w2 = b2 / ratio.s0, w3 = b3 / ratio.s1;         \
        __global const uchar *wr = MM_WROW_##NW(n_safe, w2, w3);                               \
        W2_##NW(__global const uchar *ur = row_at(u + u_off, u_nb, n_safe, w2, w3);)           \
        __global const float *xr = (__global const float *)row_at(                             \
            x + x_off, x_nb, m_load >= 0 && m_load < M ? m_load : 0, b2, b3);                  \
        float acc[NW][4][4];                                                                   \
        for (int p = 0; p < NW; p++)                                                           \
            for (int i = 0; i < 4; i++)                                                        \
                for (int j = 0; j < 4; j++)                                                    \
                    acc[p][i][j] = 0.0f;                                                       \
        for (long c = 0; c * CHUNK < K; c++) {                                                 \
            chunk v = chunk_of((float8)0.0f, (float8)0.0f, (float8)0.0f, (float8)0.0f);        \
            W2_##NW(chunk vu = v; float eu[CHUNK];)                                            \
            float e[CHUNK];                                                                    \
            if (lid < 32 && n_load < N) {                                                      \
                v = deq_##T(wr, c, K);                                                         \
                W2_##NW(vu = deq_##T(ur, c, K);)                                               \
            } else if (lid >= 32 && m_load < M) {                                              \
                v = !PARTIAL_##T || (c + 1) * CHUNK <= K ? load_x(xr, c)                       \
                                                         : load_x_tail(xr, c, K);              \
            }                                                                                  \
            chunk_store(v, e);                                                                 \
            W2_##NW(chunk_store(vu, eu);)                                                      \
            for (int i = 0; i < CHUNK; i++) {                                                  \
                if (lid < 32) {                                                                \
                    ws[0][i][lid] = e[i];                                                      \
                    W2_##NW(ws[1][i][lid] = eu[i];)                                            \
                } else {                                                                       \
                    xs[i][lid - 32] = e[i];                                                    \
                }                                                                              \
            }                                                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                                      \
            for (int k = 0; k < CHUNK; k++) {                                                  \
                float a_[NW][4], bx[4];                                                        \
                for (int i = 0; i < 4; i++) {                                                  \
                    for (int p = 0; p < NW; p++)                                               \
                        a_[p][i] = ws[p][k][tn + 8 * i];                                       \
                    bx[i] = xs[k][tm + 8 * i];                                                 \
                }                                                                              \
                for (int p = 0; p < NW; p++)                                                   \
                    for (int i = 0; i < ni; i++)                                               \
                        for (int j = 0; j < nj; j++)                                           \
                            acc[p][i][j] += a_[p][i] * bx[j];                                  \
            }                                                                                  \
            barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        }                                                                                      \
        for (int j = 0; j < nj; j++) {                                                         \
            long m = m0 + tm + 8 * j;                                                          \
            for (int i = 0; i < ni; i++) {                                                     \
                long n = n0 + tn + 8 * i;                                                      \
                *(__global float *)MM_YAT_##NW(n, m, b2, b3) =                                 \
                    MM_OUT_##NW(acc[0][i][j], acc[NW - 1][i][j], n, m, b2, b3);                \
            }                                                                                  \
        }                                                                                      \
    }

#define MATVEC_PLAIN(T) MATVEC(T, , 1)
#define MATVEC_SWIGLU(T) MATVEC(T, swiglu_, 2)
#define MATMUL_PLAIN(T) MATMUL(T, , 1)
#define MATMUL_SWIGLU(T) MATMUL(T, swiglu_, 2)

FOR_EACH_WEIGHT_TYPE(MATVEC_PLAIN)
FOR_EACH_WEIGHT_TYPE(MATVEC_SWIGLU)
/* Only devices that run them build the tiled kernels (cl_program.c). */
#ifdef ERG_TILED
FOR_EACH_WEIGHT_TYPE(MATMUL_PLAIN)
FOR_EACH_WEIGHT_TYPE(MATMUL_SWIGLU)
#endif
