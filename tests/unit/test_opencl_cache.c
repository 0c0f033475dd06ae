/*
 * The OpenCL program binary cache, on device 0 of the OpenCL backend: an
 * empty cache directory misses and gets an entry; the next open loads it
 * (and says how much build time that saved); a flipped byte or a truncated
 * file is noticed, rebuilt and rewritten; a cache that cannot be written is
 * only a missed saving. After every open a small matmul must still come
 * out right. Nothing may be logged above INFO. Skips without an OpenCL
 * device unless ERG_REQUIRE_DEVICES lists "opencl".
 */
#include "tests/test.h"

#include "backends/opencl/cl_backend.h"
#include "backends/opencl/cl_device.h"
#include "graph/builder.h"
#include "graph/plan_memory.h"
#include "graph/validate.h"
#include "model/quantize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define K 64
#define N 5
#define M 3

static int n_complaints;

static void count_log(void *user, erg_log_level level, const char *msg) {
    (void)user;
    if (level == ERG_LOG_ERROR || level == ERG_LOG_WARN) {
        printf("[logged] %s\n", msg);
        n_complaints++;
    }
}

static erg_logger logger = {count_log, NULL, ERG_LOG_INFO};
static erg_backend_env env = {NULL, &logger, 1, NULL, false};

static bool required(void) {
    const char *list = getenv("ERG_REQUIRE_DEVICES");
    return list && strstr(list, "opencl");
}

static erg_backend_device *open_device(void) {
    erg_backend_device *dev = NULL;
    erg_diag diag = {{0}};
    erg_status st = erg_backend_open(&erg_opencl_backend, &env, 0, &dev, &diag);
    CHECK_MSG(st == ERG_OK, "open: %s", diag.msg);
    return st == ERG_OK ? dev : NULL;
}

/* y = W x with a Q8_0 weight on the device, against the exact value of
 * the quantized weight times x in double. */
static void check_matmul(erg_backend_device *dev) {
    const erg_backend *b = &erg_opencl_backend;
    float w_f[K * N], x_f[K * M];
    for (int i = 0; i < K * N; i++)
        w_f[i] = (float)((i * 37 % 23) - 11) / 7.0f;
    for (int i = 0; i < K * M; i++)
        x_f[i] = (float)((i * 13 % 17) - 8) / 5.0f;
    unsigned char w_q[(K / 32) * 34 * N];
    erg_quantize_rows(ERG_DT_Q8_0, w_f, w_q, N, K);

    erg_graph g;
    erg_graph_init(&g, NULL);
    int64_t wne[2] = {K, N}, xne[2] = {K, M};
    int32_t w = erg_gb_weight(&g, "w", ERG_DT_Q8_0, 2, wne, 0, w_q);
    int32_t x = erg_gb_input(&g, "x", ERG_DT_F32, 2, xne);
    int32_t y = erg_gb_matmul(&g, w, x);
    erg_gb_mark_output(&g, y);
    erg_diag diag = {{0}};
    CHECK_MSG(erg_graph_validate(&g, &diag) == ERG_OK, "%s", diag.msg);

    erg_memory_plan plan;
    erg_memory_plan_init(&plan, NULL);
    CHECK(erg_plan_memory(&g, 64, &plan, &diag) == ERG_OK);
    void *arena = b->host_alloc(dev, plan.arena_bytes);
    CHECK(arena != NULL);
    erg_memory_plan_bind(&plan, &g, arena);
    memcpy(g.tensors[x].data, x_f, sizeof x_f);

    erg_weight_desc desc = {ERG_DT_Q8_0, {K, N, 1, 1}, w_q, (K / 32) * 34, true, false};
    erg_backend_weights *weights = NULL;
    erg_backend_exec *exec = NULL;
    size_t bytes = 0;
    CHECK(b->weights_prepare(dev, &desc, 1, &weights, &bytes, &diag) == ERG_OK);
    CHECK_EQ_INT(bytes, sizeof w_q);
    erg_exec_options opts = {false, weights};
    CHECK(b->exec_create(dev, &opts, &exec, &diag) == ERG_OK);
    erg_exec_stats stats;
    erg_status st = erg_backend_run(b, dev, exec, &g, &stats, &diag);
    CHECK_MSG(st == ERG_OK, "run: %s", diag.msg);
    CHECK_EQ_INT(stats.n_dispatches, 1);
    double times[8] = {0};
    CHECK(b->node_times(exec, times, g.n_nodes, &diag) == ERG_OK);
    CHECK_NEAR(times[g.n_nodes - 1], stats.device_seconds, 1e-12);

    const float *got = g.tensors[y].data;
    float w_exact[K * N];
    erg_dequantize_row(ERG_DT_Q8_0, w_q, w_exact, K * N);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double want = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                want += (double)w_exact[n * K + k] * x_f[m * K + k];
                mag += fabs((double)w_exact[n * K + k] * x_f[m * K + k]);
            }
            CHECK_NEAR(got[m * N + n], want, 1e-5 * mag + 1e-6);
        }

    b->exec_free(exec);
    b->weights_free(weights);
    b->host_free(dev, arena);
    erg_memory_plan_free(&plan);
    erg_graph_free(&g);
}

/* The device refuses a tensor whose memory it cannot address. */
static void check_foreign_memory(erg_backend_device *dev) {
    const erg_backend *b = &erg_opencl_backend;
    erg_graph g;
    erg_graph_init(&g, NULL);
    int64_t ne[1] = {16};
    float *plain = calloc(64, sizeof *plain);
    int32_t a = erg_gb_input(&g, "plain_input", ERG_DT_F32, 1, ne);
    int32_t y = erg_gb_silu(&g, a);
    g.tensors[a].data = plain;
    g.tensors[y].data = plain + 32;
    erg_backend_exec *exec = NULL;
    erg_diag diag = {{0}};
    CHECK(b->exec_create(dev, NULL, &exec, &diag) == ERG_OK);
    CHECK_STATUS(erg_backend_run(b, dev, exec, &g, NULL, &diag), ERG_INVALID_ARGUMENT);
    CHECK_MSG(strstr(diag.msg, "'plain_input'") != NULL, "%s", diag.msg);
    b->exec_free(exec);
    erg_graph_free(&g);
    free(plain);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void flip_byte(const char *path, long at) {
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x5A, f);
    fclose(f);
}

/* Opens, checks how the program was obtained, runs the matmul, closes. */
static erg_cl_build_report open_and_run(const char *what) {
    erg_cl_build_report r;
    memset(&r, 0, sizeof r);
    erg_backend_device *dev = open_device();
    if (!dev)
        return r;
    r = dev->build;
    printf("%-28s %s in %.3f s%s%s\n", what, r.from_cache ? "loaded" : "built", r.seconds,
           r.cache_rejected ? " (entry rejected)" : "", r.cache_written ? ", entry written" : "");
    check_matmul(dev);
    erg_opencl_backend.close(dev);
    return r;
}

int main(void) {
    erg_device_info info = {.struct_size = sizeof info};
    size_t count = 0;
    erg_diag diag = {{0}};
    if (erg_backend_enumerate(&erg_opencl_backend, &env, &info, 1, &count, &diag) != ERG_OK ||
        count == 0) {
        if (required()) {
            printf("no OpenCL device, but ERG_REQUIRE_DEVICES asks for one: %s\n", diag.msg);
            return 1;
        }
        ERG_TEST_SKIP("no OpenCL device: %s", diag.msg);
    }
    printf("device %s: %s\n", info.name, info.description);
    char dir[] = "/tmp/erg-cl-cache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("ERG_CACHE_DIR", dir, 1);

    erg_cl_build_report miss = open_and_run("empty cache:");
    CHECK(!miss.from_cache && !miss.cache_rejected && miss.cache_written);
    CHECK(strncmp(miss.cache_path, dir, strlen(dir)) == 0);
    long size = file_size(miss.cache_path);
    CHECK(size > 64);

    erg_cl_build_report hit = open_and_run("second open:");
    CHECK(hit.from_cache && !hit.cache_rejected && !hit.cache_written);
    CHECK(strcmp(hit.cache_path, miss.cache_path) == 0);
    printf("build time saved by the cache: %.3f s (miss) vs %.3f s (hit)\n", miss.seconds,
           hit.seconds);

    flip_byte(miss.cache_path, size / 2); /* inside the program binary */
    erg_cl_build_report flipped = open_and_run("payload byte flipped:");
    CHECK(!flipped.from_cache && flipped.cache_rejected && flipped.cache_written);
    /* The rewritten entry is whole (the driver's binary may differ in size
     * from the first one: PoCL's own cache changes what it returns). */
    size = file_size(miss.cache_path);
    CHECK(size > 64);

    CHECK(truncate(miss.cache_path, size - 100) == 0);
    erg_cl_build_report cut = open_and_run("truncated entry:");
    CHECK(!cut.from_cache && cut.cache_rejected && cut.cache_written);

    flip_byte(miss.cache_path, 3); /* the magic */
    erg_cl_build_report magic = open_and_run("header byte flipped:");
    CHECK(!magic.from_cache && magic.cache_rejected && magic.cache_written);

    erg_cl_build_report again = open_and_run("after the rewrites:");
    CHECK(again.from_cache && !again.cache_rejected);

    /* An entry that cannot be written (a directory stands at its path):
     * the device still opens, and says it wrote nothing. */
    CHECK(unlink(miss.cache_path) == 0 && mkdir(miss.cache_path, 0755) == 0);
    erg_cl_build_report blocked_entry = open_and_run("entry path is a directory:");
    CHECK(!blocked_entry.from_cache && !blocked_entry.cache_written);
    CHECK(rmdir(miss.cache_path) == 0);

    /* A cache directory that cannot be made (its parent is a file): the
     * device still opens, without a cache. */
    char blocked[sizeof dir + 16];
    snprintf(blocked, sizeof blocked, "%s/file", dir);
    FILE *f = fopen(blocked, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    setenv("ERG_CACHE_DIR", blocked, 1);
    erg_cl_build_report no_dir = open_and_run("cache directory impossible:");
    CHECK(!no_dir.from_cache && !no_dir.cache_written && no_dir.cache_path[0] == '\0');

    erg_backend_device *dev = open_device();
    if (dev) {
        check_foreign_memory(dev);
        erg_opencl_backend.close(dev);
    }
    CHECK_EQ_INT(n_complaints, 0);

    char sub[sizeof dir + 16];
    snprintf(sub, sizeof sub, "%s/opencl", dir);
    CHECK(unlink(blocked) == 0 && rmdir(sub) == 0 && rmdir(dir) == 0);
    return erg_test_result("test_opencl_cache");
}
