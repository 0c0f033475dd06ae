/*
 * quantize_file.c: erg_quantize_file, llama-quantize's job without an
 * importance matrix. It reads an F32/F16/BF16 GGUF, copies every key (with
 * general.quantization_version = 2 and general.file_type = ftype last, as
 * llama.cpp re-sets them), orders the tensors as llama-quantize writes them
 * (non-layer tensors first, then by layer number, by name within each),
 * picks each tensor's type with erg_quant_choose_type, and converts the
 * tensors whose type changes: rows are dequantized to F32 and quantized,
 * split across n_threads threads. Unchanged tensors are written from the
 * mapped input; converted ones are held in memory until the file is written.
 */
#include "model/gguf.h"
#include "model/quantize.h"

#include "base/checked.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUANTIZATION_VERSION 2 /* GGML_QNT_VERSION */

/* One input tensor in output order. */
typedef struct qf_tensor {
    const erg_gguf_tensor *src;
    char *name;  /* NUL-terminated copy */
    int layer;   /* from "blk.N.", -1 for other tensors */
    erg_dtype type;
    void *data;  /* converted data (owned), or NULL to write the input's */
} qf_tensor;

/* The N of a name "blk.N....", or -1 (llama.cpp's weight_name_comparer). */
static int layer_of(const char *name) {
    if (strncmp(name, "blk.", 4) != 0 || name[4] < '0' || name[4] > '9')
        return -1;
    char *end;
    long n = strtol(name + 4, &end, 10);
    return *end == '.' && n <= 1000000 ? (int)n : -1;
}

static int by_layer_then_name(const void *pa, const void *pb) {
    const qf_tensor *a = pa, *b = pb;
    if (a->layer != b->layer)
        return a->layer < b->layer ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* ---- the model facts the type choice needs ------------------------------ */

static erg_status read_model_facts(const erg_gguf *g, const char *path, int *n_layer,
                                   bool *llama_70b, erg_diag *diag) {
    const erg_gguf_value *v = erg_gguf_get(g, "general.architecture");
    erg_gguf_str s;
    char arch[64], key[128];
    if (!v || !erg_gguf_get_str(g, v, &s) || s.len == 0 || s.len >= sizeof arch)
        return erg_fail(diag, ERG_FORMAT, "'%s' has no usable general.architecture string", path);
    memcpy(arch, s.ptr, (size_t)s.len);
    arch[s.len] = '\0';
    uint64_t blocks = 0, n_head = 0, n_head_kv = 0;
    snprintf(key, sizeof key, "%s.block_count", arch);
    if (!erg_gguf_get_uint(g, erg_gguf_get(g, key), &blocks) || blocks > 1000000)
        return erg_fail(diag, ERG_FORMAT, "'%s' has no usable %s", path, key);
    *n_layer = (int)blocks;
    /* llama.cpp's LLM_TYPE_70B: a llama model of 80 layers with grouped KV heads */
    snprintf(key, sizeof key, "%s.attention.head_count", arch);
    bool have_heads = erg_gguf_get_uint(g, erg_gguf_get(g, key), &n_head);
    snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
    if (!erg_gguf_get_uint(g, erg_gguf_get(g, key), &n_head_kv))
        n_head_kv = n_head;
    *llama_70b = strcmp(arch, "llama") == 0 && blocks == 80 && have_heads && n_head_kv != n_head;
    return ERG_OK;
}

/* ---- converting one tensor ---------------------------------------------- */

typedef struct convert_job {
    const uint8_t *src;
    erg_dtype src_type, dst_type;
    int64_t n_per_row, row_begin, row_end;
    size_t src_row, dst_row;
    uint8_t *dst;
    float *scratch; /* n_per_row floats */
} convert_job;

static void *convert_rows(void *arg) {
    const convert_job *j = arg;
    for (int64_t r = j->row_begin; r < j->row_end; r++) {
        erg_dequantize_row(j->src_type, j->src + (size_t)r * j->src_row, j->scratch,
                           j->n_per_row);
        erg_quantize_rows(j->dst_type, j->scratch, j->dst + (size_t)r * j->dst_row, 1,
                          j->n_per_row);
    }
    return NULL;
}

/* Converts src to type into *out (allocated), using up to n_threads threads.
 * A thread that cannot be started leaves its rows to the calling thread. */
static erg_status convert_tensor(const erg_allocator *alloc, const erg_gguf_tensor *src,
                                 const char *name, erg_dtype type, int n_threads, void **out,
                                 erg_diag *diag) {
    *out = NULL;
    const int64_t n_per_row = src->ne[0];
    uint64_t n_rows = 1, size;
    for (uint32_t d = 1; d < ERG_GGUF_MAX_DIMS; d++)
        n_rows *= (uint64_t)src->ne[d]; /* the reader checked the element count */
    const size_t dst_row = erg_dtype_row_size(type, n_per_row);
    const size_t src_row = erg_dtype_row_size(src->dtype, n_per_row);
    if (dst_row == 0 || src_row == 0 || !erg_mul_u64(n_rows, dst_row, &size) || size > SIZE_MAX)
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "tensor '%s': rows of %lld cannot be stored as %s", name,
                        (long long)n_per_row, erg_dtype_name(type));
    uint8_t *dst = erg_malloc(alloc, size ? (size_t)size : 1);
    if (n_threads < 1)
        n_threads = 1;
    if ((uint64_t)n_threads > n_rows)
        n_threads = n_rows ? (int)n_rows : 1;
    convert_job *jobs = erg_calloc(alloc, (size_t)n_threads, sizeof *jobs);
    pthread_t *threads = erg_calloc(alloc, (size_t)n_threads, sizeof *threads);
    bool *started = erg_calloc(alloc, (size_t)n_threads, sizeof *started);
    bool ok = dst && jobs && threads && started;
    for (int i = 0; ok && i < n_threads; i++) {
        jobs[i] = (convert_job){
            .src = src->data,
            .src_type = src->dtype,
            .dst_type = type,
            .n_per_row = n_per_row,
            .row_begin = (int64_t)(n_rows * (uint64_t)i / (uint64_t)n_threads),
            .row_end = (int64_t)(n_rows * (uint64_t)(i + 1) / (uint64_t)n_threads),
            .src_row = src_row,
            .dst_row = dst_row,
            .dst = dst,
            .scratch = erg_malloc(alloc, (size_t)n_per_row * sizeof(float)),
        };
        ok = jobs[i].scratch != NULL;
    }
    if (ok) {
        for (int i = 1; i < n_threads; i++)
            started[i] = pthread_create(&threads[i], NULL, convert_rows, &jobs[i]) == 0;
        convert_rows(&jobs[0]);
        for (int i = 1; i < n_threads; i++) {
            if (started[i])
                pthread_join(threads[i], NULL);
            else
                convert_rows(&jobs[i]);
        }
    }
    for (int i = 0; jobs && i < n_threads; i++)
        erg_free(alloc, jobs[i].scratch);
    erg_free(alloc, jobs);
    erg_free(alloc, threads);
    erg_free(alloc, started);
    if (!ok) {
        erg_free(alloc, dst);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory converting tensor '%s' to %s",
                        name, erg_dtype_name(type));
    }
    *out = dst;
    return ERG_OK;
}

/* ---- the file ----------------------------------------------------------- */

/* Keys llama-quantize drops (split bookkeeping) or sets again at the end. */
static bool key_replaced(const char *key) {
    return strcmp(key, "general.quantization_version") == 0 ||
           strcmp(key, "general.file_type") == 0 || strcmp(key, "split.no") == 0 ||
           strcmp(key, "split.count") == 0 || strcmp(key, "split.tensors.count") == 0;
}

static erg_status copy_keys(erg_gguf_writer *w, const erg_gguf *g, erg_ftype ftype,
                            erg_diag *diag) {
    for (uint64_t i = 0; i < erg_gguf_kv_count(g); i++) {
        const char *key = erg_gguf_kv_key(g, i);
        if (key_replaced(key))
            continue;
        erg_status st = erg_gguf_writer_copy_kv(w, g, i);
        if (st != ERG_OK)
            return erg_fail(diag, st, "cannot copy key '%s' to the output", key);
    }
    erg_status st =
        erg_gguf_writer_add_u32(w, "general.quantization_version", QUANTIZATION_VERSION);
    if (st == ERG_OK)
        st = erg_gguf_writer_add_u32(w, "general.file_type", (uint32_t)ftype);
    return st == ERG_OK ? ERG_OK : erg_fail(diag, st, "cannot add the file type keys");
}

/* Fills ts[0..n) from the reader in llama-quantize's order; fails on a
 * quantized input. */
static erg_status list_tensors(const erg_allocator *alloc, const erg_gguf *g, const char *path,
                               qf_tensor *ts, uint64_t n, erg_diag *diag) {
    for (uint64_t i = 0; i < n; i++) {
        const erg_gguf_tensor *t = erg_gguf_tensor_at(g, i);
        char *name = erg_malloc(alloc, (size_t)t->name.len + 1);
        if (!name)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory reading '%s'", path);
        memcpy(name, t->name.ptr, (size_t)t->name.len);
        name[t->name.len] = '\0';
        ts[i] = (qf_tensor){.src = t, .name = name, .layer = layer_of(name), .type = t->dtype};
        if (erg_dtype_get((int)t->dtype)->quantized)
            return erg_fail(diag, ERG_UNSUPPORTED,
                            "'%s' is already quantized (tensor '%s' is %s); erg quantizes "
                            "only F32, F16 and BF16 files",
                            path, name, erg_dtype_name(t->dtype));
    }
    qsort(ts, (size_t)n, sizeof *ts, by_layer_then_name);
    return ERG_OK;
}

/* Chooses every type, converts the tensors that change and adds all to w. */
static erg_status convert_all(const erg_allocator *alloc, const erg_gguf *g, const char *path,
                              erg_ftype ftype, int n_threads, qf_tensor *ts, uint64_t n,
                              erg_gguf_writer *w, erg_diag *diag) {
    erg_quant_plan plan;
    int n_layer = 0;
    bool llama_70b = false;
    ERG_RETURN_IF_ERROR(read_model_facts(g, path, &n_layer, &llama_70b, diag));
    const char **names = erg_malloc(alloc, (size_t)(n ? n : 1) * sizeof *names);
    if (!names)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory reading '%s'", path);
    for (uint64_t i = 0; i < n; i++)
        names[i] = ts[i].name;
    erg_quant_plan_init(&plan, ftype, n_layer, names, (int)n);
    erg_free(alloc, names);
    plan.llama_70b = llama_70b;

    for (uint64_t i = 0; i < n; i++) {
        qf_tensor *t = &ts[i];
        const erg_gguf_tensor *s = t->src;
        t->type = erg_quant_choose_type(&plan, t->name, (int)s->n_dims, s->ne, s->dtype);
        if (t->type != s->dtype) {
            if (s->dtype != ERG_DT_F32 && s->dtype != ERG_DT_F16 && s->dtype != ERG_DT_BF16)
                return erg_fail(diag, ERG_UNSUPPORTED, "tensor '%s' of '%s' is %s, which erg "
                                "cannot convert to %s", t->name, path,
                                erg_dtype_name(s->dtype), erg_dtype_name(t->type));
            ERG_RETURN_IF_ERROR(
                convert_tensor(alloc, s, t->name, t->type, n_threads, &t->data, diag));
        }
        erg_status st = erg_gguf_writer_add_tensor(w, t->name, t->type, s->n_dims, s->ne,
                                                   t->data ? t->data : s->data);
        if (st != ERG_OK)
            return erg_fail(diag, st, "cannot add tensor '%s' to the output", t->name);
    }
    return ERG_OK;
}

erg_status erg_quantize_file(const erg_allocator *alloc, const char *in_path,
                             const char *out_path, erg_ftype ftype, int n_threads,
                             erg_diag *diag) {
    alloc = erg_allocator_or_default(alloc);
    if (!in_path || !out_path)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_quantize_file: no input or output path");
    if (strcmp(erg_ftype_name(ftype), "unknown") == 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_quantize_file: file type %d is not "
                        "one erg writes", (int)ftype);
    erg_gguf *g = NULL;
    erg_gguf_writer *w = NULL;
    qf_tensor *ts = NULL;
    uint64_t n = 0;
    erg_status st = erg_gguf_open_file(alloc, in_path, false, &g, diag);
    if (st == ERG_OK) {
        n = erg_gguf_tensor_count(g);
        ts = n <= SIZE_MAX / sizeof *ts ? erg_calloc(alloc, (size_t)(n ? n : 1), sizeof *ts) : NULL;
        st = ts ? ERG_OK : erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory reading '%s'", in_path);
    }
    if (st == ERG_OK)
        st = list_tensors(alloc, g, in_path, ts, n, diag);
    if (st == ERG_OK)
        st = erg_gguf_writer_create(alloc, &w, diag);
    if (st == ERG_OK)
        st = copy_keys(w, g, ftype, diag);
    if (st == ERG_OK)
        st = convert_all(alloc, g, in_path, ftype, n_threads, ts, n, w, diag);
    if (st == ERG_OK)
        st = erg_gguf_writer_write(w, out_path, diag);
    for (uint64_t i = 0; ts && i < n; i++) {
        erg_free(alloc, ts[i].name);
        erg_free(alloc, ts[i].data);
    }
    erg_free(alloc, ts);
    erg_gguf_writer_free(w);
    erg_gguf_close(g);
    return st;
}
