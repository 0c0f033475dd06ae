/*
 * calib_cache.h: calibrated device costs on disk, one JSON file per model
 * shape in erg's cache directory (scheduler/<model key>.json), each device
 * keyed by its identity (backend, vendor, description, driver and erg
 * version). A device whose entry is missing or whose identity changed is
 * calibrated again; a file that does not parse is ignored with a warning.
 * An entry measured in part (its calibration cut short by a time budget)
 * carries "partial_s", the seconds it had.
 */
#ifndef ERG_SCHEDULER_CALIB_CACHE_H
#define ERG_SCHEDULER_CALIB_CACHE_H

#include "scheduler/cost_model.h"

/* Fills costs[i] (whose device and identity are set) from the file where
 * an entry with the same identity exists; found[i] says which. A missing
 * file finds nothing (ERG_OK); a corrupt one gives ERG_FORMAT, naming it. */
erg_status erg_calib_cache_load(const char *path, const erg_allocator *a, erg_device_costs *costs,
                                bool *found, size_t n, erg_diag *diag);

/* Writes costs[0 .. n) to path, whole or not at all. */
erg_status erg_calib_cache_save(const char *path, const erg_device_costs *costs, size_t n,
                                erg_diag *diag);

#endif
