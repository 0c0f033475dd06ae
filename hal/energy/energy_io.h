/*
 * energy_io.h: how the energy code touches the system. Every sysfs path is
 * taken relative to a root (ERG_SYSFS_ROOT, so tests point it at a fake
 * tree), and file reads and perf events go through a table of functions a
 * test can replace: CI runs as root, so "permission denied" has to be
 * injected rather than made with chmod.
 */
#ifndef ERG_HAL_ENERGY_IO_H
#define ERG_HAL_ENERGY_IO_H

#include "hal/energy/energy.h"

#include <stddef.h>
#include <stdint.h>

typedef struct erg_energy_io {
    void *user;
    /* Reads the file at path into buf (at most cap - 1 bytes, NUL-ended).
     * Returns 0 or an errno value (ENOENT, EACCES …). */
    int (*read_file)(void *user, const char *path, char *buf, size_t cap);
    /* The file's permission bits; 0 or an errno value. */
    int (*file_mode)(void *user, const char *path, unsigned *mode);
    /* Opens a system-wide counting perf event on cpu: an fd, or -errno. */
    int (*perf_open)(void *user, uint32_t type, uint64_t config, int cpu);
    /* Reads the event's count; 0 or an errno value. */
    int (*perf_read)(void *user, int fd, uint64_t *count);
    void (*perf_close)(void *user, int fd);
} erg_energy_io;

/* The real system: open/read, stat, perf_event_open. */
const erg_energy_io *erg_energy_io_system(void);

/* Where a registry looks, and with what. Zero fields mean defaults. */
typedef struct erg_energy_env {
    const erg_allocator *alloc;  /* NULL: the C library's */
    const char *sysfs_root;      /* NULL: ERG_SYSFS_ROOT, else "" (the real /sys) */
    const erg_energy_io *io;     /* NULL: erg_energy_io_system() */
    erg_energy_clock clock;      /* now == NULL: the monotonic clock */
    const char *nvml_lib;        /* NULL: ERG_NVML_LIB, else "libnvidia-ml.so.1" */
    /* No sampling threads: power domains integrate only what
     * erg_energy_domain_poll() adds (tests, with an injected clock). */
    bool manual_sampling;
} erg_energy_env;

/* The resolved environment every domain of a registry shares. */
typedef struct erg_energy_ctx {
    const erg_allocator *alloc;
    char root[ERG_ENERGY_PATH_MAX];
    const erg_energy_io *io;
    erg_energy_clock clock;
    char nvml_lib[ERG_ENERGY_PATH_MAX];
    bool manual_sampling;
} erg_energy_ctx;

void erg_energy_ctx_init(erg_energy_ctx *ctx, const erg_energy_env *env);

double erg_energy_ctx_now(const erg_energy_ctx *ctx);

/* root + the formatted path; false if it does not fit. */
bool erg_energy_path(const erg_energy_ctx *ctx, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads and parses one value from a file under the root (path already
 * joined). Return 0, the read's errno value, or EINVAL for content that is
 * not one number (garbage, empty) and ERANGE for one out of range. */
int erg_energy_read_str(const erg_energy_ctx *ctx, const char *path, char *buf, size_t cap);
int erg_energy_read_u64(const erg_energy_ctx *ctx, const char *path, uint64_t *out);
int erg_energy_read_i64(const erg_energy_ctx *ctx, const char *path, int64_t *out);
int erg_energy_read_double(const erg_energy_ctx *ctx, const char *path, double *out);

/* A short phrase for a read error: "permission denied", "missing",
 * "not a number" … */
const char *erg_energy_errno_phrase(int err);

/* Calls fn for each entry of the directory at path (joined), in name order
 * (so discovery is deterministic). Returns 0 or an errno value. */
int erg_energy_list_dir(const erg_energy_ctx *ctx, const char *path,
                        void (*fn)(void *user, const char *name), void *user);

#endif
