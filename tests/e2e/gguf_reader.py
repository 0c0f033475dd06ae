"""Read GGUF files (versions 2 and 3) with the standard library and numpy.

Written from the published GGUF format, independently of erg's C reader, so
that the end-to-end check catches mistakes in either.

File layout (little-endian):
    magic "GGUF", u32 version, u64 tensor count, u64 key/value count,
    key/values:   string key, u32 value type, value
    tensor infos: string name, u32 n_dims, u64 dims[n_dims] (innermost first),
                  u32 ggml type, u64 offset (relative to the data section)
    padding up to general.alignment (default 32), then the tensor data.
A string is a u64 byte length followed by UTF-8 bytes (no terminator). An
array is a u32 element type, a u64 count, then the elements; arrays nest.
"""

import os
import struct
import sys

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# GGUF value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32 = 0, 1, 2, 3, 4, 5
T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 6, 7, 8, 9
T_UINT64, T_INT64, T_FLOAT64 = 10, 11, 12

# numpy dtype of each fixed-size value type.
SCALAR_DTYPES = {
    T_UINT8: np.dtype("<u1"), T_INT8: np.dtype("<i1"),
    T_UINT16: np.dtype("<u2"), T_INT16: np.dtype("<i2"),
    T_UINT32: np.dtype("<u4"), T_INT32: np.dtype("<i4"),
    T_FLOAT32: np.dtype("<f4"), T_BOOL: np.dtype("<u1"),
    T_UINT64: np.dtype("<u8"), T_INT64: np.dtype("<i8"),
    T_FLOAT64: np.dtype("<f8"),
}

# ggml tensor types: id -> (name, elements per block, bytes per block).
GGML_TYPES = {
    0: ("f32", 1, 4), 1: ("f16", 1, 2),
    2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20),
    6: ("q5_0", 32, 22), 7: ("q5_1", 32, 24),
    8: ("q8_0", 32, 34), 9: ("q8_1", 32, 36),
    10: ("q2_k", 256, 84), 11: ("q3_k", 256, 110),
    12: ("q4_k", 256, 144), 13: ("q5_k", 256, 176),
    14: ("q6_k", 256, 210), 15: ("q8_k", 256, 292),
    24: ("i8", 1, 1), 25: ("i16", 1, 2), 26: ("i32", 1, 4),
    27: ("i64", 1, 8), 28: ("f64", 1, 8), 30: ("bf16", 1, 2),
}
GGML_TYPE_IDS = {name: tid for tid, (name, _, _) in GGML_TYPES.items()}

MAX_DIMS = 4


class GGUFError(ValueError):
    """The file is not a well-formed GGUF file; the message says where."""


class TensorInfo:
    """One tensor's header entry. dims are GGUF order (innermost first);
    shape is the numpy order (outermost first)."""

    def __init__(self, name, dims, ggml_type, offset, data_offset, nbytes):
        self.name = name
        self.dims = dims
        self.ggml_type = ggml_type
        self.offset = offset
        self.data_offset = data_offset
        self.nbytes = nbytes

    @property
    def type_name(self):
        return GGML_TYPES[self.ggml_type][0]

    @property
    def shape(self):
        return tuple(reversed(self.dims))

    @property
    def n_elements(self):
        n = 1
        for d in self.dims:
            n *= d
        return n

    def __repr__(self):
        return "TensorInfo(%s, %s, %s, %d bytes at %d)" % (
            self.name, list(self.dims), self.type_name, self.nbytes, self.data_offset)


class _Cursor:
    """Sequential little-endian reads over the mapped file, bounds-checked."""

    def __init__(self, buf):
        self.buf = buf
        self.size = len(buf)
        self.pos = 0

    def need(self, n, what):
        if n < 0 or self.pos + n > self.size:
            raise GGUFError("%s at byte %d: needs %d bytes, file has %d"
                            % (what, self.pos, n, self.size))

    def unpack(self, fmt, what):
        """A tuple of the fields of struct format fmt."""
        n = struct.calcsize(fmt)
        self.need(n, what)
        vals = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return vals

    def u32(self, what):
        return self.unpack("<I", what)[0]

    def u64(self, what):
        return self.unpack("<Q", what)[0]

    def string(self, what):
        n = self.u64(what + " length")
        self.need(n, what)
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise GGUFError("%s at byte %d is not UTF-8: %s" % (what, self.pos - n, e))

    def array(self, elem_type, count, what):
        dt = SCALAR_DTYPES[elem_type]
        self.need(count * dt.itemsize, what)
        arr = np.frombuffer(self.buf, dtype=dt, count=count, offset=self.pos).copy()
        self.pos += count * dt.itemsize
        return arr.astype(bool) if elem_type == T_BOOL else arr


def _read_value(cur, vtype, what):
    """A value of type vtype: a Python scalar, str, numpy array (numeric
    arrays) or list (arrays of strings or of arrays)."""
    if vtype in SCALAR_DTYPES:
        v = cur.array(vtype, 1, what)[0]
        return bool(v) if vtype == T_BOOL else v.item()
    if vtype == T_STRING:
        return cur.string(what)
    if vtype == T_ARRAY:
        elem_type, count = cur.unpack("<IQ", what + " array header")
        return _read_array(cur, elem_type, count, what)
    raise GGUFError("%s at byte %d: unknown value type %d" % (what, cur.pos - 4, vtype))


def _read_array(cur, elem_type, count, what):
    if elem_type in SCALAR_DTYPES:
        return cur.array(elem_type, count, what)
    if elem_type not in (T_STRING, T_ARRAY):
        raise GGUFError("%s at byte %d: unknown array element type %d"
                        % (what, cur.pos - 12, elem_type))
    # Each element takes at least 8 bytes (a length or an array header), so a
    # hostile count fails here instead of looping for ages.
    cur.need(count * 8, what)
    return [_read_value(cur, elem_type, "%s[%d]" % (what, i)) for i in range(count)]


def _align(n, alignment):
    return (n + alignment - 1) // alignment * alignment


class GGUFReader:
    """A parsed GGUF file.

    version, alignment, data_offset (start of the data section),
    kv:        key -> value (see _read_value), in file order
    kv_types:  key -> GGUF value type (arrays: (T_ARRAY, element type))
    tensors:   name -> TensorInfo, in file order
    raw(name): the tensor's bytes as a read-only uint8 view of the mapped file
    """

    def __init__(self, path):
        self.path = path
        if os.path.getsize(path) == 0:  # np.memmap cannot map an empty file
            raise GGUFError("%s is empty" % path)
        self._map = np.memmap(path, dtype=np.uint8, mode="r")
        cur = _Cursor(self._map)
        cur.need(4, "magic")
        magic = bytes(self._map[:4])
        if magic != GGUF_MAGIC:
            raise GGUFError("bad magic %r at byte 0 (expected %r)" % (magic, GGUF_MAGIC))
        cur.pos = 4
        self.version = cur.u32("version")
        if self.version not in (2, 3):
            hint = " (a big-endian file?)" if self.version & 0xFFFF == 0 else ""
            raise GGUFError("unsupported GGUF version %d at byte 4%s" % (self.version, hint))
        n_tensors, n_kv = cur.unpack("<QQ", "tensor and key/value counts")
        self._read_kv(cur, n_kv)
        self.alignment = self._alignment()
        infos = self._read_tensor_infos(cur, n_tensors)
        self.data_offset = _align(cur.pos, self.alignment)
        self.tensors = {}
        for name, dims, ggml_type, offset in infos:
            self.tensors[name] = self._tensor_info(name, dims, ggml_type, offset)

    def _read_kv(self, cur, n_kv):
        self.kv = {}
        self.kv_types = {}
        cur.need(n_kv * 12, "key/values")  # a key length and a type at least
        for i in range(n_kv):
            key = cur.string("key %d" % i)
            if key in self.kv:
                raise GGUFError("duplicate key %r before byte %d" % (key, cur.pos))
            vtype = cur.u32("type of %s" % key)
            if vtype == T_ARRAY:
                elem_type, count = cur.unpack("<IQ", key + " array header")
                self.kv_types[key] = (T_ARRAY, elem_type)
                self.kv[key] = _read_array(cur, elem_type, count, key)
            else:
                self.kv_types[key] = vtype
                self.kv[key] = _read_value(cur, vtype, key)

    def _alignment(self):
        if "general.alignment" not in self.kv:
            return DEFAULT_ALIGNMENT
        a = self.kv["general.alignment"]
        if self.kv_types["general.alignment"] != T_UINT32 or a == 0 or a & (a - 1):
            raise GGUFError("general.alignment must be a u32 power of two, got %r" % (a,))
        return a

    def _read_tensor_infos(self, cur, n_tensors):
        cur.need(n_tensors * 24, "tensor infos")  # name length, n_dims, type, offset
        infos = []
        seen = set()
        for i in range(n_tensors):
            name = cur.string("name of tensor %d" % i)
            if name in seen:
                raise GGUFError("duplicate tensor name %r before byte %d" % (name, cur.pos))
            seen.add(name)
            n_dims = cur.u32("n_dims of %s" % name)
            if not 1 <= n_dims <= MAX_DIMS:
                raise GGUFError("tensor %s: n_dims %d at byte %d (1..%d allowed)"
                                % (name, n_dims, cur.pos - 4, MAX_DIMS))
            dims = cur.unpack("<%dQ" % n_dims, "dims of %s" % name)
            ggml_type, offset = cur.unpack("<IQ", "type and offset of %s" % name)
            infos.append((name, dims, ggml_type, offset))
        return infos

    def _tensor_info(self, name, dims, ggml_type, offset):
        if ggml_type not in GGML_TYPES:
            raise GGUFError("tensor %s: unknown ggml type %d" % (name, ggml_type))
        type_name, block, type_size = GGML_TYPES[ggml_type]
        if any(d <= 0 for d in dims):
            raise GGUFError("tensor %s: non-positive dimension in %s" % (name, list(dims)))
        if dims[0] % block:
            raise GGUFError("tensor %s: row of %d elements is not a multiple of the %s block (%d)"
                            % (name, dims[0], type_name, block))
        n = 1
        for d in dims:
            n *= d
        nbytes = n // block * type_size
        if offset % self.alignment:
            raise GGUFError("tensor %s: offset %d is not a multiple of the alignment %d"
                            % (name, offset, self.alignment))
        start = self.data_offset + offset
        if start + nbytes > len(self._map):
            raise GGUFError("tensor %s: data [%d, %d) runs past the end of the file (%d bytes)"
                            % (name, start, start + nbytes, len(self._map)))
        return TensorInfo(name, dims, ggml_type, offset, start, nbytes)

    def get(self, key, default=None):
        return self.kv.get(key, default)

    def raw(self, name):
        t = self.tensors[name]
        return self._map[t.data_offset:t.data_offset + t.nbytes]


def _describe(value):
    if isinstance(value, np.ndarray):
        return "array[%d] of %s %s" % (len(value), value.dtype, value[:4].tolist())
    if isinstance(value, list):
        return "array[%d] %r" % (len(value), value[:4])
    return repr(value)


def main(argv):
    """Prints a file's keys and tensors: python3 gguf_reader.py FILE."""
    if len(argv) != 2:
        print("usage: gguf_reader.py FILE.gguf", file=sys.stderr)
        return 2
    r = GGUFReader(argv[1])
    print("GGUF v%d, alignment %d, data at byte %d" % (r.version, r.alignment, r.data_offset))
    for k, v in r.kv.items():
        print("  %-48s %s" % (k, _describe(v)))
    for t in r.tensors.values():
        print("  %-32s %-6s %-24s offset %d" % (t.name, t.type_name, list(t.dims), t.offset))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
