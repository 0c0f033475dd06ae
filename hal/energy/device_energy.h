/*
 * device_energy.h: where one device's joules come from: the domain that
 * measures it, or else the estimate from its power profile. What `erg
 * devices` prints and `erg profile` uses.
 */
#ifndef ERG_HAL_ENERGY_DEVICE_ENERGY_H
#define ERG_HAL_ENERGY_DEVICE_ENERGY_H

#include "hal/energy/power_profile.h"
#include "hal/energy/registry.h"

typedef struct erg_device_energy {
    erg_energy_domain *domain;  /* NULL: estimated */
    erg_energy_source source;   /* the domain's, or ERG_ENERGY_ESTIMATE */
    bool measured;
    char device_class[24];
    bool have_profile;
    erg_power_profile profile;  /* the estimate's figures (when have_profile) */
    int threads;                /* what per-core figures scale by */
    char shared_with[128];      /* other devices the measuring domain covers */
    char why_estimate[160];     /* why there is no measurement: "no sensor" … */
} erg_device_energy;

/* Resolves devs[index] (devs: every device of the runtime). */
void erg_device_energy_resolve(const erg_energy_registry *r, const erg_power_profiles *profiles,
                               const erg_device_info *devs, size_t n, size_t index,
                               erg_device_energy *out);

/* One line for people, e.g.
 *   "rapl (measured): package-0 (intel-rapl:0), ~1 ms updates; shared with vulkan:0"
 *   "estimate: server-cpu profile, 4.4 W active / 1.1 W idle per thread x 2" */
void erg_device_energy_describe(const erg_device_energy *e, char *buf, size_t cap);

/* Drops the measuring domain (it failed or stalled): the estimate is used,
 * and why says so wherever its joules are shown. */
void erg_device_energy_fall_back(erg_device_energy *e, const char *why);

/* The estimate for busy_s seconds of the device's work in a wall_s window. */
void erg_device_energy_estimate(const erg_device_energy *e, double busy_s, double wall_s,
                                erg_energy_reading *out);

/* Whether a battery is present (charging or not): the machine is a laptop. */
bool erg_energy_registry_has_battery(const erg_energy_registry *r);

#endif
