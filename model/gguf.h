/*
 * gguf.h: reading and writing GGUF files (versions 2 and 3).
 *
 * The reader maps the file (or takes a caller's memory buffer), validates the
 * whole header up front and then serves keys, values and tensor data without
 * copying. Every offset, size, count and dimension read from the file is
 * checked against the file's size with overflow-safe arithmetic before use;
 * a truncated, corrupt or hostile file gives ERG_FORMAT with a sentence that
 * names the field and its byte offset. It never reads out of bounds.
 *
 * Layout (little-endian): magic "GGUF", u32 version, u64 tensor count,
 * u64 kv count, then the key/values, the tensor infos, padding to
 * general.alignment (default 32), and the tensor data. Strings are a u64
 * length then bytes (no terminator). Arrays are a u32 element type, a u64
 * count, then the elements; arrays may nest (the reader accepts 8 levels).
 * Versions 2 and 3 share this layout (v1, with u32 counts, is refused, and
 * so are big-endian files).
 *
 * What the reader requires beyond the layout: keys non-empty and unique;
 * tensor names 1..64 bytes and unique; 1..4 positive dims; a known dtype
 * with ne[0] a multiple of its block size; general.alignment, if present, a
 * u32 power of two; each tensor's offset a multiple of the alignment and
 * its data inside the file. Tensors may come in any order with gaps between
 * them, but their data must not overlap. Keys and tensor names must not
 * contain NUL bytes.
 */
#ifndef ERG_MODEL_GGUF_H
#define ERG_MODEL_GGUF_H

#include "base/alloc.h"
#include "base/diag.h"
#include "graph/dtype.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum erg_gguf_type {
    ERG_GGUF_UINT8 = 0,
    ERG_GGUF_INT8 = 1,
    ERG_GGUF_UINT16 = 2,
    ERG_GGUF_INT16 = 3,
    ERG_GGUF_UINT32 = 4,
    ERG_GGUF_INT32 = 5,
    ERG_GGUF_FLOAT32 = 6,
    ERG_GGUF_BOOL = 7,
    ERG_GGUF_STRING = 8,
    ERG_GGUF_ARRAY = 9,
    ERG_GGUF_UINT64 = 10,
    ERG_GGUF_INT64 = 11,
    ERG_GGUF_FLOAT64 = 12,
    ERG_GGUF_TYPE_COUNT = 13
} erg_gguf_type;

#define ERG_GGUF_DEFAULT_ALIGNMENT 32
#define ERG_GGUF_MAX_DIMS 4

/* A string inside the file: not NUL-terminated. */
typedef struct erg_gguf_str {
    const char *ptr;
    uint64_t len;
} erg_gguf_str;

/*
 * A value. Scalars are read with the typed getters below. An array value has
 * elem_type and count; its elements are reached with erg_gguf_arr_*():
 * numeric arrays as one contiguous (possibly unaligned) little-endian span,
 * string arrays by index, nested arrays by index as values of their own.
 */
typedef struct erg_gguf_value {
    erg_gguf_type type;
    erg_gguf_type elem_type; /* arrays only */
    uint64_t count;          /* arrays only */
    uint64_t offset;         /* byte offset of the payload in the file */
    uint64_t aux;            /* reader-private (index tables for arrays) */
} erg_gguf_value;

typedef struct erg_gguf_tensor {
    erg_gguf_str name;   /* a NUL-terminated copy owned by the reader */
    uint32_t n_dims;
    int64_t ne[ERG_GGUF_MAX_DIMS]; /* unused dims are 1 */
    erg_dtype dtype;
    uint64_t offset;     /* relative to the data section, as stored */
    uint64_t data_offset; /* absolute offset in the file */
    uint64_t size;       /* bytes */
    const void *data;    /* = base + data_offset */
} erg_gguf_tensor;

typedef struct erg_gguf erg_gguf;

/* Opens and validates a file; maps it unless no_mmap (then reads it). */
erg_status erg_gguf_open_file(const erg_allocator *alloc, const char *path, bool no_mmap,
                              erg_gguf **out, erg_diag *diag);
/* Parses a caller-owned buffer, which must outlive the reader. */
erg_status erg_gguf_open_memory(const erg_allocator *alloc, const void *data, size_t size,
                                erg_gguf **out, erg_diag *diag);
void erg_gguf_close(erg_gguf *g);

uint32_t erg_gguf_version(const erg_gguf *g);
uint64_t erg_gguf_alignment(const erg_gguf *g);
uint64_t erg_gguf_file_size(const erg_gguf *g);
const void *erg_gguf_base(const erg_gguf *g);
/* Start of the data section: the end of the tensor infos rounded up to the
 * alignment (with no tensors, possibly past the end of an unpadded file). */
uint64_t erg_gguf_data_offset(const erg_gguf *g);

/* Key/values */
uint64_t erg_gguf_kv_count(const erg_gguf *g);
/* NUL-terminated copy of key i (owned by the reader). */
const char *erg_gguf_kv_key(const erg_gguf *g, uint64_t i);
const erg_gguf_value *erg_gguf_kv_value(const erg_gguf *g, uint64_t i);
/* Index of key, or -1. */
int64_t erg_gguf_find(const erg_gguf *g, const char *key);
const erg_gguf_value *erg_gguf_get(const erg_gguf *g, const char *key); /* NULL if absent */

const char *erg_gguf_type_name(erg_gguf_type t);

/* Typed reads of a scalar value. Each returns false if the value's type does
 * not convert: get_int accepts any integer type and bool (and fails if the
 * value does not fit in int64), get_uint additionally rejects negatives,
 * get_float accepts floats and integers, get_str only strings. */
bool erg_gguf_get_int(const erg_gguf *g, const erg_gguf_value *v, int64_t *out);
bool erg_gguf_get_uint(const erg_gguf *g, const erg_gguf_value *v, uint64_t *out);
bool erg_gguf_get_float(const erg_gguf *g, const erg_gguf_value *v, double *out);
bool erg_gguf_get_bool(const erg_gguf *g, const erg_gguf_value *v, bool *out);
bool erg_gguf_get_str(const erg_gguf *g, const erg_gguf_value *v, erg_gguf_str *out);
/* NUL-terminated copy of a string value, owned by the reader (cached). NULL
 * if not a string or out of memory. A string holding NUL bytes is cut at the
 * first one: use get_str for the whole string. */
const char *erg_gguf_get_cstr(erg_gguf *g, const erg_gguf_value *v);

/* Arrays. For numeric element types: pointer to the first element's bytes
 * (count * element size bytes, unaligned). */
const void *erg_gguf_arr_data(const erg_gguf *g, const erg_gguf_value *v);
/* Element i of a numeric array converted, false if out of range / not numeric. */
bool erg_gguf_arr_int(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, int64_t *out);
bool erg_gguf_arr_float(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, double *out);
/* Element i of a string array. */
bool erg_gguf_arr_str(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, erg_gguf_str *out);
/* Element i of an array of arrays, as a value. */
bool erg_gguf_arr_value(const erg_gguf *g, const erg_gguf_value *v, uint64_t i,
                        erg_gguf_value *out);

/* Tensors */
uint64_t erg_gguf_tensor_count(const erg_gguf *g);
const erg_gguf_tensor *erg_gguf_tensor_at(const erg_gguf *g, uint64_t i);
/* Tensor by name, or NULL. */
const erg_gguf_tensor *erg_gguf_find_tensor(const erg_gguf *g, const char *name);

/* ---------------------------------------------------------------------- */
/* Writer: builds a GGUF v3 file in the order llama.cpp writes it.         */
/* ---------------------------------------------------------------------- */

typedef struct erg_gguf_writer erg_gguf_writer;

erg_status erg_gguf_writer_create(const erg_allocator *alloc, erg_gguf_writer **out,
                                  erg_diag *diag);
void erg_gguf_writer_free(erg_gguf_writer *w);

/* Key/values, written in the order they are added. Adding a key twice is an
 * error (ERG_INVALID_ARGUMENT), and so is a general.alignment that is not a
 * u32 power of two; a valid one sets the alignment of the tensor data. */
erg_status erg_gguf_writer_add_u32(erg_gguf_writer *w, const char *key, uint32_t v);
erg_status erg_gguf_writer_add_i32(erg_gguf_writer *w, const char *key, int32_t v);
erg_status erg_gguf_writer_add_u64(erg_gguf_writer *w, const char *key, uint64_t v);
erg_status erg_gguf_writer_add_f32(erg_gguf_writer *w, const char *key, float v);
erg_status erg_gguf_writer_add_bool(erg_gguf_writer *w, const char *key, bool v);
erg_status erg_gguf_writer_add_str(erg_gguf_writer *w, const char *key, const char *v);
/* A scalar of any fixed-size type (not a string or an array): value points to
 * one element in little-endian byte order, as the file stores it. */
erg_status erg_gguf_writer_add_scalar(erg_gguf_writer *w, const char *key, erg_gguf_type type,
                                      const void *value);
/* A numeric array of count elements of type elem (data in little-endian). */
erg_status erg_gguf_writer_add_arr(erg_gguf_writer *w, const char *key, erg_gguf_type elem,
                                   const void *data, uint64_t count);
erg_status erg_gguf_writer_add_arr_str(erg_gguf_writer *w, const char *key,
                                       const char *const *strs, uint64_t count);
/* Copies a key/value (any type, nested arrays included) from a reader. */
erg_status erg_gguf_writer_copy_kv(erg_gguf_writer *w, const erg_gguf *src, uint64_t i);

/* Tensors: the info is recorded now and the data is taken at write time from
 * the pointer given, which must stay valid until erg_gguf_writer_write.
 * Names must be unique and shorter than 64 bytes (llama.cpp's limit). */
erg_status erg_gguf_writer_add_tensor(erg_gguf_writer *w, const char *name, erg_dtype dtype,
                                      uint32_t n_dims, const int64_t *ne, const void *data);

/* Writes the file (header, infos, aligned data). On failure the partial file
 * is removed and diag says why (e.g. the disk is full). */
erg_status erg_gguf_writer_write(erg_gguf_writer *w, const char *path, erg_diag *diag);

#endif
