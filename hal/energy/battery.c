/*
 * Battery gauges: /sys/class/power_supply/<name> with type "Battery". Only
 * while the status is "Discharging" does the gauge see what the whole
 * system draws; on external power it is listed and not used.
 *
 * Gauges differ in units and sign. Power comes from power_now (µW), else
 * current_now (µA) x voltage_now (µV); energy from energy_now (µWh), else
 * charge_now (µAh) x voltage_now for gauges that count charge. The ABI says
 * discharge current is negative, but many drivers report it positive (and
 * ACPI's power_now is positive), so magnitudes are used: the status, not
 * the sign, says which way the energy flows.
 */
#include "hal/energy/sources.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SUPPLY "/sys/class/power_supply"
/* Gauges do not report their update period; many refresh about once a
 * second, some far less often. */
#define ASSUMED_UPDATE_S 1.0
#define UWH_TO_J 3.6e-3 /* 1 µWh = 3.6 mJ */

typedef enum gauge_mode { POWER_NOW, CURRENT_X_VOLTAGE, ENERGY_NOW, CHARGE_X_VOLTAGE } gauge_mode;

typedef struct battery_impl {
    char dir[ERG_ENERGY_PATH_MAX]; /* joined with the root */
    gauge_mode mode;
} battery_impl;

/* The supply's attribute as a string; 0 or an errno value. */
static int read_text(const erg_energy_ctx *ctx, const char *dir, const char *attr, char *buf,
                     size_t cap) {
    char path[ERG_ENERGY_PATH_MAX + 32];
    if (snprintf(path, sizeof path, "%s/%s", dir, attr) >= (int)sizeof path)
        return ENAMETOOLONG;
    return erg_energy_read_str(ctx, path, buf, cap);
}

static int read_attr(const erg_energy_ctx *ctx, const char *dir, const char *attr, int64_t *v) {
    char path[ERG_ENERGY_PATH_MAX + 32];
    if (snprintf(path, sizeof path, "%s/%s", dir, attr) >= (int)sizeof path)
        return ENAMETOOLONG;
    return erg_energy_read_i64(ctx, path, v);
}

static erg_status check_discharging(const erg_energy_domain *d, const char *dir, erg_diag *diag) {
    char status[32];
    int err = read_text(d->ctx, dir, "status", status, sizeof status);
    if (err)
        return erg_fail(diag, ERG_IO, "%s: status: %s", d->desc.name, erg_energy_errno_phrase(err));
    if (strcmp(status, "Discharging") != 0)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "%s is not discharging (status %s): on external power the gauge does not "
                        "see what the system draws",
                        d->desc.name, status);
    return ERG_OK;
}

static erg_status attr_fail(const erg_energy_domain *d, const char *attr, int err, erg_diag *diag) {
    return erg_fail(diag, ERG_IO, "%s: %s: %s", d->desc.name, attr, erg_energy_errno_phrase(err));
}

/* |a| x |b| read from two attributes (µ units each), or the first alone. */
static erg_status read_product(const erg_energy_domain *d, const char *a, const char *b,
                               double *out, erg_diag *diag) {
    const battery_impl *impl = d->impl;
    int64_t va, vb = 1;
    int err = read_attr(d->ctx, impl->dir, a, &va);
    if (err)
        return attr_fail(d, a, err, diag);
    if (b && (err = read_attr(d->ctx, impl->dir, b, &vb)) != 0)
        return attr_fail(d, b, err, diag);
    *out = fabs((double)va) * fabs((double)vb);
    return ERG_OK;
}

static erg_status battery_power(erg_energy_domain *d, double *watts, erg_diag *diag) {
    const battery_impl *impl = d->impl;
    ERG_RETURN_IF_ERROR(check_discharging(d, impl->dir, diag));
    double v = 0;
    if (impl->mode == POWER_NOW) {
        ERG_RETURN_IF_ERROR(read_product(d, "power_now", NULL, &v, diag));
        *watts = v * 1e-6;
    } else {
        ERG_RETURN_IF_ERROR(read_product(d, "current_now", "voltage_now", &v, diag));
        *watts = v * 1e-12;
    }
    return ERG_OK;
}

/* What is left in the battery falls as it discharges: the counter is its
 * negation, so it rises like every other. */
static erg_status battery_energy(erg_energy_domain *d, double *joules, erg_diag *diag) {
    const battery_impl *impl = d->impl;
    ERG_RETURN_IF_ERROR(check_discharging(d, impl->dir, diag));
    double v = 0;
    if (impl->mode == ENERGY_NOW) {
        ERG_RETURN_IF_ERROR(read_product(d, "energy_now", NULL, &v, diag));
        *joules = -v * UWH_TO_J;
    } else {
        ERG_RETURN_IF_ERROR(read_product(d, "charge_now", "voltage_now", &v, diag));
        *joules = -v * 1e-6 * UWH_TO_J; /* µAh x µV = 1e-6 µWh */
    }
    return ERG_OK;
}

static const erg_energy_domain_ops power_ops = {NULL, battery_power, NULL};
static const erg_energy_domain_ops energy_ops = {battery_energy, NULL, NULL};

static bool has_attr(const erg_energy_ctx *ctx, const char *dir, const char *attr) {
    int64_t v;
    return read_attr(ctx, dir, attr, &v) == 0;
}

/* Picks how to read the gauge; false when it offers nothing usable. */
static bool pick_mode(const erg_energy_ctx *ctx, const char *dir, gauge_mode *mode) {
    bool volts = has_attr(ctx, dir, "voltage_now");
    if (has_attr(ctx, dir, "power_now"))
        *mode = POWER_NOW;
    else if (volts && has_attr(ctx, dir, "current_now"))
        *mode = CURRENT_X_VOLTAGE;
    else if (has_attr(ctx, dir, "energy_now"))
        *mode = ENERGY_NOW;
    else if (volts && has_attr(ctx, dir, "charge_now"))
        *mode = CHARGE_X_VOLTAGE;
    else
        return false;
    return true;
}

typedef struct scan {
    erg_energy_registry *r;
    erg_status st;
    erg_diag *diag;
    size_t n_batteries, n_usable;
} scan;

static void add_supply(void *user, const char *name) {
    scan *s = user;
    if (s->st != ERG_OK)
        return;
    const erg_energy_ctx *ctx = &s->r->ctx;
    char dir[ERG_ENERGY_PATH_MAX], buf[32];
    if (!erg_energy_path(ctx, dir, sizeof dir, SUPPLY "/%s", name) ||
        read_text(ctx, dir, "type", buf, sizeof buf) != 0 || strcmp(buf, "Battery") != 0)
        return;
    s->n_batteries++;
    erg_energy_desc desc;
    gauge_mode mode = POWER_NOW;
    bool readable = pick_mode(ctx, dir, &mode);
    erg_energy_desc_init(&desc, ERG_ENERGY_BATTERY,
                         mode <= CURRENT_X_VOLTAGE ? ERG_ENERGY_POWER : ERG_ENERGY_COUNTER,
                         ERG_ENERGY_SCOPE_PLATFORM);
    static const char *const attrs[] = {"power_now", "current_now", "energy_now", "charge_now"};
    snprintf(desc.name, sizeof desc.name, "battery %.40s", name);
    snprintf(desc.path, sizeof desc.path, SUPPLY "/%s/%s", name, attrs[mode]);
    desc.update_interval_s = ASSUMED_UPDATE_S;
    desc.update_interval_assumed = true;
    /* One step of the raw value: 1 µW or 1 µWh; for gauges that count
     * current, 1 µA or 1 µAh at the present voltage. */
    bool per_amp = mode == CURRENT_X_VOLTAGE || mode == CHARGE_X_VOLTAGE;
    int64_t uv = 0;
    double volts = per_amp && read_attr(ctx, dir, "voltage_now", &uv) == 0 ? fabs((double)uv) * 1e-6
                                                                           : 1;
    desc.resolution = (desc.method == ERG_ENERGY_COUNTER ? UWH_TO_J : 1e-6) * volts;
    int err = read_text(ctx, dir, "status", buf, sizeof buf);
    if (!readable) {
        desc.usable = false;
        snprintf(desc.note, sizeof desc.note,
                 "no readable power_now, current_now, energy_now or charge_now");
    } else if (err || strcmp(buf, "Discharging") != 0) {
        desc.usable = false;
        snprintf(desc.note, sizeof desc.note,
                 "status %s: used only while discharging (on external power it does not see "
                 "the system's draw)",
                 err ? erg_energy_errno_phrase(err) : buf);
    } else {
        snprintf(desc.note, sizeof desc.note, "whole system while on battery");
    }
    const erg_energy_domain_ops *ops = desc.method == ERG_ENERGY_POWER ? &power_ops : &energy_ops;
    void *v;
    s->st = erg_energy_registry_make(s->r, desc.usable ? ops : NULL, &desc, sizeof(battery_impl),
                                     &v, s->diag);
    if (s->st != ERG_OK)
        return;
    battery_impl *impl = v;
    snprintf(impl->dir, sizeof impl->dir, "%s", dir);
    impl->mode = mode;
    s->n_usable += desc.usable;
}

erg_status erg_energy_discover_battery(erg_energy_registry *r, erg_diag *diag) {
    char dir[ERG_ENERGY_PATH_MAX];
    erg_energy_path(&r->ctx, dir, sizeof dir, SUPPLY);
    scan s = {.r = r, .st = ERG_OK, .diag = diag};
    int err = erg_energy_list_dir(&r->ctx, dir, add_supply, &s);
    if (err == ENOMEM)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "power supply list");
    if (s.st != ERG_OK)
        return s.st;
    if (err)
        erg_energy_registry_set_note(r, ERG_ENERGY_BATTERY, "no " SUPPLY " (%s)",
                                     erg_energy_errno_phrase(err));
    else if (s.n_batteries == 0)
        erg_energy_registry_set_note(r, ERG_ENERGY_BATTERY, "no battery");
    else
        erg_energy_registry_set_note(r, ERG_ENERGY_BATTERY, "%zu battery(ies), %zu discharging",
                                     s.n_batteries, s.n_usable);
    return ERG_OK;
}
