/*
 * RAPL through powercap: /sys/class/powercap/<type>:<n>[:<m>] zones (type
 * intel-rapl, intel-rapl-mmio, or any other "*rapl*" type; AMD CPUs show
 * up under intel-rapl too). Each zone has a name (package-N, core, uncore,
 * dram, psys), a cumulative energy_uj that wraps at max_energy_range_uj, and
 * since Linux 5.10 energy_uj is readable by root only.
 *
 * The same package can appear twice (intel-rapl:0 through MSRs and
 * intel-rapl-mmio:0 through MMIO): the second is listed as a duplicate. psys
 * covers the whole platform and so overlaps every package: it is kept apart
 * and never added to them.
 */
#include "hal/energy/sources.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define POWERCAP "/sys/class/powercap"
/* Intel's SDM: the energy status counters update about every millisecond. */
#define RAPL_UPDATE_S 0.001

typedef struct zone {
    char id[48];   /* intel-rapl:0:1 */
    char name[32]; /* package-0 */
    int read_err;  /* energy_uj */
    bool mmio;
    bool duplicate;
} zone;

typedef struct zone_list {
    erg_energy_registry *r;
    zone *z;
    size_t n, cap;
    bool oom;
} zone_list;

typedef struct rapl_impl {
    char path[ERG_ENERGY_PATH_MAX];
} rapl_impl;

static erg_status rapl_read(erg_energy_domain *d, double *joules, erg_diag *diag) {
    const rapl_impl *impl = d->impl;
    uint64_t uj;
    int err = erg_energy_read_u64(d->ctx, impl->path, &uj);
    if (err)
        return erg_fail(diag, err == EACCES ? ERG_UNSUPPORTED : ERG_IO, "%s: energy_uj: %s",
                        d->desc.name, erg_energy_errno_phrase(err));
    *joules = (double)uj * 1e-6;
    return ERG_OK;
}

static const erg_energy_domain_ops rapl_ops = {rapl_read, NULL, NULL};

/* "intel-rapl:0:1" -> true; the bare control type "intel-rapl" -> false. */
static bool is_zone(const char *id) {
    const char *colon = strchr(id, ':');
    if (!colon || colon == id || !strstr(id, "rapl") || (size_t)(colon - id) > 24)
        return false;
    for (const char *p = colon; *p; p++)
        if (*p != ':' && (*p < '0' || *p > '9'))
            return false;
    return true;
}

static void collect_zone(void *user, const char *id) {
    zone_list *zl = user;
    if (!is_zone(id) || strlen(id) >= sizeof zl->z[0].id)
        return;
    if (!erg_grow_array(zl->r->ctx.alloc, (void **)&zl->z, sizeof *zl->z, &zl->cap, zl->n + 1)) {
        zl->oom = true;
        return;
    }
    zone *z = &zl->z[zl->n];
    memset(z, 0, sizeof *z);
    snprintf(z->id, sizeof z->id, "%s", id);
    char path[ERG_ENERGY_PATH_MAX];
    erg_energy_path(&zl->r->ctx, path, sizeof path, POWERCAP "/%s/name", id);
    if (erg_energy_read_str(&zl->r->ctx, path, z->name, sizeof z->name) != 0 || !z->name[0])
        snprintf(z->name, sizeof z->name, "unnamed");
    erg_energy_path(&zl->r->ctx, path, sizeof path, POWERCAP "/%s/energy_uj", id);
    uint64_t uj;
    z->read_err = erg_energy_read_u64(&zl->r->ctx, path, &uj);
    z->mmio = strstr(id, "-mmio") != NULL;
    zl->n++;
}

static erg_energy_scope scope_of(const char *name) {
    if (strncmp(name, "package", 7) == 0)
        return ERG_ENERGY_SCOPE_CPU_PACKAGE;
    if (strcmp(name, "core") == 0)
        return ERG_ENERGY_SCOPE_CPU_CORES;
    if (strcmp(name, "uncore") == 0) /* PP1: the graphics plane on client parts */
        return ERG_ENERGY_SCOPE_IGPU;
    if (strcmp(name, "dram") == 0)
        return ERG_ENERGY_SCOPE_DRAM;
    if (strcmp(name, "psys") == 0)
        return ERG_ENERGY_SCOPE_PLATFORM;
    return ERG_ENERGY_SCOPE_OTHER;
}

/* Subzone names (core, uncore, dram) repeat across packages: a duplicate
 * has the same name under the same parent index. */
static bool same_zone(const zone *a, const zone *b) {
    const char *ca = strchr(a->id, ':'), *cb = strchr(b->id, ':');
    return strcmp(a->name, b->name) == 0 && strcmp(ca, cb) == 0;
}

/* Of two zones measuring the same thing keep the readable one, then the
 * MSR one; the other is marked a duplicate of the kept one. */
static void mark_duplicates(zone *z, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (z[i].duplicate || z[j].duplicate || !same_zone(&z[i], &z[j]))
                continue;
            bool keep_i = (z[i].read_err == 0) != (z[j].read_err == 0) ? z[i].read_err == 0
                                                                         : !z[i].mmio;
            (keep_i ? &z[j] : &z[i])->duplicate = true;
        }
}

static const zone *kept_twin(const zone *z, size_t n, const zone *dup) {
    for (size_t i = 0; i < n; i++)
        if (&z[i] != dup && !z[i].duplicate && same_zone(&z[i], dup))
            return &z[i];
    return NULL;
}

static erg_status add_zone(erg_energy_registry *r, const zone *zones, size_t n, const zone *z,
                           erg_diag *diag) {
    const erg_energy_ctx *ctx = &r->ctx;
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_RAPL, ERG_ENERGY_COUNTER, scope_of(z->name));
    snprintf(desc.name, sizeof desc.name, "%.24s (%.32s)", z->name, z->id);
    snprintf(desc.path, sizeof desc.path, POWERCAP "/%s/energy_uj", z->id);
    desc.update_interval_s = RAPL_UPDATE_S;
    desc.update_interval_assumed = true;
    desc.resolution = 1e-6;
    char path[ERG_ENERGY_PATH_MAX];
    erg_energy_path(ctx, path, sizeof path, "%s", desc.path);
    unsigned mode = 0;
    /* Root reads it regardless; what counts is whether anyone else may. */
    desc.needs_privilege = ctx->io->file_mode(ctx->io->user, path, &mode) == 0 && !(mode & 0004);
    char range_path[ERG_ENERGY_PATH_MAX];
    erg_energy_path(ctx, range_path, sizeof range_path, POWERCAP "/%s/max_energy_range_uj", z->id);
    uint64_t range_uj = 0;
    int range_err = erg_energy_read_u64(ctx, range_path, &range_uj);
    desc.wrap_joules = range_err ? 0 : (double)range_uj * 1e-6;

    if (z->duplicate) {
        const zone *twin = kept_twin(zones, n, z);
        desc.usable = false;
        snprintf(desc.note, sizeof desc.note, "duplicate of %s (the same %s through %s)",
                 twin ? twin->id : "another zone", z->name, z->mmio ? "MMIO" : "MSRs");
    } else if (z->read_err == EACCES || z->read_err == EPERM) {
        desc.usable = false;
        desc.needs_privilege = true;
        snprintf(desc.note, sizeof desc.note,
                 "energy_uj: permission denied (root only since Linux 5.10); "
                 "run as root, or use perf power/energy-pkg");
    } else if (z->read_err) {
        desc.usable = false;
        snprintf(desc.note, sizeof desc.note, "energy_uj: %s",
                 erg_energy_errno_phrase(z->read_err));
    } else if (range_err) {
        snprintf(desc.note, sizeof desc.note,
                 "max_energy_range_uj %s: a wrap-around during a window cannot be undone",
                 erg_energy_errno_phrase(range_err));
    } else if (desc.scope == ERG_ENERGY_SCOPE_PLATFORM) {
        snprintf(desc.note, sizeof desc.note,
                 "platform energy: overlaps the packages, never added to them");
    }
    void *impl;
    ERG_RETURN_IF_ERROR(erg_energy_registry_make(r, desc.usable ? &rapl_ops : NULL, &desc,
                                                 sizeof(rapl_impl), &impl, diag));
    snprintf(((rapl_impl *)impl)->path, sizeof ((rapl_impl *)impl)->path, "%s", path);
    return ERG_OK;
}

erg_status erg_energy_discover_rapl(erg_energy_registry *r, erg_diag *diag) {
    char dir[ERG_ENERGY_PATH_MAX];
    erg_energy_path(&r->ctx, dir, sizeof dir, POWERCAP);
    zone_list zl = {.r = r};
    int err = erg_energy_list_dir(&r->ctx, dir, collect_zone, &zl);
    erg_status st = ERG_OK;
    if (zl.oom || err == ENOMEM) {
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "RAPL zone list");
    } else if (err) {
        erg_energy_registry_set_note(r, ERG_ENERGY_RAPL, "no " POWERCAP " (%s)",
                                     erg_energy_errno_phrase(err));
    } else if (zl.n == 0) {
        erg_energy_registry_set_note(r, ERG_ENERGY_RAPL, "no RAPL zones under " POWERCAP);
    } else {
        mark_duplicates(zl.z, zl.n);
        size_t usable = 0;
        for (size_t i = 0; i < zl.n && st == ERG_OK; i++) {
            st = add_zone(r, zl.z, zl.n, &zl.z[i], diag);
            usable += !zl.z[i].duplicate && zl.z[i].read_err == 0;
        }
        erg_energy_registry_set_note(r, ERG_ENERGY_RAPL, "%zu zone(s), %zu readable", zl.n,
                                     usable);
    }
    erg_free(r->ctx.alloc, zl.z);
    return st;
}
