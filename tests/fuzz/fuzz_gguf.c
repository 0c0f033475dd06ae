/*
 * fuzz_gguf.c: libFuzzer target for the GGUF reader.
 *
 * Parses the input with erg_gguf_open_memory and, when it opens, walks
 * everything a caller could reach: every key and value through every getter,
 * every array element (strings, numbers, nested arrays), every tensor and
 * the first and last byte of its data. The sanitizers catch any read out of
 * bounds; the reader's own promises (lookups agree with indices, tensor data
 * inside the file) are checked here and abort when broken.
 */
#include "model/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

#define REQUIRE(cond)                                                                      \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static void touch_str(erg_gguf_str s) {
    if (s.len > 0)
        sink += (uint8_t)s.ptr[0] + (uint8_t)s.ptr[s.len - 1];
}

static uint64_t elem_size(erg_gguf_type t) {
    switch (t) {
    case ERG_GGUF_UINT8: case ERG_GGUF_INT8: case ERG_GGUF_BOOL: return 1;
    case ERG_GGUF_UINT16: case ERG_GGUF_INT16: return 2;
    case ERG_GGUF_UINT32: case ERG_GGUF_INT32: case ERG_GGUF_FLOAT32: return 4;
    case ERG_GGUF_UINT64: case ERG_GGUF_INT64: case ERG_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static void walk_value(erg_gguf *g, const erg_gguf_value *v) {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
    erg_gguf_str s;
    sink += erg_gguf_get_int(g, v, &i) ? (uint64_t)i : 0;
    sink += erg_gguf_get_uint(g, v, &u) ? u : 0;
    sink += erg_gguf_get_float(g, v, &f) ? (uint64_t)(f == f) : 0;
    sink += erg_gguf_get_bool(g, v, &b) ? b : 0;
    if (erg_gguf_get_str(g, v, &s))
        touch_str(s);
    const char *c = erg_gguf_get_cstr(g, v);
    if (c)
        sink += strlen(c);
    sink += (uint64_t)strlen(erg_gguf_type_name(v->type));
    if (v->type != ERG_GGUF_ARRAY) {
        REQUIRE(erg_gguf_arr_data(g, v) == NULL);
        return;
    }

    const uint8_t *d = erg_gguf_arr_data(g, v);
    uint64_t es = elem_size(v->elem_type);
    REQUIRE((d != NULL) == (es != 0));
    if (d && v->count > 0)
        sink += d[0] + d[v->count * es - 1];
    for (uint64_t k = 0; k <= v->count; k++) {
        /* k == count is one past the end: every accessor must refuse it. */
        bool in = k < v->count;
        erg_gguf_value child;
        bool got_i = erg_gguf_arr_int(g, v, k, &i);
        bool got_f = erg_gguf_arr_float(g, v, k, &f);
        bool got_s = erg_gguf_arr_str(g, v, k, &s);
        bool got_v = erg_gguf_arr_value(g, v, k, &child);
        REQUIRE(in || (!got_i && !got_f && !got_s && !got_v));
        REQUIRE(!in || got_s == (v->elem_type == ERG_GGUF_STRING));
        REQUIRE(!in || got_v == (v->elem_type == ERG_GGUF_ARRAY));
        sink += got_i ? (uint64_t)i : 0;
        sink += got_f ? (uint64_t)(f == f) : 0;
        if (got_s)
            touch_str(s);
        if (got_v) {
            REQUIRE(child.type == ERG_GGUF_ARRAY);
            walk_value(g, &child);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    erg_gguf *g = NULL;
    erg_diag diag;
    erg_status st = erg_gguf_open_memory(NULL, data, size, &g, &diag);
    if (st != ERG_OK) {
        REQUIRE(g == NULL && diag.msg[0] != '\0');
        REQUIRE(st == ERG_FORMAT || st == ERG_OUT_OF_MEMORY);
        return 0;
    }
    REQUIRE(erg_gguf_version(g) == 2 || erg_gguf_version(g) == 3);
    uint64_t align = erg_gguf_alignment(g);
    REQUIRE(align && (align & (align - 1)) == 0 && erg_gguf_data_offset(g) % align == 0);
    REQUIRE(erg_gguf_file_size(g) == size && erg_gguf_base(g) == data);

    uint64_t n_kv = erg_gguf_kv_count(g);
    for (uint64_t i = 0; i < n_kv; i++) {
        const char *key = erg_gguf_kv_key(g, i);
        const erg_gguf_value *v = erg_gguf_kv_value(g, i);
        REQUIRE(key && v && erg_gguf_find(g, key) == (int64_t)i && erg_gguf_get(g, key) == v);
        walk_value(g, v);
    }
    REQUIRE(erg_gguf_kv_key(g, n_kv) == NULL && erg_gguf_kv_value(g, n_kv) == NULL);

    uint64_t n_tensors = erg_gguf_tensor_count(g);
    for (uint64_t i = 0; i < n_tensors; i++) {
        const erg_gguf_tensor *t = erg_gguf_tensor_at(g, i);
        REQUIRE(t && erg_gguf_find_tensor(g, t->name.ptr) == t);
        REQUIRE(t->n_dims >= 1 && t->n_dims <= ERG_GGUF_MAX_DIMS && t->size > 0);
        REQUIRE(t->data_offset == erg_gguf_data_offset(g) + t->offset);
        REQUIRE(t->data_offset + t->size <= size);
        const uint8_t *p = t->data;
        REQUIRE(p == data + t->data_offset);
        sink += p[0] + p[t->size - 1];
        sink += (uint64_t)strlen(erg_dtype_name(t->dtype));
    }
    REQUIRE(erg_gguf_tensor_at(g, n_tensors) == NULL);
    erg_gguf_close(g);
    return 0;
}
