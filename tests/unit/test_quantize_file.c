/*
 * test_quantize_file: erg_quantize_file end to end on a tiny two-layer llama
 * written with the GGUF writer: keys copied with the file type set, tensors
 * in llama-quantize's order with the Q4_K_M types, data equal to
 * erg_quantize_rows of the source (whatever the thread split) and close to
 * it once dequantized; a quantized input is refused.
 */
#include "model/gguf.h"
#include "model/quantize.h"
#include "tests/test.h"

#include <unistd.h>

typedef struct {
    const char *name;
    erg_dtype src_type;
    int n_dims;
    int64_t ne[2];
    erg_dtype want; /* under Q4_K_M */
} spec;

/* File order deliberately not llama-quantize's. For 2 layers use_more_bits
 * picks layer 1 only (i >= 7*2/8 = 1). */
static const spec specs[] = {
    {"blk.1.attn_v.weight", ERG_DT_F32, 2, {256, 64}, ERG_DT_Q6_K},
    {"token_embd.weight", ERG_DT_F32, 2, {256, 40}, ERG_DT_Q4_K},
    {"blk.0.attn_norm.weight", ERG_DT_F32, 1, {256, 1}, ERG_DT_F32},
    {"blk.0.attn_v.weight", ERG_DT_F32, 2, {256, 64}, ERG_DT_Q4_K},
    {"blk.0.attn_q.weight", ERG_DT_F16, 2, {256, 48}, ERG_DT_Q4_K},
    {"output.weight", ERG_DT_F32, 2, {256, 40}, ERG_DT_Q6_K},
    {"blk.1.ffn_down.weight", ERG_DT_BF16, 2, {512, 24}, ERG_DT_Q6_K},
    {"output_norm.weight", ERG_DT_F32, 1, {256, 1}, ERG_DT_F32},
    {"blk.0.ffn_down.weight", ERG_DT_F32, 2, {512, 24}, ERG_DT_Q4_K},
};
enum { N_SPECS = sizeof specs / sizeof specs[0] };

/* llama-quantize's order: non-layer tensors by name, then layer by layer */
static const char *const out_order[N_SPECS] = {
    "output.weight",          "output_norm.weight",    "token_embd.weight",
    "blk.0.attn_norm.weight", "blk.0.attn_q.weight",   "blk.0.attn_v.weight",
    "blk.0.ffn_down.weight",  "blk.1.attn_v.weight",   "blk.1.ffn_down.weight",
};

static float source[N_SPECS][512 * 64]; /* the values as F32 (after f16/bf16 rounding) */
static uint8_t stored[N_SPECS][512 * 64 * 4];

static uint32_t rng = 99u;
static float gaussish(void) {
    float s = 0;
    for (int i = 0; i < 4; i++) {
        rng = rng * 1664525u + 1013904223u;
        s += (float)(rng >> 8) / 16777216.0f;
    }
    return s - 2.0f;
}

static void write_input(const char *path, bool with_block_count) {
    erg_gguf_writer *w = NULL;
    CHECK_STATUS(erg_gguf_writer_create(NULL, &w, NULL), ERG_OK);
    erg_gguf_writer_add_str(w, "general.architecture", "llama");
    erg_gguf_writer_add_str(w, "general.name", "tiny");
    erg_gguf_writer_add_u32(w, "general.file_type", 0);
    if (with_block_count)
        erg_gguf_writer_add_u32(w, "llama.block_count", 2);
    erg_gguf_writer_add_u32(w, "llama.attention.head_count", 4);
    erg_gguf_writer_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    const int32_t arr[3] = {7, -8, 9};
    erg_gguf_writer_add_arr(w, "tokenizer.ggml.token_type", ERG_GGUF_INT32, arr, 3);
    for (int i = 0; i < N_SPECS; i++) {
        const spec *s = &specs[i];
        int64_t n = s->ne[0] * s->ne[1];
        for (int64_t k = 0; k < n; k++)
            source[i][k] = strstr(s->name, "norm") ? 1.0f + 0.01f * (float)k : 0.02f * gaussish();
        /* store in the source type, keep the exact stored values */
        erg_quantize_rows(s->src_type, source[i], stored[i], 1, n);
        erg_dequantize_row(s->src_type, stored[i], source[i], n);
        CHECK_STATUS(erg_gguf_writer_add_tensor(w, s->name, s->src_type, (uint32_t)s->n_dims,
                                                s->ne, stored[i]),
                     ERG_OK);
    }
    CHECK_STATUS(erg_gguf_writer_write(w, path, NULL), ERG_OK);
    erg_gguf_writer_free(w);
}

static int spec_index(const char *name, uint64_t len) {
    for (int i = 0; i < N_SPECS; i++)
        if (strlen(specs[i].name) == len && memcmp(specs[i].name, name, len) == 0)
            return i;
    return -1;
}

static void check_output(const char *path) {
    erg_gguf *g = NULL;
    erg_diag diag;
    CHECK_STATUS(erg_gguf_open_file(NULL, path, false, &g, &diag), ERG_OK);
    if (!g)
        return;
    /* keys: copied, with the two re-set keys last */
    uint64_t nkv = erg_gguf_kv_count(g), v = 0;
    CHECK_EQ_INT(nkv, 8);
    CHECK(strcmp(erg_gguf_kv_key(g, nkv - 2), "general.quantization_version") == 0);
    CHECK(strcmp(erg_gguf_kv_key(g, nkv - 1), "general.file_type") == 0);
    CHECK(erg_gguf_get_uint(g, erg_gguf_get(g, "general.file_type"), &v) &&
          v == ERG_FTYPE_MOSTLY_Q4_K_M);
    CHECK(erg_gguf_get_uint(g, erg_gguf_get(g, "general.quantization_version"), &v) && v == 2);
    CHECK(strcmp(erg_gguf_get_cstr(g, erg_gguf_get(g, "general.name")), "tiny") == 0);
    int64_t e = 0;
    const erg_gguf_value *arr = erg_gguf_get(g, "tokenizer.ggml.token_type");
    CHECK(arr && arr->count == 3 && erg_gguf_arr_int(g, arr, 1, &e) && e == -8);

    CHECK_EQ_INT(erg_gguf_tensor_count(g), N_SPECS);
    static float y[512 * 64];
    static uint8_t want[512 * 64 * 4];
    for (uint64_t t = 0; t < erg_gguf_tensor_count(g); t++) {
        const erg_gguf_tensor *ot = erg_gguf_tensor_at(g, t);
        int i = spec_index(ot->name.ptr, ot->name.len);
        CHECK_MSG(i >= 0 && strcmp(specs[i].name, out_order[t]) == 0, "tensor %llu is %.*s",
                  (unsigned long long)t, (int)ot->name.len, ot->name.ptr);
        if (i < 0)
            continue;
        const spec *s = &specs[i];
        CHECK_MSG(ot->dtype == s->want, "%s: %s, want %s", s->name, erg_dtype_name(ot->dtype),
                  erg_dtype_name(s->want));
        CHECK(ot->n_dims == (uint32_t)s->n_dims && ot->ne[0] == s->ne[0] && ot->ne[1] == s->ne[1]);
        /* the bytes are erg_quantize_rows of the source, whatever the threads */
        size_t n = erg_quantize_rows(ot->dtype, source[i], want, s->ne[1], s->ne[0]);
        CHECK_MSG(ot->size == n && memcmp(ot->data, want, n) == 0, "%s: data differs", s->name);
        /* and close to the source */
        size_t row = erg_dtype_row_size(ot->dtype, s->ne[0]);
        for (int64_t r = 0; r < s->ne[1]; r++)
            erg_dequantize_row(ot->dtype, (const uint8_t *)ot->data + r * row, y + r * s->ne[0],
                               s->ne[0]);
        double err = 0, sum = 0;
        for (int64_t k = 0; k < s->ne[0] * s->ne[1]; k++) {
            err += ((double)y[k] - source[i][k]) * ((double)y[k] - source[i][k]);
            sum += (double)source[i][k] * source[i][k];
        }
        double bound = ot->dtype == ERG_DT_Q4_K ? 0.09 : ot->dtype == ERG_DT_Q6_K ? 0.025 : 0.0;
        CHECK_MSG(sqrt(err / sum) <= bound, "%s: nrmse %g", s->name, sqrt(err / sum));
    }
    erg_gguf_close(g);
}

/* An allocator that fails once `left` allocations have been made. */
typedef struct {
    int left, live;
} failing;

static void *failing_alloc(void *user, size_t size, size_t alignment) {
    failing *f = user;
    void *p = NULL;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    if (f->left-- <= 0 || posix_memalign(&p, alignment, size) != 0)
        return NULL;
    f->live++;
    return p;
}

static void failing_free(void *user, void *ptr) {
    ((failing *)user)->live--;
    free(ptr);
}

/* Failing each allocation in turn gives ERG_OUT_OF_MEMORY, frees everything
 * and leaves no output file; with enough allocations it succeeds. */
static void test_out_of_memory(const char *in, const char *out) {
    failing f;
    erg_allocator a = {&f, failing_alloc, failing_free};
    erg_diag diag;
    int n = 0;
    erg_status st = ERG_OUT_OF_MEMORY;
    for (; n < 1000 && st != ERG_OK; n++) {
        f.left = n;
        f.live = 0;
        unlink(out);
        st = erg_quantize_file(&a, in, out, ERG_FTYPE_MOSTLY_Q4_K_M, 2, &diag);
        CHECK_MSG(st == ERG_OK || st == ERG_OUT_OF_MEMORY, "allocation %d: status %d (%s)", n,
                  (int)st, diag.msg);
        CHECK_MSG(f.live == 0, "allocation %d: %d blocks not freed", n, f.live);
        if (st != ERG_OK)
            CHECK(access(out, F_OK) != 0);
    }
    CHECK_MSG(st == ERG_OK && n > 10, "succeeded after %d allocations", n);
}

int main(void) {
    char dir[] = "/tmp/erg_test_quantize_file_XXXXXX";
    if (!mkdtemp(dir))
        ERG_TEST_SKIP("cannot make a temporary directory");
    char in[128], out[128], again[128];
    snprintf(in, sizeof in, "%s/in.gguf", dir);
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    snprintf(again, sizeof again, "%s/again.gguf", dir);

    write_input(in, true);
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_quantize_file(NULL, in, out, ERG_FTYPE_MOSTLY_Q4_K_M, 3, &diag), ERG_OK);
    check_output(out);
    test_out_of_memory(in, out);
    check_output(out);

    /* an already quantized input is refused, and says why */
    CHECK_STATUS(erg_quantize_file(NULL, out, again, ERG_FTYPE_MOSTLY_Q8_0, 1, &diag),
                 ERG_UNSUPPORTED);
    CHECK_MSG(strstr(diag.msg, "already quantized") != NULL, "%s", diag.msg);
    CHECK(access(again, F_OK) != 0);

    /* no <arch>.block_count: a format error naming the key */
    write_input(in, false);
    CHECK_STATUS(erg_quantize_file(NULL, in, again, ERG_FTYPE_MOSTLY_Q4_K_M, 1, &diag),
                 ERG_FORMAT);
    CHECK_MSG(strstr(diag.msg, "llama.block_count") != NULL, "%s", diag.msg);
    CHECK_STATUS(erg_quantize_file(NULL, in, again, (erg_ftype)5, 1, &diag),
                 ERG_INVALID_ARGUMENT);

    unlink(in);
    unlink(out);
    rmdir(dir);
    return erg_test_result("test_quantize_file");
}
