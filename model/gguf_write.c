/*
 * gguf_write.c: building a GGUF v3 file the way llama.cpp lays it out.
 *
 * Key/values are serialised as they are added (so the writer holds their
 * exact bytes); tensors are recorded and their data read from the caller's
 * pointers at write time. The file is written to "<path>.tmp" and renamed
 * into place only when every write, the flush, the sync and the close
 * succeeded, so a failure never leaves a partial file at path.
 */
#include "model/gguf_internal.h"

#include "base/checked.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* llama.cpp keeps tensor names shorter than this (GGML_MAX_NAME). */
#define WRITER_MAX_NAME 64
#define GGUF_WRITE_VERSION 3


typedef struct writer_tensor {
    char *name;
    erg_dtype dtype;
    uint32_t n_dims;
    int64_t ne[ERG_GGUF_MAX_DIMS];
    const void *data;
    uint64_t size;
} writer_tensor;

struct erg_gguf_writer {
    erg_allocator alloc;
    uint8_t *meta; /* the serialised key/values, in order */
    size_t meta_len, meta_cap;
    size_t *key_starts; /* offset in meta of each key/value */
    size_t n_kv, cap_kv;
    writer_tensor *tensors;
    size_t n_tensors, cap_tensors;
    uint32_t alignment;
};

erg_status erg_gguf_writer_create(const erg_allocator *alloc, erg_gguf_writer **out,
                                  erg_diag *diag) {
    if (!out)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_gguf_writer_create: out is NULL");
    alloc = erg_allocator_or_default(alloc);
    erg_gguf_writer *w = erg_calloc(alloc, 1, sizeof *w);
    *out = w;
    if (!w)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory creating a GGUF writer");
    w->alloc = *alloc;
    w->alignment = ERG_GGUF_DEFAULT_ALIGNMENT;
    return ERG_OK;
}

void erg_gguf_writer_free(erg_gguf_writer *w) {
    if (!w)
        return;
    erg_allocator alloc = w->alloc;
    for (size_t i = 0; i < w->n_tensors; i++)
        erg_free(&alloc, w->tensors[i].name);
    erg_free(&alloc, w->tensors);
    erg_free(&alloc, w->key_starts);
    erg_free(&alloc, w->meta);
    erg_free(&alloc, w);
}

/* ---- key/values -------------------------------------------------------- */

static void le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool put(erg_gguf_writer *w, const void *p, size_t n) {
    size_t need;
    if (!erg_add_size(w->meta_len, n, &need) ||
        !erg_grow_array(&w->alloc, (void **)&w->meta, 1, &w->meta_cap, need))
        return false;
    if (n)
        memcpy(w->meta + w->meta_len, p, n);
    w->meta_len = need;
    return true;
}

static bool put_u32(erg_gguf_writer *w, uint32_t v) {
    uint8_t b[4];
    le32(b, v);
    return put(w, b, 4);
}

static bool put_u64(erg_gguf_writer *w, uint64_t v) {
    uint8_t b[8];
    le64(b, v);
    return put(w, b, 8);
}

static bool put_str(erg_gguf_writer *w, const char *s, size_t len) {
    return put_u64(w, len) && put(w, s, len);
}

/* Keys are few (tens), so a linear search is enough. */
static bool has_key(const erg_gguf_writer *w, const char *key, size_t len) {
    for (size_t i = 0; i < w->n_kv; i++) {
        const uint8_t *p = w->meta + w->key_starts[i];
        if (gguf_le64(p) == len && memcmp(p + 8, key, len) == 0)
            return true;
    }
    return false;
}

/* general.alignment sets the data alignment, so it must be a u32 power of
 * two (as llama.cpp requires). payload is the value after its type tag;
 * *alignment is set to the new alignment, or 0 for any other key. */
static erg_status check_reserved(const char *key, erg_gguf_type type, const uint8_t *payload,
                                 uint32_t *alignment) {
    *alignment = 0;
    if (strcmp(key, ERG_GGUF_ALIGNMENT_KEY) != 0)
        return ERG_OK;
    if (type != ERG_GGUF_UINT32)
        return ERG_INVALID_ARGUMENT;
    uint32_t a = gguf_le32(payload);
    if (a == 0 || (a & (a - 1)) != 0)
        return ERG_INVALID_ARGUMENT;
    *alignment = a;
    return ERG_OK;
}

/* Checks the key, makes room for the record and writes the key and the
 * type tag; *start is where the record begins in meta. */
static erg_status begin_kv(erg_gguf_writer *w, const char *key, erg_gguf_type type,
                           size_t *start) {
    if (!w || !key || !key[0])
        return ERG_INVALID_ARGUMENT;
    size_t len = strlen(key);
    if (has_key(w, key, len))
        return ERG_INVALID_ARGUMENT;
    if (!erg_grow_array(&w->alloc, (void **)&w->key_starts, sizeof(size_t), &w->cap_kv,
                        w->n_kv + 1))
        return ERG_OUT_OF_MEMORY;
    *start = w->meta_len;
    if (!put_str(w, key, len) || !put_u32(w, (uint32_t)type)) {
        w->meta_len = *start;
        return ERG_OUT_OF_MEMORY;
    }
    return ERG_OK;
}

/* Keeps the record begun at start if its payload went in (ok), else drops it. */
static erg_status end_kv(erg_gguf_writer *w, size_t start, bool ok) {
    if (!ok) {
        w->meta_len = start;
        return ERG_OUT_OF_MEMORY;
    }
    w->key_starts[w->n_kv++] = start;
    return ERG_OK;
}

/* A key whose payload is given as the bytes that follow its type tag. */
static erg_status add_kv(erg_gguf_writer *w, const char *key, erg_gguf_type type,
                         const uint8_t *payload, size_t len) {
    if (!w || !key)
        return ERG_INVALID_ARGUMENT;
    uint32_t alignment;
    ERG_RETURN_IF_ERROR(check_reserved(key, type, payload, &alignment));
    size_t start;
    ERG_RETURN_IF_ERROR(begin_kv(w, key, type, &start));
    ERG_RETURN_IF_ERROR(end_kv(w, start, put(w, payload, len)));
    if (alignment)
        w->alignment = alignment;
    return ERG_OK;
}

erg_status erg_gguf_writer_add_scalar(erg_gguf_writer *w, const char *key, erg_gguf_type type,
                                      const void *value) {
    uint32_t size = erg_gguf_type_size(type);
    if (size == 0 || !value)
        return ERG_INVALID_ARGUMENT;
    return add_kv(w, key, type, value, size);
}

erg_status erg_gguf_writer_add_u32(erg_gguf_writer *w, const char *key, uint32_t v) {
    uint8_t b[4];
    le32(b, v);
    return add_kv(w, key, ERG_GGUF_UINT32, b, 4);
}

erg_status erg_gguf_writer_add_i32(erg_gguf_writer *w, const char *key, int32_t v) {
    uint8_t b[4];
    le32(b, (uint32_t)v);
    return add_kv(w, key, ERG_GGUF_INT32, b, 4);
}

erg_status erg_gguf_writer_add_u64(erg_gguf_writer *w, const char *key, uint64_t v) {
    uint8_t b[8];
    le64(b, v);
    return add_kv(w, key, ERG_GGUF_UINT64, b, 8);
}

erg_status erg_gguf_writer_add_f32(erg_gguf_writer *w, const char *key, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    uint8_t b[4];
    le32(b, bits);
    return add_kv(w, key, ERG_GGUF_FLOAT32, b, 4);
}

erg_status erg_gguf_writer_add_bool(erg_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    return add_kv(w, key, ERG_GGUF_BOOL, &b, 1);
}

static bool is_alignment_key(const char *key) {
    return key && strcmp(key, ERG_GGUF_ALIGNMENT_KEY) == 0;
}

erg_status erg_gguf_writer_add_str(erg_gguf_writer *w, const char *key, const char *v) {
    if (!v || is_alignment_key(key))
        return ERG_INVALID_ARGUMENT;
    size_t start;
    ERG_RETURN_IF_ERROR(begin_kv(w, key, ERG_GGUF_STRING, &start));
    return end_kv(w, start, put_str(w, v, strlen(v)));
}

erg_status erg_gguf_writer_add_arr(erg_gguf_writer *w, const char *key, erg_gguf_type elem,
                                   const void *data, uint64_t count) {
    uint32_t size = erg_gguf_type_size(elem);
    uint64_t bytes;
    if (size == 0 || !erg_mul_u64(count, size, &bytes) || bytes > SIZE_MAX || (count && !data) ||
        is_alignment_key(key))
        return ERG_INVALID_ARGUMENT;
    size_t start;
    ERG_RETURN_IF_ERROR(begin_kv(w, key, ERG_GGUF_ARRAY, &start));
    return end_kv(w, start,
                  put_u32(w, (uint32_t)elem) && put_u64(w, count) && put(w, data, (size_t)bytes));
}

erg_status erg_gguf_writer_add_arr_str(erg_gguf_writer *w, const char *key,
                                       const char *const *strs, uint64_t count) {
    if ((count && !strs) || is_alignment_key(key))
        return ERG_INVALID_ARGUMENT;
    for (uint64_t i = 0; i < count; i++)
        if (!strs[i])
            return ERG_INVALID_ARGUMENT;
    size_t start;
    ERG_RETURN_IF_ERROR(begin_kv(w, key, ERG_GGUF_ARRAY, &start));
    bool ok = put_u32(w, ERG_GGUF_STRING) && put_u64(w, count);
    for (uint64_t i = 0; ok && i < count; i++)
        ok = put_str(w, strs[i], strlen(strs[i]));
    return end_kv(w, start, ok);
}

erg_status erg_gguf_writer_copy_kv(erg_gguf_writer *w, const erg_gguf *src, uint64_t i) {
    if (!src || i >= src->n_kv)
        return ERG_INVALID_ARGUMENT;
    /* The reader validated the value, whose bytes are the same in v2 and v3:
     * copy them whole, nested arrays included. The first 4 are the type. */
    const gguf_kv *kv = &src->kvs[i];
    const uint8_t *raw = src->base + kv->raw_start;
    uint64_t len = kv->raw_end - kv->raw_start;
    if (len > SIZE_MAX)
        return ERG_OUT_OF_MEMORY;
    return add_kv(w, kv->key, (erg_gguf_type)gguf_le32(raw), raw + 4, (size_t)len - 4);
}

/* ---- tensors ----------------------------------------------------------- */

static bool has_tensor(const erg_gguf_writer *w, const char *name) {
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return true;
    return false;
}

erg_status erg_gguf_writer_add_tensor(erg_gguf_writer *w, const char *name, erg_dtype dtype,
                                      uint32_t n_dims, const int64_t *ne, const void *data) {
    const erg_dtype_traits *tr = erg_dtype_get((int)dtype);
    if (!w || !name || !name[0] || strlen(name) >= WRITER_MAX_NAME || !tr || !ne || !data ||
        n_dims < 1 || n_dims > ERG_GGUF_MAX_DIMS || has_tensor(w, name))
        return ERG_INVALID_ARGUMENT;
    writer_tensor t = {.dtype = dtype, .n_dims = n_dims, .data = data};
    uint64_t n = 1;
    for (uint32_t d = 0; d < ERG_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] <= 0 || !erg_mul_u64(n, (uint64_t)t.ne[d], &n) || n > INT64_MAX)
            return ERG_INVALID_ARGUMENT;
    }
    if (t.ne[0] % tr->block_size != 0 ||
        !erg_mul_u64(n / tr->block_size, tr->type_size, &t.size))
        return ERG_INVALID_ARGUMENT;
    if (!erg_grow_array(&w->alloc, (void **)&w->tensors, sizeof(writer_tensor), &w->cap_tensors,
                        w->n_tensors + 1))
        return ERG_OUT_OF_MEMORY;
    t.name = erg_strdup(&w->alloc, name);
    if (!t.name)
        return ERG_OUT_OF_MEMORY;
    w->tensors[w->n_tensors++] = t;
    return ERG_OK;
}

/* ---- the file ---------------------------------------------------------- */

/* A file being written; the first error is kept and later writes skipped. */
typedef struct out_file {
    FILE *f;
    uint64_t written;
    int err;
} out_file;

static void out_bytes(out_file *o, const void *p, size_t n) {
    if (o->err || n == 0)
        return;
    errno = 0;
    if (fwrite(p, 1, n, o->f) != n)
        o->err = errno ? errno : EIO;
    o->written += n;
}

static void out_u32(out_file *o, uint32_t v) {
    uint8_t b[4];
    le32(b, v);
    out_bytes(o, b, 4);
}

static void out_u64(out_file *o, uint64_t v) {
    uint8_t b[8];
    le64(b, v);
    out_bytes(o, b, 8);
}

/* Zeros up to the next multiple of alignment. */
static void out_pad(out_file *o, uint64_t alignment) {
    static const uint8_t zeros[4096];
    uint64_t n = (alignment - o->written % alignment) % alignment;
    while (n > 0 && !o->err) {
        size_t chunk = n < sizeof zeros ? (size_t)n : sizeof zeros;
        out_bytes(o, zeros, chunk);
        n -= chunk;
    }
}

/* Offsets relative to the data section: each tensor starts aligned. */
static erg_status tensor_offsets(const erg_gguf_writer *w, uint64_t *offsets, erg_diag *diag) {
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        offsets[i] = off;
        if (!erg_add_u64(off, w->tensors[i].size, &off) ||
            !erg_align_up_u64(off, w->alignment, &off))
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "tensor data exceeds 2^64 bytes");
    }
    return ERG_OK;
}

static void write_contents(const erg_gguf_writer *w, const uint64_t *offsets, out_file *o) {
    out_bytes(o, ERG_GGUF_MAGIC, 4);
    out_u32(o, GGUF_WRITE_VERSION);
    out_u64(o, w->n_tensors);
    out_u64(o, w->n_kv);
    out_bytes(o, w->meta, w->meta_len);
    for (size_t i = 0; i < w->n_tensors; i++) {
        const writer_tensor *t = &w->tensors[i];
        size_t len = strlen(t->name);
        out_u64(o, len);
        out_bytes(o, t->name, len);
        out_u32(o, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            out_u64(o, (uint64_t)t->ne[d]);
        out_u32(o, (uint32_t)t->dtype);
        out_u64(o, offsets[i]);
    }
    out_pad(o, w->alignment);
    for (size_t i = 0; i < w->n_tensors; i++) {
        out_bytes(o, w->tensors[i].data, (size_t)w->tensors[i].size);
        out_pad(o, w->alignment);
    }
}

/* Writes, flushes, syncs and closes tmp; closes it whatever happens. */
static erg_status write_tmp(const erg_gguf_writer *w, const uint64_t *offsets, const char *tmp,
                            erg_diag *diag) {
    out_file o = {fopen(tmp, "wb"), 0, 0};
    if (!o.f)
        return erg_fail(diag, ERG_IO, "cannot create '%s': %s", tmp, strerror(errno));
    write_contents(w, offsets, &o);
    if (!o.err && fflush(o.f) != 0)
        o.err = errno;
    if (!o.err && fsync(fileno(o.f)) != 0)
        o.err = errno;
    if (fclose(o.f) != 0 && !o.err)
        o.err = errno ? errno : EIO;
    if (o.err)
        return erg_fail(diag, ERG_IO, "cannot write '%s': %s", tmp, strerror(o.err));
    return ERG_OK;
}

erg_status erg_gguf_writer_write(erg_gguf_writer *w, const char *path, erg_diag *diag) {
    if (!w || !path || !path[0])
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_gguf_writer_write: no writer or path");
    for (size_t i = 0; i < w->n_tensors; i++)
        if (w->tensors[i].size > SIZE_MAX)
            return erg_fail(diag, ERG_INVALID_ARGUMENT, "tensor '%s' is too large to write",
                            w->tensors[i].name);
    size_t path_len = strlen(path);
    char *tmp = erg_malloc(&w->alloc, path_len + sizeof ".tmp");
    uint64_t *offsets = erg_calloc(&w->alloc, w->n_tensors ? w->n_tensors : 1, sizeof(uint64_t));
    erg_status st = ERG_OK;
    if (!tmp || !offsets) {
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory writing '%s'", path);
        goto done;
    }
    memcpy(tmp, path, path_len);
    memcpy(tmp + path_len, ".tmp", sizeof ".tmp");
    st = tensor_offsets(w, offsets, diag);
    if (st == ERG_OK)
        st = write_tmp(w, offsets, tmp, diag);
    if (st == ERG_OK && rename(tmp, path) != 0)
        st = erg_fail(diag, ERG_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                      strerror(errno));
    if (st != ERG_OK)
        remove(tmp);
done:
    erg_free(&w->alloc, offsets);
    erg_free(&w->alloc, tmp);
    return st;
}
