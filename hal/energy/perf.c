/*
 * perf power/energy-pkg: the RAPL package counter through perf_event_open,
 * for machines where powercap's energy_uj is root-only. The PMU's type,
 * the event's config ("event=0x02"), its scale (2^-32 J per count) and the
 * CPUs to open it on (one per package) all come from sysfs. System-wide
 * events need perf_event_paranoid <= 0 or CAP_PERFMON.
 */
#include "hal/energy/sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PMU "/sys/bus/event_source/devices/power"
/* The same hardware counter as powercap's package zone. */
#define PERF_UPDATE_S 0.001

typedef struct perf_impl {
    int fd;
} perf_impl;

static erg_status perf_read(erg_energy_domain *d, double *joules, erg_diag *diag) {
    const perf_impl *impl = d->impl;
    uint64_t count;
    int err = d->ctx->io->perf_read(d->ctx->io->user, impl->fd, &count);
    if (err)
        return erg_fail(diag, ERG_IO, "%s: read: %s", d->desc.name, erg_energy_errno_phrase(err));
    *joules = (double)count * d->desc.resolution;
    return ERG_OK;
}

static void perf_close(erg_energy_domain *d) {
    const perf_impl *impl = d->impl;
    d->ctx->io->perf_close(d->ctx->io->user, impl->fd);
}

static const erg_energy_domain_ops perf_ops = {perf_read, NULL, perf_close};

/* "event=0x02" (possibly with more terms after a comma) -> 0x02. */
static bool parse_config(const char *s, uint64_t *config) {
    const char *p = strstr(s, "event=");
    if (!p)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p + 6, &end, 0);
    if (errno || end == p + 6 || (*end != '\0' && *end != ','))
        return false;
    *config = v;
    return true;
}

/* perf's view of the event: type, config and scale; 0 or an errno value,
 * with what failed in *what. */
static int read_event(const erg_energy_ctx *ctx, uint32_t *type, uint64_t *config, double *scale,
                      const char **what) {
    char path[ERG_ENERGY_PATH_MAX], buf[64];
    uint64_t t;
    erg_energy_path(ctx, path, sizeof path, PMU "/type");
    *what = "type";
    int err = erg_energy_read_u64(ctx, path, &t);
    if (err)
        return err;
    if (t > UINT32_MAX)
        return ERANGE;
    *type = (uint32_t)t;
    erg_energy_path(ctx, path, sizeof path, PMU "/events/energy-pkg");
    *what = "events/energy-pkg";
    err = erg_energy_read_str(ctx, path, buf, sizeof buf);
    if (err)
        return err;
    if (!parse_config(buf, config))
        return EINVAL;
    erg_energy_path(ctx, path, sizeof path, PMU "/events/energy-pkg.scale");
    *what = "events/energy-pkg.scale";
    err = erg_energy_read_double(ctx, path, scale);
    if (!err && !(*scale > 0))
        err = EINVAL;
    return err;
}

/* "0" or "0,36" or "0-1,36": the first CPU of each comma-separated group. */
static size_t parse_cpus(const char *s, int *cpus, size_t cap) {
    size_t n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > 65535)
            break;
        cpus[n++] = (int)v;
        s = strchr(end, ',');
        if (!s)
            break;
        s++;
    }
    return n;
}

/* The kernel's perf_event_paranoid, when it can be read. */
typedef struct paranoia {
    bool known;
    long level;
} paranoia;

static paranoia read_paranoia(const erg_energy_ctx *ctx) {
    char path[ERG_ENERGY_PATH_MAX];
    int64_t v = 0;
    erg_energy_path(ctx, path, sizeof path, "/proc/sys/kernel/perf_event_paranoid");
    bool known = erg_energy_read_i64(ctx, path, &v) == 0;
    return (paranoia){known, (long)v};
}

static erg_status add_cpu(erg_energy_registry *r, uint32_t type, uint64_t config, double scale,
                          int cpu, const paranoia *paranoid, bool *opened, erg_diag *diag) {
    const erg_energy_ctx *ctx = &r->ctx;
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_PERF, ERG_ENERGY_COUNTER,
                         ERG_ENERGY_SCOPE_CPU_PACKAGE);
    snprintf(desc.name, sizeof desc.name, "energy-pkg (perf, cpu %d)", cpu);
    snprintf(desc.path, sizeof desc.path, PMU "/events/energy-pkg");
    desc.update_interval_s = PERF_UPDATE_S;
    desc.update_interval_assumed = true;
    desc.resolution = scale;
    /* Unknown paranoia: assume the kernel's default (2), which needs privilege. */
    desc.needs_privilege = !paranoid->known || paranoid->level > 0;
    int fd = ctx->io->perf_open(ctx->io->user, type, config, cpu);
    *opened = fd >= 0;
    if (fd < 0) {
        desc.usable = false;
        if (paranoid->known)
            snprintf(desc.note, sizeof desc.note,
                     "perf_event_open: %s (perf_event_paranoid %ld; system-wide events need "
                     "<= 0, CAP_PERFMON or root)",
                     erg_energy_errno_phrase(-fd), paranoid->level);
        else
            snprintf(desc.note, sizeof desc.note, "perf_event_open: %s",
                     erg_energy_errno_phrase(-fd));
    }
    void *impl;
    erg_status st = erg_energy_registry_make(r, fd >= 0 ? &perf_ops : NULL, &desc,
                                             sizeof(perf_impl), &impl, diag);
    if (st != ERG_OK) {
        if (fd >= 0)
            ctx->io->perf_close(ctx->io->user, fd);
        return st;
    }
    ((perf_impl *)impl)->fd = fd;
    return ERG_OK;
}

erg_status erg_energy_discover_perf(erg_energy_registry *r, erg_diag *diag) {
    if (erg_energy_registry_has(r, ERG_ENERGY_RAPL, ERG_ENERGY_SCOPE_CPU_PACKAGE)) {
        erg_energy_registry_set_note(r, ERG_ENERGY_PERF, "not needed: RAPL is readable");
        return ERG_OK;
    }
    const erg_energy_ctx *ctx = &r->ctx;
    uint32_t type;
    uint64_t config;
    double scale;
    const char *what;
    int err = read_event(ctx, &type, &config, &scale, &what);
    if (err) {
        erg_energy_registry_set_note(r, ERG_ENERGY_PERF, "no power/energy-pkg event (%s: %s)",
                                     what, erg_energy_errno_phrase(err));
        return ERG_OK;
    }
    char path[ERG_ENERGY_PATH_MAX], buf[256];
    int cpus[16];
    size_t n_cpus = 0;
    erg_energy_path(ctx, path, sizeof path, PMU "/cpumask");
    if (erg_energy_read_str(ctx, path, buf, sizeof buf) == 0)
        n_cpus = parse_cpus(buf, cpus, sizeof cpus / sizeof cpus[0]);
    if (n_cpus == 0) {
        cpus[0] = 0; /* one package: any of its CPUs will do */
        n_cpus = 1;
    }
    paranoia paranoid = read_paranoia(ctx);
    size_t opened = 0;
    for (size_t i = 0; i < n_cpus; i++) {
        bool ok;
        ERG_RETURN_IF_ERROR(add_cpu(r, type, config, scale, cpus[i], &paranoid, &ok, diag));
        opened += ok;
    }
    erg_energy_registry_set_note(r, ERG_ENERGY_PERF, "energy-pkg opened on %zu of %zu package(s)",
                                 opened, n_cpus);
    return ERG_OK;
}
