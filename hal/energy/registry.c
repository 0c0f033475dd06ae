/* The energy registry: discovery in order, and device mapping. */
#include "hal/energy/sources.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

erg_status erg_energy_registry_add(erg_energy_registry *r, erg_energy_domain *d, erg_diag *diag) {
    if (!erg_grow_array(r->ctx.alloc, (void **)&r->domains, sizeof *r->domains, &r->cap_domains,
                        r->n_domains + 1)) {
        erg_energy_domain_close(d);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "energy domain list");
    }
    r->domains[r->n_domains++] = d;
    return ERG_OK;
}

erg_status erg_energy_registry_make(erg_energy_registry *r, const erg_energy_domain_ops *ops,
                                    const erg_energy_desc *desc, size_t impl_size,
                                    void **impl_out, erg_diag *diag) {
    erg_energy_domain *d;
    ERG_RETURN_IF_ERROR(
        erg_energy_domain_create(&r->ctx, ops, desc, impl_size, &d, impl_out, diag));
    return erg_energy_registry_add(r, d, diag);
}

void erg_energy_registry_set_note(erg_energy_registry *r, erg_energy_source s, const char *fmt,
                                  ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes[s], sizeof r->notes[s], fmt, ap);
    va_end(ap);
}

bool erg_energy_registry_has(const erg_energy_registry *r, erg_energy_source s,
                             erg_energy_scope scope) {
    for (size_t i = 0; i < r->n_domains; i++) {
        const erg_energy_desc *d = &r->domains[i]->desc;
        if (d->usable && d->source == s && d->scope == scope)
            return true;
    }
    return false;
}

erg_status erg_energy_registry_open(const erg_energy_env *env, erg_energy_registry **out,
                                    erg_diag *diag) {
    *out = NULL;
    const erg_allocator *a = erg_allocator_or_default(env ? env->alloc : NULL);
    erg_energy_registry *r = erg_calloc(a, 1, sizeof *r);
    if (!r)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "energy registry");
    erg_energy_ctx_init(&r->ctx, env);
    erg_energy_registry_set_note(r, ERG_ENERGY_PLUGIN, "none registered");
    erg_energy_registry_set_note(r, ERG_ENERGY_ESTIMATE, "power profile x busy time");
    erg_status st = erg_energy_discover_rapl(r, diag);
    if (st == ERG_OK)
        st = erg_energy_discover_perf(r, diag);
    if (st == ERG_OK)
        st = erg_energy_discover_hwmon(r, ERG_ENERGY_COUNTER, diag);
    if (st == ERG_OK)
        st = erg_energy_discover_nvml(r, diag);
    if (st == ERG_OK)
        st = erg_energy_discover_hwmon(r, ERG_ENERGY_POWER, diag);
    if (st == ERG_OK)
        st = erg_energy_discover_battery(r, diag);
    if (st == ERG_OK)
        st = erg_energy_sum_packages(r, diag);
    if (st != ERG_OK) {
        erg_energy_registry_close(r);
        return st;
    }
    *out = r;
    return ERG_OK;
}

void erg_energy_registry_close(erg_energy_registry *r) {
    if (!r)
        return;
    for (size_t i = 0; i < r->n_domains; i++)
        erg_energy_domain_close(r->domains[i]);
    const erg_allocator *a = r->ctx.alloc;
    erg_free(a, r->domains);
    erg_free(a, r);
}

size_t erg_energy_registry_count(const erg_energy_registry *r) { return r->n_domains; }

erg_energy_domain *erg_energy_registry_domain(const erg_energy_registry *r, size_t i) {
    return i < r->n_domains ? r->domains[i] : NULL;
}

const erg_energy_ctx *erg_energy_registry_ctx(const erg_energy_registry *r) { return &r->ctx; }

const char *erg_energy_registry_note(const erg_energy_registry *r, erg_energy_source s) {
    return (unsigned)s < ERG_ENERGY_SOURCE_COUNT ? r->notes[s] : "";
}

/* ---- device mapping ------------------------------------------------------ */

/* erg's CPU, and devices that run on its cores (llvmpipe, PoCL): the
 * Vulkan and OpenCL backends call those "other" with host memory. */
static bool on_host_cpu(const erg_device_info *d) {
    return d->kind == ERG_DEVICE_CPU || (d->kind == ERG_DEVICE_OTHER && d->unified_memory);
}

static bool contains_ci(const char *s, const char *word) {
    size_t n = strlen(word);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == word[i])
            i++;
        if (i == n)
            return true;
    }
    return false;
}

/* The PCI vendor a device's vendor string names (Vulkan: "AMD"; OpenCL:
 * "Advanced Micro Devices, Inc."), 0 if unknown. */
static uint16_t pci_vendor_of(const erg_device_info *d) {
    if (contains_ci(d->vendor, "nvidia"))
        return 0x10de;
    if (contains_ci(d->vendor, "amd") || contains_ci(d->vendor, "advanced micro"))
        return 0x1002;
    if (contains_ci(d->vendor, "intel"))
        return 0x8086;
    return 0;
}

bool erg_energy_domain_covers(const erg_energy_desc *d, const erg_device_info *devs, size_t n,
                              size_t index) {
    const erg_device_info *dev = &devs[index];
    bool igpu = dev->kind == ERG_DEVICE_GPU && dev->unified_memory;
    switch (d->scope) {
    case ERG_ENERGY_SCOPE_CPU_PACKAGE: return on_host_cpu(dev) || igpu;
    case ERG_ENERGY_SCOPE_CPU_CORES: return on_host_cpu(dev);
    case ERG_ENERGY_SCOPE_IGPU: return igpu;
    case ERG_ENERGY_SCOPE_PLATFORM: return true;
    case ERG_ENERGY_SCOPE_GPU: break;
    default: return false;
    }
    if (dev->kind != ERG_DEVICE_GPU || !d->pci_vendor || pci_vendor_of(dev) != d->pci_vendor)
        return false;
    /* Two cards of one vendor in one backend: the sensor cannot be placed
     * without the PCI address, which the device info does not carry. */
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += devs[i].kind == ERG_DEVICE_GPU && strcmp(devs[i].backend, dev->backend) == 0 &&
                pci_vendor_of(&devs[i]) == d->pci_vendor;
    return same == 1;
}

/* Lower is closer to the device; only called for covering domains. */
static int scope_rank(erg_energy_scope s, const erg_device_info *dev) {
    if (s == ERG_ENERGY_SCOPE_PLATFORM)
        return 3;
    if (on_host_cpu(dev))
        return s == ERG_ENERGY_SCOPE_CPU_PACKAGE ? 0 : 1;
    return s == ERG_ENERGY_SCOPE_CPU_PACKAGE ? 1 : 0; /* a GPU: its own plane or card first */
}

/* The order: counters, then sampled power, then battery, then plugins. */
static int source_rank(const erg_energy_desc *d) {
    if (d->source == ERG_ENERGY_BATTERY)
        return 20;
    if (d->source == ERG_ENERGY_PLUGIN)
        return 30;
    return (d->method == ERG_ENERGY_POWER ? 10 : 0) + (int)d->source;
}

erg_energy_domain *erg_energy_registry_find(const erg_energy_registry *r,
                                            const erg_device_info *devs, size_t n, size_t index) {
    erg_energy_domain *best = NULL;
    int best_rank = 0;
    for (size_t i = 0; i < r->n_domains; i++) {
        const erg_energy_desc *d = &r->domains[i]->desc;
        if (!d->usable || r->domains[i]->summed_into ||
            !erg_energy_domain_covers(d, devs, n, index))
            continue;
        int rank = scope_rank(d->scope, &devs[index]) * 100 + source_rank(d);
        if (!best || rank < best_rank) {
            best = r->domains[i];
            best_rank = rank;
        }
    }
    return best;
}

void erg_energy_domain_shared_with(const erg_energy_desc *d, const erg_device_info *devs, size_t n,
                                   size_t index, char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i == index || !erg_energy_domain_covers(d, devs, n, i))
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", devs[i].name);
    }
}
