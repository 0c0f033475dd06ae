/*
 * registry.h: every energy domain found under the root, and which one
 * measures a given erg device.
 *
 * Discovery follows the order: cumulative counters (RAPL, perf
 * energy-pkg where RAPL is unreadable, hwmon energy, NVML total energy),
 * then sampled power (hwmon power, NVML power usage, INA3221 rails), then
 * battery gauges. Two or more CPU package counters of one source are then
 * summed into one domain (a CPU on two sockets draws from both). Plugins
 * add their own meters with erg_energy_registry_add.
 *
 * For a device, the registry prefers the domain closest to it (a GPU's own
 * sensor over the whole platform's; a package over its cores), then the
 * earlier source. A device no domain covers falls back to the estimate
 * (power_profile.h), which is always labelled as such.
 */
#ifndef ERG_HAL_ENERGY_REGISTRY_H
#define ERG_HAL_ENERGY_REGISTRY_H

#include "hal/energy/energy_io.h"

#include "erg/erg.h"

typedef struct erg_energy_registry erg_energy_registry;

/* Discovers the domains (env may be NULL: the real system). Only running
 * out of memory fails; a missing or unreadable source leaves a note. */
erg_status erg_energy_registry_open(const erg_energy_env *env, erg_energy_registry **out,
                                    erg_diag *diag);
void erg_energy_registry_close(erg_energy_registry *r);

size_t erg_energy_registry_count(const erg_energy_registry *r);
erg_energy_domain *erg_energy_registry_domain(const erg_energy_registry *r, size_t i);
const erg_energy_ctx *erg_energy_registry_ctx(const erg_energy_registry *r);

/* What the source found, or why nothing: "no /sys/class/powercap (missing)". */
const char *erg_energy_registry_note(const erg_energy_registry *r, erg_energy_source s);

/* Adds a domain made elsewhere (a plugin's meter); the registry owns it
 * from here on, and closes it if adding fails. */
erg_status erg_energy_registry_add(erg_energy_registry *r, erg_energy_domain *d, erg_diag *diag);

/* Whether domain d covers devs[index] (devs: all devices of the runtime, so
 * a sensor of one of two same-vendor cards is not guessed onto either). */
bool erg_energy_domain_covers(const erg_energy_desc *d, const erg_device_info *devs, size_t n,
                              size_t index);

/* The usable domain that best measures devs[index], or NULL. */
erg_energy_domain *erg_energy_registry_find(const erg_energy_registry *r,
                                            const erg_device_info *devs, size_t n, size_t index);

/* Names of the devices d covers other than devs[index] ("vulkan:0,
 * opencl:0"), "" if none; index n lists every device it covers. */
void erg_energy_domain_shared_with(const erg_energy_desc *d, const erg_device_info *devs, size_t n,
                                   size_t index, char *buf, size_t cap);

#endif
