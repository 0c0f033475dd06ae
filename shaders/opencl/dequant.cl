/*
 * dequant.cl: weight rows in ggml's block layouts (graph/dtype.h), decoded
 * 32 elements ("a chunk") at a time: a block of the legacy quants, a
 * sub-block of the K-quants, 32 elements of the plain types.
 *
 * deq_<type>(row, c, n) returns elements 32c .. 32c+31 of a row of n
 * elements, bit for bit the values graph/dequant.c gives: the same products
 * in the same order (the scale of a K-quant group is d * sc first, then
 * times q). Bytes are read and unpacked as vectors (uchar16) and converted
 * eight floats at a time, which a CPU device (PoCL) turns into SIMD
 * instructions and a GPU into wide loads. The code names every lane group
 * rather than looping over arrays: PoCL does not unroll such loops, and an
 * array it cannot keep in registers goes through the stack. Quantized rows
 * hold whole blocks; for the plain types the elements past n read as 0.
 */
#define CHUNK 32

/* Every weight type erg reads (ERG_CL_WEIGHT_TYPES on the host). */
#define FOR_EACH_WEIGHT_TYPE(F) \
    F(f32) F(f16) F(bf16) F(q4_0) F(q4_1) F(q5_0) F(q5_1) F(q8_0) F(q4_k) F(q5_k) F(q6_k)

/* PARTIAL_<type>: whether a row may end inside a chunk. Quantized rows are
 * whole blocks of 32 or 256, so their kernels leave the partial-chunk code
 * out (it would only cost compile time). */
#define PARTIAL_f32 1
#define PARTIAL_f16 1
#define PARTIAL_bf16 1
#define PARTIAL_q4_0 0
#define PARTIAL_q4_1 0
#define PARTIAL_q5_0 0
#define PARTIAL_q5_1 0
#define PARTIAL_q8_0 0
#define PARTIAL_q4_k 0
#define PARTIAL_q5_k 0
#define PARTIAL_q6_k 0

/* The decoders are inlined wherever the compiler allows: their chunk would
 * otherwise go through memory at every call. */
#ifdef __clang__
#define DEQ_INLINE __attribute__((always_inline))
#else
#define DEQ_INLINE
#endif

/* 32 elements: 0..7 in v0, 8..15 in v1, 16..23 in v2, 24..31 in v3. */
typedef struct chunk {
    float8 v0, v1, v2, v3;
} chunk;

chunk chunk_of(float8 v0, float8 v1, float8 v2, float8 v3) {
    chunk r;
    r.v0 = v0;
    r.v1 = v1;
    r.v2 = v2;
    r.v3 = v3;
    return r;
}

/* 32 floats from and to private memory. */
chunk chunk_load(const float *t) {
    return chunk_of(vload8(0, t), vload8(1, t), vload8(2, t), vload8(3, t));
}

void chunk_store(chunk v, float *t) {
    vstore8(v.v0, 0, t);
    vstore8(v.v1, 1, t);
    vstore8(v.v2, 2, t);
    vstore8(v.v3, 3, t);
}

/* The plain types: LOAD8(i, p) gives elements 8i..8i+7 of p, LOAD1(i, p)
 * element i; a chunk that runs past n goes element by element. */
#define DEQ_PLAIN(T, P, LOAD8, LOAD1)                                                          \
    DEQ_INLINE chunk deq_##T(__global const uchar *row, long c, long n) {                      \
        __global const P *p = (__global const P *)row + c * CHUNK;                             \
        long left = n - c * CHUNK;                                                             \
        if (left >= CHUNK)                                                                     \
            return chunk_of(LOAD8(0, p), LOAD8(1, p), LOAD8(2, p), LOAD8(3, p));               \
        float t[CHUNK];                                                                        \
        for (int i = 0; i < CHUNK; i++)                                                        \
            t[i] = i < left ? LOAD1(i, p) : 0.0f;                                              \
        return chunk_load(t);                                                                  \
    }

#define LOAD8_F32(i, p) vload8(i, p)
#define LOAD1_F32(i, p) p[i]
#define LOAD8_BF16(i, p) as_float8(convert_uint8(vload8(i, p)) << 16)
#define LOAD1_BF16(i, p) as_float((uint)p[i] << 16)

DEQ_PLAIN(f32, float, LOAD8_F32, LOAD1_F32)
DEQ_PLAIN(f16, half, vload_half8, vload_half)
DEQ_PLAIN(bf16, ushort, LOAD8_BF16, LOAD1_BF16)

/* The 32 nibbles of 16 bytes: the low ones are elements 0..15, the high
 * ones 16..31. */
chunk nibbles(uchar16 q) {
    uchar16 lo = q & (uchar)15, hi = q >> (uchar)4;
    return chunk_of(convert_float8(lo.lo), convert_float8(lo.hi), convert_float8(hi.lo),
                    convert_float8(hi.hi));
}

/* a * v + b and a * v, lane by lane. */
chunk chunk_fma(chunk v, float a, float b) {
    return chunk_of(a * v.v0 + b, a * v.v1 + b, a * v.v2 + b, a * v.v3 + b);
}

chunk chunk_scale(chunk v, float a) { return chunk_of(a * v.v0, a * v.v1, a * v.v2, a * v.v3); }

/* q4_0, 18 bytes: f16 d, 16 bytes of nibbles (element j low, j + 16 high). */
DEQ_INLINE chunk deq_q4_0(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + c * 18;
    chunk q = nibbles(vload16(0, b + 2));
    return chunk_scale(chunk_of(q.v0 - 8.0f, q.v1 - 8.0f, q.v2 - 8.0f, q.v3 - 8.0f),
                       load_f16(b));
}

/* q4_1, 20 bytes: f16 d, f16 m, nibbles; d * q + m. */
DEQ_INLINE chunk deq_q4_1(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + c * 20;
    return chunk_fma(nibbles(vload16(0, b + 4)), load_f16(b), load_f16(b + 2));
}

/* The little-endian u32 whose bit j is the 5th bit of element j. */
uint load_qh(__global const uchar *p) {
    return (uint)p[0] | (uint)p[1] << 8 | (uint)p[2] << 16 | (uint)p[3] << 24;
}

/* 16 * the 5th bits of elements 8i..8i+7: bits 8i.. of qh. */
float8 fifth_bits(uint qh, int i) {
    uint8 bit = ((uint8)(qh >> (8 * i)) >> (uint8)(0, 1, 2, 3, 4, 5, 6, 7)) & 1u;
    return convert_float8(bit << 4);
}

/* The 5-bit quants of q5_0/q5_1 (nibbles at qs, 5th bits in qh) plus bias. */
chunk quants5(__global const uchar *qs, uint qh, float bias) {
    chunk q = nibbles(vload16(0, qs));
    return chunk_of(q.v0 + fifth_bits(qh, 0) + bias, q.v1 + fifth_bits(qh, 1) + bias,
                    q.v2 + fifth_bits(qh, 2) + bias, q.v3 + fifth_bits(qh, 3) + bias);
}

/* q5_0, 22 bytes: f16 d, qh, nibbles; 5-bit quants biased by 16. */
DEQ_INLINE chunk deq_q5_0(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + c * 22;
    return chunk_scale(quants5(b + 6, load_qh(b + 2), -16.0f), load_f16(b));
}

/* q5_1, 24 bytes: f16 d, f16 m, qh, nibbles; d * q + m. */
DEQ_INLINE chunk deq_q5_1(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + c * 24;
    return chunk_fma(quants5(b + 8, load_qh(b + 4), 0.0f), load_f16(b), load_f16(b + 2));
}

/* q8_0, 34 bytes: f16 d, 32 signed bytes. */
DEQ_INLINE chunk deq_q8_0(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + c * 34;
    char16 q0 = vload16(0, (__global const char *)(b + 2));
    char16 q1 = vload16(1, (__global const char *)(b + 2));
    return chunk_scale(chunk_of(convert_float8(q0.lo), convert_float8(q0.hi),
                                convert_float8(q1.lo), convert_float8(q1.hi)),
                       load_f16(b));
}

/* The 6-bit scale and min of group j (0..7) of a q4_k/q5_k super-block. */
void k_scale_min(int j, __global const uchar *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Group g of a q4_k/q5_k super-block b (its 32 quants in q): d * sc * q
 * - dmin * m. */
DEQ_INLINE chunk k_group(__global const uchar *b, int g, chunk q) {
    int sc, m;
    k_scale_min(g, b + 4, &sc, &m);
    return chunk_fma(q, load_f16(b) * (float)sc, -(load_f16(b + 2) * (float)m));
}

/* The 32 bytes q0, q1 as a chunk of floats. */
chunk bytes_chunk(uchar16 q0, uchar16 q1) {
    return chunk_of(convert_float8(q0.lo), convert_float8(q0.hi), convert_float8(q1.lo),
                    convert_float8(q1.hi));
}

/* Bytes 16i..16i+15 of p, shifted right and masked: a bit field of each. */
uchar16 bits16(__global const uchar *p, int i, uchar shift, uchar mask) {
    return (vload16(i, p) >> shift) & mask;
}

/* q4_k, 144 bytes per 256 elements: f16 d, f16 dmin, 12 bytes of scales,
 * 128 bytes of nibbles: groups 2i and 2i+1 share 32 bytes (low, high). */
DEQ_INLINE chunk deq_q4_k(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + (c / 8) * 144;
    int g = (int)(c % 8);
    __global const uchar *qs = b + 16 + 32 * (g / 2);
    uchar shift = (uchar)(4 * (g % 2));
    return k_group(b, g, bytes_chunk(bits16(qs, 0, shift, 15), bits16(qs, 1, shift, 15)));
}

/* q5_k, 176 bytes: as q4_k with 32 bytes of qh before the nibbles; bit g
 * of qh[l] is the 5th bit of element l of group g. */
DEQ_INLINE chunk deq_q5_k(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + (c / 8) * 176;
    int g = (int)(c % 8);
    __global const uchar *qh = b + 16;
    __global const uchar *qs = b + 48 + 32 * (g / 2);
    uchar shift = (uchar)(4 * (g % 2));
    uchar16 q0 = bits16(qs, 0, shift, 15) | bits16(qh, 0, (uchar)g, 1) << (uchar)4;
    uchar16 q1 = bits16(qs, 1, shift, 15) | bits16(qh, 1, (uchar)g, 1) << (uchar)4;
    return k_group(b, g, bytes_chunk(q0, q1));
}

/* q6_k, 210 bytes: 128 bytes ql, 64 bytes qh, 16 int8 scales (groups of
 * 16), f16 d. Per 128 elements: quarter t of the half reads the low (t < 2)
 * or high nibble of ql[l + 32 (t % 2)] and bits 2t, 2t+1 of qh[l]. */
DEQ_INLINE chunk deq_q6_k(__global const uchar *row, long c, long n) {
    __global const uchar *b = row + (c / 8) * 210;
    int cc = (int)(c % 8), half_ = cc / 4, quarter = cc % 4;
    __global const uchar *ql = b + 64 * half_ + 32 * (quarter % 2);
    __global const uchar *qh = b + 128 + 32 * half_;
    __global const char *scales = (__global const char *)(b + 192);
    float d = load_f16(b + 208);
    float s0 = d * (float)scales[2 * cc], s1 = d * (float)scales[2 * cc + 1];
    uchar lshift = quarter < 2 ? 0 : 4, hshift = (uchar)(2 * quarter);
    chunk q = bytes_chunk(bits16(ql, 0, lshift, 15) | bits16(qh, 0, hshift, 3) << (uchar)4,
                          bits16(ql, 1, lshift, 15) | bits16(qh, 1, hshift, 3) << (uchar)4);
    return chunk_of(s0 * (q.v0 - 32.0f), s0 * (q.v1 - 32.0f), s1 * (q.v2 - 32.0f),
                    s1 * (q.v3 - 32.0f));
}
