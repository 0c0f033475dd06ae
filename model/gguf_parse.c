/*
 * gguf_parse.c: validating a whole GGUF file up front.
 *
 * One pass over the header: key/values, then tensor infos, then the placement
 * of every tensor's data. Every read goes through a cursor that checks the
 * bytes are there first; every count is checked against the bytes left
 * before anything is allocated for it, so a hostile count cannot make the
 * reader allocate more than a small multiple of the file's size.
 */
#include "model/gguf_internal.h"

#include "base/checked.h"

#include <stdio.h>
#include <stdlib.h>

/* The fewest bytes a key/value can take: key length, a 1-byte key, the type
 * tag and a 1-byte value. */
#define MIN_KV_SIZE (8 + 1 + 4 + 1)
/* The fewest bytes a tensor info can take: name length, a 1-byte name,
 * n_dims, one dimension, type, offset. */
#define MIN_TENSOR_INFO_SIZE (8 + 1 + 4 + 8 + 4 + 8)
/* The fewest bytes an element of an array of arrays takes: type and count. */
#define MIN_ARRAY_SIZE (4 + 8)
/* Names quoted in messages are cut to this many bytes. */
#define MSG_NAME_MAX 80

#define MSG_NAME(len) ((int)((len) < MSG_NAME_MAX ? (len) : MSG_NAME_MAX))

typedef unsigned long long ull;

typedef struct gguf_cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos; /* always <= size */
} gguf_cursor;

static erg_status past_end(const gguf_cursor *c, const char *what, erg_diag *diag) {
    return erg_fail(diag, ERG_FORMAT, "%s at byte %llu runs past the end of the file (%llu bytes)",
                    what, (ull)c->pos, (ull)c->size);
}

static erg_status skip(gguf_cursor *c, uint64_t n, const char *what, erg_diag *diag) {
    if (n > c->size - c->pos)
        return past_end(c, what, diag);
    c->pos += n;
    return ERG_OK;
}

static erg_status read_u32(gguf_cursor *c, const char *what, uint32_t *out, erg_diag *diag) {
    if (c->size - c->pos < 4)
        return past_end(c, what, diag);
    *out = gguf_le32(c->base + c->pos);
    c->pos += 4;
    return ERG_OK;
}

static erg_status read_u64(gguf_cursor *c, const char *what, uint64_t *out, erg_diag *diag) {
    if (c->size - c->pos < 8)
        return past_end(c, what, diag);
    *out = gguf_le64(c->base + c->pos);
    c->pos += 8;
    return ERG_OK;
}

/* A string: u64 length, then the bytes. *off is where the bytes start. */
static erg_status read_str(gguf_cursor *c, const char *what, uint64_t *off, uint64_t *len,
                           erg_diag *diag) {
    uint64_t at = c->pos;
    if (c->size - c->pos < 8)
        return erg_fail(diag, ERG_FORMAT,
                        "%s length at byte %llu runs past the end of the file (%llu bytes)", what,
                        (ull)at, (ull)c->size);
    uint64_t n = gguf_le64(c->base + at);
    c->pos += 8;
    if (n > c->size - c->pos)
        return erg_fail(diag, ERG_FORMAT,
                        "%s length %llu at byte %llu runs past the end of the file (%llu bytes)",
                        what, (ull)n, (ull)at, (ull)c->size);
    *off = c->pos;
    *len = n;
    c->pos += n;
    return ERG_OK;
}

/* ---- values ------------------------------------------------------------ */

static erg_status parse_string_elements(erg_gguf *g, gguf_cursor *c, erg_gguf_value *arr,
                                        erg_diag *diag) {
    size_t first = g->n_str_offsets;
    if (!erg_grow_array(&g->alloc, (void **)&g->str_offsets, sizeof(uint64_t),
                        &g->cap_str_offsets, first + (size_t)arr->count))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory indexing %llu strings",
                        (ull)arr->count);
    g->n_str_offsets = first + (size_t)arr->count;
    arr->aux = first;
    for (uint64_t i = 0; i < arr->count; i++) {
        uint64_t off = 0, len = 0;
        g->str_offsets[first + i] = c->pos;
        erg_status st = read_str(c, "string", &off, &len, diag);
        if (st != ERG_OK) {
            erg_diag_prefix(diag, "element %llu", (ull)i);
            return st;
        }
    }
    return ERG_OK;
}

static erg_status parse_array(erg_gguf *g, gguf_cursor *c, int depth, erg_gguf_value *out,
                              erg_diag *diag);

static erg_status parse_array_elements(erg_gguf *g, gguf_cursor *c, int depth,
                                       erg_gguf_value *arr, erg_diag *diag) {
    size_t first = g->n_nested;
    if (!erg_grow_array(&g->alloc, (void **)&g->nested, sizeof(erg_gguf_value), &g->cap_nested,
                        first + (size_t)arr->count))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory indexing %llu nested arrays",
                        (ull)arr->count);
    g->n_nested = first + (size_t)arr->count;
    arr->aux = first;
    for (uint64_t i = 0; i < arr->count; i++) {
        /* Parse into a local: the recursion may move g->nested. */
        erg_gguf_value child = {.type = ERG_GGUF_ARRAY};
        erg_status st = parse_array(g, c, depth + 1, &child, diag);
        if (st != ERG_OK) {
            erg_diag_prefix(diag, "element %llu", (ull)i);
            return st;
        }
        g->nested[first + i] = child;
    }
    return ERG_OK;
}

/* An array's body: element type, count, elements. depth is 1 for a
 * key's array, 2 for an array inside it, and so on. */
static erg_status parse_array(erg_gguf *g, gguf_cursor *c, int depth, erg_gguf_value *out,
                              erg_diag *diag) {
    uint64_t at = c->pos;
    uint32_t elem = 0;
    ERG_RETURN_IF_ERROR(read_u32(c, "array element type", &elem, diag));
    if (elem >= ERG_GGUF_TYPE_COUNT)
        return erg_fail(diag, ERG_FORMAT, "unknown array element type %u at byte %llu", elem,
                        (ull)at);
    if (elem == ERG_GGUF_ARRAY && depth >= ERG_GGUF_MAX_DEPTH)
        return erg_fail(diag, ERG_FORMAT, "arrays nest more than %d deep at byte %llu",
                        ERG_GGUF_MAX_DEPTH, (ull)at);
    uint64_t count_at = c->pos, count = 0;
    ERG_RETURN_IF_ERROR(read_u64(c, "array count", &count, diag));

    uint64_t min = elem == ERG_GGUF_STRING  ? 8
                   : elem == ERG_GGUF_ARRAY ? MIN_ARRAY_SIZE
                                            : erg_gguf_type_size((erg_gguf_type)elem);
    uint64_t left = c->size - c->pos;
    if (count > left / min)
        return erg_fail(diag, ERG_FORMAT,
                        "array count %llu at byte %llu does not fit in the %llu bytes left in "
                        "the file (%s elements take at least %llu bytes each)",
                        (ull)count, (ull)count_at, (ull)left,
                        erg_gguf_type_name((erg_gguf_type)elem), (ull)min);
    out->type = ERG_GGUF_ARRAY;
    out->elem_type = (erg_gguf_type)elem;
    out->count = count;
    out->offset = c->pos;
    out->aux = 0;
    if (elem == ERG_GGUF_STRING)
        return parse_string_elements(g, c, out, diag);
    if (elem == ERG_GGUF_ARRAY)
        return parse_array_elements(g, c, depth, out, diag);
    c->pos += count * min; /* fits: checked above */
    return ERG_OK;
}

/* A key's value: type tag, then the payload. */
static erg_status parse_value(erg_gguf *g, gguf_cursor *c, erg_gguf_value *out,
                              erg_diag *diag) {
    uint64_t at = c->pos;
    uint32_t type = 0;
    ERG_RETURN_IF_ERROR(read_u32(c, "value type", &type, diag));
    if (type >= ERG_GGUF_TYPE_COUNT)
        return erg_fail(diag, ERG_FORMAT, "unknown value type %u at byte %llu", type, (ull)at);
    out->type = (erg_gguf_type)type;
    out->offset = c->pos;
    if (type == ERG_GGUF_ARRAY)
        return parse_array(g, c, 1, out, diag);
    if (type == ERG_GGUF_STRING) {
        uint64_t off = 0, len = 0;
        return read_str(c, "string", &off, &len, diag);
    }
    char what[32];
    snprintf(what, sizeof what, "%s value", erg_gguf_type_name(out->type));
    return skip(c, erg_gguf_type_size(out->type), what, diag);
}

/* ---- header and key/values --------------------------------------------- */

static erg_status check_version(uint32_t v, erg_diag *diag) {
    if (v == 2 || v == 3)
        return ERG_OK;
    uint32_t swapped = __builtin_bswap32(v);
    if ((v & 0xffff) == 0 && swapped >= 1 && swapped <= 3)
        return erg_fail(diag, ERG_FORMAT,
                        "version field at byte 4 reads %u, which is version %u byte-swapped: "
                        "big-endian GGUF files are not supported",
                        v, swapped);
    if (v == 1)
        return erg_fail(diag, ERG_FORMAT,
                        "GGUF version 1 (at byte 4) is not supported; only versions 2 and 3 are");
    return erg_fail(diag, ERG_FORMAT,
                    "GGUF version %u at byte 4 is not supported; only versions 2 and 3 are", v);
}

static erg_status parse_header(erg_gguf *g, gguf_cursor *c, erg_diag *diag) {
    const uint8_t *b = g->base;
    if (g->size >= 4 && memcmp(b, ERG_GGUF_MAGIC, 4) != 0)
        return erg_fail(diag, ERG_FORMAT,
                        "bad magic at byte 0: %02x %02x %02x %02x (a GGUF file starts with "
                        "'GGUF')",
                        b[0], b[1], b[2], b[3]);
    if (g->size < ERG_GGUF_HEADER_SIZE)
        return erg_fail(diag, ERG_FORMAT,
                        "file is %llu bytes, shorter than a GGUF header (%d bytes)",
                        (ull)g->size, ERG_GGUF_HEADER_SIZE);
    g->version = gguf_le32(b + 4);
    ERG_RETURN_IF_ERROR(check_version(g->version, diag));
    uint64_t n_tensors = gguf_le64(b + 8), n_kv = gguf_le64(b + 16);
    c->pos = ERG_GGUF_HEADER_SIZE;

    uint64_t left = g->size - c->pos;
    if (n_tensors > left / MIN_TENSOR_INFO_SIZE)
        return erg_fail(diag, ERG_FORMAT,
                        "tensor count %llu at byte 8 does not fit: the %llu bytes after the "
                        "header hold at most %llu tensor infos",
                        (ull)n_tensors, (ull)left, (ull)(left / MIN_TENSOR_INFO_SIZE));
    if (n_kv > left / MIN_KV_SIZE)
        return erg_fail(diag, ERG_FORMAT,
                        "key/value count %llu at byte 16 does not fit: the %llu bytes after the "
                        "header hold at most %llu key/values",
                        (ull)n_kv, (ull)left, (ull)(left / MIN_KV_SIZE));
    uint64_t need; /* each product is at most `left` */
    if (!erg_add_u64(n_tensors * MIN_TENSOR_INFO_SIZE, n_kv * MIN_KV_SIZE, &need) || need > left)
        return erg_fail(diag, ERG_FORMAT,
                        "%llu tensor infos (count at byte 8) and %llu key/values (count at byte "
                        "16) do not fit in the %llu bytes after the header",
                        (ull)n_tensors, (ull)n_kv, (ull)left);

    g->kvs = erg_calloc(&g->alloc, (size_t)n_kv, sizeof(gguf_kv));
    g->tensors = erg_calloc(&g->alloc, (size_t)n_tensors, sizeof(erg_gguf_tensor));
    if ((n_kv && !g->kvs) || (n_tensors && !g->tensors) || !erg_gguf_names_init(&g->kv_index, &g->alloc, n_kv) ||
        !erg_gguf_names_init(&g->tensor_index, &g->alloc, n_tensors))
        return erg_fail(diag, ERG_OUT_OF_MEMORY,
                        "out of memory for %llu key/values and %llu tensors", (ull)n_kv,
                        (ull)n_tensors);
    g->n_kv = n_kv;
    g->n_tensors = n_tensors;
    return ERG_OK;
}

static erg_status parse_kv(erg_gguf *g, gguf_cursor *c, uint64_t i, erg_diag *diag) {
    gguf_kv *kv = &g->kvs[i];
    uint64_t at = c->pos, off = 0, len = 0;
    erg_status st = read_str(c, "key", &off, &len, diag);
    if (st != ERG_OK) {
        erg_diag_prefix(diag, "key #%llu", (ull)i);
        return st;
    }
    const char *key = (const char *)g->base + off;
    if (len == 0)
        return erg_fail(diag, ERG_FORMAT, "key #%llu at byte %llu is empty", (ull)i, (ull)at);
    if (memchr(key, 0, (size_t)len))
        return erg_fail(diag, ERG_FORMAT, "key #%llu at byte %llu contains a NUL byte", (ull)i,
                        (ull)at);
    int64_t prev = erg_gguf_names_add(&g->kv_index, key, len, i);
    if (prev >= 0)
        return erg_fail(diag, ERG_FORMAT, "key #%llu '%.*s' at byte %llu duplicates key #%lld",
                        (ull)i, MSG_NAME(len), key, (ull)at, (long long)prev);
    kv->key_in_file = (erg_gguf_str){key, len};
    kv->raw_start = c->pos;
    st = parse_value(g, c, &kv->value, diag);
    if (st != ERG_OK) {
        erg_diag_prefix(diag, "key #%llu '%.*s'", (ull)i, MSG_NAME(len), key);
        return st;
    }
    kv->raw_end = c->pos;
    return ERG_OK;
}

static erg_status read_alignment(erg_gguf *g, erg_diag *diag) {
    g->alignment = ERG_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = erg_gguf_names_find(&g->kv_index, ERG_GGUF_ALIGNMENT_KEY,
                                strlen(ERG_GGUF_ALIGNMENT_KEY));
    if (i < 0)
        return ERG_OK;
    const erg_gguf_value *v = &g->kvs[i].value;
    if (v->type != ERG_GGUF_UINT32)
        return erg_fail(diag, ERG_FORMAT,
                        "key #%lld '" ERG_GGUF_ALIGNMENT_KEY "' has type %s; it must be u32",
                        (long long)i, erg_gguf_type_name(v->type));
    uint32_t a = gguf_le32(g->base + v->offset);
    if (a == 0 || (a & (a - 1)) != 0)
        return erg_fail(diag, ERG_FORMAT,
                        "key #%lld '" ERG_GGUF_ALIGNMENT_KEY
                        "' = %u at byte %llu is not a power of two",
                        (long long)i, a, (ull)v->offset);
    g->alignment = a;
    return ERG_OK;
}

/* ---- tensor infos ------------------------------------------------------ */

static erg_status parse_shape(gguf_cursor *c, erg_gguf_tensor *t, uint64_t *n_elements,
                              erg_diag *diag) {
    uint64_t at = c->pos;
    uint32_t n_dims = 0;
    ERG_RETURN_IF_ERROR(read_u32(c, "n_dims", &n_dims, diag));
    if (n_dims < 1 || n_dims > ERG_GGUF_MAX_DIMS)
        return erg_fail(diag, ERG_FORMAT, "n_dims %u at byte %llu is not in 1..%d", n_dims,
                        (ull)at, ERG_GGUF_MAX_DIMS);
    t->n_dims = n_dims;
    uint64_t n = 1;
    for (uint32_t d = 0; d < ERG_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= n_dims)
            continue;
        uint64_t ne = 0;
        at = c->pos;
        ERG_RETURN_IF_ERROR(read_u64(c, "dimension", &ne, diag));
        if (ne == 0 || ne > INT64_MAX)
            return erg_fail(diag, ERG_FORMAT, "ne[%u] = %lld at byte %llu is not positive", d,
                            (long long)ne, (ull)at);
        if (!erg_mul_u64(n, ne, &n) || n > INT64_MAX)
            return erg_fail(diag, ERG_FORMAT,
                            "ne[%u] = %llu at byte %llu makes the element count overflow int64",
                            d, (ull)ne, (ull)at);
        t->ne[d] = (int64_t)ne;
    }
    *n_elements = n;
    return ERG_OK;
}

static erg_status parse_tensor_body(erg_gguf *g, gguf_cursor *c, erg_gguf_tensor *t,
                                    erg_diag *diag) {
    uint64_t n_elements = 0;
    ERG_RETURN_IF_ERROR(parse_shape(c, t, &n_elements, diag));

    uint64_t at = c->pos;
    uint32_t type = 0;
    ERG_RETURN_IF_ERROR(read_u32(c, "type", &type, diag));
    const erg_dtype_traits *tr = type < ERG_DT_COUNT ? erg_dtype_get((int)type) : NULL;
    if (!tr)
        return erg_fail(diag, ERG_FORMAT, "unknown tensor type %u at byte %llu", type, (ull)at);
    if (t->ne[0] % tr->block_size != 0)
        return erg_fail(diag, ERG_FORMAT,
                        "ne[0] = %lld is not a multiple of the %s block size (%u)",
                        (long long)t->ne[0], tr->name, tr->block_size);
    t->dtype = (erg_dtype)type;
    /* ne[0] is a multiple of the block size, so the element count is too. */
    if (!erg_mul_u64(n_elements / tr->block_size, tr->type_size, &t->size))
        return erg_fail(diag, ERG_FORMAT,
                        "size in bytes overflows: %llu blocks of %u bytes",
                        (ull)(n_elements / tr->block_size), tr->type_size);

    at = c->pos;
    ERG_RETURN_IF_ERROR(read_u64(c, "data offset", &t->offset, diag));
    if (t->offset % g->alignment != 0)
        return erg_fail(diag, ERG_FORMAT,
                        "data offset %llu at byte %llu is not a multiple of the alignment (%llu)",
                        (ull)t->offset, (ull)at, (ull)g->alignment);
    return ERG_OK;
}

static erg_status parse_tensor_info(erg_gguf *g, gguf_cursor *c, uint64_t i, erg_diag *diag) {
    erg_gguf_tensor *t = &g->tensors[i];
    uint64_t at = c->pos, off = 0, len = 0;
    erg_status st = read_str(c, "name", &off, &len, diag);
    if (st != ERG_OK) {
        erg_diag_prefix(diag, "tensor #%llu", (ull)i);
        return st;
    }
    const char *name = (const char *)g->base + off;
    if (len == 0)
        return erg_fail(diag, ERG_FORMAT, "tensor #%llu at byte %llu has an empty name", (ull)i,
                        (ull)at);
    if (len > ERG_GGUF_MAX_NAME)
        return erg_fail(diag, ERG_FORMAT,
                        "tensor #%llu: name length %llu at byte %llu is over the limit of %d "
                        "bytes",
                        (ull)i, (ull)len, (ull)at, ERG_GGUF_MAX_NAME);
    if (memchr(name, 0, (size_t)len))
        return erg_fail(diag, ERG_FORMAT, "tensor #%llu: name at byte %llu contains a NUL byte",
                        (ull)i, (ull)at);
    int64_t prev = erg_gguf_names_add(&g->tensor_index, name, len, i);
    if (prev >= 0)
        return erg_fail(diag, ERG_FORMAT,
                        "tensor #%llu '%.*s' at byte %llu has the same name as tensor #%lld",
                        (ull)i, (int)len, name, (ull)at, (long long)prev);
    t->name = (erg_gguf_str){name, len};
    st = parse_tensor_body(g, c, t, diag);
    if (st != ERG_OK)
        erg_diag_prefix(diag, "tensor '%.*s' (#%llu)", (int)len, name, (ull)i);
    return st;
}

/* ---- tensor data ------------------------------------------------------- */

typedef struct data_span {
    uint64_t start, end, index;
} data_span;

static int span_cmp(const void *a, const void *b) {
    const data_span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Tensors may come in any order and leave gaps, but never share bytes:
 * llama.cpp's writer lays them out back to back, and no writer has a reason
 * to alias two tensors. */
static erg_status check_overlaps(erg_gguf *g, erg_diag *diag) {
    if (g->n_tensors < 2)
        return ERG_OK;
    data_span *spans = erg_malloc(&g->alloc, (size_t)g->n_tensors * sizeof(data_span));
    if (!spans)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory checking %llu tensors",
                        (ull)g->n_tensors);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const erg_gguf_tensor *t = &g->tensors[i];
        spans[i] = (data_span){t->data_offset, t->data_offset + t->size, i};
    }
    qsort(spans, (size_t)g->n_tensors, sizeof(data_span), span_cmp);
    erg_status st = ERG_OK;
    for (uint64_t i = 1; i < g->n_tensors && st == ERG_OK; i++) {
        if (spans[i].start >= spans[i - 1].end)
            continue;
        const erg_gguf_tensor *a = &g->tensors[spans[i - 1].index];
        const erg_gguf_tensor *b = &g->tensors[spans[i].index];
        st = erg_fail(diag, ERG_FORMAT,
                      "tensor '%.*s' (#%llu): data [%llu, %llu) overlaps tensor '%.*s' (#%llu) "
                      "at [%llu, %llu)",
                      (int)b->name.len, b->name.ptr, (ull)spans[i].index, (ull)spans[i].start,
                      (ull)spans[i].end, (int)a->name.len, a->name.ptr, (ull)spans[i - 1].index,
                      (ull)spans[i - 1].start, (ull)spans[i - 1].end);
    }
    erg_free(&g->alloc, spans);
    return st;
}

static erg_status place_tensors(erg_gguf *g, uint64_t header_end, erg_diag *diag) {
    if (!erg_align_up_u64(header_end, g->alignment, &g->data_offset))
        return erg_fail(diag, ERG_FORMAT, "data section offset overflows");
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        erg_gguf_tensor *t = &g->tensors[i];
        uint64_t start, end;
        if (!erg_add_u64(g->data_offset, t->offset, &start) ||
            !erg_add_u64(start, t->size, &end))
            return erg_fail(diag, ERG_FORMAT,
                            "tensor '%.*s' (#%llu): data offset %llu + size %llu overflows",
                            (int)t->name.len, t->name.ptr, (ull)i, (ull)t->offset,
                            (ull)t->size);
        if (end > g->size)
            return erg_fail(diag, ERG_FORMAT,
                            "tensor '%.*s' (#%llu): data [%llu, %llu) ends past the end of the "
                            "file (%llu bytes)",
                            (int)t->name.len, t->name.ptr, (ull)i, (ull)start, (ull)end,
                            (ull)g->size);
        t->data_offset = start;
        t->data = g->base + start;
    }
    return check_overlaps(g, diag);
}

/* Replaces the names pointing into the file by NUL-terminated copies. */
static erg_status copy_names(erg_gguf *g, erg_diag *diag) {
    uint64_t total = 0; /* bounded by the file size: cannot overflow */
    for (uint64_t i = 0; i < g->n_kv; i++)
        total += g->kvs[i].key_in_file.len + 1;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        total += g->tensors[i].name.len + 1;
    if (total == 0)
        return ERG_OK;
    g->names = erg_malloc(&g->alloc, (size_t)total);
    if (!g->names)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory copying names (%llu bytes)",
                        (ull)total);
    char *p = g->names;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const erg_gguf_str *k = &g->kvs[i].key_in_file;
        memcpy(p, k->ptr, (size_t)k->len);
        p[k->len] = '\0';
        g->kvs[i].key = p;
        p += k->len + 1;
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        erg_gguf_str *n = &g->tensors[i].name;
        memcpy(p, n->ptr, (size_t)n->len);
        p[n->len] = '\0';
        n->ptr = p;
        p += n->len + 1;
    }
    return ERG_OK;
}

erg_status erg_gguf_parse(erg_gguf *g, erg_diag *diag) {
    gguf_cursor c = {g->base, g->size, 0};
    ERG_RETURN_IF_ERROR(parse_header(g, &c, diag));
    for (uint64_t i = 0; i < g->n_kv; i++)
        ERG_RETURN_IF_ERROR(parse_kv(g, &c, i, diag));
    ERG_RETURN_IF_ERROR(read_alignment(g, diag));
    for (uint64_t i = 0; i < g->n_tensors; i++)
        ERG_RETURN_IF_ERROR(parse_tensor_info(g, &c, i, diag));
    ERG_RETURN_IF_ERROR(place_tensors(g, c.pos, diag));
    return copy_names(g, diag);
}
