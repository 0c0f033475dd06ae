// dequant.glsl: reading weights of the type named by one WTYPE_* define from
// binding 0, with the values graph/dequant.c defines (every product of a
// scale and a quant is exact in float, so the results match bit for bit).
// Every reader takes `wsel` first, the binding it reads: 0u binding 0; 1u
// binding 2 (MATMUL_SWIGLU's up weights, MATMUL_QKV's K weights); 2u binding
// 4 (MATMUL_QKV's V weights). Callers pass a literal, so the choice folds
// away once glslc inlines.
//
// Two ways in:
//  - units, for kernels that stream whole rows (matvec, get_rows): a block of
//    WT_BLOCK elements (WT_BLOCK_BYTES bytes) splits into WT_UNITS units of
//    WT_UNIT_VECS vec4s, WT_UNIT_K = WT_BLOCK / WT_UNITS elements. wt_load(
//    wsel, block_byte, u) reads the words of unit u into registers, and
//    wt_vec(unit, u, j) decodes its elements u * WT_UNIT_K + 4j .. +3.
//    A unit is a whole legacy block or half a K-quant super-block, read as
//    a few runs of whole words with no branch on the data's alignment: a
//    CPU implementation (lavapipe) runs each load instruction lane by lane,
//    whatever its width and however many lanes take part, so the cost of a
//    unit is the number of its loads.
//  - wt_get4(wsel, row_byte, k): elements k..k+3 of a row (k a multiple of 4), for
//    kernels that gather tiles.
// The plain types (WT_PLAIN) treat 4 elements as a block and rows need not be
// a whole number of them: wt_get1 reads the elements past the last block.
// Quantised blocks are only 2-byte aligned.

uint wt_word(uint wsel, uint i) { return wsel == 2u ? src3[i] : wsel == 1u ? src2[i] : src0[i]; }
uint wt_u8(uint wsel, uint b) { return (wt_word(wsel, b >> 2) >> ((b & 3u) * 8u)) & 0xFFu; }
uint wt_u16(uint wsel, uint b) {  // b even
    return (wt_word(wsel, b >> 2) >> ((b & 2u) * 8u)) & 0xFFFFu;
}
uint wt_u32(uint wsel, uint b) {  // b even
    if ((b & 3u) == 0u)
        return wt_word(wsel, b >> 2);
    return wt_u16(wsel, b) | (wt_u16(wsel, b + 2u) << 16);
}
float wt_f16(uint wsel, uint b) { return unpackHalf2x16(wt_u16(wsel, b)).x; }

// The four bytes of a word.
uvec4 wt_bytes(uint w) { return (uvec4(w) >> uvec4(0u, 8u, 16u, 24u)) & 0xFFu; }
// The four signed bytes of a word.
vec4 wt_sbytes(uint w) {
    return vec4(bitfieldExtract(int(w), 0, 8), bitfieldExtract(int(w), 8, 8),
                bitfieldExtract(int(w), 16, 8), bitfieldExtract(int(w), 24, 8));
}
// The low (hi = 0) or high (hi = 1) nibbles of the four bytes of a word, as
// the four bytes of a word.
uint wt_nib(uint w, uint hi) { return (w >> (4u * hi)) & 0x0F0F0F0Fu; }
// Bit `bit` of each byte of a word, moved to bit 4 (the 5th quant bit).
uint wt_bit4(uint w, uint bit) { return ((w >> bit) & 0x01010101u) << 4; }

// A run: v[i] = bytes byte + 4i .. + 3 of the weights, for i < len / 4 rounded
// up, byte and len even. Where byte is not aligned to the load size each
// value joins parts of two loaded words. A binding ends on a 4-byte boundary
// at or past the run's end, and nothing past that boundary is read.
#define WT_RUN_MAX 16
void wt_run(uint wsel, uint byte, uint len, out uint v[WT_RUN_MAX]) {
    uint n = (len + 3u) / 4u, base = byte >> 2;
    bool straddle = (byte & 2u) != 0u;
    uint w[WT_RUN_MAX + 1];
    [[unroll]] for (uint i = 0u; i < n; i++)
        w[i] = wt_word(wsel, base + i);
    w[n] = 0u;
    if (straddle && len % 4u == 0u)
        w[n] = wt_word(wsel, base + n);
    [[unroll]] for (uint i = 0u; i < n; i++)
        v[i] = straddle ? (w[i] >> 16) | (w[i + 1u] << 16) : w[i];
}
// The word at even byte o of a run.
#define WT_AT(v, o) (((o) & 2u) != 0u ? (v[(o) >> 2] >> 16) | (v[((o) >> 2) + 1u] << 16) : v[(o) >> 2])

#if defined(WTYPE_F32) || defined(WTYPE_F16) || defined(WTYPE_BF16)
#define WT_PLAIN
#define WT_BLOCK 4u
#define WT_UNITS 1u
#define WT_UNIT_VECS 1

#if defined(WTYPE_F32)
#define WT_BLOCK_BYTES 16u
float wt_f32(uint wsel, uint b) { return uintBitsToFloat(wt_word(wsel, b >> 2)); }
float wt_get1(uint wsel, uint row_byte, uint k) { return wt_f32(wsel, row_byte + 4u * k); }
vec4 wt_get4(uint wsel, uint row_byte, uint k) {
    uint o = row_byte + 4u * k;
    return vec4(wt_f32(wsel, o), wt_f32(wsel, o + 4u), wt_f32(wsel, o + 8u), wt_f32(wsel, o + 12u));
}
vec4 wt_unpack4(uint v[WT_RUN_MAX]) { return uintBitsToFloat(uvec4(v[0], v[1], v[2], v[3])); }
#else
#define WT_BLOCK_BYTES 8u
#if defined(WTYPE_F16)
float wt_get1(uint wsel, uint row_byte, uint k) { return wt_f16(wsel, row_byte + 2u * k); }
vec4 wt_half4(uint a, uint b) { return vec4(unpackHalf2x16(a), unpackHalf2x16(b)); }
#else
float wt_get1(uint wsel, uint row_byte, uint k) {
    return uintBitsToFloat(wt_u16(wsel, row_byte + 2u * k) << 16);
}
vec4 wt_half4(uint a, uint b) {
    return uintBitsToFloat(uvec4(a << 16, a & 0xFFFF0000u, b << 16, b & 0xFFFF0000u));
}
#endif
vec4 wt_get4(uint wsel, uint row_byte, uint k) {
    uint o = row_byte + 2u * k;
    return wt_half4(wt_u32(wsel, o), wt_u32(wsel, o + 4u));
}
vec4 wt_unpack4(uint v[WT_RUN_MAX]) { return wt_half4(v[0], v[1]); }
#endif

struct wt_unit { uint w[WT_RUN_MAX]; };
wt_unit wt_load(uint wsel, uint bb, uint u) {
    wt_unit s;
    wt_run(wsel, bb, WT_BLOCK_BYTES, s.w);
    return s;
}
vec4 wt_vec(wt_unit s, uint u, uint j) { return wt_unpack4(s.w); }

#elif defined(WTYPE_Q4_0) || defined(WTYPE_Q4_1) || defined(WTYPE_Q5_0) || \
    defined(WTYPE_Q5_1) || defined(WTYPE_Q8_0)
// The 32-element blocks. Quant byte j holds element j (low nibble) and
// element j + 16 (high nibble); q8_0 has one signed byte per element. A unit
// is the block: vec j is quant word j % 4, low nibbles for j < 4, high for
// j >= 4 (q8_0: quant word j).
#define WT_BLOCK 32u
#define WT_UNITS 1u
#define WT_UNIT_VECS 8

#if defined(WTYPE_Q4_0)
#define WT_BLOCK_BYTES 18u  // d, qs[16]
#define WT_QS 2u
#elif defined(WTYPE_Q4_1)
#define WT_BLOCK_BYTES 20u  // d, m, qs[16]
#define WT_QS 4u
#define WT_HAS_MIN
#elif defined(WTYPE_Q5_0)
#define WT_BLOCK_BYTES 22u  // d, qh[4], qs[16]
#define WT_QH 2u
#define WT_QS 6u
#elif defined(WTYPE_Q5_1)
#define WT_BLOCK_BYTES 24u  // d, m, qh[4], qs[16]
#define WT_QH 4u
#define WT_QS 8u
#define WT_HAS_MIN
#else
#define WT_BLOCK_BYTES 34u  // d, qs[32] signed
#define WT_QS 2u
#endif

// The block's scale d (x) and, for q4_1/q5_1, its offset m (y), from the
// word at the block's first byte.
vec2 wt_legacy_dm(uint w) {
#if defined(WT_HAS_MIN)
    return unpackHalf2x16(w);
#else
    return vec2(unpackHalf2x16(w).x, 0.0);
#endif
}

#if !defined(WTYPE_Q8_0)
vec4 wt_legacy_value(vec2 dm, uvec4 q) {
#if defined(WT_HAS_MIN)
    return dm.x * vec4(q) + dm.y;
#elif defined(WT_QH)
    return dm.x * (vec4(q) - 16.0);
#else
    return dm.x * (vec4(q) - 8.0);
#endif
}
#endif

#if defined(WT_QH)
// The 5th bits of four elements from the qh word shifted right to the first
// of them (bit j of the little-endian qh is element j's), moved to bit 4 of
// four bytes (the multiply moves bit j to bit 8j).
uint wt_qh4(uint h) { return (((h & 0xFu) * 0x00204081u) & 0x01010101u) << 4; }
#endif

struct wt_unit { uint w[WT_RUN_MAX]; };
wt_unit wt_load(uint wsel, uint bb, uint u) {
    wt_unit s;
    wt_run(wsel, bb, WT_BLOCK_BYTES, s.w);
    return s;
}
vec4 wt_vec(wt_unit s, uint u, uint j) {
    vec2 dm = wt_legacy_dm(s.w[0]);
#if defined(WTYPE_Q8_0)
    return dm.x * wt_sbytes(WT_AT(s.w, WT_QS + 4u * j));
#else
    uint q = wt_nib(WT_AT(s.w, WT_QS + 4u * (j & 3u)), j >> 2);
#if defined(WT_QH)
    q |= wt_qh4(WT_AT(s.w, WT_QH) >> (4u * j));
#endif
    return wt_legacy_value(dm, wt_bytes(q));
#endif
}

vec4 wt_get4(uint wsel, uint row_byte, uint k) {
    uint bb = row_byte + (k / WT_BLOCK) * WT_BLOCK_BYTES, kb = k % WT_BLOCK;
#if defined(WT_HAS_MIN)
    vec2 dm = wt_legacy_dm(wt_u32(wsel, bb));
#else
    vec2 dm = wt_legacy_dm(wt_u16(wsel, bb));
#endif
#if defined(WTYPE_Q8_0)
    return dm.x * wt_sbytes(wt_u32(wsel, bb + WT_QS + kb));
#else
    uint q = wt_nib(wt_u32(wsel, bb + WT_QS + (kb & 15u)), kb >> 4);
#if defined(WT_QH)
    q |= wt_qh4(wt_u32(wsel, bb + WT_QH) >> kb);
#endif
    return wt_legacy_value(dm, wt_bytes(q));
#endif
}

#elif defined(WTYPE_Q4_K) || defined(WTYPE_Q5_K)
// 256-element super-blocks of 8 groups of 32 with 6-bit scales and mins.
// Group g sits in quant bytes 32*(g/2) .. +31, low nibbles for even g, high
// for odd; q5_k's 5th bit of element l of group g is bit g of qh[l].
// Unit u is groups 4u .. 4u+3, quant bytes 64u .. +63: vec j is quant word
// 8 * (j / 16) + j % 8 of the unit, low nibbles where j / 8 is even.
#define WT_BLOCK 256u
#define WT_UNITS 2u
#define WT_UNIT_VECS 32
#define WT_SCALES 4u
#if defined(WTYPE_Q4_K)
#define WT_BLOCK_BYTES 144u  // d, dmin, scales[12], qs[128]
#define WT_QS 16u
uint wt_qh_word(uint wsel, uint bb, uint l) { return 0u; }
#else
#define WT_BLOCK_BYTES 176u  // d, dmin, scales[12], qh[32], qs[128]
#define WT_QH 16u
#define WT_QS 48u
uint wt_qh_word(uint wsel, uint bb, uint l) { return wt_u32(wsel, bb + WT_QH + l); }
#endif

// Scale (x) and offset (y) of group g: d * sc and -(dmin * m), with the 6-bit
// sc and m packed as erg_k_scale_min unpacks them from the 12 scale bytes s;
// dm = (d, dmin). Branch-free, since neighbouring threads decode different
// groups.
vec2 wt_k_scale(vec2 dm, uvec3 s, uint g) {
    uint sh = 8u * (g & 3u);
    uint a = (s.x >> sh) & 0xFFu;  // byte g (g < 4) or g - 4
    uint b = (s.y >> sh) & 0xFFu;  // byte g + 4 (g < 4) or g
    uint c = (s.z >> sh) & 0xFFu;  // byte g + 4 (g >= 4)
    bool low = g < 4u;
    uint sc = low ? (a & 63u) : ((c & 15u) | ((a >> 6) << 4));
    uint m = low ? (b & 63u) : ((c >> 4) | ((b >> 6) << 4));
    return vec2(dm.x * float(sc), -(dm.y * float(m)));
}

// Four elements of group g from its quant word qw and the matching qh word.
vec4 wt_k4(uint qw, uint hw, uint g, vec2 s) {
    return s.x * vec4(wt_bytes(wt_nib(qw, g & 1u) | wt_bit4(hw, g))) + s.y;
}

struct wt_unit {
    uint head[WT_RUN_MAX], qs[WT_RUN_MAX];
#if defined(WTYPE_Q5_K)
    uint qh[WT_RUN_MAX];
#endif
};
wt_unit wt_load(uint wsel, uint bb, uint u) {
    wt_unit s;
    wt_run(wsel, bb, 16u, s.head);  // d, dmin, scales
    wt_run(wsel, bb + WT_QS + 64u * u, 64u, s.qs);
#if defined(WTYPE_Q5_K)
    wt_run(wsel, bb + WT_QH, 32u, s.qh);
#endif
    return s;
}
vec4 wt_vec(wt_unit s, uint u, uint j) {
    uint g = 4u * u + (j >> 3), i = j & 7u;
    vec2 sc = wt_k_scale(unpackHalf2x16(s.head[0]), uvec3(s.head[1], s.head[2], s.head[3]), g);
#if defined(WTYPE_Q5_K)
    uint h = s.qh[i];
#else
    uint h = 0u;
#endif
    return wt_k4(s.qs[8u * (j >> 4) + i], h, g, sc);
}

vec4 wt_get4(uint wsel, uint row_byte, uint k) {
    uint bb = row_byte + (k / WT_BLOCK) * WT_BLOCK_BYTES, kb = k % WT_BLOCK;
    uint g = kb >> 5, l = kb & 31u;
    uvec3 sw = uvec3(wt_u32(wsel, bb + WT_SCALES), wt_u32(wsel, bb + WT_SCALES + 4u),
                     wt_u32(wsel, bb + WT_SCALES + 8u));
    vec2 s = wt_k_scale(unpackHalf2x16(wt_u32(wsel, bb)), sw, g);
    return wt_k4(wt_u32(wsel, bb + WT_QS + 32u * (g >> 1) + l), wt_qh_word(wsel, bb, l), g, s);
}

#elif defined(WTYPE_Q6_K)
// 256-element super-blocks of 16 groups of 16 with signed 8-bit scales.
// Element 128h + 32q + l (q = 0..3, l < 32): low 4 bits in ql[64h + l + 32*(q&1)]
// (low nibble for q < 2, high for q >= 2), high 2 bits at bit 2q of
// qh[32h + l], minus 32; its scale is scales[8h + 2q + l/16].
// Unit u is half h = u: vec j = 8q + i holds l = 4i .. 4i+3 of quarter q.
#define WT_BLOCK 256u
#define WT_BLOCK_BYTES 210u  // ql[128], qh[64], scales[16], d
#define WT_UNITS 2u
#define WT_UNIT_VECS 32
#define WT_QH 128u
#define WT_SCALES 192u
#define WT_D 208u

// Signed byte j of a word.
float wt_sbyte(uint w, uint j) { return float(bitfieldExtract(int(w), int(8u * j), 8)); }

// Four elements of quarter q from its ql word lw and the qh word hw.
vec4 wt_q6(uint lw, uint hw, uint q, float scale) {
    uint hi = ((hw >> (2u * q)) & 0x03030303u) << 4;
    return scale * (vec4(wt_bytes(wt_nib(lw, q >> 1) | hi)) - 32.0);
}

struct wt_unit { uint ql[WT_RUN_MAX], qh[WT_RUN_MAX], tail[WT_RUN_MAX]; };
wt_unit wt_load(uint wsel, uint bb, uint u) {
    wt_unit s;
    wt_run(wsel, bb + 64u * u, 64u, s.ql);
    wt_run(wsel, bb + WT_QH + 32u * u, 32u, s.qh);
    wt_run(wsel, bb + WT_SCALES, WT_BLOCK_BYTES - WT_SCALES, s.tail);  // scales[16], d
    return s;
}
vec4 wt_vec(wt_unit s, uint u, uint j) {
    uint q = j >> 3, i = j & 7u;
    // The scale of quarter q, l = 4i: byte 2(q & 1) + i / 4 of scale word
    // 2u + q / 2.
    uint sw = u != 0u ? s.tail[2u + (q >> 1)] : s.tail[q >> 1];
    float d = unpackHalf2x16(WT_AT(s.tail, WT_D - WT_SCALES)).x;
    return wt_q6(s.ql[8u * (q & 1u) + i], s.qh[i], q, d * wt_sbyte(sw, 2u * (q & 1u) + (i >> 2)));
}

vec4 wt_get4(uint wsel, uint row_byte, uint k) {
    uint bb = row_byte + (k / WT_BLOCK) * WT_BLOCK_BYTES, kb = k % WT_BLOCK;
    uint h = kb >> 7, q = (kb >> 5) & 3u, l = kb & 31u;
    float sc = wt_sbyte(wt_u8(wsel, bb + WT_SCALES + (kb >> 4)), 0u);
    return wt_q6(wt_u32(wsel, bb + 64u * h + 32u * (q & 1u) + l),
                 wt_u32(wsel, bb + WT_QH + 32u * h + l), q, wt_f16(wsel, bb + WT_D) * sc);
}

#else
#error "dequant.glsl: define one WTYPE_*"
#endif

#define WT_UNIT_K (WT_BLOCK / WT_UNITS)
