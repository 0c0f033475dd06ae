/*
 * gguf_seeds.c: writes a seed corpus for fuzz_gguf into the directory given
 * as the only argument: small valid GGUF files covering every value type,
 * string and nested arrays, tensors of several dtypes, a custom alignment,
 * and both versions 2 and 3.
 */
#include "model/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *out_dir;
static int failures;

static void check(erg_status st, const char *what) {
    if (st != ERG_OK) {
        fprintf(stderr, "gguf_seeds: %s: %s\n", what, erg_status_str(st));
        failures++;
    }
}

static void seed_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", out_dir, name);
}

static void finish(erg_gguf_writer *w, const char *name) {
    char path[4096];
    seed_path(path, sizeof path, name);
    erg_diag diag = {{0}};
    erg_status st = erg_gguf_writer_write(w, path, &diag);
    if (st != ERG_OK)
        fprintf(stderr, "gguf_seeds: %s: %s\n", name, diag.msg);
    failures += st != ERG_OK;
    erg_gguf_writer_free(w);
}

static erg_gguf_writer *new_writer(void) {
    erg_gguf_writer *w = NULL;
    check(erg_gguf_writer_create(NULL, &w, NULL), "create");
    if (!w)
        exit(1);
    return w;
}

static void put(uint8_t *b, size_t *n, const void *p, size_t len) {
    memcpy(b + *n, p, len);
    *n += len;
}

static void put_u32(uint8_t *b, size_t *n, uint32_t v) {
    for (int i = 0; i < 4; i++)
        b[(*n)++] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *b, size_t *n, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b[(*n)++] = (uint8_t)(v >> (8 * i));
}

static void put_str(uint8_t *b, size_t *n, const char *s) {
    put_u64(b, n, strlen(s));
    put(b, n, s, strlen(s));
}

/* The writer cannot build nested arrays, only copy them: this file, made by
 * hand, has one key "nest" = [[u32 7 8], [str "a" "bc"], [[i8 -1] []]]. */
static size_t nested_bytes(uint8_t *b) {
    size_t n = 0;
    put(b, &n, "GGUF", 4);
    put_u32(b, &n, 3);
    put_u64(b, &n, 0);
    put_u64(b, &n, 1);
    put_str(b, &n, "nest");
    put_u32(b, &n, ERG_GGUF_ARRAY);
    put_u32(b, &n, ERG_GGUF_ARRAY);
    put_u64(b, &n, 3);
    put_u32(b, &n, ERG_GGUF_UINT32);
    put_u64(b, &n, 2);
    put_u32(b, &n, 7);
    put_u32(b, &n, 8);
    put_u32(b, &n, ERG_GGUF_STRING);
    put_u64(b, &n, 2);
    put_str(b, &n, "a");
    put_str(b, &n, "bc");
    put_u32(b, &n, ERG_GGUF_ARRAY);
    put_u64(b, &n, 2);
    put_u32(b, &n, ERG_GGUF_INT8);
    put_u64(b, &n, 1);
    b[n++] = 0xff;
    put_u32(b, &n, ERG_GGUF_INT8);
    put_u64(b, &n, 0);
    return n;
}

static void write_bytes(const char *name, const uint8_t *b, size_t n) {
    char path[4096];
    seed_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "gguf_seeds: cannot write %s\n", path);
        failures++;
    }
}

/* Rewrites a seed as version 2 (the same layout with another version). */
static void as_v2(const char *from, const char *to) {
    char path[4096];
    seed_path(path, sizeof path, from);
    static uint8_t b[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    if (n < 8) {
        fprintf(stderr, "gguf_seeds: cannot read %s\n", path);
        failures++;
        return;
    }
    b[4] = 2;
    write_bytes(to, b, n);
}

static uint8_t data[4096];

static void add_tensors(erg_gguf_writer *w) {
    static const struct {
        const char *name;
        erg_dtype dtype;
        uint32_t n_dims;
        int64_t ne[4];
    } t[] = {
        {"token_embd.weight", ERG_DT_F32, 2, {4, 3, 1, 1}},
        {"norm.weight", ERG_DT_F16, 1, {8, 1, 1, 1}},
        {"q4_0.weight", ERG_DT_Q4_0, 2, {32, 2, 1, 1}},
        {"q8_0.weight", ERG_DT_Q8_0, 3, {32, 1, 2, 1}},
        {"q4_k.weight", ERG_DT_Q4_K, 1, {256, 1, 1, 1}},
        {"q6_k.weight", ERG_DT_Q6_K, 1, {256, 1, 1, 1}},
        {"ids", ERG_DT_I32, 4, {2, 1, 2, 1}},
        {"bf16.weight", ERG_DT_BF16, 1, {5, 1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        check(erg_gguf_writer_add_tensor(w, t[i].name, t[i].dtype, t[i].n_dims, t[i].ne, data),
              t[i].name);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gguf_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 11);

    finish(new_writer(), "empty.gguf");

    erg_gguf_writer *w = new_writer();
    uint8_t u8 = 250;
    int16_t i16 = -1234;
    int64_t i64 = -1;
    double f64 = 0.125;
    check(erg_gguf_writer_add_scalar(w, "s.u8", ERG_GGUF_UINT8, &u8), "u8");
    check(erg_gguf_writer_add_scalar(w, "s.i16", ERG_GGUF_INT16, &i16), "i16");
    check(erg_gguf_writer_add_u32(w, "s.u32", 7), "u32");
    check(erg_gguf_writer_add_i32(w, "s.i32", -7), "i32");
    check(erg_gguf_writer_add_f32(w, "s.f32", 0.5f), "f32");
    check(erg_gguf_writer_add_bool(w, "s.bool", true), "bool");
    check(erg_gguf_writer_add_u64(w, "s.u64", 1ull << 63), "u64");
    check(erg_gguf_writer_add_scalar(w, "s.i64", ERG_GGUF_INT64, &i64), "i64");
    check(erg_gguf_writer_add_scalar(w, "s.f64", ERG_GGUF_FLOAT64, &f64), "f64");
    check(erg_gguf_writer_add_str(w, "s.str", "hello"), "str");
    finish(w, "scalars.gguf");

    w = new_writer();
    static const char *const strs[] = {"<unk>", "<s>", "</s>", "", "\xe2\x96\x81the"};
    int32_t i32s[] = {1, -2, 3};
    float f32s[] = {0.0f, -1.0f, 2.5f};
    uint8_t bools[] = {0, 1};
    check(erg_gguf_writer_add_arr_str(w, "a.str", strs, 5), "arr str");
    check(erg_gguf_writer_add_arr(w, "a.i32", ERG_GGUF_INT32, i32s, 3), "arr i32");
    check(erg_gguf_writer_add_arr(w, "a.f32", ERG_GGUF_FLOAT32, f32s, 3), "arr f32");
    check(erg_gguf_writer_add_arr(w, "a.bool", ERG_GGUF_BOOL, bools, 2), "arr bool");
    check(erg_gguf_writer_add_arr(w, "a.empty", ERG_GGUF_UINT64, NULL, 0), "arr empty");
    finish(w, "arrays.gguf");

    static uint8_t nested[512];
    size_t n_nested = nested_bytes(nested);
    write_bytes("nested_raw.gguf", nested, n_nested);
    erg_gguf *src = NULL;
    check(erg_gguf_open_memory(NULL, nested, n_nested, &src, NULL), "open nested");
    w = new_writer();
    if (src)
        check(erg_gguf_writer_copy_kv(w, src, 0), "copy nested");
    check(erg_gguf_writer_add_str(w, "general.name", "nested"), "name");
    int64_t ne[1] = {4};
    check(erg_gguf_writer_add_tensor(w, "t", ERG_DT_F32, 1, ne, data), "tensor");
    finish(w, "nested.gguf");
    erg_gguf_close(src);

    w = new_writer();
    add_tensors(w);
    finish(w, "tensors.gguf");

    w = new_writer();
    check(erg_gguf_writer_add_u32(w, "general.alignment", 64), "alignment");
    add_tensors(w);
    finish(w, "aligned64.gguf");

    w = new_writer();
    static const char *const vocab[] = {"<unk>", "<s>", "</s>", "a", "b", "ab"};
    float scores[] = {0, 0, 0, -1, -2, -3};
    int32_t types[] = {2, 3, 3, 1, 1, 1};
    check(erg_gguf_writer_add_str(w, "general.architecture", "llama"), "arch");
    check(erg_gguf_writer_add_u32(w, "llama.context_length", 64), "ctx");
    check(erg_gguf_writer_add_u32(w, "llama.embedding_length", 4), "embd");
    check(erg_gguf_writer_add_u32(w, "llama.block_count", 1), "blocks");
    check(erg_gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f), "eps");
    check(erg_gguf_writer_add_str(w, "tokenizer.ggml.model", "llama"), "tok model");
    check(erg_gguf_writer_add_arr_str(w, "tokenizer.ggml.tokens", vocab, 6), "tokens");
    check(erg_gguf_writer_add_arr(w, "tokenizer.ggml.scores", ERG_GGUF_FLOAT32, scores, 6),
          "scores");
    check(erg_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ERG_GGUF_INT32, types, 6),
          "types");
    int64_t emb[2] = {4, 6};
    check(erg_gguf_writer_add_tensor(w, "token_embd.weight", ERG_DT_F16, 2, emb, data), "embd");
    int64_t q[2] = {32, 4};
    check(erg_gguf_writer_add_tensor(w, "blk.0.attn_q.weight", ERG_DT_Q8_0, 2, q, data), "q");
    finish(w, "llama_like.gguf");

    as_v2("tensors.gguf", "tensors_v2.gguf");
    as_v2("llama_like.gguf", "llama_like_v2.gguf");
    as_v2("arrays.gguf", "arrays_v2.gguf");

    if (failures)
        fprintf(stderr, "gguf_seeds: %d failures\n", failures);
    return failures ? 1 : 0;
}
