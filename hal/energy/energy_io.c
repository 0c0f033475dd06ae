/* The system side of energy_io.h, and the parsing every source shares. */
#include "hal/energy/energy_io.h"

#include "base/alloc.h"
#include "hal/timer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_read_file(void *user, const char *path, char *buf, size_t cap) {
    (void)user;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            return err;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
    return 0;
}

static int sys_file_mode(void *user, const char *path, unsigned *mode) {
    (void)user;
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    *mode = (unsigned)(st.st_mode & 07777);
    return 0;
}

static int sys_perf_open(void *user, uint32_t type, uint64_t config, int cpu) {
    (void)user;
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = type;
    attr.config = config;
    /* RAPL events count system-wide only: pid -1 on one CPU of the package. */
    long fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

static int sys_perf_read(void *user, int fd, uint64_t *count) {
    (void)user;
    ssize_t r = read(fd, count, sizeof *count);
    if (r < 0)
        return errno;
    return r == (ssize_t)sizeof *count ? 0 : EIO;
}

static void sys_perf_close(void *user, int fd) {
    (void)user;
    close(fd);
}

static const erg_energy_io system_io = {NULL, sys_read_file, sys_file_mode, sys_perf_open,
                                        sys_perf_read, sys_perf_close};

const erg_energy_io *erg_energy_io_system(void) { return &system_io; }

static double monotonic_now(void *user) {
    (void)user;
    return erg_time_s();
}

void erg_energy_ctx_init(erg_energy_ctx *ctx, const erg_energy_env *env) {
    memset(ctx, 0, sizeof *ctx);
    ctx->alloc = erg_allocator_or_default(env ? env->alloc : NULL);
    const char *root = env && env->sysfs_root ? env->sysfs_root : getenv("ERG_SYSFS_ROOT");
    snprintf(ctx->root, sizeof ctx->root, "%s", root ? root : "");
    /* "/x/" and "/x" name the same root; paths below start with '/'. */
    size_t len = strlen(ctx->root);
    while (len > 0 && ctx->root[len - 1] == '/')
        ctx->root[--len] = '\0';
    ctx->io = env && env->io ? env->io : &system_io;
    if (env && env->clock.now)
        ctx->clock = env->clock;
    else
        ctx->clock = (erg_energy_clock){monotonic_now, NULL};
    const char *lib = env && env->nvml_lib ? env->nvml_lib : getenv("ERG_NVML_LIB");
    snprintf(ctx->nvml_lib, sizeof ctx->nvml_lib, "%s", lib && lib[0] ? lib : "libnvidia-ml.so.1");
    ctx->manual_sampling = env && env->manual_sampling;
}

double erg_energy_ctx_now(const erg_energy_ctx *ctx) { return ctx->clock.now(ctx->clock.user); }

bool erg_energy_path(const erg_energy_ctx *ctx, char *out, size_t cap, const char *fmt, ...) {
    int n = snprintf(out, cap, "%s", ctx->root);
    if (n < 0 || (size_t)n >= cap)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(out + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    return m >= 0 && (size_t)m < cap - (size_t)n;
}

/* Drops trailing whitespace (sysfs values end with a newline). */
static void trim(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

int erg_energy_read_str(const erg_energy_ctx *ctx, const char *path, char *buf, size_t cap) {
    int err = ctx->io->read_file(ctx->io->user, path, buf, cap);
    if (err)
        return err;
    trim(buf);
    return 0;
}

int erg_energy_read_i64(const erg_energy_ctx *ctx, const char *path, int64_t *out) {
    char buf[64];
    int err = erg_energy_read_str(ctx, path, buf, sizeof buf);
    if (err)
        return err;
    if (!buf[0])
        return EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno == ERANGE)
        return ERANGE;
    if (*end != '\0')
        return EINVAL;
    *out = v;
    return 0;
}

int erg_energy_read_u64(const erg_energy_ctx *ctx, const char *path, uint64_t *out) {
    char buf[64];
    int err = erg_energy_read_str(ctx, path, buf, sizeof buf);
    if (err)
        return err;
    /* strtoull accepts "-1" as a huge value: refuse signs outright. */
    if (!buf[0] || buf[0] == '-' || buf[0] == '+')
        return EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno == ERANGE)
        return ERANGE;
    if (*end != '\0')
        return EINVAL;
    *out = v;
    return 0;
}

int erg_energy_read_double(const erg_energy_ctx *ctx, const char *path, double *out) {
    char buf[64];
    int err = erg_energy_read_str(ctx, path, buf, sizeof buf);
    if (err)
        return err;
    if (!buf[0])
        return EINVAL;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno == ERANGE)
        return ERANGE;
    if (*end != '\0' || v != v)
        return EINVAL;
    *out = v;
    return 0;
}

const char *erg_energy_errno_phrase(int err) {
    switch (err) {
    case 0: return "ok";
    case ENOENT: return "missing";
    case EACCES:
    case EPERM: return "permission denied";
    case EINVAL: return "not a number";
    case ERANGE: return "out of range";
    case ENODATA:
    case EIO: return "read failed (the driver returned an error)";
    default: return strerror(err);
    }
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int erg_energy_list_dir(const erg_energy_ctx *ctx, const char *path,
                        void (*fn)(void *user, const char *name), void *user) {
    DIR *dir = opendir(path);
    if (!dir)
        return errno;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int err = 0;
    for (struct dirent *e = readdir(dir); e; e = readdir(dir)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *copy = erg_strdup(ctx->alloc, e->d_name);
        if (!copy || !erg_grow_array(ctx->alloc, (void **)&names, sizeof *names, &cap, n + 1)) {
            erg_free(ctx->alloc, copy);
            err = ENOMEM;
            break;
        }
        names[n++] = copy;
    }
    closedir(dir);
    if (!err) {
        if (n)
            qsort(names, n, sizeof *names, compare_names);
        for (size_t i = 0; i < n; i++)
            fn(user, names[i]);
    }
    for (size_t i = 0; i < n; i++)
        erg_free(ctx->alloc, names[i]);
    erg_free(ctx->alloc, names);
    return err;
}
