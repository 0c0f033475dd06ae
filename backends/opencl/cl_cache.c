/* The program binary cache: locating, reading and writing entries. */
#include "backends/opencl/cl_cache.h"

#include "base/byte_order.h"
#include "hal/cache_dir.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "ERGCLPRG"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 32
#define MAX_KEY_BYTES 4096
#define MAX_PAYLOAD_BYTES (1ull << 30)

bool erg_cl_cache_path(const char *dir, const char *key, char *buf, size_t n) {
    uint64_t h = erg_fnv1a64(key, strlen(key), ERG_FNV1A64_SEED);
    int w = snprintf(buf, n, "%s/%016llx.bin", dir, (unsigned long long)h);
    return w > 0 && (size_t)w < n;
}

erg_cl_cache_result erg_cl_cache_read(const erg_allocator *a, const char *path, const char *key,
                                      void **payload, size_t *len, char *why, size_t why_n) {
    *payload = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ERG_CL_CACHE_MISS;
    erg_cl_cache_result res = ERG_CL_CACHE_INVALID;
    unsigned char header[HEADER_BYTES];
    char *key_read = NULL;
    void *data = NULL;
    size_t key_len = strlen(key);
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        snprintf(why, why_n, "cannot read it");
        goto done;
    }
    if ((size_t)size < HEADER_BYTES || fread(header, 1, HEADER_BYTES, f) != HEADER_BYTES) {
        snprintf(why, why_n, "truncated header (%ld bytes)", size);
        goto done;
    }
    if (memcmp(header, MAGIC, 8) != 0) {
        snprintf(why, why_n, "not an erg program cache file");
        goto done;
    }
    uint32_t version = (uint32_t)erg_get_le(header + 8, 4);
    uint64_t stored_key_len = erg_get_le(header + 12, 4);
    uint64_t payload_len = erg_get_le(header + 16, 8), checksum = erg_get_le(header + 24, 8);
    if (version != FORMAT_VERSION) {
        snprintf(why, why_n, "format version %u, expected %u", (unsigned)version, FORMAT_VERSION);
        goto done;
    }
    if (stored_key_len > MAX_KEY_BYTES || payload_len == 0 || payload_len > MAX_PAYLOAD_BYTES) {
        snprintf(why, why_n, "implausible lengths (key %llu, payload %llu bytes)",
                 (unsigned long long)stored_key_len, (unsigned long long)payload_len);
        goto done;
    }
    uint64_t expect = HEADER_BYTES + stored_key_len + payload_len;
    if ((uint64_t)size != expect) {
        snprintf(why, why_n, "%ld bytes where the header says %llu (%s)", size,
                 (unsigned long long)expect, (uint64_t)size < expect ? "truncated" : "trailing bytes");
        goto done;
    }
    key_read = erg_malloc(a, stored_key_len + 1);
    data = erg_malloc(a, payload_len);
    if (!key_read || !data) {
        snprintf(why, why_n, "out of memory reading it");
        goto done;
    }
    if (fread(key_read, 1, stored_key_len, f) != stored_key_len ||
        fread(data, 1, payload_len, f) != payload_len) {
        snprintf(why, why_n, "short read");
        goto done;
    }
    if (stored_key_len != key_len || memcmp(key_read, key, key_len) != 0) {
        snprintf(why, why_n, "made for another device, driver, source or build options");
        goto done;
    }
    if (erg_fnv1a64(data, payload_len, ERG_FNV1A64_SEED) != checksum) {
        snprintf(why, why_n, "checksum mismatch (corrupt)");
        goto done;
    }
    *payload = data;
    *len = payload_len;
    data = NULL;
    res = ERG_CL_CACHE_HIT;
done:
    fclose(f);
    erg_free(a, key_read);
    erg_free(a, data);
    return res;
}

bool erg_cl_cache_write(const erg_allocator *a, const char *path, const char *key,
                        const void *payload, size_t len, erg_diag *diag) {
    size_t key_len = strlen(key), total = HEADER_BYTES + key_len + len;
    unsigned char *file = erg_malloc(a, total);
    if (!file) {
        erg_fail(diag, ERG_OUT_OF_MEMORY, "%zu bytes for the cache entry", total);
        return false;
    }
    memcpy(file, MAGIC, 8);
    erg_put_le(file + 8, FORMAT_VERSION, 4);
    erg_put_le(file + 12, key_len, 4);
    erg_put_le(file + 16, len, 8);
    erg_put_le(file + 24, erg_fnv1a64(payload, len, ERG_FNV1A64_SEED), 8);
    memcpy(file + HEADER_BYTES, key, key_len);
    memcpy(file + HEADER_BYTES + key_len, payload, len);
    erg_status st = erg_cache_write_file(path, file, total, diag);
    erg_free(a, file);
    return st == ERG_OK;
}
