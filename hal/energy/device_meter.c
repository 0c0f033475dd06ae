/* One device's meter over idle and work windows, falling back to the estimate. */
#include "hal/energy/device_meter.h"

#include <stdio.h>
#include <string.h>

erg_status erg_device_meter_open(erg_device_meter *m, const erg_energy_env *env,
                                 const erg_device_info *devs, size_t n, size_t index,
                                 erg_diag *diag) {
    memset(m, 0, sizeof *m);
    ERG_RETURN_IF_ERROR(
        erg_power_profiles_load(&m->profiles, env ? env->alloc : NULL, NULL, diag));
    erg_status st = erg_energy_registry_open(env, &m->reg, diag);
    if (st != ERG_OK) {
        erg_power_profiles_free(&m->profiles);
        return st;
    }
    erg_device_energy_resolve(m->reg, &m->profiles, devs, n, index, &m->dev);
    return ERG_OK;
}

void erg_device_meter_close(erg_device_meter *m) {
    if (m->window_open) { /* stops a power sensor's sampling thread */
        erg_energy_reading unused;
        erg_energy_window_end(&m->window, NULL, &unused, NULL);
        m->window_open = false;
    }
    erg_energy_registry_close(m->reg);
    m->reg = NULL;
    erg_power_profiles_free(&m->profiles);
}

double erg_device_meter_window_s(const erg_device_meter *m) {
    return m->dev.domain
               ? ERG_ENERGY_MIN_UPDATES * erg_energy_domain_desc(m->dev.domain)->update_interval_s
               : 0;
}

static void fall_back(erg_device_meter *m, const char *why) {
    if (m->window_open) {
        erg_energy_reading unused;
        erg_energy_window_end(&m->window, NULL, &unused, NULL);
        m->window_open = false;
    }
    erg_device_energy_fall_back(&m->dev, why);
    m->fell_back = true;
    m->have_baseline = false;
}

void erg_device_meter_begin(erg_device_meter *m) {
    if (!m->dev.domain || m->window_open)
        return;
    erg_diag diag = {{0}};
    if (erg_energy_window_begin(m->dev.domain, &m->window, &diag) != ERG_OK)
        fall_back(m, diag.msg);
    else
        m->window_open = true;
}

/* The open window's reading; false (having fallen back) if the meter
 * failed or its counter did not move. */
static bool end_window(erg_device_meter *m, const erg_energy_baseline *baseline,
                       const char *stalled_why, erg_energy_reading *r) {
    if (!m->dev.domain || !m->window_open)
        return false;
    erg_diag diag = {{0}};
    m->window_open = false;
    if (erg_energy_window_end(&m->window, baseline, r, &diag) != ERG_OK) {
        fall_back(m, diag.msg);
        return false;
    }
    if (r->stalled) {
        fall_back(m, stalled_why);
        return false;
    }
    return true;
}

void erg_device_meter_end_idle(erg_device_meter *m) {
    erg_energy_reading idle;
    if (!end_window(m, NULL, "the sensor's counter did not move while idle", &idle))
        return;
    if (!idle.window_ok) {
        /* A baseline from too few updates could be off by a whole step of
         * the sensor; none is better than a wrong one. */
        snprintf(m->warning, sizeof m->warning,
                 "the idle window (%.3f s) spans fewer than %d sensor updates: no idle baseline "
                 "subtracted",
                 idle.seconds, ERG_ENERGY_MIN_UPDATES);
        return;
    }
    m->baseline = erg_energy_baseline_from(&idle);
    m->have_baseline = true;
}

void erg_device_meter_end(erg_device_meter *m, double busy_s, double wall_s,
                          erg_energy_reading *out) {
    if (!end_window(m, m->have_baseline ? &m->baseline : NULL,
                    "the sensor's counter did not move during the run", out))
        erg_device_energy_estimate(&m->dev, busy_s, wall_s, out);
}
