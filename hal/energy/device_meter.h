/*
 * device_meter.h: one device's joules over windows of work, as `erg
 * profile` takes them. With a meter: an idle window first gives the
 * baseline, then each work window's joules are what the work added above
 * it. Without one, or once the meter fails (unreadable, stalled, a battery
 * plugged in), every window is the estimate, so a run is never half
 * measured: readings taken before a fall back are recomputed by the
 * caller with erg_device_energy_estimate(&m.dev, ...).
 *
 *     erg_device_meter m;
 *     erg_device_meter_open(&m, NULL, devs, n, index, &diag);
 *     if (erg_device_meter_window_s(&m) > 0) {     a meter: baseline first
 *         erg_device_meter_begin(&m);
 *         ... sleep idle_s ...
 *         erg_device_meter_end_idle(&m);
 *     }
 *     erg_device_meter_begin(&m);
 *     ... run, repeated until erg_device_meter_window_s(&m) has passed ...
 *     erg_energy_reading r;
 *     erg_device_meter_end(&m, busy_s, wall_s, &r);
 */
#ifndef ERG_HAL_ENERGY_DEVICE_METER_H
#define ERG_HAL_ENERGY_DEVICE_METER_H

#include "hal/energy/device_energy.h"

typedef struct erg_device_meter {
    erg_energy_registry *reg;
    erg_power_profiles profiles;
    erg_device_energy dev;        /* dev.domain NULL: estimating */
    erg_energy_baseline baseline;
    bool have_baseline;
    erg_energy_window window;
    bool window_open;
    bool fell_back;               /* had a meter, lost it: dev.why_estimate says why */
    char warning[200];            /* a caveat for the report ("" if none) */
} erg_device_meter;

/* Finds devs[index]'s meter (env NULL: the real system) and its power
 * profile (ERG_POWER_PROFILE overrides the defaults). Fails only on a bad
 * profile file or out of memory. */
erg_status erg_device_meter_open(erg_device_meter *m, const erg_energy_env *env,
                                 const erg_device_info *devs, size_t n, size_t index,
                                 erg_diag *diag);
void erg_device_meter_close(erg_device_meter *m);

/* How long a window must last to span ERG_ENERGY_MIN_UPDATES sensor
 * updates; 0 while estimating (an estimate has no updates to wait for). */
double erg_device_meter_window_s(const erg_device_meter *m);

/* Opens a window on the meter (nothing while estimating). */
void erg_device_meter_begin(erg_device_meter *m);
/* Closes a window over which the device was idle: its power becomes the
 * baseline, if the window spanned enough updates (else a warning says no
 * baseline is subtracted). */
void erg_device_meter_end_idle(erg_device_meter *m);
/* Closes a work window: busy_s of the device's node time in wall_s. The
 * meter's joules above the baseline, or the estimate. */
void erg_device_meter_end(erg_device_meter *m, double busy_s, double wall_s,
                          erg_energy_reading *out);

#endif
