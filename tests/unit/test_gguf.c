/*
 * test_gguf.c: the GGUF reader and writer.
 *
 * Round trips through the writer (every value type, string and nested
 * arrays, tensors of several dtypes, custom alignment) read back by mmap,
 * read() and from memory; v2 files; truncation at every byte; hostile
 * fields, each of which must give ERG_FORMAT with a message naming the
 * field; I/O failures (missing files, a full disk); and allocation failures
 * at every allocation, which must neither crash nor leak.
 */
#include "model/gguf.h"
#include "tests/test.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp_dir[256];

static void tmp_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", tmp_dir, name);
}

static uint8_t *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_all(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static bool str_is(erg_gguf_str s, const char *c) {
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

/* ---- a byte builder for hand-made files -------------------------------- */

typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
} bytes;

static size_t put(bytes *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return b->n - n;
}

static size_t put_u8(bytes *b, uint8_t v) { return put(b, &v, 1); }

static size_t put_u16(bytes *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return put(b, x, 2);
}

static size_t put_u32(bytes *b, uint32_t v) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return put(b, x, 4);
}

static size_t put_u64(bytes *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    return put(b, x, 8);
}

/* Returns the offset of the length. */
static size_t put_str(bytes *b, const char *s) {
    size_t at = put_u64(b, strlen(s));
    put(b, s, strlen(s));
    return at;
}

static void pad_to(bytes *b, size_t align) {
    while (b->n % align)
        put_u8(b, 0);
}

static void patch_u32(bytes *b, size_t at, uint32_t v) {
    for (int i = 0; i < 4; i++)
        b->p[at + i] = (uint8_t)(v >> (8 * i));
}

static void patch_u64(bytes *b, size_t at, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b->p[at + i] = (uint8_t)(v >> (8 * i));
}

static void put_header(bytes *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    put(b, "GGUF", 4);
    put_u32(b, version);
    put_u64(b, n_tensors);
    put_u64(b, n_kv);
}

/* Opens a copy of the bytes (exactly n long) from memory. */
static erg_status open_bytes(const uint8_t *p, size_t n, erg_diag *diag) {
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    erg_gguf *g = NULL;
    erg_status st = erg_gguf_open_memory(NULL, copy, n, &g, diag);
    erg_gguf_close(g);
    free(copy);
    return st;
}

/* ---- round trip --------------------------------------------------------- */

static uint8_t pattern(size_t tensor, size_t i) {
    return (uint8_t)((i * 131u + tensor * 17u + 7u) ^ (i >> 8));
}

typedef struct test_tensor {
    const char *name;
    erg_dtype dtype;
    uint32_t n_dims;
    int64_t ne[4];
    size_t size;
} test_tensor;

static const test_tensor test_tensors[] = {
    {"token_embd.weight", ERG_DT_F32, 2, {8, 3, 1, 1}, 8 * 3 * 4},
    {"blk.0.attn_norm.weight", ERG_DT_F16, 1, {16, 1, 1, 1}, 32},
    {"blk.0.attn_q.weight", ERG_DT_Q4_0, 2, {64, 2, 1, 1}, 2 * 2 * 18},
    {"blk.0.ffn_up.weight", ERG_DT_Q8_0, 3, {32, 1, 2, 1}, 2 * 34},
    {"blk.0.ffn_down.weight", ERG_DT_Q4_K, 1, {256, 1, 1, 1}, 144},
    {"rope.ids", ERG_DT_I32, 4, {5, 1, 1, 2}, 40},
    {"output_norm.weight", ERG_DT_BF16, 1, {3, 1, 1, 1}, 6},
};
#define N_TEST_TENSORS (sizeof test_tensors / sizeof test_tensors[0])

static uint8_t *tensor_data[N_TEST_TENSORS];

static const char *const tokens[] = {"<s>", "hello", "", "w\xc3\xb6rld"};
static const int16_t arr_i16[] = {-1, 2, -32768, 32767};
static const float arr_f32[] = {0.5f, -2.25f, 1e30f};
static const uint64_t arr_u64[] = {0, UINT64_MAX, 42};
static const uint8_t arr_bool[] = {1, 0, 1};

/* A v3 file in memory holding one key: "nest", an array of three arrays:
 * [u16 1 2 3], [str "x" "yz"], [[i8 -1]]. */
static bytes nested_file(void) {
    bytes b = {0};
    put_header(&b, 3, 0, 1);
    put_str(&b, "nest");
    put_u32(&b, ERG_GGUF_ARRAY);
    put_u32(&b, ERG_GGUF_ARRAY);
    put_u64(&b, 3);
    put_u32(&b, ERG_GGUF_UINT16);
    put_u64(&b, 3);
    put_u16(&b, 1);
    put_u16(&b, 2);
    put_u16(&b, 3);
    put_u32(&b, ERG_GGUF_STRING);
    put_u64(&b, 2);
    put_str(&b, "x");
    put_str(&b, "yz");
    put_u32(&b, ERG_GGUF_ARRAY);
    put_u64(&b, 1);
    put_u32(&b, ERG_GGUF_INT8);
    put_u64(&b, 1);
    put_u8(&b, 0xff);
    return b;
}

static void check_nested(const erg_gguf *g, const erg_gguf_value *v) {
    CHECK(v && v->type == ERG_GGUF_ARRAY && v->elem_type == ERG_GGUF_ARRAY && v->count == 3);
    if (!v)
        return;
    erg_gguf_value a, b, c, d;
    int64_t x;
    erg_gguf_str s;
    CHECK(erg_gguf_arr_value(g, v, 0, &a));
    CHECK(a.elem_type == ERG_GGUF_UINT16 && a.count == 3);
    for (int i = 0; i < 3; i++)
        CHECK(erg_gguf_arr_int(g, &a, (uint64_t)i, &x) && x == i + 1);
    CHECK(erg_gguf_arr_value(g, v, 1, &b));
    CHECK(b.elem_type == ERG_GGUF_STRING && b.count == 2);
    CHECK(erg_gguf_arr_str(g, &b, 0, &s) && str_is(s, "x"));
    CHECK(erg_gguf_arr_str(g, &b, 1, &s) && str_is(s, "yz"));
    CHECK(!erg_gguf_arr_str(g, &b, 2, &s));
    CHECK(erg_gguf_arr_value(g, v, 2, &c));
    CHECK(c.elem_type == ERG_GGUF_ARRAY && c.count == 1);
    CHECK(erg_gguf_arr_value(g, &c, 0, &d));
    CHECK(d.elem_type == ERG_GGUF_INT8 && d.count == 1);
    CHECK(erg_gguf_arr_int(g, &d, 0, &x) && x == -1);
    CHECK(!erg_gguf_arr_value(g, v, 3, &d));
    CHECK(!erg_gguf_arr_value(g, &a, 0, &d));
}

static void add_round_trip_keys(erg_gguf_writer *w, uint32_t alignment) {
    uint8_t u8 = 200;
    int8_t i8 = -100;
    uint16_t u16 = 60000;
    int16_t i16 = -30000;
    int64_t i64 = -5000000000000000000LL;
    double f64 = 3.141592653589793;
    CHECK_STATUS(erg_gguf_writer_add_str(w, "general.name", "erg test"), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "k.u8", ERG_GGUF_UINT8, &u8), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "k.i8", ERG_GGUF_INT8, &i8), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "k.u16", ERG_GGUF_UINT16, &u16), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "k.i16", ERG_GGUF_INT16, &i16), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "k.u32", 4000000000u), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_i32(w, "k.i32", -2000000000), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_f32(w, "k.f32", 1.5f), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_bool(w, "k.bool", true), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_u64(w, "k.u64", UINT64_MAX), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "k.i64", ERG_GGUF_INT64, &i64), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "k.f64", ERG_GGUF_FLOAT64, &f64), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_str(w, "k.empty", ""), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", tokens, 4), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "a.i16", ERG_GGUF_INT16, arr_i16, 4), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "a.f32", ERG_GGUF_FLOAT32, arr_f32, 3), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "a.u64", ERG_GGUF_UINT64, arr_u64, 3), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "a.bool", ERG_GGUF_BOOL, arr_bool, 3), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "a.empty", ERG_GGUF_INT32, NULL, 0), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr_str(w, "a.nostr", NULL, 0), ERG_OK);
    if (alignment)
        CHECK_STATUS(erg_gguf_writer_add_u32(w, "general.alignment", alignment), ERG_OK);

    /* Nested arrays come from a reader: the writer copies them whole. */
    bytes nb = nested_file();
    erg_gguf *ng = NULL;
    CHECK_STATUS(erg_gguf_open_memory(NULL, nb.p, nb.n, &ng, NULL), ERG_OK);
    if (ng)
        CHECK_STATUS(erg_gguf_writer_copy_kv(w, ng, 0), ERG_OK);
    erg_gguf_close(ng);
    free(nb.p);
}

static void check_round_trip_keys(erg_gguf *g, uint32_t alignment) {
    static const char *const order[] = {
        "general.name", "k.u8",   "k.i8",    "k.u16", "k.i16",  "k.u32", "k.i32",
        "k.f32",        "k.bool", "k.u64",   "k.i64", "k.f64",  "k.empty",
        "tokenizer.ggml.tokens",  "a.i16",   "a.f32", "a.u64",  "a.bool", "a.empty",
        "a.nostr"};
    size_t n_order = sizeof order / sizeof order[0];
    CHECK_EQ_INT(erg_gguf_kv_count(g), n_order + (alignment ? 2 : 1));
    for (size_t i = 0; i < n_order; i++) {
        CHECK_MSG(strcmp(erg_gguf_kv_key(g, i), order[i]) == 0, "key %zu", i);
        CHECK_EQ_INT(erg_gguf_find(g, order[i]), i);
    }
    CHECK(strcmp(erg_gguf_kv_key(g, erg_gguf_kv_count(g) - 1), "nest") == 0);
    CHECK(erg_gguf_kv_key(g, erg_gguf_kv_count(g)) == NULL);
    CHECK(erg_gguf_kv_value(g, erg_gguf_kv_count(g)) == NULL);
    CHECK_EQ_INT(erg_gguf_alignment(g), alignment ? alignment : 32);

    int64_t i;
    uint64_t u;
    double f;
    bool b;
    erg_gguf_str s;
    const erg_gguf_value *v = erg_gguf_get(g, "general.name");
    CHECK(v && v->type == ERG_GGUF_STRING);
    CHECK(erg_gguf_get_str(g, v, &s) && str_is(s, "erg test"));
    const char *c1 = erg_gguf_get_cstr(g, v), *c2 = erg_gguf_get_cstr(g, v);
    CHECK(c1 && strcmp(c1, "erg test") == 0 && c1 == c2);
    erg_gguf_value copy = *v; /* a copy of the value works too */
    CHECK(erg_gguf_get_cstr(g, &copy) == c1);
    CHECK(!erg_gguf_get_int(g, v, &i) && !erg_gguf_get_float(g, v, &f));
    CHECK(erg_gguf_get_str(g, erg_gguf_get(g, "k.empty"), &s) && s.len == 0);
    CHECK(strcmp(erg_gguf_get_cstr(g, erg_gguf_get(g, "k.empty")), "") == 0);

    CHECK(erg_gguf_get_int(g, erg_gguf_get(g, "k.u8"), &i) && i == 200);
    CHECK(erg_gguf_get_int(g, erg_gguf_get(g, "k.i8"), &i) && i == -100);
    CHECK(!erg_gguf_get_uint(g, erg_gguf_get(g, "k.i8"), &u));
    CHECK(erg_gguf_get_uint(g, erg_gguf_get(g, "k.u16"), &u) && u == 60000);
    CHECK(erg_gguf_get_int(g, erg_gguf_get(g, "k.i16"), &i) && i == -30000);
    CHECK(erg_gguf_get_uint(g, erg_gguf_get(g, "k.u32"), &u) && u == 4000000000u);
    CHECK(erg_gguf_get_int(g, erg_gguf_get(g, "k.i32"), &i) && i == -2000000000);
    CHECK(erg_gguf_get_float(g, erg_gguf_get(g, "k.i32"), &f) && f == -2000000000.0);
    CHECK(erg_gguf_get_float(g, erg_gguf_get(g, "k.f32"), &f) && f == 1.5);
    CHECK(!erg_gguf_get_int(g, erg_gguf_get(g, "k.f32"), &i));
    CHECK(erg_gguf_get_bool(g, erg_gguf_get(g, "k.bool"), &b) && b);
    CHECK(erg_gguf_get_int(g, erg_gguf_get(g, "k.bool"), &i) && i == 1);
    CHECK(!erg_gguf_get_float(g, erg_gguf_get(g, "k.bool"), &f));
    CHECK(!erg_gguf_get_bool(g, erg_gguf_get(g, "k.u8"), &b));
    CHECK(erg_gguf_get_uint(g, erg_gguf_get(g, "k.u64"), &u) && u == UINT64_MAX);
    CHECK(!erg_gguf_get_int(g, erg_gguf_get(g, "k.u64"), &i));
    CHECK(erg_gguf_get_int(g, erg_gguf_get(g, "k.i64"), &i) && i == -5000000000000000000LL);
    CHECK(erg_gguf_get_float(g, erg_gguf_get(g, "k.f64"), &f) && f == 3.141592653589793);
    CHECK(!erg_gguf_get_str(g, erg_gguf_get(g, "k.u32"), &s));
    CHECK(erg_gguf_get_cstr(g, erg_gguf_get(g, "k.u32")) == NULL);
    CHECK_EQ_INT(erg_gguf_get(g, "k.u16")->type, ERG_GGUF_UINT16);

    v = erg_gguf_get(g, "tokenizer.ggml.tokens");
    CHECK(v && v->type == ERG_GGUF_ARRAY && v->elem_type == ERG_GGUF_STRING && v->count == 4);
    for (uint64_t k = 0; k < 4; k++)
        CHECK(erg_gguf_arr_str(g, v, k, &s) && str_is(s, tokens[k]));
    CHECK(!erg_gguf_arr_str(g, v, 4, &s));
    CHECK(!erg_gguf_arr_int(g, v, 0, &i) && erg_gguf_arr_data(g, v) == NULL);
    CHECK(!erg_gguf_get_int(g, v, &i) && !erg_gguf_get_str(g, v, &s));

    v = erg_gguf_get(g, "a.i16");
    CHECK(v && v->elem_type == ERG_GGUF_INT16 && v->count == 4);
    for (uint64_t k = 0; k < 4; k++)
        CHECK(erg_gguf_arr_int(g, v, k, &i) && i == arr_i16[k]);
    CHECK(!erg_gguf_arr_int(g, v, 4, &i));
    CHECK(erg_gguf_arr_data(g, v) && memcmp(erg_gguf_arr_data(g, v), arr_i16, 8) == 0);
    CHECK(!erg_gguf_arr_str(g, v, 0, &s));
    v = erg_gguf_get(g, "a.f32");
    for (uint64_t k = 0; k < 3; k++)
        CHECK(erg_gguf_arr_float(g, v, k, &f) && f == arr_f32[k]);
    CHECK(!erg_gguf_arr_int(g, v, 0, &i));
    v = erg_gguf_get(g, "a.u64");
    CHECK(erg_gguf_arr_int(g, v, 0, &i) && i == 0);
    CHECK(!erg_gguf_arr_int(g, v, 1, &i));
    CHECK(erg_gguf_arr_float(g, v, 2, &f) && f == 42.0);
    v = erg_gguf_get(g, "a.bool");
    CHECK(erg_gguf_arr_int(g, v, 0, &i) && i == 1);
    CHECK(erg_gguf_arr_int(g, v, 1, &i) && i == 0);
    CHECK(!erg_gguf_arr_float(g, v, 0, &f));
    v = erg_gguf_get(g, "a.empty");
    CHECK(v && v->count == 0 && v->elem_type == ERG_GGUF_INT32 && erg_gguf_arr_data(g, v));
    CHECK(!erg_gguf_arr_int(g, v, 0, &i));
    v = erg_gguf_get(g, "a.nostr");
    CHECK(v && v->count == 0 && v->elem_type == ERG_GGUF_STRING && !erg_gguf_arr_str(g, v, 0, &s));

    check_nested(g, erg_gguf_get(g, "nest"));
    CHECK(erg_gguf_get(g, "missing") == NULL && erg_gguf_find(g, "missing") == -1);
    CHECK(erg_gguf_find(g, "general.nam") == -1 && erg_gguf_find(g, NULL) == -1);
}

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static void check_round_trip_tensors(const erg_gguf *g) {
    uint64_t align = erg_gguf_alignment(g);
    uint64_t data = erg_gguf_data_offset(g);
    CHECK_EQ_INT(data % align, 0);
    CHECK_EQ_INT(erg_gguf_tensor_count(g), N_TEST_TENSORS);
    uint64_t expect_offset = 0;
    for (size_t k = 0; k < N_TEST_TENSORS; k++) {
        const test_tensor *tt = &test_tensors[k];
        const erg_gguf_tensor *t = erg_gguf_tensor_at(g, k);
        CHECK(t && t == erg_gguf_find_tensor(g, tt->name));
        if (!t)
            continue;
        CHECK(str_is(t->name, tt->name) && t->name.ptr[t->name.len] == '\0');
        CHECK_EQ_INT(t->dtype, tt->dtype);
        CHECK_EQ_INT(t->n_dims, tt->n_dims);
        for (int d = 0; d < 4; d++)
            CHECK_EQ_INT(t->ne[d], tt->ne[d]);
        CHECK_EQ_INT(t->size, tt->size);
        /* llama.cpp's layout: back to back, each padded to the alignment. */
        CHECK_EQ_INT(t->offset, expect_offset);
        CHECK_EQ_INT(t->data_offset, data + t->offset);
        CHECK(t->data == (const uint8_t *)erg_gguf_base(g) + t->data_offset);
        CHECK(memcmp(t->data, tensor_data[k], tt->size) == 0);
        expect_offset = round_up(expect_offset + tt->size, align);
    }
    CHECK_EQ_INT(erg_gguf_file_size(g), data + expect_offset);
    CHECK(erg_gguf_tensor_at(g, N_TEST_TENSORS) == NULL);
    CHECK(erg_gguf_find_tensor(g, "missing") == NULL);
    CHECK(erg_gguf_find_tensor(g, "rope.id") == NULL);
}

static void write_round_trip(const char *path, uint32_t alignment) {
    erg_gguf_writer *w = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_gguf_writer_create(NULL, &w, &diag), ERG_OK);
    add_round_trip_keys(w, alignment);
    for (size_t k = 0; k < N_TEST_TENSORS; k++) {
        const test_tensor *tt = &test_tensors[k];
        CHECK_STATUS(erg_gguf_writer_add_tensor(w, tt->name, tt->dtype, tt->n_dims, tt->ne,
                                                tensor_data[k]),
                     ERG_OK);
    }
    CHECK_STATUS(erg_gguf_writer_write(w, path, &diag), ERG_OK);
    erg_gguf_writer_free(w);
}

static void check_file(erg_gguf *g, uint32_t version, uint32_t alignment) {
    CHECK_EQ_INT(erg_gguf_version(g), version);
    check_round_trip_keys(g, alignment);
    check_round_trip_tensors(g);
}

static void test_round_trip(uint32_t alignment) {
    char path[512];
    tmp_path(path, sizeof path, "round_trip.gguf");
    write_round_trip(path, alignment);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0);

    for (int no_mmap = 0; no_mmap <= 1; no_mmap++) {
        erg_gguf *g = NULL;
        erg_diag diag = {{0}};
        CHECK_STATUS(erg_gguf_open_file(NULL, path, no_mmap, &g, &diag), ERG_OK);
        if (!g) {
            printf("open: %s\n", diag.msg);
            return;
        }
        check_file(g, 3, alignment);
        erg_gguf_close(g);
    }

    size_t n;
    uint8_t *b = read_all(path, &n);
    /* The header as llama.cpp writes it. */
    CHECK(memcmp(b, "GGUF\3\0\0\0", 8) == 0);
    CHECK(b[8] == N_TEST_TENSORS && b[16] == 21 + (alignment ? 1 : 0));
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_memory(NULL, b, n, &g, NULL), ERG_OK);
    if (g) {
        check_file(g, 3, alignment);
        CHECK(erg_gguf_base(g) == b);
        erg_gguf_close(g);
    }

    /* v2 differs from v3 only in the version number. */
    b[4] = 2;
    g = NULL;
    CHECK_STATUS(erg_gguf_open_memory(NULL, b, n, &g, NULL), ERG_OK);
    if (g) {
        check_file(g, 2, alignment);
        erg_gguf_close(g);
    }
    free(b);
}

/* Copies every key and tensor of a file into a new one, which must hold the
 * same bytes. */
static void test_copy(void) {
    char a[512], b2[512];
    tmp_path(a, sizeof a, "copy_src.gguf");
    tmp_path(b2, sizeof b2, "copy_dst.gguf");
    write_round_trip(a, 64);
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_file(NULL, a, false, &g, NULL), ERG_OK);
    if (!g)
        return;
    erg_gguf_writer *w = NULL;
    CHECK_STATUS(erg_gguf_writer_create(NULL, &w, NULL), ERG_OK);
    for (uint64_t i = 0; i < erg_gguf_kv_count(g); i++)
        CHECK_STATUS(erg_gguf_writer_copy_kv(w, g, i), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_copy_kv(w, g, 0), ERG_INVALID_ARGUMENT); /* duplicate */
    CHECK_STATUS(erg_gguf_writer_copy_kv(w, g, erg_gguf_kv_count(g)), ERG_INVALID_ARGUMENT);
    for (uint64_t i = 0; i < erg_gguf_tensor_count(g); i++) {
        const erg_gguf_tensor *t = erg_gguf_tensor_at(g, i);
        CHECK_STATUS(erg_gguf_writer_add_tensor(w, t->name.ptr, t->dtype, t->n_dims, t->ne,
                                                t->data),
                     ERG_OK);
    }
    CHECK_STATUS(erg_gguf_writer_write(w, b2, NULL), ERG_OK);
    erg_gguf_writer_free(w);
    erg_gguf_close(g);
    size_t na, nb;
    uint8_t *pa = read_all(a, &na), *pb = read_all(b2, &nb);
    CHECK(pa && pb && na == nb && memcmp(pa, pb, na) == 0);
    free(pa);
    free(pb);
}

/* ---- v2 and versions ---------------------------------------------------- */

/* A v2 file made by hand: v2 has the same layout as v3 (u64 counts and
 * lengths; v1 had u32 ones), only the version differs. */
static void test_v2_by_hand(void) {
    bytes b = {0};
    put_header(&b, 2, 1, 2);
    put_str(&b, "general.architecture");
    put_u32(&b, ERG_GGUF_STRING);
    put_str(&b, "llama");
    put_str(&b, "llama.block_count");
    put_u32(&b, ERG_GGUF_UINT32);
    put_u32(&b, 1);
    put_str(&b, "w");
    put_u32(&b, 1);
    put_u64(&b, 4);
    put_u32(&b, ERG_DT_F32);
    put_u64(&b, 0);
    size_t header_end = b.n;
    pad_to(&b, 32);
    float data[4] = {1, 2, 3, 4};
    put(&b, data, sizeof data);

    erg_gguf *g = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_gguf_open_memory(NULL, b.p, b.n, &g, &diag), ERG_OK);
    if (g) {
        CHECK_EQ_INT(erg_gguf_version(g), 2);
        CHECK_EQ_INT(erg_gguf_data_offset(g), round_up(header_end, 32));
        erg_gguf_str s;
        CHECK(erg_gguf_get_str(g, erg_gguf_get(g, "general.architecture"), &s) &&
              str_is(s, "llama"));
        uint64_t u;
        CHECK(erg_gguf_get_uint(g, erg_gguf_get(g, "llama.block_count"), &u) && u == 1);
        const erg_gguf_tensor *t = erg_gguf_find_tensor(g, "w");
        CHECK(t && t->ne[0] == 4 && t->size == 16 && memcmp(t->data, data, 16) == 0);
        erg_gguf_close(g);
    }
    free(b.p);
}

static void expect_format(const bytes *b, const char *what, const char *a, const char *c) {
    erg_diag diag = {{0}};
    erg_status st = open_bytes(b->p, b->n, &diag);
    CHECK_MSG(st == ERG_FORMAT, "%s: status %d (%s)", what, (int)st, diag.msg);
    CHECK_MSG(a == NULL || strstr(diag.msg, a), "%s: '%s' not in \"%s\"", what, a, diag.msg);
    CHECK_MSG(c == NULL || strstr(diag.msg, c), "%s: '%s' not in \"%s\"", what, c, diag.msg);
}

static void test_versions(void) {
    bytes b = {0};
    put_header(&b, 3, 0, 0);
    CHECK_STATUS(open_bytes(b.p, b.n, NULL), ERG_OK);
    patch_u32(&b, 4, 1);
    expect_format(&b, "v1", "version 1", "not supported");
    patch_u32(&b, 4, 4);
    expect_format(&b, "v4", "version 4", NULL);
    patch_u32(&b, 4, 0);
    expect_format(&b, "v0", "version 0", NULL);
    patch_u32(&b, 4, 0x03000000); /* a big-endian v3 file */
    expect_format(&b, "big-endian", "big-endian", "byte 4");
    patch_u32(&b, 4, 3);
    b.p[3] = 'G';
    expect_format(&b, "magic", "magic", "byte 0");
    b.p[3] = 'F';
    b.n = 23;
    expect_format(&b, "short", "shorter than a GGUF header", NULL);
    b.n = 0;
    expect_format(&b, "empty", "0 bytes", NULL);
    free(b.p);
}

/* ---- truncation --------------------------------------------------------- */

static void test_truncation(void) {
    char path[512];
    tmp_path(path, sizeof path, "trunc.gguf");
    write_round_trip(path, 0);
    size_t n;
    uint8_t *b = read_all(path, &n);
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_memory(NULL, b, n, &g, NULL), ERG_OK);
    if (!g) {
        free(b);
        return;
    }
    const erg_gguf_tensor *last = erg_gguf_tensor_at(g, N_TEST_TENSORS - 1);
    size_t data_end = (size_t)(last->data_offset + last->size);
    erg_gguf_close(g);

    /* Cut anywhere before the last tensor's last byte: header, padding and
     * data alike. Only the padding after the data may go. */
    int bad = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        erg_diag diag = {{0}};
        erg_status st = open_bytes(b, cut, &diag);
        erg_status want = cut < data_end ? ERG_FORMAT : ERG_OK;
        if (st != want || (st == ERG_FORMAT && diag.msg[0] == '\0')) {
            if (bad++ < 5)
                printf("cut at %zu of %zu: status %d, want %d (%s)\n", cut, n, (int)st,
                       (int)want, diag.msg);
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(b);
}

/* ---- hostile fields ----------------------------------------------------- */

/* A small valid file whose interesting fields' offsets are recorded. */
typedef struct base_file {
    bytes b;
    size_t key0_len, str_len, val0_type, arr_type, arr_count, tok1_len, align_type, align_val,
        key3;
    size_t t0_name, t0_ndims, t0_ne0, t0_ne1, t0_type, t0_offset;
    size_t t1_name, t1_ne0, t1_offset;
} base_file;

static base_file make_base(void) {
    base_file f;
    memset(&f, 0, sizeof f);
    bytes *b = &f.b;
    put_header(b, 3, 2, 4);
    f.key0_len = put_str(b, "general.name");
    f.val0_type = put_u32(b, ERG_GGUF_STRING);
    f.str_len = put_str(b, "tiny");
    put_str(b, "tokenizer.ggml.tokens");
    put_u32(b, ERG_GGUF_ARRAY);
    f.arr_type = put_u32(b, ERG_GGUF_STRING);
    f.arr_count = put_u64(b, 3);
    put_str(b, "a");
    f.tok1_len = put_str(b, "bc");
    put_str(b, "def");
    put_str(b, "general.alignment");
    f.align_type = put_u32(b, ERG_GGUF_UINT32);
    f.align_val = put_u32(b, 32);
    f.key3 = put_str(b, "general.namf");
    put_u32(b, ERG_GGUF_UINT8);
    put_u8(b, 7);
    f.t0_name = put_str(b, "a.weight");
    f.t0_ndims = put_u32(b, 2);
    f.t0_ne0 = put_u64(b, 4);
    f.t0_ne1 = put_u64(b, 2);
    f.t0_type = put_u32(b, ERG_DT_F32);
    f.t0_offset = put_u64(b, 0);
    f.t1_name = put_str(b, "b.weight");
    put_u32(b, 1);
    f.t1_ne0 = put_u64(b, 32);
    put_u32(b, ERG_DT_Q8_0);
    f.t1_offset = put_u64(b, 32);
    pad_to(b, 32);
    for (int i = 0; i < 32 + 34; i++)
        put_u8(b, (uint8_t)i);
    pad_to(b, 32);
    return f;
}

#define HOSTILE(what, patch, a, c)                                                         \
    do {                                                                                   \
        base_file f = make_base();                                                         \
        patch;                                                                             \
        expect_format(&f.b, what, a, c);                                                   \
        free(f.b.p);                                                                       \
    } while (0)

static void test_hostile(void) {
    base_file ok = make_base();
    erg_diag diag = {{0}};
    CHECK_STATUS(open_bytes(ok.b.p, ok.b.n, &diag), ERG_OK);
    free(ok.b.p);

    HOSTILE("tensor count", patch_u64(&f.b, 8, 1ull << 60), "tensor count 1152921504606846976",
            "byte 8");
    HOSTILE("kv count", patch_u64(&f.b, 16, 1ull << 60), "key/value count", "byte 16");
    HOSTILE("counts together", (patch_u64(&f.b, 8, 8), patch_u64(&f.b, 16, 20)), "do not fit",
            NULL);
    HOSTILE("key length", patch_u64(&f.b, f.key0_len, UINT64_MAX),
            "key #0: key length 18446744073709551615 at byte 24", "past the end");
    HOSTILE("string length", patch_u64(&f.b, f.str_len, UINT64_MAX),
            "key #0 'general.name': string length 18446744073709551615 at byte", "past the end");
    HOSTILE("value type", patch_u32(&f.b, f.val0_type, 99), "key #0 'general.name'",
            "unknown value type 99");
    HOSTILE("array count", patch_u64(&f.b, f.arr_count, 1ull << 62),
            "key #1 'tokenizer.ggml.tokens': array count 4611686018427387904", "does not fit");
    HOSTILE("array element type", patch_u32(&f.b, f.arr_type, 13),
            "unknown array element type 13", NULL);
    HOSTILE("string element", patch_u64(&f.b, f.tok1_len, 100000), "element 1: string length 100000",
            "past the end");
    HOSTILE("alignment", patch_u32(&f.b, f.align_val, 24), "general.alignment' = 24",
            "not a power of two");
    HOSTILE("alignment 0", patch_u32(&f.b, f.align_val, 0), "general.alignment' = 0",
            "not a power of two");
    HOSTILE("alignment type", patch_u32(&f.b, f.align_type, ERG_GGUF_INT32),
            "general.alignment' has type i32", "must be u32");
    HOSTILE("duplicate key", f.b.p[f.key3 + 8 + 11] = 'e', "key #3 'general.name'",
            "duplicates key #0");
    HOSTILE("empty key", patch_u64(&f.b, f.key3, 0), "key #3", "is empty");
    HOSTILE("NUL in key", f.b.p[f.key3 + 9] = 0, "key #3", "NUL");
    HOSTILE("n_dims 0", patch_u32(&f.b, f.t0_ndims, 0), "tensor 'a.weight' (#0): n_dims 0",
            "not in 1..4");
    HOSTILE("n_dims 5", patch_u32(&f.b, f.t0_ndims, 5), "tensor 'a.weight' (#0): n_dims 5",
            "not in 1..4");
    HOSTILE("zero dim", patch_u64(&f.b, f.t0_ne1, 0), "tensor 'a.weight' (#0): ne[1] = 0",
            "not positive");
    HOSTILE("negative dim", patch_u64(&f.b, f.t0_ne0, UINT64_MAX), "ne[0] = -1", NULL);
    HOSTILE("element overflow", (patch_u64(&f.b, f.t0_ne0, 1ull << 40),
                                 patch_u64(&f.b, f.t0_ne1, 1ull << 40)),
            "ne[1] = 1099511627776", "overflow int64");
    HOSTILE("byte size overflow", (patch_u64(&f.b, f.t0_ne0, 1ull << 31),
                                   patch_u64(&f.b, f.t0_ne1, 1ull << 31)),
            "tensor 'a.weight' (#0): size in bytes overflows", NULL);
    HOSTILE("unknown type", patch_u32(&f.b, f.t0_type, 4), "unknown tensor type 4", NULL);
    HOSTILE("huge type", patch_u32(&f.b, f.t0_type, 0xffffffffu),
            "unknown tensor type 4294967295", NULL);
    HOSTILE("block size", patch_u64(&f.b, f.t1_ne0, 16),
            "tensor 'b.weight' (#1): ne[0] = 16 is not a multiple of the q8_0 block size (32)",
            NULL);
    HOSTILE("misaligned", patch_u64(&f.b, f.t1_offset, 16),
            "tensor 'b.weight' (#1): data offset 16", "not a multiple of the alignment (32)");
    HOSTILE("past the end", patch_u64(&f.b, f.t1_offset, 1u << 20),
            "tensor 'b.weight' (#1): data [", "ends past the end of the file");
    HOSTILE("offset overflow", patch_u64(&f.b, f.t1_offset, UINT64_MAX - 31),
            "tensor 'b.weight' (#1)", "overflows");
    HOSTILE("overlap", patch_u64(&f.b, f.t1_offset, 0), "tensor 'b.weight' (#1): data [",
            "overlaps tensor 'a.weight' (#0)");
    HOSTILE("duplicate tensor", f.b.p[f.t1_name + 8] = 'a', "tensor #1 'a.weight'",
            "same name as tensor #0");
    HOSTILE("empty tensor name", patch_u64(&f.b, f.t0_name, 0), "tensor #0", "empty name");
    HOSTILE("long tensor name", patch_u64(&f.b, f.t0_name, 65), "tensor #0: name length 65",
            "limit of 64");
    HOSTILE("name past the end", patch_u64(&f.b, f.t0_name, 1ull << 40),
            "tensor #0: name length 1099511627776", "past the end");
    HOSTILE("data cut", f.b.n -= 33, "tensor 'b.weight' (#1)", "ends past the end");

    /* Tensors may leave gaps and come in any order: t1 first, t0 after it. */
    base_file f = make_base();
    patch_u64(&f.b, f.t0_offset, 64);
    patch_u64(&f.b, f.t1_offset, 0);
    CHECK_STATUS(open_bytes(f.b.p, f.b.n, &diag), ERG_OK);
    free(f.b.p);
}

/* Arrays nest at most 8 deep. */
static bytes nested_depth(int depth) {
    bytes b = {0};
    put_header(&b, 3, 0, 1);
    put_str(&b, "deep");
    put_u32(&b, ERG_GGUF_ARRAY);
    for (int d = 1; d < depth; d++) {
        put_u32(&b, ERG_GGUF_ARRAY);
        put_u64(&b, 1);
    }
    put_u32(&b, ERG_GGUF_UINT8);
    put_u64(&b, 1);
    put_u8(&b, 7);
    return b;
}

static void test_nesting(void) {
    bytes ok = nested_depth(8);
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_memory(NULL, ok.p, ok.n, &g, NULL), ERG_OK);
    if (g) {
        erg_gguf_value v = *erg_gguf_get(g, "deep"), child;
        int depth = 1;
        while (v.elem_type == ERG_GGUF_ARRAY && erg_gguf_arr_value(g, &v, 0, &child)) {
            v = child;
            depth++;
        }
        int64_t x;
        CHECK_EQ_INT(depth, 8);
        CHECK(erg_gguf_arr_int(g, &v, 0, &x) && x == 7);
        erg_gguf_close(g);
    }
    free(ok.p);
    bytes deep = nested_depth(9);
    expect_format(&deep, "depth 9", "key #0 'deep': element 0: element 0", "nest more than 8");
    free(deep.p);

    /* An array of a huge number of (empty) arrays. */
    bytes b = {0};
    put_header(&b, 3, 0, 1);
    put_str(&b, "many");
    put_u32(&b, ERG_GGUF_ARRAY);
    put_u32(&b, ERG_GGUF_ARRAY);
    put_u64(&b, 1ull << 59);
    put_u32(&b, ERG_GGUF_UINT8);
    put_u64(&b, 0);
    expect_format(&b, "nested count", "array count 576460752303423488", "at least 12 bytes");
    free(b.p);
}

/* Every byte of the header set to a few values: never a crash, and a
 * failure is always ERG_FORMAT with a message. */
static void test_byte_flips(void) {
    base_file f = make_base();
    size_t header = f.t1_offset + 8;
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    int bad = 0, ok = 0;
    for (size_t i = 0; i < header; i++) {
        uint8_t saved = f.b.p[i];
        for (size_t k = 0; k < sizeof values; k++) {
            f.b.p[i] = values[k];
            erg_diag diag = {{0}};
            erg_status st = open_bytes(f.b.p, f.b.n, &diag);
            if (st == ERG_OK)
                ok++;
            else if (st != ERG_FORMAT || diag.msg[0] == '\0')
                bad++;
        }
        f.b.p[i] = saved;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(ok > 0); /* some flips (e.g. in string bytes) leave the file valid */
    free(f.b.p);
}

/* ---- I/O ---------------------------------------------------------------- */

static void test_io_errors(void) {
    erg_gguf *g = (erg_gguf *)1;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_gguf_open_file(NULL, "/nonexistent/erg/model.gguf", false, &g, &diag),
                 ERG_IO);
    CHECK(g == NULL && strstr(diag.msg, "/nonexistent/erg/model.gguf"));
    CHECK_STATUS(erg_gguf_open_file(NULL, "/nonexistent/erg/model.gguf", true, &g, &diag),
                 ERG_IO);
    CHECK_STATUS(erg_gguf_open_file(NULL, tmp_dir, false, &g, &diag), ERG_IO);
    CHECK(strstr(diag.msg, "not a regular file") != NULL);

    char path[512];
    tmp_path(path, sizeof path, "empty.gguf");
    write_all(path, "", 0);
    CHECK_STATUS(erg_gguf_open_file(NULL, path, false, &g, &diag), ERG_FORMAT);
    CHECK(strstr(diag.msg, path) && strstr(diag.msg, "shorter than a GGUF header"));

    /* Parse errors from a file name the file. */
    base_file f = make_base();
    patch_u32(&f.b, f.t0_ndims, 7);
    tmp_path(path, sizeof path, "bad.gguf");
    write_all(path, f.b.p, f.b.n);
    free(f.b.p);
    for (int no_mmap = 0; no_mmap <= 1; no_mmap++) {
        CHECK_STATUS(erg_gguf_open_file(NULL, path, no_mmap, &g, &diag), ERG_FORMAT);
        CHECK_MSG(strstr(diag.msg, path) && strstr(diag.msg, "n_dims 7"), "%s", diag.msg);
    }
}

static void test_writer_errors(void) {
    erg_gguf_writer *w = NULL;
    CHECK_STATUS(erg_gguf_writer_create(NULL, &w, NULL), ERG_OK);
    float data[64] = {0};
    int64_t ne[4] = {4, 2, 1, 1}, ne_zero[2] = {4, 0}, ne16[1] = {16};
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "a", 1), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "a", 2), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_str(w, "a", "x"), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "", 2), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_str(w, "s", NULL), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "general.alignment", 24), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "general.alignment", 0), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_u64(w, "general.alignment", 64), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_str(w, "general.alignment", "64"), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "x", ERG_GGUF_STRING, data, 1), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "x", ERG_GGUF_INT32, NULL, 1), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "x", ERG_GGUF_INT32, data, UINT64_MAX / 2),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "x", ERG_GGUF_STRING, data), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_scalar(w, "x", ERG_GGUF_TYPE_COUNT, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "t", ERG_DT_F32, 2, ne, data), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "t", ERG_DT_F32, 2, ne, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "u", ERG_DT_F32, 0, ne, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "u", ERG_DT_F32, 5, ne, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "u", ERG_DT_F32, 2, ne_zero, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "u", ERG_DT_Q8_0, 1, ne16, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "u", (erg_dtype)4, 1, ne16, data),
                 ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "u", ERG_DT_F32, 1, ne16, NULL),
                 ERG_INVALID_ARGUMENT);
    char long_name[65];
    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, long_name, ERG_DT_F32, 1, ne16, data),
                 ERG_INVALID_ARGUMENT);
    long_name[63] = '\0';
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, long_name, ERG_DT_F32, 1, ne16, data), ERG_OK);

    /* The refused additions left nothing behind. */
    char path[512];
    tmp_path(path, sizeof path, "after_errors.gguf");
    CHECK_STATUS(erg_gguf_writer_write(w, path, NULL), ERG_OK);
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_file(NULL, path, false, &g, NULL), ERG_OK);
    if (g) {
        CHECK_EQ_INT(erg_gguf_kv_count(g), 1);
        CHECK_EQ_INT(erg_gguf_tensor_count(g), 2);
        CHECK(erg_gguf_find_tensor(g, long_name) != NULL);
        erg_gguf_close(g);
    }

    /* A directory that does not exist. */
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_gguf_writer_write(w, "/nonexistent/erg/out.gguf", &diag), ERG_IO);
    CHECK_MSG(strstr(diag.msg, "/nonexistent/erg/out.gguf.tmp") != NULL, "%s", diag.msg);

    /* A full disk: the temporary file is /dev/full. The old file stays, the
     * temporary one goes. */
    char full[512], full_tmp[600];
    tmp_path(full, sizeof full, "full.gguf");
    snprintf(full_tmp, sizeof full_tmp, "%s.tmp", full);
    write_all(full, "old", 3);
    if (symlink("/dev/full", full_tmp) == 0) {
        CHECK_STATUS(erg_gguf_writer_write(w, full, &diag), ERG_IO);
        CHECK_MSG(strstr(diag.msg, strerror(ENOSPC)) != NULL, "%s", diag.msg);
        struct stat sb;
        CHECK(lstat(full_tmp, &sb) != 0);
        size_t n;
        uint8_t *old = read_all(full, &n);
        CHECK(old && n == 3 && memcmp(old, "old", 3) == 0);
        free(old);
    } else {
        printf("note: no symlink to /dev/full (%s); disk-full case not run\n", strerror(errno));
    }
    unlink(full);
    erg_gguf_writer_free(w);
    erg_gguf_writer_free(NULL);
    erg_gguf_close(NULL);
}

/* A writer with only tensors, no keys, and a large alignment. */
static void test_alignment_layout(void) {
    erg_gguf_writer *w = NULL;
    CHECK_STATUS(erg_gguf_writer_create(NULL, &w, NULL), ERG_OK);
    uint8_t d1[34], d2[6];
    for (int i = 0; i < 34; i++)
        d1[i] = (uint8_t)(i + 1);
    memset(d2, 0xab, sizeof d2);
    int64_t ne1[1] = {32}, ne2[1] = {3};
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "q", ERG_DT_Q8_0, 1, ne1, d1), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_tensor(w, "h", ERG_DT_F16, 1, ne2, d2), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_u32(w, "general.alignment", 256), ERG_OK);
    char path[512];
    tmp_path(path, sizeof path, "align.gguf");
    CHECK_STATUS(erg_gguf_writer_write(w, path, NULL), ERG_OK);
    erg_gguf_writer_free(w);
    size_t n;
    uint8_t *b = read_all(path, &n);
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_memory(NULL, b, n, &g, NULL), ERG_OK);
    if (g) {
        CHECK_EQ_INT(erg_gguf_alignment(g), 256);
        CHECK_EQ_INT(erg_gguf_data_offset(g), 256);
        const erg_gguf_tensor *t = erg_gguf_find_tensor(g, "h");
        CHECK(t && t->offset == 256 && t->data_offset == 512 && t->size == 6);
        CHECK_EQ_INT(n, 768);
        /* Padding is zeros. */
        int nonzero = 0;
        for (size_t i = 256 + 34; i < 512; i++)
            nonzero += b[i] != 0;
        for (size_t i = 512 + 6; i < n; i++)
            nonzero += b[i] != 0;
        CHECK_EQ_INT(nonzero, 0);
        erg_gguf_close(g);
    }
    free(b);
}

/* ---- allocation failures ------------------------------------------------ */

typedef struct failing_alloc {
    int fail_at; /* the allocation that fails (0-based); -1: none */
    int count;
    int live;
} failing_alloc;

static void *fa_alloc(void *user, size_t size, size_t alignment) {
    failing_alloc *fa = user;
    if (fa->count++ == fa->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment,
                       size ? size : 1) != 0)
        return NULL;
    fa->live++;
    return p;
}

static void fa_free(void *user, void *p) {
    failing_alloc *fa = user;
    fa->live--;
    free(p);
}

static void test_alloc_failures(void) {
    char path[512];
    tmp_path(path, sizeof path, "oom.gguf");
    write_round_trip(path, 0);
    size_t n;
    uint8_t *b = read_all(path, &n);
    int ok_at = -1;
    for (int k = 0; k < 200 && ok_at < 0; k++) {
        failing_alloc fa = {k, 0, 0};
        erg_allocator a = {&fa, fa_alloc, fa_free};
        erg_gguf *g = NULL;
        erg_diag diag = {{0}};
        erg_status st = erg_gguf_open_memory(&a, b, n, &g, &diag);
        if (st == ERG_OK) {
            ok_at = k;
            fa.fail_at = -1;
            check_file(g, 3, 0);
            erg_gguf_close(g);
        } else {
            CHECK_MSG(st == ERG_OUT_OF_MEMORY && strstr(diag.msg, "out of memory"),
                      "fail at %d: %d %s", k, (int)st, diag.msg);
        }
        CHECK_MSG(fa.live == 0, "fail at %d: %d allocations leaked", k, fa.live);
    }
    CHECK(ok_at > 3);

    /* The file opened with read() and the cstr cache, failing each time. */
    for (int k = 0; k < 200; k++) {
        failing_alloc fa = {k, 0, 0};
        erg_allocator a = {&fa, fa_alloc, fa_free};
        erg_gguf *g = NULL;
        erg_status st = erg_gguf_open_file(&a, path, true, &g, NULL);
        bool done = false;
        if (st == ERG_OK) {
            const char *s = erg_gguf_get_cstr(g, erg_gguf_get(g, "general.name"));
            done = s != NULL;
            CHECK(s == NULL || strcmp(s, "erg test") == 0);
            erg_gguf_close(g);
        } else {
            CHECK_STATUS(st, ERG_OUT_OF_MEMORY);
        }
        CHECK_MSG(fa.live == 0, "file, fail at %d: %d allocations leaked", k, fa.live);
        if (done)
            break;
    }

    /* The writer: every step may fail, and a failed step changes nothing. */
    for (int k = 0; k < 400; k++) {
        failing_alloc fa = {k, 0, 0};
        erg_allocator a = {&fa, fa_alloc, fa_free};
        erg_gguf_writer *w = NULL;
        erg_status st = erg_gguf_writer_create(&a, &w, NULL);
        if (st == ERG_OK) {
            static const char *const strs[] = {"x", "y"};
            float v[2] = {1, 2};
            int64_t ne[1] = {2};
            erg_status s1 = erg_gguf_writer_add_str(w, "s", "value");
            erg_status s2 = erg_gguf_writer_add_arr_str(w, "t", strs, 2);
            erg_status s3 = erg_gguf_writer_add_arr(w, "f", ERG_GGUF_FLOAT32, v, 2);
            erg_status s4 = erg_gguf_writer_add_tensor(w, "w", ERG_DT_F32, 1, ne, v);
            erg_status s5 = erg_gguf_writer_write(w, path, NULL);
            erg_status all[] = {s1, s2, s3, s4, s5};
            bool all_ok = true;
            for (int i = 0; i < 5; i++) {
                CHECK(all[i] == ERG_OK || all[i] == ERG_OUT_OF_MEMORY);
                all_ok &= all[i] == ERG_OK;
            }
            erg_gguf *g = NULL;
            if (s5 == ERG_OK) {
                CHECK_STATUS(erg_gguf_open_file(NULL, path, false, &g, NULL), ERG_OK);
                if (g) {
                    CHECK_EQ_INT(erg_gguf_kv_count(g),
                                 (s1 == ERG_OK) + (s2 == ERG_OK) + (s3 == ERG_OK));
                    CHECK_EQ_INT(erg_gguf_tensor_count(g), s4 == ERG_OK);
                    erg_gguf_close(g);
                }
            }
            erg_gguf_writer_free(w);
            CHECK_MSG(fa.live == 0, "writer, fail at %d: %d leaked", k, fa.live);
            if (all_ok)
                break;
        } else {
            CHECK(st == ERG_OUT_OF_MEMORY && w == NULL);
        }
    }
    free(b);
}

/* ---- a real vocabulary's size ------------------------------------------- */

static void test_big_vocab(void) {
    enum { N = 150000 };
    char **strs = malloc(N * sizeof(char *));
    float *scores = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) {
        strs[i] = malloc(16);
        snprintf(strs[i], 16, "tok%d", i);
        scores[i] = (float)-i;
    }
    erg_gguf_writer *w = NULL;
    CHECK_STATUS(erg_gguf_writer_create(NULL, &w, NULL), ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens",
                                             (const char *const *)strs, N),
                 ERG_OK);
    CHECK_STATUS(erg_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ERG_GGUF_FLOAT32, scores, N),
                 ERG_OK);
    char path[512];
    tmp_path(path, sizeof path, "vocab.gguf");
    CHECK_STATUS(erg_gguf_writer_write(w, path, NULL), ERG_OK);
    erg_gguf_writer_free(w);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    erg_gguf *g = NULL;
    CHECK_STATUS(erg_gguf_open_file(NULL, path, false, &g, NULL), ERG_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("opened a %d-token vocabulary in %.2f ms\n", N, ms);
    CHECK(ms < 1000); /* one pass: a few ms; generous for a loaded machine */
    if (g) {
        const erg_gguf_value *v = erg_gguf_get(g, "tokenizer.ggml.tokens");
        erg_gguf_str s;
        int wrong = 0;
        for (uint64_t i = 0; i < N; i++)
            wrong += !(erg_gguf_arr_str(g, v, i, &s) && str_is(s, strs[i]));
        CHECK_EQ_INT(wrong, 0);
        double f;
        CHECK(erg_gguf_arr_float(g, erg_gguf_get(g, "tokenizer.ggml.scores"), N - 1, &f) &&
              f == -(double)(N - 1));
        erg_gguf_close(g);
    }
    for (int i = 0; i < N; i++)
        free(strs[i]);
    free(strs);
    free(scores);
}

/* ---- main --------------------------------------------------------------- */

static void remove_tmp_dir(void) {
    static const char *const files[] = {"round_trip.gguf", "copy_src.gguf", "copy_dst.gguf",
                                        "trunc.gguf",      "empty.gguf",    "bad.gguf",
                                        "after_errors.gguf", "align.gguf",  "oom.gguf",
                                        "vocab.gguf"};
    char path[512];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        tmp_path(path, sizeof path, files[i]);
        unlink(path);
    }
    rmdir(tmp_dir);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/erg_test_gguf_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        printf("cannot create a temporary directory: %s\n", strerror(errno));
        return 1;
    }
    for (size_t k = 0; k < N_TEST_TENSORS; k++) {
        tensor_data[k] = malloc(test_tensors[k].size);
        for (size_t i = 0; i < test_tensors[k].size; i++)
            tensor_data[k][i] = pattern(k, i);
    }

    test_round_trip(0);
    test_round_trip(64);
    test_round_trip(1);
    test_copy();
    test_v2_by_hand();
    test_versions();
    test_truncation();
    test_hostile();
    test_nesting();
    test_byte_flips();
    test_io_errors();
    test_writer_errors();
    test_alignment_layout();
    test_alloc_failures();
    test_big_vocab();

    for (size_t k = 0; k < N_TEST_TENSORS; k++)
        free(tensor_data[k]);
    remove_tmp_dir();
    return erg_test_result("test_gguf");
}
