/*
 * power_profile.h: active and idle power per device, for the estimate a
 * device without a sensor gets: joules = (active - idle) x busy seconds,
 * the energy the work added above idle (the same thing a measured window
 * gives once its idle baseline is subtracted). Always labelled "estimate".
 *
 * Defaults come per device class, each with the figure it derives from.
 * A JSON file (ERG_POWER_PROFILE, or a path given by the caller) overrides
 * a class or adds an entry for one device by name:
 *
 *   {"profiles": [
 *     {"class": "desktop-cpu", "active_watts": 9.5, "idle_watts": 0.8,
 *      "per_core": true, "source": "my wall meter"},
 *     {"device": "vulkan:0", "active_watts": 120, "idle_watts": 12}
 *   ]}
 */
#ifndef ERG_HAL_ENERGY_POWER_PROFILE_H
#define ERG_HAL_ENERGY_POWER_PROFILE_H

#include "hal/energy/energy.h"

#include "erg/erg.h"

typedef struct erg_power_profile {
    char device_class[24]; /* "desktop-cpu" … */
    char device[32];       /* for this device only ("cpu", "vulkan:0"); "" for the class */
    double active_watts;
    double idle_watts;
    bool per_core;         /* watts per busy thread (CPU classes) */
    char source[200];      /* where the figures come from */
} erg_power_profile;

typedef struct erg_power_profiles {
    const erg_allocator *alloc;
    erg_power_profile *entries;
    size_t n, cap;
    char user_file[256];   /* the override file read, or "" */
} erg_power_profiles;

/* The defaults, then user_path's entries (NULL: ERG_POWER_PROFILE; ""
 * none). ERG_IO or ERG_FORMAT name the file and the entry at fault. */
erg_status erg_power_profiles_load(erg_power_profiles *p, const erg_allocator *alloc,
                                   const char *user_path, erg_diag *diag);
void erg_power_profiles_free(erg_power_profiles *p);

/* The class of a device: "desktop-cpu", "laptop-cpu", "server-cpu",
 * "mobile-soc", "integrated-gpu", "discrete-gpu", "npu", "accelerator".
 * Devices that run on the host's cores (llvmpipe, PoCL) take host_cpu's
 * class. on_battery_machine: the machine has a battery (a laptop). */
const char *erg_power_class_of(const erg_device_info *dev, const erg_device_info *host_cpu,
                               bool on_battery_machine);

/* The entry for dev (by name), else its class's; NULL if neither. */
const erg_power_profile *erg_power_profile_find(const erg_power_profiles *p,
                                                const char *device_name, const char *device_class);

/* The estimate for busy_s seconds of work inside a wall_s window, on
 * n_threads threads (per_core entries scale by it): joules above idle, with
 * the idle power as the baseline. Source ESTIMATE, never measured. */
void erg_energy_estimate(const erg_power_profile *p, int n_threads, double busy_s, double wall_s,
                         erg_energy_reading *out);

#endif
