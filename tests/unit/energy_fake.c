#include "tests/unit/energy_fake.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool fake_root_make(char *root, size_t cap) {
    const char *tmp = getenv("TMPDIR");
    snprintf(root, cap, "%s/erg-energy-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) {
        printf("mkdtemp %s: %s\n", root, strerror(errno));
        return false;
    }
    return true;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fake_root_remove(const char *root) { nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static bool make_parents(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(path, 0755);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return false;
    }
    return true;
}

bool fake_write(const char *root, const char *rel, const char *fmt, ...) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (!make_parents(path)) {
        printf("mkdir for %s: %s\n", path, strerror(errno));
        return false;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("fopen %s: %s\n", path, strerror(errno));
        return false;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    return fclose(f) == 0;
}

bool fake_chmod(const char *root, const char *rel, unsigned mode) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return chmod(path, (mode_t)mode) == 0;
}

bool fake_remove(const char *root, const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    return remove(path) == 0;
}

double fake_clock_now(void *user) { return ((fake_clock *)user)->t; }

static int fake_read_file(void *user, const char *path, char *buf, size_t cap) {
    fake_io *f = user;
    size_t n = strlen(path), m = f->deny_suffix ? strlen(f->deny_suffix) : 0;
    if (m && n >= m && strcmp(path + n - m, f->deny_suffix) == 0)
        return f->deny_err;
    const erg_energy_io *sys = erg_energy_io_system();
    return sys->read_file(sys->user, path, buf, cap);
}

static int fake_file_mode(void *user, const char *path, unsigned *mode) {
    (void)user;
    const erg_energy_io *sys = erg_energy_io_system();
    return sys->file_mode(sys->user, path, mode);
}

/* Fake perf events are numbered from 100 so they never look like stdin. */
static int fake_perf_open(void *user, uint32_t type, uint64_t config, int cpu) {
    fake_io *f = user;
    if (f->perf_open_err)
        return -f->perf_open_err;
    f->perf_type = type;
    f->perf_config = config;
    f->perf_cpu = cpu;
    return 100 + f->perf_opened++;
}

static int fake_perf_read(void *user, int fd, uint64_t *count) {
    fake_io *f = user;
    if (fd < 100)
        return EBADF;
    *count = f->perf_count;
    return 0;
}

static void fake_perf_close(void *user, int fd) {
    fake_io *f = user;
    (void)fd;
    f->perf_closed++;
}

void fake_io_init(fake_io *f) {
    memset(f, 0, sizeof *f);
    f->io = (erg_energy_io){f, fake_read_file, fake_file_mode, fake_perf_open, fake_perf_read,
                            fake_perf_close};
}

erg_energy_env fake_env(const char *root, fake_io *io, fake_clock *clock) {
    erg_energy_env env;
    memset(&env, 0, sizeof env);
    env.sysfs_root = root;
    env.io = &io->io;
    env.clock = (erg_energy_clock){fake_clock_now, clock};
    env.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
    env.manual_sampling = true;
    return env;
}
