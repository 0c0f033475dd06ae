/*
 * gguf_value.c: typed reads of GGUF values and array elements.
 *
 * Numbers are decoded from little-endian bytes one element at a time, so
 * unaligned payloads are fine. Conversions refuse rather than wrap: a u64
 * above INT64_MAX is not an int, a negative int is not a uint.
 */
#include "model/gguf_internal.h"

#include "base/checked.h"

static const char *const type_names[ERG_GGUF_TYPE_COUNT] = {
    [ERG_GGUF_UINT8] = "u8",     [ERG_GGUF_INT8] = "i8",     [ERG_GGUF_UINT16] = "u16",
    [ERG_GGUF_INT16] = "i16",    [ERG_GGUF_UINT32] = "u32",  [ERG_GGUF_INT32] = "i32",
    [ERG_GGUF_FLOAT32] = "f32",  [ERG_GGUF_BOOL] = "bool",   [ERG_GGUF_STRING] = "str",
    [ERG_GGUF_ARRAY] = "arr",    [ERG_GGUF_UINT64] = "u64",  [ERG_GGUF_INT64] = "i64",
    [ERG_GGUF_FLOAT64] = "f64",
};

static const uint8_t type_sizes[ERG_GGUF_TYPE_COUNT] = {
    [ERG_GGUF_UINT8] = 1,   [ERG_GGUF_INT8] = 1,    [ERG_GGUF_UINT16] = 2, [ERG_GGUF_INT16] = 2,
    [ERG_GGUF_UINT32] = 4,  [ERG_GGUF_INT32] = 4,   [ERG_GGUF_FLOAT32] = 4, [ERG_GGUF_BOOL] = 1,
    [ERG_GGUF_UINT64] = 8,  [ERG_GGUF_INT64] = 8,   [ERG_GGUF_FLOAT64] = 8,
};

const char *erg_gguf_type_name(erg_gguf_type t) {
    return (unsigned)t < ERG_GGUF_TYPE_COUNT ? type_names[t] : "invalid";
}

uint32_t erg_gguf_type_size(erg_gguf_type t) {
    return (unsigned)t < ERG_GGUF_TYPE_COUNT ? type_sizes[t] : 0;
}

/* A decoded number. */
typedef enum { NUM_SIGNED, NUM_UNSIGNED, NUM_FLOAT } num_kind;

typedef struct gguf_num {
    num_kind kind;
    int64_t i;
    uint64_t u;
    double f;
} gguf_num;

/* Decodes one element of fixed-size type t at file offset off. Bools decode
 * as unsigned 0 or 1. */
static bool load_num(const erg_gguf *g, erg_gguf_type t, uint64_t off, gguf_num *n) {
    uint32_t size = erg_gguf_type_size(t);
    if (size == 0 || !gguf_span_ok(g, off, size))
        return false;
    const uint8_t *p = g->base + off;
    *n = (gguf_num){NUM_UNSIGNED, 0, 0, 0.0};
    switch (t) {
    case ERG_GGUF_UINT8: n->u = p[0]; break;
    case ERG_GGUF_BOOL: n->u = p[0] != 0; break;
    case ERG_GGUF_UINT16: n->u = gguf_le16(p); break;
    case ERG_GGUF_UINT32: n->u = gguf_le32(p); break;
    case ERG_GGUF_UINT64: n->u = gguf_le64(p); break;
    case ERG_GGUF_INT8: n->kind = NUM_SIGNED; n->i = (int8_t)p[0]; break;
    case ERG_GGUF_INT16: n->kind = NUM_SIGNED; n->i = (int16_t)gguf_le16(p); break;
    case ERG_GGUF_INT32: n->kind = NUM_SIGNED; n->i = (int32_t)gguf_le32(p); break;
    case ERG_GGUF_INT64: n->kind = NUM_SIGNED; n->i = (int64_t)gguf_le64(p); break;
    case ERG_GGUF_FLOAT32: {
        uint32_t bits = gguf_le32(p);
        float f;
        memcpy(&f, &bits, 4);
        n->kind = NUM_FLOAT;
        n->f = f;
        break;
    }
    case ERG_GGUF_FLOAT64: {
        uint64_t bits = gguf_le64(p);
        memcpy(&n->f, &bits, 8);
        n->kind = NUM_FLOAT;
        break;
    }
    default: return false;
    }
    return true;
}

static bool num_to_int(const gguf_num *n, int64_t *out) {
    if (n->kind == NUM_SIGNED)
        *out = n->i;
    else if (n->kind == NUM_UNSIGNED && n->u <= INT64_MAX)
        *out = (int64_t)n->u;
    else
        return false;
    return true;
}

static bool num_to_float(const gguf_num *n, double *out) {
    *out = n->kind == NUM_FLOAT ? n->f : n->kind == NUM_SIGNED ? (double)n->i : (double)n->u;
    return true;
}

static bool is_scalar(const erg_gguf_value *v) {
    return v && v->type != ERG_GGUF_ARRAY && v->type != ERG_GGUF_STRING;
}

bool erg_gguf_get_int(const erg_gguf *g, const erg_gguf_value *v, int64_t *out) {
    gguf_num n;
    return is_scalar(v) && load_num(g, v->type, v->offset, &n) && num_to_int(&n, out);
}

bool erg_gguf_get_uint(const erg_gguf *g, const erg_gguf_value *v, uint64_t *out) {
    gguf_num n;
    if (!is_scalar(v) || !load_num(g, v->type, v->offset, &n))
        return false;
    if (n.kind == NUM_UNSIGNED)
        *out = n.u;
    else if (n.kind == NUM_SIGNED && n.i >= 0)
        *out = (uint64_t)n.i;
    else
        return false;
    return true;
}

bool erg_gguf_get_float(const erg_gguf *g, const erg_gguf_value *v, double *out) {
    gguf_num n;
    return is_scalar(v) && v->type != ERG_GGUF_BOOL && load_num(g, v->type, v->offset, &n) &&
           num_to_float(&n, out);
}

bool erg_gguf_get_bool(const erg_gguf *g, const erg_gguf_value *v, bool *out) {
    if (!v || v->type != ERG_GGUF_BOOL || !gguf_span_ok(g, v->offset, 1))
        return false;
    *out = g->base[v->offset] != 0;
    return true;
}

/* The string whose u64 length is at file offset off. */
static bool load_str(const erg_gguf *g, uint64_t off, erg_gguf_str *out) {
    if (!gguf_span_ok(g, off, 8))
        return false;
    uint64_t len = gguf_le64(g->base + off);
    if (!gguf_span_ok(g, off + 8, len))
        return false;
    out->ptr = (const char *)g->base + off + 8;
    out->len = len;
    return true;
}

bool erg_gguf_get_str(const erg_gguf *g, const erg_gguf_value *v, erg_gguf_str *out) {
    return v && v->type == ERG_GGUF_STRING && load_str(g, v->offset, out);
}

/* The key/value whose value starts at file offset off: values are stored in
 * file order, so their offsets increase with the index. */
static int64_t kv_at_offset(const erg_gguf *g, uint64_t off) {
    uint64_t lo = 0, hi = g->n_kv;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        uint64_t m = g->kvs[mid].value.offset;
        if (m == off)
            return (int64_t)mid;
        if (m < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *erg_gguf_get_cstr(erg_gguf *g, const erg_gguf_value *v) {
    if (!v || v->type != ERG_GGUF_STRING)
        return NULL;
    int64_t i = kv_at_offset(g, v->offset);
    erg_gguf_str s;
    if (i < 0 || g->kvs[i].value.type != ERG_GGUF_STRING || !load_str(g, v->offset, &s))
        return NULL;
    if (!g->cstr_cache) {
        g->cstr_cache = erg_calloc(&g->alloc, (size_t)g->n_kv, sizeof(char *));
        if (!g->cstr_cache)
            return NULL;
    }
    if (!g->cstr_cache[i]) {
        size_t bytes;
        if (!erg_add_size((size_t)s.len, 1, &bytes))
            return NULL;
        char *copy = erg_malloc(&g->alloc, bytes);
        if (!copy)
            return NULL;
        memcpy(copy, s.ptr, (size_t)s.len);
        copy[s.len] = '\0';
        g->cstr_cache[i] = copy;
    }
    return g->cstr_cache[i];
}

/* ---- arrays ------------------------------------------------------------ */

/* File offset of element i of a fixed-size numeric array, or false. */
static bool numeric_elem(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, uint64_t *off) {
    if (!v || v->type != ERG_GGUF_ARRAY || i >= v->count)
        return false;
    uint32_t size = erg_gguf_type_size(v->elem_type);
    uint64_t rel;
    return size != 0 && erg_mul_u64(i, size, &rel) && erg_add_u64(v->offset, rel, off) &&
           gguf_span_ok(g, *off, size);
}

const void *erg_gguf_arr_data(const erg_gguf *g, const erg_gguf_value *v) {
    if (!v || v->type != ERG_GGUF_ARRAY)
        return NULL;
    uint32_t size = erg_gguf_type_size(v->elem_type);
    uint64_t bytes;
    if (size == 0 || !erg_mul_u64(v->count, size, &bytes) || !gguf_span_ok(g, v->offset, bytes))
        return NULL;
    return g->base + v->offset;
}

bool erg_gguf_arr_int(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, int64_t *out) {
    uint64_t off;
    gguf_num n;
    return numeric_elem(g, v, i, &off) && load_num(g, v->elem_type, off, &n) &&
           num_to_int(&n, out);
}

bool erg_gguf_arr_float(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, double *out) {
    uint64_t off;
    gguf_num n;
    return v && v->elem_type != ERG_GGUF_BOOL && numeric_elem(g, v, i, &off) &&
           load_num(g, v->elem_type, off, &n) && num_to_float(&n, out);
}

bool erg_gguf_arr_str(const erg_gguf *g, const erg_gguf_value *v, uint64_t i, erg_gguf_str *out) {
    if (!v || v->type != ERG_GGUF_ARRAY || v->elem_type != ERG_GGUF_STRING || i >= v->count ||
        v->aux > g->n_str_offsets || i >= g->n_str_offsets - v->aux)
        return false;
    return load_str(g, g->str_offsets[v->aux + i], out);
}

bool erg_gguf_arr_value(const erg_gguf *g, const erg_gguf_value *v, uint64_t i,
                        erg_gguf_value *out) {
    if (!v || v->type != ERG_GGUF_ARRAY || v->elem_type != ERG_GGUF_ARRAY || i >= v->count ||
        v->aux > g->n_nested || i >= g->n_nested - v->aux)
        return false;
    *out = g->nested[v->aux + i];
    return true;
}
