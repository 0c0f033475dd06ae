/*
 * cache_dir.h: where erg keeps caches (compiled kernels, pipeline caches,
 * calibration): $ERG_CACHE_DIR, else $XDG_CACHE_HOME/erg, else ~/.cache/erg.
 * Files are written whole or not at all: a temporary file renamed over the
 * old one, so a full disk or a crash never leaves a half-written entry.
 */
#ifndef ERG_HAL_CACHE_DIR_H
#define ERG_HAL_CACHE_DIR_H

#include "base/diag.h"

#include <stddef.h>
#include <stdint.h>

/* The directory for sub (e.g. "vulkan"), created if missing. ERG_IO if
 * there is no usable directory. */
erg_status erg_cache_dir(const char *sub, char *out, size_t cap, erg_diag *diag);

/* Writes data to path atomically (temp file + rename); ERG_IO on failure,
 * naming the path and the system error. */
erg_status erg_cache_write_file(const char *path, const void *data, size_t size, erg_diag *diag);

/* FNV-1a 64-bit hash, for cache keys and payload checksums. */
uint64_t erg_fnv1a64(const void *data, size_t size, uint64_t seed);
#define ERG_FNV1A64_SEED 0xcbf29ce484222325ull

#endif
