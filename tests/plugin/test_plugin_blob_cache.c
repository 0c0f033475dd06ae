/*
 * Compiled blobs cached on disk (ERG_CACHE_DIR/plugin-npu-sim): a first
 * runtime compiles npu-sim's subgraphs (converting weights) and stores
 * them; a second gets them back without converting anything and computes
 * the same logits bit for bit; damaged entries are compiled again. Then
 * npu-sim's deserialize against every truncation and garbled counts of a
 * real blob: each refused with a reason, none read out of bounds.
 */
#include "backends/plugin/plugin_lib.h"
#include "tests/support/test_models.h"
#include "tests/test.h"

#include "erg/erg.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_TOKENS 8
#define HEADER_BYTES 32

static char cache[512], blob_dir[600];
static int n_converted, n_loaded, n_damaged;

static void count_lines(void *user, erg_log_level level, const char *msg) {
    (void)user;
    (void)level;
    n_converted += strstr(msg, "npu-sim: converted") != NULL;
    n_loaded += strstr(msg, "loaded from the cache") != NULL;
    n_damaged += strstr(msg, "checksum mismatch") != NULL;
}

/* The logits of N_TOKENS tokens on npu-sim from a fresh runtime (malloc'd,
 * *n floats), or NULL. */
static float *eval(const char *model, size_t *n) {
    n_converted = n_loaded = n_damaged = 0;
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    ro.n_threads = 1;
    ro.log_level = ERG_LOG_INFO;
    ro.log_fn = count_lines;
    erg_runtime *rt = NULL;
    erg_model *m = NULL;
    erg_session *s = NULL;
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = "npu-sim";
    so.n_ctx = 32;
    erg_model_info mi = {.struct_size = sizeof mi};
    int32_t tokens[N_TOKENS];
    for (int i = 0; i < N_TOKENS; i++)
        tokens[i] = (i * 37 + 5) % 256;
    float *logits = NULL;
    bool ok = erg_runtime_create(&ro, &rt) == ERG_OK &&
              erg_model_load(rt, model, NULL, &m) == ERG_OK &&
              erg_model_get_info(m, &mi) == ERG_OK &&
              (logits = malloc((size_t)N_TOKENS * mi.n_vocab * sizeof *logits)) &&
              erg_session_create(m, &so, &s) == ERG_OK &&
              erg_session_eval(s, tokens, N_TOKENS, ERG_LOGITS_ALL, logits,
                               (size_t)N_TOKENS * mi.n_vocab) == ERG_OK;
    if (!ok) {
        printf("eval: %s %s\n", rt ? erg_runtime_last_error(rt) : "no runtime",
               s ? erg_session_last_error(s) : "");
        free(logits);
        logits = NULL;
    }
    *n = (size_t)N_TOKENS * mi.n_vocab;
    erg_session_destroy(s);
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    return logits;
}

/* Calls fn on each blob file's path; returns how many there are. */
static int each_blob(void (*fn)(const char *path)) {
    DIR *d = opendir(blob_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".blob") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", blob_dir, e->d_name);
        if (fn)
            fn(path);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (f)
        fclose(f);
    *size = buf ? (size_t)n : 0;
    return buf;
}

/* Flips one byte of the payload (the last), leaving the header as it was. */
static void damage(const char *path) {
    size_t n;
    unsigned char *b = read_all(path, &n);
    FILE *f = b ? fopen(path, "wb") : NULL;
    if (f) {
        b[n - 1] ^= 0x5a;
        fwrite(b, 1, n, f);
        fclose(f);
    }
    free(b);
}

static char first_blob[1024];
static void remember(const char *path) { snprintf(first_blob, sizeof first_blob, "%s", path); }

static void test_cache(const char *model) {
    size_t n = 0, n2 = 0;
    float *a = eval(model, &n);
    CHECK(a != NULL);
    printf("first run: %d conversions, %d blobs loaded\n", n_converted, n_loaded);
    CHECK(n_converted > 0 && n_loaded == 0);
    int blobs = each_blob(NULL);
    CHECK(blobs > 0);
    float *b = eval(model, &n2);
    printf("second run: %d conversions, %d blobs loaded of %d\n", n_converted, n_loaded, blobs);
    CHECK(n_converted == 0 && n_loaded > 0);
    CHECK(a && b && n == n2 && memcmp(a, b, n * sizeof *a) == 0);
    free(b);
    each_blob(damage);
    b = eval(model, &n2);
    printf("damaged blobs: %d refused, %d conversions\n", n_damaged, n_converted);
    CHECK(n_damaged > 0 && n_converted > 0 && n_loaded == 0);
    CHECK(a && b && n == n2 && memcmp(a, b, n * sizeof *a) == 0);
    free(a);
    free(b);
}

/* npu-sim's deserialize on a real blob cut short at many lengths, and with
 * its counts garbled: refused, never read past the end (ASan watches). */
static void test_deserialize(const char *plugin) {
    each_blob(remember);
    size_t size;
    unsigned char *file = read_all(first_blob, &size);
    CHECK(file && size > HEADER_BYTES);
    erg_logger quiet = {NULL, NULL, ERG_LOG_NONE};
    erg_plugin_lib *lib = NULL;
    erg_diag diag = {{0}};
    CHECK(erg_plugin_lib_open(plugin, NULL, &quiet, &lib, &diag) == ERG_OK);
    erg_plugin_device *dev = NULL;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    CHECK(lib && lib->api.device_open(0, &dev, err) == ERG_PLUGIN_OK);
    if (!file || !lib || !dev) {
        free(file);
        erg_plugin_lib_close(lib);
        return;
    }
    size_t compat = (size_t)file[12] | (size_t)file[13] << 8 | (size_t)file[14] << 16 |
                    (size_t)file[15] << 24;
    const unsigned char *payload = file + HEADER_BYTES + compat;
    size_t len = size - HEADER_BYTES - compat;
    erg_plugin_compiled *c = NULL;
    CHECK(lib->api.deserialize(dev, payload, len, &c, err) == ERG_PLUGIN_OK && c);
    lib->api.compiled_free(c);
    int refused = 0, cuts = 0;
    for (size_t cut = 0; cut < len; cut += 1 + len / 97, cuts++) {
        unsigned char *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
        memcpy(copy, payload, cut);
        c = NULL;
        refused += lib->api.deserialize(dev, copy, cut, &c, err) == ERG_PLUGIN_E_INVALID && !c;
        free(copy);
    }
    CHECK_EQ_INT(refused, cuts);
    /* Counts (tensors, ops, weights) and the op records' indices garbled. */
    unsigned char *copy = malloc(len);
    for (size_t at = 8; at < 8 + 16; at++) {
        memcpy(copy, payload, len);
        copy[at] ^= 0xff;
        c = NULL;
        CHECK(lib->api.deserialize(dev, copy, len, &c, err) == ERG_PLUGIN_E_INVALID && !c);
    }
    printf("deserialize: %d cuts refused of %d; last reason: %s\n", refused, cuts, err);
    free(copy);
    free(file);
    lib->api.device_close(dev);
    erg_plugin_lib_close(lib);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        printf("usage: %s PATH/liberg-plugin-npu-sim.so\n", argv[0]);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(cache, sizeof cache, "%s/erg-blob-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(cache))
        return 1;
    setenv("ERG_CACHE_DIR", cache, 1);
    snprintf(blob_dir, sizeof blob_dir, "%s/plugin-npu-sim", cache);
    char model[512];
    CHECK(test_make_model(ERG_ARCH_LLAMA, ERG_FTYPE_MOSTLY_Q8_0, 11, model, sizeof model));
    test_cache(model);
    test_deserialize(argv[1]);
    remove(model);
    char rm[700];
    snprintf(rm, sizeof rm, "rm -rf '%s'", cache);
    CHECK(system(rm) == 0);
    return erg_test_result("test_plugin_blob_cache");
}
