/*
 * INA3221 power rails, as on Jetson boards. Mainline kernels (JetPack 5
 * and later) show them as hwmon "ina3221" (read by hwmon.c); JetPack 4
 * (L4T 32: Nano, TX2, Xavier) has NVIDIA's ina3221x IIO driver instead:
 *
 *   /sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:device<N>/
 *       rail_name_<k>        "POM_5V_IN", "VDD_SYS_GPU", "CPU" …
 *       in_power<k>_input    mW
 *
 * Both name each rail by what it feeds, and the label places it.
 */
#include "hal/energy/sources.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define INA3221X "/sys/bus/i2c/drivers/ina3221x"
/* The driver does not say; its averaging makes ~100 ms a fair guess. */
#define ASSUMED_UPDATE_S 0.1
#define MAX_RAILS 3 /* channels of one INA3221 */

erg_energy_scope erg_energy_rail_scope(const char *label) {
    size_t n = strlen(label);
    if (strstr(label, "CPU")) /* VDD_CPU_GPU_CV feeds both: the package covers an iGPU */
        return ERG_ENERGY_SCOPE_CPU_PACKAGE;
    if (strstr(label, "GPU"))
        return ERG_ENERGY_SCOPE_IGPU;
    if (strstr(label, "DDR") || strstr(label, "MEM"))
        return ERG_ENERGY_SCOPE_DRAM;
    /* The board's input: VDD_IN, POM_5V_IN, VIN_SYS_5V0; Xavier's SYS5V. */
    if ((n >= 3 && strcmp(label + n - 3, "_IN") == 0) || strstr(label, "VIN") ||
        strncmp(label, "SYS", 3) == 0)
        return ERG_ENERGY_SCOPE_PLATFORM;
    return ERG_ENERGY_SCOPE_OTHER; /* SOC, CV, VDDRQ, WIFI …: no compute device of erg's */
}

typedef struct rail_impl {
    char path[ERG_ENERGY_PATH_MAX]; /* in_power<k>_input, joined */
} rail_impl;

static erg_status rail_power(erg_energy_domain *d, double *watts, erg_diag *diag) {
    const rail_impl *impl = d->impl;
    uint64_t mw;
    int err = erg_energy_read_u64(d->ctx, impl->path, &mw);
    if (err)
        return erg_fail(diag, err == EACCES || err == EPERM ? ERG_UNSUPPORTED : ERG_IO,
                        "%s: in_power: %s", d->desc.name, erg_energy_errno_phrase(err));
    *watts = (double)mw * 1e-3;
    return ERG_OK;
}

static const erg_energy_domain_ops rail_ops = {NULL, rail_power, NULL};

typedef struct rail_scan {
    erg_energy_registry *r;
    const char *chip; /* "6-0040" */
    char iio[32];     /* "iio:device0" */
    size_t n_rails;
    erg_status st;
    erg_diag *diag;
} rail_scan;

static void add_rail(rail_scan *s, unsigned k) {
    const erg_energy_ctx *ctx = &s->r->ctx;
    char path[ERG_ENERGY_PATH_MAX], label[32];
    erg_energy_path(ctx, path, sizeof path, INA3221X "/%s/%s/rail_name_%u", s->chip, s->iio, k);
    if (erg_energy_read_str(ctx, path, label, sizeof label) != 0 || !label[0])
        return; /* an unused channel */
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_HWMON, ERG_ENERGY_POWER, erg_energy_rail_scope(label));
    snprintf(desc.name, sizeof desc.name, "ina3221x %.24s (%.24s)", label, s->chip);
    snprintf(desc.path, sizeof desc.path, INA3221X "/%.64s/%.31s/in_power%u_input", s->chip, s->iio,
             k);
    desc.update_interval_s = ASSUMED_UPDATE_S;
    desc.update_interval_assumed = true;
    desc.resolution = 1e-3; /* 1 mW */
    erg_energy_path(ctx, path, sizeof path, "%s", desc.path);
    unsigned mode = 0;
    desc.needs_privilege = ctx->io->file_mode(ctx->io->user, path, &mode) == 0 && !(mode & 0004);
    uint64_t mw;
    int err = erg_energy_read_u64(ctx, path, &mw);
    if (err) {
        desc.usable = false;
        desc.needs_privilege |= err == EACCES || err == EPERM;
        snprintf(desc.note, sizeof desc.note, "in_power%u_input: %s", k,
                 erg_energy_errno_phrase(err));
    } else if (desc.scope == ERG_ENERGY_SCOPE_OTHER) {
        snprintf(desc.note, sizeof desc.note, "erg cannot tell which device this rail feeds");
    }
    void *v;
    s->st = erg_energy_registry_make(s->r, desc.usable ? &rail_ops : NULL, &desc,
                                     sizeof(rail_impl), &v, s->diag);
    if (s->st != ERG_OK)
        return;
    snprintf(((rail_impl *)v)->path, sizeof ((rail_impl *)v)->path, "%s", path);
    s->n_rails++;
}

static void scan_iio(void *user, const char *name) {
    rail_scan *s = user;
    if (s->st != ERG_OK || strncmp(name, "iio:device", 10) != 0 ||
        strlen(name) >= sizeof s->iio)
        return;
    snprintf(s->iio, sizeof s->iio, "%s", name);
    for (unsigned k = 0; k < MAX_RAILS && s->st == ERG_OK; k++)
        add_rail(s, k);
}

/* Entries of the driver's directory that are bound chips: "<bus>-<addr>". */
static void scan_chip(void *user, const char *name) {
    rail_scan *s = user;
    if (s->st != ERG_OK || !strchr(name, '-') || strlen(name) > 64)
        return;
    char dir[ERG_ENERGY_PATH_MAX];
    if (!erg_energy_path(&s->r->ctx, dir, sizeof dir, INA3221X "/%s", name))
        return;
    s->chip = name;
    if (erg_energy_list_dir(&s->r->ctx, dir, scan_iio, s) == ENOMEM)
        s->st = erg_fail(s->diag, ERG_OUT_OF_MEMORY, "ina3221x device list");
}

erg_status erg_energy_discover_ina3221x(erg_energy_registry *r, size_t *n_rails, erg_diag *diag) {
    *n_rails = 0;
    char dir[ERG_ENERGY_PATH_MAX];
    erg_energy_path(&r->ctx, dir, sizeof dir, INA3221X);
    rail_scan s = {.r = r, .st = ERG_OK, .diag = diag};
    int err = erg_energy_list_dir(&r->ctx, dir, scan_chip, &s);
    if (err == ENOMEM)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "ina3221x chip list");
    *n_rails = s.n_rails;
    return s.st;
}
