/*
 * hwmon: /sys/class/hwmon/hwmon*. Cumulative energy*_input (µJ) is a
 * counter; power*_average or power*_input (µW) is sampled; INA3221 current
 * monitors (Jetson boards) give a rail's bus voltage in*_input (mV) and
 * current curr*_input (mA), whose product is sampled.
 *
 * What a sensor covers: a hwmon whose parent is a PCI display controller
 * (class 0x03xxxx) is that GPU (vendor and slot from the PCI device); the
 * CPU energy drivers (amd_energy, zenergy, zenpower) cover the package or
 * the cores; INA3221 rails are placed by their labels (rails.c, which also
 * reads JetPack 4's ina3221x IIO rails); anything else is listed and mapped
 * to no device.
 */
#include "hal/energy/sources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HWMON "/sys/class/hwmon"
/* hwmon drivers rarely report how often they update. */
#define ASSUMED_UPDATE_S 0.1
#define MAX_SENSORS 32

typedef enum sensor_kind {
    SENSOR_ENERGY,
    SENSOR_POWER_AVERAGE,
    SENSOR_POWER_INPUT,
    SENSOR_RAIL
} sensor_kind;

typedef struct hwmon_impl {
    sensor_kind kind;
    char path[ERG_ENERGY_PATH_MAX];  /* energy, power, or the rail's voltage */
    char path2[ERG_ENERGY_PATH_MAX]; /* the rail's current */
} hwmon_impl;

static erg_status read_fail(const erg_energy_domain *d, const char *what, int err, erg_diag *diag) {
    return erg_fail(diag, err == EACCES || err == EPERM ? ERG_UNSUPPORTED : ERG_IO, "%s: %s: %s",
                    d->desc.name, what, erg_energy_errno_phrase(err));
}

static erg_status hwmon_energy(erg_energy_domain *d, double *joules, erg_diag *diag) {
    const hwmon_impl *impl = d->impl;
    uint64_t uj;
    int err = erg_energy_read_u64(d->ctx, impl->path, &uj);
    if (err)
        return read_fail(d, "energy", err, diag);
    *joules = (double)uj * 1e-6;
    return ERG_OK;
}

static erg_status hwmon_power(erg_energy_domain *d, double *watts, erg_diag *diag) {
    const hwmon_impl *impl = d->impl;
    if (impl->kind == SENSOR_RAIL) {
        int64_t mv, ma;
        int err = erg_energy_read_i64(d->ctx, impl->path, &mv);
        if (err)
            return read_fail(d, "voltage", err, diag);
        err = erg_energy_read_i64(d->ctx, impl->path2, &ma);
        if (err)
            return read_fail(d, "current", err, diag);
        double w = (double)mv * (double)ma * 1e-6;
        *watts = w > 0 ? w : 0; /* a rail feeds its load; a reverse reading is noise */
        return ERG_OK;
    }
    uint64_t uw;
    int err = erg_energy_read_u64(d->ctx, impl->path, &uw);
    if (err)
        return read_fail(d, "power", err, diag);
    *watts = (double)uw * 1e-6;
    return ERG_OK;
}

static const erg_energy_domain_ops energy_ops = {hwmon_energy, NULL, NULL};
static const erg_energy_domain_ops power_ops = {NULL, hwmon_power, NULL};

/* What one hwmon device is attached to. */
typedef struct hwmon_dev {
    char id[32];   /* hwmon3 */
    char name[32]; /* amdgpu */
    erg_energy_scope scope;
    uint16_t pci_vendor;
    char pci_slot[16];
} hwmon_dev;

static bool is_cpu_driver(const char *name) {
    return strcmp(name, "amd_energy") == 0 || strcmp(name, "zenergy") == 0 ||
           strcmp(name, "zenpower") == 0;
}

static void read_label(const erg_energy_ctx *ctx, const hwmon_dev *h, const char *prefix,
                       unsigned idx, char *label, size_t cap) {
    char path[ERG_ENERGY_PATH_MAX];
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/%s%u_label", h->id, prefix, idx);
    if (erg_energy_read_str(ctx, path, label, cap) != 0 || !label[0])
        snprintf(label, cap, "%s%u", prefix, idx);
}

/* The sensor numbers one hwmon directory offers. */
typedef struct sensors {
    const erg_energy_ctx *ctx;
    const hwmon_dev *h;
    unsigned energy[MAX_SENSORS], power_avg[MAX_SENSORS], power_in[MAX_SENSORS], rail[MAX_SENSORS];
    size_t n_energy, n_power_avg, n_power_in, n_rail;
    size_t n_dropped; /* past MAX_SENSORS of one kind */
} sensors;

static void add_index(sensors *s, unsigned *list, size_t *n, unsigned idx) {
    if (*n < MAX_SENSORS)
        list[(*n)++] = idx;
    else
        s->n_dropped++;
}

/* amd_energy and zenergy also count every core (Ecore000 …): the socket
 * counters cover them, and per-core domains would only repeat them (and,
 * on a 96-core part, crowd the sockets out of the list). */
static bool is_core_counter(const sensors *s, unsigned idx) {
    if (!is_cpu_driver(s->h->name))
        return false;
    char label[48];
    read_label(s->ctx, s->h, "energy", idx, label, sizeof label);
    return strncmp(label, "Ecore", 5) == 0;
}

static void collect_sensor(void *user, const char *file) {
    sensors *s = user;
    unsigned idx;
    char tail[16];
    if (sscanf(file, "energy%u_%15s", &idx, tail) == 2 && strcmp(tail, "input") == 0) {
        if (!is_core_counter(s, idx))
            add_index(s, s->energy, &s->n_energy, idx);
    } else if (sscanf(file, "power%u_%15s", &idx, tail) == 2 && strcmp(tail, "average") == 0) {
        add_index(s, s->power_avg, &s->n_power_avg, idx);
    } else if (sscanf(file, "power%u_%15s", &idx, tail) == 2 && strcmp(tail, "input") == 0) {
        add_index(s, s->power_in, &s->n_power_in, idx);
    } else if (sscanf(file, "curr%u_%15s", &idx, tail) == 2 && strcmp(tail, "input") == 0) {
        add_index(s, s->rail, &s->n_rail, idx);
    }
}

static bool has_index(const unsigned *list, size_t n, unsigned idx) {
    for (size_t i = 0; i < n; i++)
        if (list[i] == idx)
            return true;
    return false;
}

static void identify(const erg_energy_ctx *ctx, hwmon_dev *h) {
    char path[ERG_ENERGY_PATH_MAX], buf[256];
    h->scope = is_cpu_driver(h->name) ? ERG_ENERGY_SCOPE_CPU_PACKAGE : ERG_ENERGY_SCOPE_OTHER;
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/device/class", h->id);
    if (erg_energy_read_str(ctx, path, buf, sizeof buf) != 0)
        return;
    unsigned long pci_class = strtoul(buf, NULL, 16);
    if ((pci_class >> 16) != 0x03) /* not a display controller */
        return;
    h->scope = ERG_ENERGY_SCOPE_GPU;
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/device/vendor", h->id);
    if (erg_energy_read_str(ctx, path, buf, sizeof buf) == 0)
        h->pci_vendor = (uint16_t)strtoul(buf, NULL, 16);
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/device/uevent", h->id);
    if (erg_energy_read_str(ctx, path, buf, sizeof buf) == 0) {
        const char *slot = strstr(buf, "PCI_SLOT_NAME=");
        if (slot)
            snprintf(h->pci_slot, sizeof h->pci_slot, "%.*s", (int)strcspn(slot + 14, "\n"),
                     slot + 14);
    }
}

/* The update interval the driver reports (ms), else the assumed one. */
static void update_interval(const erg_energy_ctx *ctx, const hwmon_dev *h, const char *file,
                            erg_energy_desc *desc) {
    char path[ERG_ENERGY_PATH_MAX];
    uint64_t ms = 0;
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/%s", h->id, file);
    if (file[0] && erg_energy_read_u64(ctx, path, &ms) == 0 && ms > 0) {
        desc->update_interval_s = (double)ms * 1e-3;
        return;
    }
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/update_interval", h->id);
    if (erg_energy_read_u64(ctx, path, &ms) == 0 && ms > 0) {
        desc->update_interval_s = (double)ms * 1e-3;
        return;
    }
    desc->update_interval_s = ASSUMED_UPDATE_S;
    desc->update_interval_assumed = true;
}

static erg_status add_sensor(erg_energy_registry *r, const hwmon_dev *h, sensor_kind kind,
                             unsigned idx, erg_diag *diag) {
    const erg_energy_ctx *ctx = &r->ctx;
    static const char *const prefix[] = {"energy", "power", "power", "in"};
    static const char *const suffix[] = {"input", "average", "input", "input"};
    char label[48], interval_file[48] = "";
    read_label(ctx, h, prefix[kind], idx, label, sizeof label);
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_HWMON,
                         kind == SENSOR_ENERGY ? ERG_ENERGY_COUNTER : ERG_ENERGY_POWER,
                         kind == SENSOR_RAIL ? erg_energy_rail_scope(label) : h->scope);
    if (strcmp(h->name, "zenpower") == 0)
        desc.scope = strstr(label, "Core") ? ERG_ENERGY_SCOPE_CPU_CORES : ERG_ENERGY_SCOPE_OTHER;
    desc.pci_vendor = h->pci_vendor;
    snprintf(desc.pci_slot, sizeof desc.pci_slot, "%s", h->pci_slot);
    snprintf(desc.name, sizeof desc.name, "%.20s %.20s (%.16s)", h->name, label, h->id);
    snprintf(desc.path, sizeof desc.path, HWMON "/%s/%s%u_%s", h->id,
             kind == SENSOR_RAIL ? "curr" : prefix[kind], idx, suffix[kind]);
    desc.resolution = 1e-6; /* 1 µJ; 1 µW; 1 mV x 1 mA */
    if (kind == SENSOR_POWER_AVERAGE)
        snprintf(interval_file, sizeof interval_file, "power%u_average_interval", idx);
    update_interval(ctx, h, interval_file, &desc);
    char path[ERG_ENERGY_PATH_MAX];
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/%s%u_%s", h->id, prefix[kind], idx,
                    suffix[kind]);
    unsigned mode = 0;
    desc.needs_privilege = ctx->io->file_mode(ctx->io->user, path, &mode) == 0 && !(mode & 0004);
    /* Read once now, so a sensor that cannot be read is listed as such. */
    char current[ERG_ENERGY_PATH_MAX] = "";
    if (kind == SENSOR_RAIL)
        erg_energy_path(ctx, current, sizeof current, "%s", desc.path);
    double probe;
    int err = erg_energy_read_double(ctx, path, &probe);
    if (!err && kind == SENSOR_RAIL)
        err = erg_energy_read_double(ctx, current, &probe);
    if (err) {
        desc.usable = false;
        if (err == EACCES || err == EPERM)
            desc.needs_privilege = true;
        snprintf(desc.note, sizeof desc.note, "%s", erg_energy_errno_phrase(err));
    } else if (desc.scope == ERG_ENERGY_SCOPE_OTHER) {
        snprintf(desc.note, sizeof desc.note, "erg cannot tell which device this covers");
    }
    const erg_energy_domain_ops *ops = kind == SENSOR_ENERGY ? &energy_ops : &power_ops;
    void *v;
    ERG_RETURN_IF_ERROR(
        erg_energy_registry_make(r, desc.usable ? ops : NULL, &desc, sizeof(hwmon_impl), &v, diag));
    hwmon_impl *impl = v;
    impl->kind = kind;
    snprintf(impl->path, sizeof impl->path, "%s", path);
    snprintf(impl->path2, sizeof impl->path2, "%s", current);
    return ERG_OK;
}

/* *n_dropped: sensors past MAX_SENSORS of a kind (every pass counts them all). */
static erg_status scan_device(erg_energy_registry *r, hwmon_dev *h, erg_energy_method want,
                              size_t *n_dropped, erg_diag *diag) {
    const erg_energy_ctx *ctx = &r->ctx;
    char path[ERG_ENERGY_PATH_MAX];
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s/name", h->id);
    if (erg_energy_read_str(ctx, path, h->name, sizeof h->name) != 0 || !h->name[0])
        snprintf(h->name, sizeof h->name, "unnamed");
    identify(ctx, h);
    sensors s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.h = h;
    erg_energy_path(ctx, path, sizeof path, HWMON "/%s", h->id);
    if (erg_energy_list_dir(ctx, path, collect_sensor, &s) == ENOMEM)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "hwmon sensor list");
    *n_dropped += s.n_dropped;
    if (want == ERG_ENERGY_COUNTER) {
        for (size_t i = 0; i < s.n_energy; i++)
            ERG_RETURN_IF_ERROR(add_sensor(r, h, SENSOR_ENERGY, s.energy[i], diag));
        return ERG_OK;
    }
    /* An averaged reading covers the time between samples; prefer it. */
    for (size_t i = 0; i < s.n_power_avg; i++)
        ERG_RETURN_IF_ERROR(add_sensor(r, h, SENSOR_POWER_AVERAGE, s.power_avg[i], diag));
    for (size_t i = 0; i < s.n_power_in; i++)
        if (!has_index(s.power_avg, s.n_power_avg, s.power_in[i]))
            ERG_RETURN_IF_ERROR(add_sensor(r, h, SENSOR_POWER_INPUT, s.power_in[i], diag));
    if (strcmp(h->name, "ina3221") == 0)
        for (size_t i = 0; i < s.n_rail; i++)
            ERG_RETURN_IF_ERROR(add_sensor(r, h, SENSOR_RAIL, s.rail[i], diag));
    return ERG_OK;
}

typedef struct dir_list {
    const erg_allocator *alloc;
    char (*ids)[32];
    size_t n, cap;
    bool oom;
} dir_list;

static void collect_hwmon(void *user, const char *id) {
    dir_list *l = user;
    if (strncmp(id, "hwmon", 5) != 0 || strlen(id) >= 32)
        return;
    if (!erg_grow_array(l->alloc, (void **)&l->ids, sizeof *l->ids, &l->cap, l->n + 1)) {
        l->oom = true;
        return;
    }
    snprintf(l->ids[l->n++], 32, "%s", id);
}

erg_status erg_energy_discover_hwmon(erg_energy_registry *r, erg_energy_method want,
                                     erg_diag *diag) {
    char dir[ERG_ENERGY_PATH_MAX];
    erg_energy_path(&r->ctx, dir, sizeof dir, HWMON);
    dir_list l = {.alloc = r->ctx.alloc};
    int err = erg_energy_list_dir(&r->ctx, dir, collect_hwmon, &l);
    erg_status st = ERG_OK;
    if (l.oom || err == ENOMEM)
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "hwmon device list");
    size_t n_dropped = 0;
    for (size_t i = 0; i < l.n && st == ERG_OK; i++) {
        hwmon_dev h;
        memset(&h, 0, sizeof h);
        snprintf(h.id, sizeof h.id, "%s", l.ids[i]);
        st = scan_device(r, &h, want, &n_dropped, diag);
    }
    erg_free(r->ctx.alloc, l.ids);
    size_t n_iio = 0; /* JetPack 4's rails, beside hwmon */
    if (st == ERG_OK && want == ERG_ENERGY_POWER)
        st = erg_energy_discover_ina3221x(r, &n_iio, diag);
    if (st != ERG_OK)
        return st;
    size_t n_energy = 0, n_power = 0;
    for (size_t i = 0; i < r->n_domains; i++) {
        const erg_energy_desc *d = &r->domains[i]->desc;
        if (d->source == ERG_ENERGY_HWMON)
            *(d->method == ERG_ENERGY_COUNTER ? &n_energy : &n_power) += 1;
    }
    char rails[48] = "";
    if (n_iio)
        snprintf(rails, sizeof rails, " (%zu of them ina3221x rails)", n_iio);
    if (err)
        erg_energy_registry_set_note(r, ERG_ENERGY_HWMON, "no " HWMON " (%s)%s",
                                     erg_energy_errno_phrase(err), rails);
    else
        erg_energy_registry_set_note(r, ERG_ENERGY_HWMON,
                                     "%zu hwmon device(s): %zu energy, %zu power sensor(s)%s%s",
                                     l.n, n_energy, n_power, rails,
                                     n_dropped ? "; sensors past 32 of a kind left out" : "");
    return ERG_OK;
}
