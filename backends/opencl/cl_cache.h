/*
 * cl_cache.h: the on-disk cache of built OpenCL programs. A driver compiles
 * erg's kernels in seconds; the binary it hands back loads in milliseconds.
 *
 * One file per key (device, driver, build options, hash of the source),
 * named after the key's hash: a 32-byte header (magic, format version, key
 * length, payload length, FNV-1a 64 checksum of the payload, little-endian),
 * the key, then the program binary. An entry whose header, key, length or
 * checksum does not match is not used. The directory, the FNV-1a hash and
 * the whole-file writes (temporary file renamed into place) are
 * hal/cache_dir.h's.
 */
#ifndef ERG_CL_CACHE_H
#define ERG_CL_CACHE_H

#include "base/alloc.h"
#include "base/diag.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The entry file for key in dir. False if the path does not fit. */
bool erg_cl_cache_path(const char *dir, const char *key, char *buf, size_t n);

typedef enum erg_cl_cache_result {
    ERG_CL_CACHE_HIT,     /* *payload holds the binary (free with erg_free) */
    ERG_CL_CACHE_MISS,    /* no entry */
    ERG_CL_CACHE_INVALID  /* an entry that cannot be used; why says what is wrong */
} erg_cl_cache_result;

erg_cl_cache_result erg_cl_cache_read(const erg_allocator *a, const char *path, const char *key,
                                      void **payload, size_t *len, char *why, size_t why_n);

/* Writes the entry; false with the reason in diag when it cannot
 * (read-only or full disk). */
bool erg_cl_cache_write(const erg_allocator *a, const char *path, const char *key,
                        const void *payload, size_t len, erg_diag *diag);

#endif
