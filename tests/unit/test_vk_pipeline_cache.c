/*
 * The Vulkan pipeline cache on disk: closing a device writes it; a good file
 * is read back silently; a corrupt, truncated or foreign file is ignored
 * with a warning naming the reason, and the device still opens and runs.
 * Skipped without a Vulkan device (unless ERG_REQUIRE_DEVICES names vulkan).
 */
#include "tests/test.h"

#include "backends/vulkan/vk_backend.h"
#include "hal/cache_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char warnings[4096];

static void capture(void *user, erg_log_level level, const char *msg) {
    (void)user;
    if (level <= ERG_LOG_WARN) {
        strncat(warnings, msg, sizeof warnings - strlen(warnings) - 2);
        strcat(warnings, "\n");
    }
}

static erg_logger logger = {capture, NULL, ERG_LOG_WARN};

/* Opens and closes device 0 (which loads, then saves the cache); returns
 * whether it opened, with what it warned in `warnings`. */
static bool open_close(void) {
    warnings[0] = '\0';
    erg_backend_env env = {NULL, &logger, 1, NULL, false};
    erg_backend_device *dev = NULL;
    erg_diag diag = {{0}};
    if (erg_backend_open(&erg_vulkan_backend, &env, 0, &dev, &diag) != ERG_OK) {
        printf("open: %s\n", diag.msg);
        return false;
    }
    erg_vulkan_backend.close(dev);
    return true;
}

static char *cache_file(const char *dir) {
    static char path[600];
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s/vulkan/*.pipelines 2>/dev/null", dir);
    FILE *p = popen(cmd, "r");
    path[0] = '\0';
    if (p) {
        if (fgets(path, sizeof path, p))
            path[strcspn(path, "\n")] = '\0';
        pclose(p);
    }
    return path;
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

/* The whole file, into buf (cap bytes); its size, or -1. */
static long read_all(const char *path, unsigned char *buf, long cap) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    long n = (long)fread(buf, 1, (size_t)cap, f);
    fclose(f);
    return n;
}

static void write_all(const char *path, const unsigned char *buf, long n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, (size_t)n, f);
        fclose(f);
    }
}

/* erg's header: magic[8], payload bytes (u64), FNV-1a of the payload (u64). */
#define HEADER 24

int main(void) {
    size_t count = 0;
    erg_device_info info = {.struct_size = sizeof info};
    erg_diag diag = {{0}};
    erg_backend_env env = {NULL, &logger, 1, NULL, false};
    erg_backend_enumerate(&erg_vulkan_backend, &env, &info, 1, &count, &diag);
    if (count == 0) {
        const char *req = getenv("ERG_REQUIRE_DEVICES");
        printf("no Vulkan device: %s\n", diag.msg);
        return req && strstr(req, "vulkan") ? 1 : 77;
    }
    char dir[] = "/tmp/erg-vkcache-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    setenv("ERG_CACHE_DIR", dir, 1);

    /* First open: no file yet, nothing to warn about; close writes it. */
    CHECK(open_close());
    CHECK_MSG(warnings[0] == '\0', "unexpected warning: %s", warnings);
    const char *path = cache_file(dir);
    CHECK_MSG(path[0] != '\0', "no cache file written under %s", dir);
    long size = file_size(path);
    CHECK(size > 24);

    /* A good file is read back silently. */
    CHECK(open_close());
    CHECK_MSG(warnings[0] == '\0', "unexpected warning: %s", warnings);

    static unsigned char buf[1 << 20];
    long n = read_all(path, buf, sizeof buf);
    CHECK(n == size);

    /* A flipped payload byte: the checksum catches it. */
    buf[n - 1] ^= 0x5a;
    write_all(path, buf, n);
    CHECK(open_close());
    CHECK_MSG(strstr(warnings, "checksum mismatch") != NULL, "warnings: '%s'", warnings);

    /* Another device's cache, well formed: the driver header's vendor id
     * (payload bytes 8..11) differs, and the checksum is made to match. */
    n = read_all(path, buf, sizeof buf);
    buf[HEADER + 8] ^= 0xff;
    uint64_t sum = erg_fnv1a64(buf + HEADER, (size_t)(n - HEADER), ERG_FNV1A64_SEED);
    memcpy(buf + 16, &sum, sizeof sum);
    write_all(path, buf, n);
    CHECK(open_close());
    CHECK_MSG(strstr(warnings, "another device or driver") != NULL, "warnings: '%s'", warnings);

    /* The device rewrote a good file on close; now cut it short. */
    CHECK(truncate(path, size - 4) == 0);
    CHECK(open_close());
    CHECK_MSG(strstr(warnings, "truncated") != NULL, "warnings: '%s'", warnings);

    /* Not a cache at all. */
    write_all(path, (const unsigned char *)"hello, I am not a pipeline cache", 32);
    CHECK(open_close());
    CHECK_MSG(strstr(warnings, "not an erg pipeline cache") != NULL, "warnings: '%s'", warnings);

    /* And after all that, a good one again. */
    CHECK(open_close());
    CHECK_MSG(warnings[0] == '\0', "unexpected warning: %s", warnings);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return erg_test_result("test_vk_pipeline_cache");
}
