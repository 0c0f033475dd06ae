/* One device's energy source: measured domain, else labelled estimate. */
#include "hal/energy/device_energy.h"

#include <stdio.h>
#include <string.h>

bool erg_energy_registry_has_battery(const erg_energy_registry *r) {
    for (size_t i = 0; i < erg_energy_registry_count(r); i++)
        if (erg_energy_domain_desc(erg_energy_registry_domain(r, i))->source == ERG_ENERGY_BATTERY)
            return true;
    return false;
}

static const erg_device_info *host_cpu_of(const erg_device_info *devs, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (devs[i].kind == ERG_DEVICE_CPU)
            return &devs[i];
    return NULL;
}

void erg_device_energy_resolve(const erg_energy_registry *r, const erg_power_profiles *profiles,
                               const erg_device_info *devs, size_t n, size_t index,
                               erg_device_energy *out) {
    memset(out, 0, sizeof *out);
    const erg_device_info *dev = &devs[index];
    const erg_device_info *host = host_cpu_of(devs, n);
    snprintf(out->device_class, sizeof out->device_class, "%s",
             erg_power_class_of(dev, host, erg_energy_registry_has_battery(r)));
    const erg_power_profile *p = erg_power_profile_find(profiles, dev->name, out->device_class);
    if (p) {
        out->have_profile = true;
        out->profile = *p;
    }
    if (dev->kind == ERG_DEVICE_CPU)
        out->threads = dev->n_threads > 0 ? dev->n_threads : 1;
    else if (dev->kind == ERG_DEVICE_OTHER && dev->unified_memory && host)
        out->threads = host->n_logical_cores > 0 ? host->n_logical_cores : 1;
    else
        out->threads = 1;
    out->domain = erg_energy_registry_find(r, devs, n, index);
    if (out->domain) {
        const erg_energy_desc *d = erg_energy_domain_desc(out->domain);
        out->source = d->source;
        out->measured = erg_energy_source_measured(d->source);
        erg_energy_domain_shared_with(d, devs, n, index, out->shared_with, sizeof out->shared_with);
    } else {
        out->source = ERG_ENERGY_ESTIMATE;
        snprintf(out->why_estimate, sizeof out->why_estimate, "no sensor");
    }
}

void erg_device_energy_fall_back(erg_device_energy *e, const char *why) {
    e->domain = NULL;
    e->source = ERG_ENERGY_ESTIMATE;
    e->measured = false;
    e->shared_with[0] = '\0';
    snprintf(e->why_estimate, sizeof e->why_estimate, "%s", why);
}

static void describe_interval(const erg_energy_desc *d, char *buf, size_t cap) {
    double s = d->update_interval_s;
    if (s < 1)
        snprintf(buf, cap, "%s%g ms updates", d->update_interval_assumed ? "~" : "", s * 1e3);
    else
        snprintf(buf, cap, "%s%g s updates", d->update_interval_assumed ? "~" : "", s);
}

void erg_device_energy_describe(const erg_device_energy *e, char *buf, size_t cap) {
    if (e->domain) {
        const erg_energy_desc *d = erg_energy_domain_desc(e->domain);
        char interval[32];
        describe_interval(d, interval, sizeof interval);
        int n = snprintf(buf, cap, "%s (%s): %s, %s, %s%s", erg_energy_source_name(d->source),
                         e->measured ? "measured" : "estimate", d->name,
                         d->method == ERG_ENERGY_COUNTER ? "counter" : "sampled power", interval,
                         d->needs_privilege ? ", needs root" : "");
        if (e->shared_with[0] && n > 0 && (size_t)n < cap)
            snprintf(buf + n, cap - (size_t)n, "; shared with %s", e->shared_with);
        return;
    }
    if (!e->have_profile) {
        snprintf(buf, cap, "estimate (%.120s): no power profile for class %s", e->why_estimate,
                 e->device_class);
        return;
    }
    const erg_power_profile *p = &e->profile;
    if (p->per_core)
        snprintf(buf, cap, "estimate (%.120s): %s profile, %g W active / %g W idle per thread x %d",
                 e->why_estimate, p->device[0] ? p->device : p->device_class, p->active_watts,
                 p->idle_watts, e->threads);
    else
        snprintf(buf, cap, "estimate (%.120s): %s profile, %g W active / %g W idle",
                 e->why_estimate, p->device[0] ? p->device : p->device_class, p->active_watts,
                 p->idle_watts);
}

void erg_device_energy_estimate(const erg_device_energy *e, double busy_s, double wall_s,
                                erg_energy_reading *out) {
    static const erg_power_profile none = {"", "", 0, 0, false, ""};
    erg_energy_estimate(e->have_profile ? &e->profile : &none, e->threads, busy_s, wall_s, out);
}
