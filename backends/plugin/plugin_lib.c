/* Loading a plugin and checking it against the host's ABI. */
#include "backends/plugin/plugin_lib.h"

#include "base/alloc.h"
#include "graph/dtype.h"
#include "hal/cache_dir.h"
#include "hal/timer.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PREFIX "liberg-plugin-"

/* The size of the function table in ABI 1.0: the table ended at op_times,
 * which 1.1 appended. A 1.0 plugin is still complete; what it lacks reads
 * as NULL (not supported). */
#define API_SIZE_1_0 offsetof(erg_plugin_api, op_times)

bool erg_plugin_name_from_path(const char *path, char *name, size_t size) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), np = strlen(PREFIX);
    if (n <= np + 3 || strncmp(base, PREFIX, np) != 0 || strcmp(base + n - 3, ".so") != 0)
        return false;
    size_t len = n - np - 3;
    if (len >= size)
        return false;
    memcpy(name, base + np, len);
    name[len] = '\0';
    return true;
}

static void host_log(void *user, erg_plugin_log_level level, const char *msg) {
    erg_plugin_lib *lib = user;
    erg_log(&lib->log, (erg_log_level)level, "plugin %s: %s", lib->name, msg ? msg : "");
}

static void *host_alloc(void *user, size_t size, size_t alignment) {
    erg_plugin_lib *lib = user;
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) || alignment > 4096)
        alignment = ERG_DEFAULT_ALIGN;
    return erg_aligned_alloc(lib->alloc, size ? size : 1, alignment);
}

static void host_free(void *user, void *ptr) {
    erg_plugin_lib *lib = user;
    erg_free(lib->alloc, ptr);
}

static double host_now(void *user) {
    (void)user;
    return erg_time_s();
}

static erg_plugin_result host_dequantize(void *user, uint32_t type, const void *src, float *dst,
                                         int64_t n) {
    (void)user;
    const erg_dtype_traits *t = erg_dtype_get((int)type);
    if (!t || (t->quantized && !t->weight_type) || !src || !dst || n <= 0 ||
        n % (int64_t)t->block_size != 0)
        return ERG_PLUGIN_E_UNSUPPORTED;
    erg_dequantize_row((erg_dtype)type, src, dst, n);
    return ERG_PLUGIN_OK;
}

/* Names the first function ABI 1.0 requires that the table leaves NULL. */
static const char *missing_function(const erg_plugin_api *a) {
#define REQUIRE(f) if (!a->f) return #f
    REQUIRE(probe);
    REQUIRE(device_count);
    REQUIRE(device_info);
    REQUIRE(device_open);
    REQUIRE(device_close);
    REQUIRE(op_support);
    REQUIRE(compile);
    REQUIRE(compiled_free);
    REQUIRE(buffer_alloc);
    REQUIRE(buffer_free);
    REQUIRE(copy_to_device);
    REQUIRE(copy_from_device);
    REQUIRE(execute);
#undef REQUIRE
    return NULL;
}

static erg_status check_api(erg_plugin_lib *lib, const erg_plugin_api *api, erg_diag *diag) {
    uint32_t host = ERG_PLUGIN_ABI_VERSION;
    if (!api)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s): %s returned NULL: it cannot serve host ABI %u.%u",
                        lib->name, lib->path, ERG_PLUGIN_ENTRY_NAME, ERG_PLUGIN_ABI_MAJOR,
                        ERG_PLUGIN_ABI_MINOR);
    if (api->struct_size < offsetof(erg_plugin_api, name))
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s): function table of %zu bytes is too small to hold "
                        "its version (host ABI %u.%u)",
                        lib->name, lib->path, api->struct_size, ERG_PLUGIN_ABI_MAJOR,
                        ERG_PLUGIN_ABI_MINOR);
    uint32_t v = api->abi_version;
    if (ERG_PLUGIN_ABI_MAJOR_OF(v) != ERG_PLUGIN_ABI_MAJOR_OF(host))
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s) was built for ABI %u.%u; this erg has ABI %u.%u "
                        "(the major versions must match)",
                        lib->name, lib->path, ERG_PLUGIN_ABI_MAJOR_OF(v),
                        ERG_PLUGIN_ABI_MINOR_OF(v), ERG_PLUGIN_ABI_MAJOR, ERG_PLUGIN_ABI_MINOR);
    if (api->struct_size < API_SIZE_1_0)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s, ABI %u.%u): function table is %zu bytes; ABI %u.0 "
                        "needs at least %zu (host ABI %u.%u)",
                        lib->name, lib->path, ERG_PLUGIN_ABI_MAJOR_OF(v),
                        ERG_PLUGIN_ABI_MINOR_OF(v), api->struct_size, ERG_PLUGIN_ABI_MAJOR,
                        API_SIZE_1_0, ERG_PLUGIN_ABI_MAJOR, ERG_PLUGIN_ABI_MINOR);
    /* Read only what both sides know. */
    size_t n = api->struct_size < sizeof lib->api ? api->struct_size : sizeof lib->api;
    memset(&lib->api, 0, sizeof lib->api);
    memcpy(&lib->api, api, n);
    const char *missing = missing_function(&lib->api);
    if (missing)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s, ABI %u.%u): required function %s is NULL", lib->name,
                        lib->path, ERG_PLUGIN_ABI_MAJOR_OF(v), ERG_PLUGIN_ABI_MINOR_OF(v),
                        missing);
    return ERG_OK;
}

static erg_status load(erg_plugin_lib *lib, erg_diag *diag) {
    dlerror();
    lib->handle = dlopen(lib->path, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle)
        return erg_fail(diag, ERG_NOT_FOUND, "plugin %s: cannot load %s: %s", lib->name,
                        lib->path, dlerror());
    void *sym = dlsym(lib->handle, ERG_PLUGIN_ENTRY_NAME);
    if (!sym)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s) exports no symbol %s (host ABI %u.%u)", lib->name,
                        lib->path, ERG_PLUGIN_ENTRY_NAME, ERG_PLUGIN_ABI_MAJOR,
                        ERG_PLUGIN_ABI_MINOR);
    erg_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    ERG_RETURN_IF_ERROR(check_api(lib, entry(ERG_PLUGIN_ABI_VERSION, &lib->host), diag));
    lib->score = lib->api.probe();
    if (lib->score == 0)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s (%s): probe says it is unusable on this machine (score 0)",
                        lib->name, lib->path);
    return ERG_OK;
}

/* Size, inode and time of the file: what a rebuild or an upgrade changes. */
static uint64_t file_stamp(const char *path) {
    struct stat fs;
    if (stat(path, &fs) != 0)
        return 0;
    uint64_t v[4] = {(uint64_t)fs.st_size, (uint64_t)fs.st_ino, (uint64_t)fs.st_mtim.tv_sec,
                     (uint64_t)fs.st_mtim.tv_nsec};
    return erg_fnv1a64(v, sizeof v, ERG_FNV1A64_SEED);
}

erg_status erg_plugin_lib_open(const char *path, const erg_allocator *alloc,
                               const erg_logger *log, erg_plugin_lib **out, erg_diag *diag) {
    *out = NULL;
    alloc = erg_allocator_or_default(alloc);
    erg_plugin_lib *lib = erg_calloc(alloc, 1, sizeof *lib);
    if (!lib)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin %s", path);
    lib->alloc = alloc;
    lib->log = *log;
    if (!erg_plugin_name_from_path(path, lib->name, sizeof lib->name))
        snprintf(lib->name, sizeof lib->name, "?");
    if (!realpath(path, lib->path))
        snprintf(lib->path, sizeof lib->path, "%s", path);
    lib->file_stamp = file_stamp(lib->path);
    snprintf(lib->dir, sizeof lib->dir, "%s", lib->path);
    char *slash = strrchr(lib->dir, '/');
    if (slash)
        *slash = '\0';
    const char *root = getenv("ERG_SYSFS_ROOT");
    lib->host = (erg_plugin_host){
        .struct_size = sizeof lib->host,
        .abi_version = ERG_PLUGIN_ABI_VERSION,
        .user = lib,
        .log = host_log,
        .alloc = host_alloc,
        .free = host_free,
        .now_seconds = host_now,
        .fs_root = root ? root : "",
        .plugin_dir = lib->dir,
        .dequantize_row = host_dequantize,
    };
    erg_status st = load(lib, diag);
    if (st != ERG_OK) {
        erg_plugin_lib_close(lib);
        return st;
    }
    *out = lib;
    return ERG_OK;
}

void erg_plugin_lib_close(erg_plugin_lib *lib) {
    if (!lib)
        return;
    if (lib->handle)
        dlclose(lib->handle);
    erg_free(lib->alloc, lib);
}
