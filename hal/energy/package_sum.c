/*
 * A CPU that spans several packages draws from all of them, so one domain
 * sums the package counters a source found (RAPL package-0 and package-1,
 * perf on each package's CPU, amd_energy's sockets). Each part folds its
 * own wrap-arounds; the sum of their running totals never wraps. The parts
 * stay listed (with a note) and are not chosen for a device on their own.
 */
#include "hal/energy/sources.h"

#include <stdio.h>
#include <string.h>

typedef struct sum_impl {
    size_t n;
    erg_energy_domain *parts[]; /* owned by the registry */
} sum_impl;

static erg_status sum_read(erg_energy_domain *d, double *joules, erg_diag *diag) {
    const sum_impl *impl = d->impl;
    double total = 0;
    for (size_t i = 0; i < impl->n; i++) {
        double part;
        ERG_RETURN_IF_ERROR(erg_energy_domain_read_joules(impl->parts[i], &part, diag));
        total += part;
    }
    *joules = total;
    return ERG_OK;
}

static const erg_energy_domain_ops sum_ops = {sum_read, NULL, NULL};

static bool is_package_counter(const erg_energy_domain *d, erg_energy_source s) {
    return d->desc.usable && !d->summed_into && d->desc.source == s &&
           d->desc.method == ERG_ENERGY_COUNTER && d->desc.scope == ERG_ENERGY_SCOPE_CPU_PACKAGE;
}

static erg_status sum_source(erg_energy_registry *r, erg_energy_source s, erg_diag *diag) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_domains; i++)
        n += is_package_counter(r->domains[i], s);
    if (n < 2)
        return ERG_OK;
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, s, ERG_ENERGY_COUNTER, ERG_ENERGY_SCOPE_CPU_PACKAGE);
    snprintf(desc.name, sizeof desc.name, "%zu packages (%s)", n, erg_energy_source_name(s));
    int len = snprintf(desc.note, sizeof desc.note, "sum of");
    size_t cap = r->n_domains; /* the parts, found before the sum is added */
    erg_energy_domain *first = NULL;
    for (size_t i = 0; i < cap; i++) {
        const erg_energy_domain *p = r->domains[i];
        if (!is_package_counter(p, s))
            continue;
        if (!first)
            first = r->domains[i];
        /* The sum updates as often as its slowest part and is as coarse
         * as its coarsest one. */
        if (p->desc.update_interval_s > desc.update_interval_s)
            desc.update_interval_s = p->desc.update_interval_s;
        desc.update_interval_assumed |= p->desc.update_interval_assumed;
        if (p->desc.resolution > desc.resolution)
            desc.resolution = p->desc.resolution;
        desc.needs_privilege |= p->desc.needs_privilege;
        if (len > 0 && (size_t)len < sizeof desc.note)
            len += snprintf(desc.note + len, sizeof desc.note - (size_t)len, "%s %s",
                            p == first ? "" : ",", p->desc.name);
    }
    snprintf(desc.path, sizeof desc.path, "%s", first->desc.path);
    void *v;
    ERG_RETURN_IF_ERROR(erg_energy_registry_make(r, &sum_ops, &desc,
                                                 sizeof(sum_impl) + n * sizeof(erg_energy_domain *),
                                                 &v, diag));
    sum_impl *impl = v;
    erg_energy_domain *sum = r->domains[r->n_domains - 1];
    for (size_t i = 0; i < cap; i++) {
        erg_energy_domain *p = r->domains[i];
        if (!is_package_counter(p, s))
            continue;
        impl->parts[impl->n++] = p;
        p->summed_into = sum;
        char old[ERG_ENERGY_NOTE_MAX];
        snprintf(old, sizeof old, "%s", p->desc.note);
        snprintf(p->desc.note, sizeof p->desc.note, "one part of %.60s%s%.100s", desc.name,
                 old[0] ? "; " : "", old);
    }
    return ERG_OK;
}

erg_status erg_energy_sum_packages(erg_energy_registry *r, erg_diag *diag) {
    static const erg_energy_source sources[] = {ERG_ENERGY_RAPL, ERG_ENERGY_PERF,
                                                ERG_ENERGY_HWMON};
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++)
        ERG_RETURN_IF_ERROR(sum_source(r, sources[i], diag));
    return ERG_OK;
}
