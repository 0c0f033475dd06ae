/*
 * gguf_read.c: opening a GGUF file (mapped, read into memory, or a caller's
 * buffer), closing it, and the accessors for keys and tensors. The checks
 * live in gguf_parse.c.
 */
#include "model/gguf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The buffer a file is read into (no_mmap) is page-aligned, like a mapping. */
#define READ_BUFFER_ALIGN 4096

typedef unsigned long long ull;

/* ---- opening and closing ----------------------------------------------- */

static erg_status gguf_new(const erg_allocator *alloc, erg_gguf **out, erg_diag *diag) {
    alloc = erg_allocator_or_default(alloc);
    erg_gguf *g = erg_calloc(alloc, 1, sizeof *g);
    if (!g)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory creating a GGUF reader");
    g->alloc = *alloc;
    *out = g;
    return ERG_OK;
}

erg_status erg_gguf_open_memory(const erg_allocator *alloc, const void *data, size_t size,
                                erg_gguf **out, erg_diag *diag) {
    if (!out)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size > 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_gguf_open_memory: data is NULL");
    erg_gguf *g = NULL;
    ERG_RETURN_IF_ERROR(gguf_new(alloc, &g, diag));
    static const uint8_t empty[1];
    g->base = data ? data : empty;
    g->size = size;
    erg_status st = erg_gguf_parse(g, diag);
    if (st != ERG_OK) {
        erg_gguf_close(g);
        return st;
    }
    *out = g;
    return ERG_OK;
}

static erg_status read_whole_file(erg_gguf *g, int fd, const char *path, uint64_t size,
                                  erg_diag *diag) {
    uint8_t *buf = erg_aligned_alloc(&g->alloc, (size_t)size, READ_BUFFER_ALIGN);
    if (!buf)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "out of memory reading '%s' (%llu bytes)",
                        path, (ull)size);
    g->owned = buf;
    uint64_t done = 0;
    while (done < size) {
        size_t chunk = (size_t)(size - done < (1u << 30) ? size - done : (1u << 30));
        ssize_t r = read(fd, buf + done, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return erg_fail(diag, ERG_IO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0)
            return erg_fail(diag, ERG_IO, "'%s' ended after %llu of its %llu bytes", path,
                            (ull)done, (ull)size);
        done += (uint64_t)r;
    }
    g->base = buf;
    return ERG_OK;
}

static erg_status load_file(erg_gguf *g, int fd, const char *path, bool no_mmap,
                            erg_diag *diag) {
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return erg_fail(diag, ERG_IO, "cannot stat '%s': %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return erg_fail(diag, ERG_IO, "'%s' is not a regular file", path);
    uint64_t size = (uint64_t)sb.st_size;
    if (size > SIZE_MAX)
        return erg_fail(diag, ERG_IO, "'%s' (%llu bytes) is too large to load", path,
                        (ull)size);
    static const uint8_t empty[1];
    g->base = empty;
    g->size = size;
    if (size == 0)
        return ERG_OK;
    if (no_mmap)
        return read_whole_file(g, fd, path, size, diag);
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        return erg_fail(diag, ERG_IO, "cannot map '%s': %s", path, strerror(errno));
    g->mapping = p;
    g->base = p;
    return ERG_OK;
}

erg_status erg_gguf_open_file(const erg_allocator *alloc, const char *path, bool no_mmap,
                              erg_gguf **out, erg_diag *diag) {
    if (!out)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_gguf_open_file: out is NULL");
    *out = NULL;
    if (!path)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "erg_gguf_open_file: path is NULL");
    erg_gguf *g = NULL;
    ERG_RETURN_IF_ERROR(gguf_new(alloc, &g, diag));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        erg_status st = erg_fail(diag, ERG_IO, "cannot open '%s': %s", path, strerror(errno));
        erg_gguf_close(g);
        return st;
    }
    erg_status st = load_file(g, fd, path, no_mmap, diag);
    close(fd);
    if (st == ERG_OK) {
        st = erg_gguf_parse(g, diag);
        if (st != ERG_OK)
            erg_diag_prefix(diag, "%s", path);
    }
    if (st != ERG_OK) {
        erg_gguf_close(g);
        return st;
    }
    *out = g;
    return ERG_OK;
}

void erg_gguf_close(erg_gguf *g) {
    if (!g)
        return;
    erg_allocator alloc = g->alloc;
    if (g->cstr_cache) {
        for (uint64_t i = 0; i < g->n_kv; i++)
            erg_free(&alloc, g->cstr_cache[i]);
        erg_free(&alloc, g->cstr_cache);
    }
    erg_gguf_names_free(&g->kv_index, &alloc);
    erg_gguf_names_free(&g->tensor_index, &alloc);
    erg_free(&alloc, g->names);
    erg_free(&alloc, g->nested);
    erg_free(&alloc, g->str_offsets);
    erg_free(&alloc, g->tensors);
    erg_free(&alloc, g->kvs);
    erg_free(&alloc, g->owned);
    if (g->mapping)
        munmap(g->mapping, (size_t)g->size);
    erg_free(&alloc, g);
}

/* ---- file, key/value and tensor accessors ------------------------------ */

uint32_t erg_gguf_version(const erg_gguf *g) { return g->version; }
uint64_t erg_gguf_alignment(const erg_gguf *g) { return g->alignment; }
uint64_t erg_gguf_file_size(const erg_gguf *g) { return g->size; }
const void *erg_gguf_base(const erg_gguf *g) { return g->base; }
uint64_t erg_gguf_data_offset(const erg_gguf *g) { return g->data_offset; }
uint64_t erg_gguf_kv_count(const erg_gguf *g) { return g->n_kv; }

const char *erg_gguf_kv_key(const erg_gguf *g, uint64_t i) {
    return i < g->n_kv ? g->kvs[i].key : NULL;
}

const erg_gguf_value *erg_gguf_kv_value(const erg_gguf *g, uint64_t i) {
    return i < g->n_kv ? &g->kvs[i].value : NULL;
}

int64_t erg_gguf_find(const erg_gguf *g, const char *key) {
    return key ? erg_gguf_names_find(&g->kv_index, key, strlen(key)) : -1;
}

const erg_gguf_value *erg_gguf_get(const erg_gguf *g, const char *key) {
    int64_t i = erg_gguf_find(g, key);
    return i < 0 ? NULL : &g->kvs[i].value;
}

uint64_t erg_gguf_tensor_count(const erg_gguf *g) { return g->n_tensors; }

const erg_gguf_tensor *erg_gguf_tensor_at(const erg_gguf *g, uint64_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const erg_gguf_tensor *erg_gguf_find_tensor(const erg_gguf *g, const char *name) {
    int64_t i = name ? erg_gguf_names_find(&g->tensor_index, name, strlen(name)) : -1;
    return i < 0 ? NULL : &g->tensors[i];
}
