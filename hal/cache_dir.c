#include "hal/cache_dir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static erg_status make_dir(const char *path, erg_diag *diag) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return ERG_OK;
    return erg_fail(diag, ERG_IO, "cannot create cache directory %s: %s", path, strerror(errno));
}

erg_status erg_cache_dir(const char *sub, char *out, size_t cap, erg_diag *diag) {
    const char *erg = getenv("ERG_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char base[400];
    if (erg && *erg) {
        snprintf(base, sizeof base, "%s", erg);
        ERG_RETURN_IF_ERROR(make_dir(base, diag));
    } else if (xdg && *xdg) {
        snprintf(base, sizeof base, "%s/erg", xdg);
        ERG_RETURN_IF_ERROR(make_dir(xdg, diag));
        ERG_RETURN_IF_ERROR(make_dir(base, diag));
    } else if (home && *home) {
        char dot[400];
        snprintf(dot, sizeof dot, "%s/.cache", home);
        snprintf(base, sizeof base, "%s/.cache/erg", home);
        ERG_RETURN_IF_ERROR(make_dir(dot, diag));
        ERG_RETURN_IF_ERROR(make_dir(base, diag));
    } else {
        return erg_fail(diag, ERG_IO, "no cache directory: set ERG_CACHE_DIR or HOME");
    }
    int n = snprintf(out, cap, "%s/%s", base, sub);
    if (n < 0 || (size_t)n >= cap)
        return erg_fail(diag, ERG_IO, "cache path %s/%s is too long", base, sub);
    return make_dir(out, diag);
}

erg_status erg_cache_write_file(const char *path, const void *data, size_t size, erg_diag *diag) {
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return erg_fail(diag, ERG_IO, "cannot write %s: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, size, f) == size;
    int err = errno;
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(tmp, path) == 0)
        return ERG_OK;
    if (!err)
        err = errno;
    remove(tmp);
    return erg_fail(diag, ERG_IO, "cannot write %s: %s", path, strerror(err ? err : EIO));
}

uint64_t erg_fnv1a64(const void *data, size_t size, uint64_t seed) {
    const unsigned char *p = data;
    uint64_t h = seed;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
