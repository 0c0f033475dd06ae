/*
 * get_rows.cl: dst[:, r] = dequant(W[:, ids[r]]) in F32, the embedding
 * lookup. An id outside the table gives a row of zeros (never a read
 * outside it). One work-group per output row, whose work-items take its
 * chunks in turn; NDRange (LWS * rows).
 */
#define GET_ROWS(T)                                                                            \
    KERNEL void k_get_rows_##T(__global const uchar *w, ulong w_off, long w_nb1, long w_rows,  \
                               __global const uchar *ids, ulong ids_off, long ids_nb0,         \
                               __global uchar *y, ulong y_off, long y_nb1, long K) {           \
        long r = get_group_id(0);                                                              \
        int id = *(__global const int *)(ids + ids_off + r * ids_nb0);                         \
        __global float *yr = (__global float *)(y + y_off + r * y_nb1);                        \
        __global const uchar *wr = w + w_off + (long)id * w_nb1;                               \
        bool valid = id >= 0 && id < w_rows;                                                   \
        for (long c = get_local_id(0); c * CHUNK < K; c += LWS) {                              \
            chunk v = chunk_of((float8)0.0f, (float8)0.0f, (float8)0.0f, (float8)0.0f);        \
            float t[CHUNK];                                                                    \
            if (valid)                                                                         \
                v = deq_##T(wr, c, K);                                                         \
            if ((c + 1) * CHUNK <= K) {                                                        \
                vstore8(v.v0, 4 * c, yr);                                                      \
                vstore8(v.v1, 4 * c + 1, yr);                                                  \
                vstore8(v.v2, 4 * c + 2, yr);                                                  \
                vstore8(v.v3, 4 * c + 3, yr);                                                  \
            } else {                                                                           \
                chunk_store(v, t);                                                             \
                for (int i = 0; c * CHUNK + i < K; i++)                                        \
                    yr[c * CHUNK + i] = t[i];                                                  \
            }                                                                                  \
        }                                                                                      \
    }

FOR_EACH_WEIGHT_TYPE(GET_ROWS)
