/* The public API's contracts: status names, options that grow, metadata,
 * clear errors for bad files, the log callback, and allocation failure at
 * every step without a crash or a leak. */
#include "tests/support/counting_alloc.h"
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"
#include "model/gguf.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runtime, model, session, one eval, teardown: every step either works or
 * reports ERG_OUT_OF_MEMORY. Returns true when nothing failed. */
static bool scenario(counting *c, const char *path) {
    erg_allocator a = counting_allocator(c);
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.allocator = &a;
    ro.n_threads = 2;
    ro.log_level = ERG_LOG_NONE;
    erg_runtime *rt = NULL;
    erg_model *m = NULL;
    erg_session *s = NULL;
    bool ok = false;
    erg_status st = erg_runtime_create(&ro, &rt);
    if (st == ERG_OK)
        st = erg_model_load(rt, path, NULL, &m);
    if (st == ERG_OK) {
        erg_session_options so = ERG_SESSION_OPTIONS_INIT;
        so.n_ctx = 16;
        st = erg_session_create(m, &so, &s);
    }
    if (st == ERG_OK) {
        int32_t tok[3] = {1, 2, 3};
        float logits[512];
        st = erg_session_eval(s, tok, 3, ERG_LOGITS_LAST, logits, 512);
        ok = st == ERG_OK;
    }
    CHECK_MSG(st == ERG_OK || st == ERG_OUT_OF_MEMORY, "allocation %ld failing gave %s", c->fail_at,
              erg_status_str(st));
    erg_session_destroy(s);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    return ok;
}

static void check_allocation_failures(const char *path) {
    counting full = {0, 0, 0};
    CHECK(scenario(&full, path));
    CHECK_EQ_INT(full.live, 0);
    long n_allocs = full.count;
    CHECK(n_allocs > 10);
    for (long n = 1; n <= n_allocs; n++) {
        counting c = {0, 0, n};
        bool ok = scenario(&c, path);
        CHECK_MSG(!ok, "failing allocation %ld of %ld went unnoticed", n, n_allocs);
        CHECK_MSG(c.live == 0, "failing allocation %ld leaked %ld blocks", n, c.live);
    }
    printf("allocation failures: each of %ld allocations failed in turn, no leak\n", n_allocs);
}

/* ---- options, devices, statuses --------------------------------------------------------- */

static void check_basics(void) {
    CHECK(strcmp(erg_status_str(ERG_OK), "ERG_OK") == 0);
    CHECK(strcmp(erg_status_str(ERG_CONTEXT_FULL), "ERG_CONTEXT_FULL") == 0);
    CHECK(strcmp(erg_status_str((erg_status)999), "ERG_UNKNOWN") == 0);
    CHECK(strcmp(erg_status_message(ERG_FORMAT), "malformed or unsupported file format") == 0);
    CHECK(strcmp(erg_version(), "0.1.0") == 0);
    erg_runtime_destroy(NULL);
    erg_model_destroy(NULL);
    erg_session_destroy(NULL);

    erg_runtime *rt = NULL;
    erg_runtime_options zero;
    memset(&zero, 0, sizeof zero);
    CHECK_STATUS(erg_runtime_create(&zero, &rt), ERG_INVALID_ARGUMENT);
    CHECK(rt == NULL);
    /* A caller built against a newer header passes a bigger struct. */
    struct {
        erg_runtime_options o;
        char future[32];
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.o.struct_size = sizeof newer;
    newer.o.log_level = ERG_LOG_NONE;
    CHECK_STATUS(erg_runtime_create(&newer.o, &rt), ERG_OK);
    CHECK(erg_runtime_device_count(rt) >= 1);
    /* An older caller's smaller info struct: nothing past it is written. */
    union {
        erg_device_info info;
        unsigned char bytes[sizeof(erg_device_info)];
    } u;
    memset(&u, 0xCD, sizeof u);
    size_t old_size = offsetof(erg_device_info, n_physical_cores);
    u.info.struct_size = old_size;
    CHECK_STATUS(erg_runtime_device_info(rt, 0, &u.info), ERG_OK);
    CHECK(strcmp(u.info.name, "cpu") == 0 && u.info.kind == ERG_DEVICE_CPU);
    bool untouched = true;
    for (size_t i = old_size; i < sizeof u; i++)
        untouched = untouched && u.bytes[i] == 0xCD;
    CHECK(untouched);
    erg_device_info info = {.struct_size = sizeof info};
    CHECK_STATUS(erg_runtime_device_info(rt, 0, &info), ERG_OK);
    CHECK(info.n_physical_cores >= 1 && info.n_threads >= 1 && info.memory_bytes > 0);
    CHECK_STATUS(erg_runtime_device_info(rt, 99, &info), ERG_NOT_FOUND);
    erg_runtime_destroy(rt);

    /* A forced kernel level this build has never heard of is an error. */
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.cpu_features = "sse9";
    ro.log_level = ERG_LOG_NONE;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_INVALID_ARGUMENT);
}

/* ---- models: metadata and bad files ------------------------------------------------------ */

typedef struct log_capture {
    char text[4096];
} log_capture;

static void capture_log(void *user, erg_log_level level, const char *message) {
    log_capture *c = user;
    (void)level;
    strncat(c->text, message, sizeof c->text - strlen(c->text) - 2);
    strcat(c->text, "\n");
}

static void check_metadata(erg_runtime *rt, const char *path) {
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_OK);
    if (!m)
        return;
    erg_model_info mi = {.struct_size = sizeof mi};
    CHECK_STATUS(erg_model_get_info(m, &mi), ERG_OK);
    CHECK(strcmp(mi.architecture, "llama") == 0);
    CHECK_EQ_INT(mi.n_vocab, 512);
    CHECK_EQ_INT(mi.n_embd, 256);
    CHECK_EQ_INT(mi.n_layer, 2);
    CHECK_EQ_INT(mi.n_head_kv, 2);
    CHECK_EQ_INT(mi.gguf_version, 3);
    CHECK(!mi.tied_output);
    CHECK(erg_model_meta_count(m) > 10);
    CHECK(erg_model_meta_key(m, 0) != NULL && erg_model_meta_key(m, 100000) == NULL);
    const char *s = NULL;
    CHECK_STATUS(erg_model_meta_string(m, "general.architecture", &s), ERG_OK);
    CHECK(s && strcmp(s, "llama") == 0);
    int64_t v = 0;
    CHECK_STATUS(erg_model_meta_int(m, "llama.block_count", &v), ERG_OK);
    CHECK_EQ_INT(v, 2);
    double f = 0;
    CHECK_STATUS(erg_model_meta_float(m, "llama.rope.freq_base", &f), ERG_OK);
    CHECK_NEAR(f, 10000.0, 0.0);
    erg_meta_type type, elem;
    uint64_t count = 0;
    CHECK_STATUS(erg_model_meta_type(m, "tokenizer.ggml.tokens", &type, &elem, &count), ERG_OK);
    CHECK(type == ERG_META_ARRAY && elem == ERG_META_STRING && count == 512);
    char buf[256];
    CHECK_STATUS(erg_model_meta_format(m, "tokenizer.ggml.tokens", buf, sizeof buf), ERG_OK);
    CHECK(strstr(buf, "512") != NULL && strstr(buf, "<unk>") != NULL);
    CHECK_STATUS(erg_model_meta_int(m, "no.such.key", &v), ERG_NOT_FOUND);
    CHECK(strstr(erg_model_last_error(m), "no.such.key") != NULL);
    CHECK_STATUS(erg_model_meta_int(m, "general.architecture", &v), ERG_INVALID_ARGUMENT);
    size_t nt = erg_model_tensor_count(m);
    CHECK(nt == 3 + 2 * 9);
    erg_tensor_info ti = {.struct_size = sizeof ti};
    CHECK_STATUS(erg_model_tensor_get_info(m, 0, &ti), ERG_OK);
    CHECK(strcmp(ti.name, "token_embd.weight") == 0 && ti.dims[0] == 256 && ti.dims[1] == 512);
    CHECK_STATUS(erg_model_tensor_get_info(m, nt, &ti), ERG_NOT_FOUND);
    erg_model_destroy(m);
}

/* Writes a GGUF with only the given architecture key (and no tensors). */
static bool write_header_only(const char *path, const char *arch) {
    erg_gguf_writer *w = NULL;
    erg_diag d;
    if (erg_gguf_writer_create(NULL, &w, &d) != ERG_OK)
        return false;
    bool ok = erg_gguf_writer_add_str(w, "general.architecture", arch) == ERG_OK;
    char key[64];
    snprintf(key, sizeof key, "%s.embedding_length", arch);
    ok = ok && erg_gguf_writer_add_u32(w, key, 256) == ERG_OK;
    ok = ok && erg_gguf_writer_write(w, path, &d) == ERG_OK;
    erg_gguf_writer_free(w);
    return ok;
}

static void check_bad_files(erg_runtime *rt, const char *good) {
    erg_model *m = NULL;
    CHECK_STATUS(erg_model_load(rt, "/nonexistent/model.gguf", NULL, &m), ERG_IO);
    CHECK(m == NULL && strstr(erg_runtime_last_error(rt), "/nonexistent/model.gguf") != NULL);

    char path[300];
    snprintf(path, sizeof path, "%s.bad", good);
    CHECK(write_header_only(path, "mamba"));
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_UNSUPPORTED);
    CHECK(strstr(erg_runtime_last_error(rt), "'mamba'") != NULL);
    CHECK(strstr(erg_runtime_last_error(rt), "llama, qwen2, qwen3") != NULL);

    CHECK(write_header_only(path, "llama"));
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_FORMAT);
    CHECK(strstr(erg_runtime_last_error(rt), "missing key 'llama.block_count'") != NULL);

    /* The good file cut in half: the tensor data runs past the end. */
    FILE *in = fopen(good, "rb"), *out = fopen(path, "wb");
    CHECK(in && out);
    if (in && out) {
        fseek(in, 0, SEEK_END);
        long size = ftell(in);
        fseek(in, 0, SEEK_SET);
        char *buf = malloc((size_t)size);
        if (buf && fread(buf, 1, (size_t)size, in) == (size_t)size)
            fwrite(buf, 1, (size_t)size / 2, out);
        free(buf);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_FORMAT);
    CHECK(m == NULL && strlen(erg_runtime_last_error(rt)) > 20);
    printf("truncated file: %s\n", erg_runtime_last_error(rt));
    remove(path);
}

int main(void) {
    check_basics();
    char path[256];
    if (!test_make_model(ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q4_0, 11, path, sizeof path))
        return 1;
    log_capture logs = {{0}};
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.log_fn = capture_log;
    ro.log_user = &logs;
    ro.log_level = ERG_LOG_INFO;
    erg_runtime *rt = NULL;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    if (rt) {
        check_metadata(rt, path);
        CHECK(strstr(logs.text, "loaded") != NULL);
        check_bad_files(rt, path);
        erg_runtime_destroy(rt);
    }
    check_allocation_failures(path);
    remove(path);
    return erg_test_result("test_api");
}
