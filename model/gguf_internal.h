/*
 * gguf_internal.h: the reader's private state, shared by the gguf_*.c files.
 *
 * How values are stored (erg_gguf_value):
 *   scalar        offset = first byte of the payload (for a string: its u64
 *                 length, the bytes follow)
 *   array         offset = first element (after element type and count);
 *                 string elements: aux indexes str_offsets, which holds the
 *                 file offset of each element's u64 length;
 *                 array elements: aux indexes nested, which holds each
 *                 element as a value of its own.
 * Every offset and count here was checked against the file when it was
 * parsed, so the accessors only re-check what a caller could have forged.
 */
#ifndef ERG_MODEL_GGUF_INTERNAL_H
#define ERG_MODEL_GGUF_INTERNAL_H

#include "model/gguf.h"

#include <stdint.h>
#include <string.h>

#define ERG_GGUF_MAGIC "GGUF"
#define ERG_GGUF_HEADER_SIZE 24       /* magic, version, tensor count, kv count */
#define ERG_GGUF_MAX_DEPTH 8          /* arrays nest at most this deep */
#define ERG_GGUF_MAX_NAME 64          /* the spec's limit for tensor names */
#define ERG_GGUF_ALIGNMENT_KEY "general.alignment"

/* Open-addressing hash of names to indices, for duplicate checks and O(1)
 * lookups. The names are not copied: they must outlive the index. */
typedef struct gguf_name_slot {
    const char *ptr; /* NULL: empty slot */
    uint64_t len;
    uint64_t index;
} gguf_name_slot;

typedef struct gguf_name_index {
    gguf_name_slot *slots;
    uint64_t mask; /* slot count - 1 */
    uint64_t seed; /* per index, so a file cannot pick names that all collide */
} gguf_name_index;

/* Sizes the index for n names; false if out of memory. */
bool erg_gguf_names_init(gguf_name_index *ix, const erg_allocator *alloc, uint64_t n);
void erg_gguf_names_free(gguf_name_index *ix, const erg_allocator *alloc);
/* Adds name → index. If the name is already there, adds nothing and returns
 * the index it has; else returns -1. The index must have room. */
int64_t erg_gguf_names_add(gguf_name_index *ix, const char *ptr, uint64_t len, uint64_t index);
/* Index of the name, or -1. */
int64_t erg_gguf_names_find(const gguf_name_index *ix, const char *ptr, uint64_t len);

typedef struct gguf_kv {
    erg_gguf_str key_in_file; /* the key's bytes in the file */
    const char *key;          /* NUL-terminated copy */
    uint64_t raw_start;       /* the value's bytes, type tag included: */
    uint64_t raw_end;         /* [raw_start, raw_end) */
    erg_gguf_value value;
} gguf_kv;

struct erg_gguf {
    erg_allocator alloc;
    const uint8_t *base;
    uint64_t size;
    void *mapping; /* mmap'ed file, or NULL */
    void *owned;   /* file read into memory (no_mmap), or NULL */

    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;

    uint64_t n_kv;
    gguf_kv *kvs;
    uint64_t n_tensors;
    erg_gguf_tensor *tensors;

    uint64_t *str_offsets; /* string-array elements */
    size_t n_str_offsets, cap_str_offsets;
    erg_gguf_value *nested; /* array-array elements */
    size_t n_nested, cap_nested;

    char *names; /* NUL-terminated copies of keys and tensor names */
    gguf_name_index kv_index, tensor_index;
    char **cstr_cache; /* per kv, erg_gguf_get_cstr's copies */
};

/* Validates the file at g->base (g->size bytes) and fills in the reader's
 * tables. On failure the tables may be partly built: erg_gguf_close frees
 * them. */
erg_status erg_gguf_parse(erg_gguf *g, erg_diag *diag);

/* Bytes of one element of a fixed-size type; 0 for strings, arrays and
 * unknown types. */
uint32_t erg_gguf_type_size(erg_gguf_type t);

static inline uint16_t gguf_le16(const uint8_t *p) {
    return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t gguf_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t gguf_le64(const uint8_t *p) {
    return (uint64_t)gguf_le32(p) | (uint64_t)gguf_le32(p + 4) << 32;
}

/* Whether [off, off + n) lies inside the file. */
static inline bool gguf_span_ok(const erg_gguf *g, uint64_t off, uint64_t n) {
    return off <= g->size && n <= g->size - off;
}

#endif
