"""Dequantise ggml tensor data to float64 with numpy, whole tensors at once.

Written from the ggml block definitions (ggml-common.h) and the meaning of
each field, independently of erg's C dequantiser. Every block is decoded as a
numpy structured array, so there are no Python loops over blocks.

Block layouts (little-endian, packed; d, m, dmin are IEEE half floats):
  q4_0  d, qs[16]            x = d * (q - 8),  q = 4 bits
  q4_1  d, m, qs[16]         x = d * q + m
  q5_0  d, qh[4], qs[16]     x = d * (q - 16), q = 4 low bits | 1 high bit
  q5_1  d, m, qh[4], qs[16]  x = d * q + m
  q8_0  d, qs[32] (int8)     x = d * q
  In the 32-element blocks byte l of qs holds element l in its low nibble and
  element l + 16 in its high nibble; bit l of the u32 qh is element l's 5th bit.

  q4_k  d, dmin, scales[12], qs[128]              256 elements, 8 sub-blocks of 32
  q5_k  d, dmin, scales[12], qh[32], qs[128]
        x = d * sc_j * q - dmin * m_j, with 6-bit sc_j, m_j packed in scales[12]
  q6_k  ql[128], qh[64], scales[16] (int8), d     16 sub-blocks of 16
        x = d * sc_j * (q - 32), q = 4 low bits | 2 high bits
"""

import sys
import time

import numpy as np

from gguf_reader import GGML_TYPES, GGML_TYPE_IDS

F16 = np.dtype("<f2")

BLOCKS = {
    "q4_0": np.dtype([("d", F16), ("qs", "u1", 16)]),
    "q4_1": np.dtype([("d", F16), ("m", F16), ("qs", "u1", 16)]),
    "q5_0": np.dtype([("d", F16), ("qh", "<u4"), ("qs", "u1", 16)]),
    "q5_1": np.dtype([("d", F16), ("m", F16), ("qh", "<u4"), ("qs", "u1", 16)]),
    "q8_0": np.dtype([("d", F16), ("qs", "i1", 32)]),
    "q4_k": np.dtype([("d", F16), ("dmin", F16), ("scales", "u1", 12), ("qs", "u1", 128)]),
    "q5_k": np.dtype([("d", F16), ("dmin", F16), ("scales", "u1", 12), ("qh", "u1", 32),
                      ("qs", "u1", 128)]),
    "q6_k": np.dtype([("ql", "u1", 128), ("qh", "u1", 64), ("scales", "i1", 16), ("d", F16)]),
}
for _name, _dt in BLOCKS.items():
    assert _dt.itemsize == GGML_TYPES[GGML_TYPE_IDS[_name]][2], _name


def _half(a):
    """A half-float field as a float64 column, to broadcast over a block."""
    return a.astype(np.float64)[:, None]


def _nibbles32(qs):
    """qs (n, 16) -> (n, 32) 4-bit values: low nibbles are elements 0..15,
    high nibbles elements 16..31."""
    return np.concatenate([qs & 0xF, qs >> 4], axis=1).astype(np.int64)


def _fifth_bits(qh):
    """u32 qh (n,) -> (n, 32) with bit l of qh as value 16 at element l."""
    return ((qh[:, None] >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int64) << 4


def _q4_0(b):
    return _half(b["d"]) * (_nibbles32(b["qs"]) - 8)


def _q4_1(b):
    return _half(b["d"]) * _nibbles32(b["qs"]) + _half(b["m"])


def _q5_0(b):
    return _half(b["d"]) * ((_nibbles32(b["qs"]) | _fifth_bits(b["qh"])) - 16)


def _q5_1(b):
    return _half(b["d"]) * (_nibbles32(b["qs"]) | _fifth_bits(b["qh"])) + _half(b["m"])


def _q8_0(b):
    return _half(b["d"]) * b["qs"].astype(np.int64)


def _k_scales_mins(scales):
    """The eight 6-bit scales and mins of a q4_k/q5_k block, (n, 8) each.
    Bytes 0..3 hold scales 0..3 in their low 6 bits, bytes 4..7 mins 0..3;
    bytes 8..11 hold the low 4 bits of scales 4..7 (low nibble) and mins 4..7
    (high nibble), whose top 2 bits sit in the spare top bits of bytes 0..7."""
    s = scales.astype(np.int64)
    sc = np.concatenate([s[:, 0:4] & 63, (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)], axis=1)
    mn = np.concatenate([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], axis=1)
    return sc, mn


def _k_nibbles(qs):
    """qs (n, 128) -> (n, 8, 32): each 32-byte chunk c holds sub-block 2c in
    its low nibbles and sub-block 2c + 1 in its high nibbles."""
    q = qs.reshape(-1, 4, 32)
    return np.stack([q & 0xF, q >> 4], axis=2).reshape(-1, 8, 32).astype(np.int64)


def _k_affine(b, q):
    sc, mn = _k_scales_mins(b["scales"])
    d = b["d"].astype(np.float64)[:, None, None]
    dmin = b["dmin"].astype(np.float64)[:, None, None]
    return (d * sc[:, :, None] * q - dmin * mn[:, :, None]).reshape(-1, 256)


def _q4_k(b):
    return _k_affine(b, _k_nibbles(b["qs"]))


def _q5_k(b):
    # Bit j of qh[l] is the 5th bit of element l of sub-block j.
    high = (b["qh"][:, None, :] >> np.arange(8, dtype=np.uint8)[None, :, None]) & 1
    return _k_affine(b, _k_nibbles(b["qs"]) | (high.astype(np.int64) << 4))


def _q6_k(b):
    # Each half of 128 elements uses 64 bytes of ql and 32 of qh. Its four
    # groups of 32 are: ql[0:32] low, ql[32:64] low, ql[0:32] high, ql[32:64]
    # high nibbles; group g takes its 2 high bits from bits 2g, 2g+1 of qh[l].
    ql = b["ql"].reshape(-1, 2, 2, 32)
    low = np.stack([ql & 0xF, ql >> 4], axis=2).reshape(-1, 2, 4, 32).astype(np.int64)
    qh = b["qh"].reshape(-1, 2, 1, 32).astype(np.int64)
    high = (qh >> (2 * np.arange(4))[None, None, :, None]) & 3
    q = ((low | (high << 4)) - 32).reshape(-1, 256)
    scale = np.repeat(b["scales"].astype(np.int64), 16, axis=1)
    return _half(b["d"]) * scale * q


_DECODERS = {
    "q4_0": _q4_0, "q4_1": _q4_1, "q5_0": _q5_0, "q5_1": _q5_1, "q8_0": _q8_0,
    "q4_k": _q4_k, "q5_k": _q5_k, "q6_k": _q6_k,
}

SUPPORTED = ("f32", "f16", "bf16") + tuple(_DECODERS)


def dequantize(raw, type_name, shape):
    """Dequantises the bytes raw (uint8, exactly the tensor's data) of a
    tensor of ggml type type_name into a float64 array of numpy shape shape
    (outermost first, so shape[-1] is the row length)."""
    buf = np.ascontiguousarray(raw, dtype=np.uint8)
    if type_name == "f32":
        out = np.frombuffer(buf, dtype="<f4").astype(np.float64)
    elif type_name == "f16":
        out = np.frombuffer(buf, dtype=F16).astype(np.float64)
    elif type_name == "bf16":
        # bf16 is the top half of an f32.
        bits = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
        out = bits.view(np.float32).astype(np.float64)
    elif type_name in _DECODERS:
        out = _DECODERS[type_name](np.frombuffer(buf, dtype=BLOCKS[type_name]))
    else:
        raise ValueError("cannot dequantise type %s (supported: %s)"
                         % (type_name, ", ".join(SUPPORTED)))
    n = int(np.prod(shape))
    if out.size != n:
        raise ValueError("%s data of %d bytes holds %d values, shape %s needs %d"
                         % (type_name, buf.size, out.size, list(shape), n))
    return out.reshape(shape)


def dequantize_tensor(reader, name):
    """A tensor of a GGUFReader, dequantised to float64 (numpy shape)."""
    t = reader.tensors[name]
    return dequantize(reader.raw(name), t.type_name, t.shape)


# --------------------------------------------------------------------------
# Self-test: hand-built blocks whose values are worked out in the comments.
# --------------------------------------------------------------------------

def _block(type_name, **fields):
    b = np.zeros(1, dtype=BLOCKS[type_name])
    for k, v in fields.items():
        b[k] = v
    return b.view(np.uint8)


def _expect(got, index_values, what):
    for i, want in index_values.items():
        if got[i] != want:
            raise AssertionError("%s: element %d is %r, expected %r" % (what, i, got[i], want))


def _test_plain():
    # 1.5 is 0x3e00 in half and 0x3fc0 in bf16 (top of f32 0x3fc00000);
    # -2 is 0xc000 in half and 0xc000 in bf16.
    f16 = dequantize(np.array([0x00, 0x3e, 0x00, 0xc0], np.uint8), "f16", (2,))
    bf16 = dequantize(np.array([0xc0, 0x3f, 0x00, 0xc0], np.uint8), "bf16", (2,))
    f32 = dequantize(np.array([1.25, -3.0], "<f4").view(np.uint8), "f32", (2,))
    assert f16.tolist() == [1.5, -2.0], f16
    assert bf16.tolist() == [1.5, -2.0], bf16
    assert f32.tolist() == [1.25, -3.0], f32


def _test_legacy():
    qs = np.arange(16, dtype=np.uint8) * 0x11  # byte l = l | l << 4
    qs[0] = 0xF3                               # element 0: 3, element 16: 15
    # q4_0, d = 0.5: x[l] = 0.5 * (l - 8), x[16 + l] the same; x[0] = 0.5 * (3 - 8)
    # = -2.5, x[16] = 0.5 * (15 - 8) = 3.5, x[5] = x[21] = -1.5, x[31] = 3.5.
    y = dequantize(_block("q4_0", d=0.5, qs=qs), "q4_0", (32,))
    _expect(y, {0: -2.5, 16: 3.5, 5: -1.5, 21: -1.5, 31: 3.5, 8: 0.0}, "q4_0")
    # q4_1, d = 0.25, m = -1: x = 0.25 q - 1: x[0] = -0.25, x[16] = 2.75, x[9] = 1.25.
    y = dequantize(_block("q4_1", d=0.25, m=-1.0, qs=qs), "q4_1", (32,))
    _expect(y, {0: -0.25, 16: 2.75, 9: 1.25, 25: 1.25}, "q4_1")
    # q5_0, d = 2, qh with bits 1 and 17 set (0x00020002): element 1 gets q =
    # 1 | 16 = 17 -> 2 * (17 - 16) = 2; element 17 gets 1 | 16 = 17 -> 2;
    # element 2 has no high bit: 2 * (2 - 16) = -28; element 16: 2 * (15 - 16) = -2.
    y = dequantize(_block("q5_0", d=2.0, qh=0x00020002, qs=qs), "q5_0", (32,))
    _expect(y, {1: 2.0, 17: 2.0, 2: -28.0, 16: -2.0, 0: -26.0}, "q5_0")
    # q5_1, d = 0.5, m = 1, qh bit 31 set: element 31 is 15 | 16 = 31 ->
    # 0.5 * 31 + 1 = 16.5; element 15 (no high bit) 0.5 * 15 + 1 = 8.5.
    y = dequantize(_block("q5_1", d=0.5, m=1.0, qh=0x80000000, qs=qs), "q5_1", (32,))
    _expect(y, {31: 16.5, 15: 8.5, 0: 2.5}, "q5_1")
    # q8_0, d = 0.125: qs[l] = l - 16, so x[0] = -2, x[16] = 0, x[31] = 1.875.
    y = dequantize(_block("q8_0", d=0.125, qs=np.arange(32) - 16), "q8_0", (32,))
    _expect(y, {0: -2.0, 16: 0.0, 31: 1.875}, "q8_0")


def _k_scales_bytes(sc, mn):
    """Packs eight 6-bit scales and mins the way the q4_k/q5_k layout does
    (the inverse of _k_scales_mins, written out per byte)."""
    s = [0] * 12
    for j in range(4):
        s[j] = sc[j] | ((sc[j + 4] >> 4) << 6)
        s[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6)
        s[j + 8] = (sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4)
    return np.array(s, np.uint8)


def _test_k_quants():
    sc = [1, 2, 3, 4, 17, 33, 50, 63]  # 17, 33, 50, 63 need the top 2 bits
    mn = [0, 5, 10, 15, 36, 8, 60, 20]  # top bits differ from the scales' (1, 2, 3, 3)
    scales = _k_scales_bytes(sc, mn)
    # A hand check of the packing: byte 0 = 1 | (17 >> 4) << 6 = 1 | 64 = 65;
    # byte 4 = 0 | (36 >> 4) << 6 = 128; byte 8 = (17 & 15) | (36 & 15) << 4 =
    # 1 | 64 = 65; byte 11 = (63 & 15) | (20 & 15) << 4 = 15 | 64 = 79.
    assert (scales[0], scales[4], scales[8], scales[11]) == (65, 128, 65, 79), scales
    got_sc, got_mn = _k_scales_mins(scales[None, :])
    assert got_sc[0].tolist() == sc and got_mn[0].tolist() == mn, (got_sc, got_mn)

    # qs: chunk c (32 bytes) all 0x?? with low nibble c + 1 and high nibble 15 - c.
    qs = np.concatenate([np.full(32, (c + 1) | ((15 - c) << 4), np.uint8) for c in range(4)])
    # q4_k, d = 0.5, dmin = 0.25: sub-block j = 2c (low) has q = c + 1, 2c + 1
    # (high) has q = 15 - c; x = 0.5 * sc_j * q - 0.25 * mn_j:
    #   element 0   (j 0, q 1):  0.5 * 1 * 1 - 0          = 0.5
    #   element 32  (j 1, q 15): 0.5 * 2 * 15 - 0.25 * 5  = 13.75
    #   element 128 (j 4, q 3):  0.5 * 17 * 3 - 0.25 * 36 = 16.5
    #   element 255 (j 7, q 12): 0.5 * 63 * 12 - 0.25 * 20 = 373
    b = _block("q4_k", d=0.5, dmin=0.25, scales=scales, qs=qs)
    y = dequantize(b, "q4_k", (256,))
    _expect(y, {0: 0.5, 31: 0.5, 32: 13.75, 128: 16.5, 255: 373.0}, "q4_k")
    # q5_k, same fields, qh[l] = 0x01 for l < 16 and 0x80 for l >= 16: the 5th
    # bit is set for elements 0..15 of sub-block 0 and 16..31 of sub-block 7:
    #   element 0   (j 0, q 1 + 16 = 17):  0.5 * 1 * 17 - 0          = 8.5
    #   element 16  (j 0, q 1):                                        0.5
    #   element 224 (j 7, q 12):                                       373
    #   element 240 (j 7, q 12 + 16 = 28): 0.5 * 63 * 28 - 0.25 * 20  = 877
    qh = np.where(np.arange(32) < 16, 0x01, 0x80).astype(np.uint8)
    b = _block("q5_k", d=0.5, dmin=0.25, scales=scales, qh=qh, qs=qs)
    y = dequantize(b, "q5_k", (256,))
    _expect(y, {0: 8.5, 16: 0.5, 32: 13.75, 224: 373.0, 240: 877.0}, "q5_k")

    # q6_k, d = 0.25, scales[j] = j - 8 (so -8 .. 7). Each half of 128
    # elements reads 64 bytes of ql and 32 of qh, all bytes of a run equal:
    #   half 0: ql[0:32] = 0x21, ql[32:64] = 0x43, qh[0:32] = 0b11100100 (0xE4)
    #   half 1: ql[64:96] = 0x65, ql[96:128] = 0x87, qh[32:64] = 0b00011011 (0x1B)
    # Group g (32 elements) takes the 2 bits of qh at 2g as bits 4..5 of q:
    #   half 0: g0 = 1 | 0 << 4 = 1 -> -31   g1 = 3 | 1 << 4 = 19 -> -13
    #           g2 = 2 | 2 << 4 = 34 -> 2    g3 = 4 | 3 << 4 = 52 -> 20
    #   half 1: g0 = 5 | 3 << 4 = 53 -> 21   g1 = 7 | 2 << 4 = 39 -> 7
    #           g2 = 6 | 1 << 4 = 22 -> -10  g3 = 8 | 0 << 4 = 8 -> -24
    # (low nibbles feed g0, g1; high nibbles g2, g3.) Element e uses scale e // 16:
    #   e 0:   0.25 * -8 * -31 = 62      e 40:  0.25 * -6 * -13 = 19.5
    #   e 70:  0.25 * -4 * 2 = -2        e 127: 0.25 * -1 * 20 = -5
    #   e 128: 0.25 * 0 * 21 = 0         e 150: 0.25 * 1 * 21 = 5.25
    #   e 170: 0.25 * 2 * 7 = 3.5        e 200: 0.25 * 4 * -10 = -10
    #   e 255: 0.25 * 7 * -24 = -42
    ql = np.repeat(np.array([0x21, 0x43, 0x65, 0x87], np.uint8), 32)
    qh = np.repeat(np.array([0xE4, 0x1B], np.uint8), 32)
    b = _block("q6_k", ql=ql, qh=qh, scales=np.arange(16) - 8, d=0.25)
    y = dequantize(b, "q6_k", (256,))
    _expect(y, {0: 62.0, 40: 19.5, 70: -2.0, 127: -5.0, 128: 0.0, 150: 5.25, 170: 3.5,
                200: -10.0, 255: -42.0}, "q6_k")


def _random_blocks(name, n_blocks, rng):
    """Random bytes as blocks of type name, with finite half-float scales."""
    raw = rng.integers(0, 256, size=BLOCKS[name].itemsize * n_blocks, dtype=np.uint8)
    blocks = raw.view(BLOCKS[name])
    for f in ("d", "m", "dmin"):
        if f in BLOCKS[name].names:
            blocks[f] = rng.uniform(-1, 1, size=n_blocks)
    return raw


def _test_multi_block_and_speed():
    # Two rows of two q4_0 blocks each: block k has d = k + 1 and all nibbles
    # 9 (bytes 0x99), so every element of block k is (k + 1) * (9 - 8) = k + 1.
    blocks = np.zeros(4, dtype=BLOCKS["q4_0"])
    blocks["d"] = [1, 2, 3, 4]
    blocks["qs"] = 0x99
    y = dequantize(blocks.view(np.uint8), "q4_0", (2, 64))
    assert y[0, :32].tolist() == [1.0] * 32 and y[1, 32:].tolist() == [4.0] * 32, y

    # A 256 x 512 tensor of each type: must take milliseconds, not seconds.
    rng = np.random.default_rng(0)
    for name in _DECODERS:
        block = GGML_TYPES[GGML_TYPE_IDS[name]][1]
        raw = _random_blocks(name, 256 * 512 // block, rng)
        t0 = time.perf_counter()
        y = dequantize(raw, name, (256, 512))
        dt = time.perf_counter() - t0
        assert np.all(np.isfinite(y)), name
        assert dt < 0.5, "%s: 256x512 took %.3f s" % (name, dt)


def self_test():
    _test_plain()
    _test_legacy()
    _test_k_quants()
    _test_multi_block_and_speed()
    print("dequant self-test: all %d types passed" % len(SUPPORTED))


if __name__ == "__main__":
    if sys.argv[1:] != ["--self-test"]:
        print("usage: dequant.py --self-test", file=sys.stderr)
        sys.exit(2)
    self_test()
