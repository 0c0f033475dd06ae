/*
 * sources.h: discovery, one function per source, called by the registry in
 * the order of the issue: counters (RAPL, perf, hwmon energy, NVML energy),
 * sampled power (hwmon power, NVML power, INA3221 rails), battery. Each adds
 * the domains it finds, usable or not (so `erg devices` can say why not),
 * and leaves one note saying what it saw.
 */
#ifndef ERG_HAL_ENERGY_SOURCES_H
#define ERG_HAL_ENERGY_SOURCES_H

#include "hal/energy/domain_impl.h"
#include "hal/energy/registry.h"

struct erg_energy_registry {
    erg_energy_ctx ctx;
    erg_energy_domain **domains;
    size_t n_domains, cap_domains;
    char notes[ERG_ENERGY_SOURCE_COUNT][ERG_ENERGY_NOTE_MAX];
};

/* Sets the source's note (replacing an earlier one). */
void erg_energy_registry_set_note(erg_energy_registry *r, erg_energy_source s, const char *fmt,
                                  ...) __attribute__((format(printf, 3, 4)));

/* Creates a domain and adds it (ops NULL: listed only). */
erg_status erg_energy_registry_make(erg_energy_registry *r, const erg_energy_domain_ops *ops,
                                    const erg_energy_desc *desc, size_t impl_size,
                                    void **impl_out, erg_diag *diag);

/* Whether a usable domain of this source and scope was found. */
bool erg_energy_registry_has(const erg_energy_registry *r, erg_energy_source s,
                             erg_energy_scope scope);

erg_status erg_energy_discover_rapl(erg_energy_registry *r, erg_diag *diag);
/* Only where no RAPL package domain is readable. */
erg_status erg_energy_discover_perf(erg_energy_registry *r, erg_diag *diag);
/* want: ERG_ENERGY_COUNTER (energy*_input) or ERG_ENERGY_POWER (power
 * sensors and INA3221 rails), so counters come before sampled power. */
erg_status erg_energy_discover_hwmon(erg_energy_registry *r, erg_energy_method want,
                                     erg_diag *diag);
/* JetPack 4's ina3221x IIO rails (rails.c); hwmon's power pass calls it. */
erg_status erg_energy_discover_ina3221x(erg_energy_registry *r, size_t *n_rails, erg_diag *diag);
/* What a rail feeds, from its label ("VDD_CPU_GPU_CV", "POM_5V_IN" …). */
erg_energy_scope erg_energy_rail_scope(const char *label);
/* NVML devices: a total-energy counter where supported, else sampled power. */
erg_status erg_energy_discover_nvml(erg_energy_registry *r, erg_diag *diag);
erg_status erg_energy_discover_battery(erg_energy_registry *r, erg_diag *diag);
/* After discovery: one sum per source that found two or more CPU package
 * counters (package_sum.c). */
erg_status erg_energy_sum_packages(erg_energy_registry *r, erg_diag *diag);

#endif
