/* The estimate: a power profile times measured busy time. */
#include "hal/energy/power_profile.h"

#include <string.h>

void erg_energy_estimate(const erg_power_profile *p, int n_threads, double busy_s, double wall_s,
                         erg_energy_reading *out) {
    memset(out, 0, sizeof *out);
    double scale = p->per_core ? (n_threads > 0 ? n_threads : 1) : 1;
    double idle_w = p->idle_watts * scale, active_w = p->active_watts * scale;
    if (busy_s < 0)
        busy_s = 0;
    if (wall_s < busy_s)
        wall_s = busy_s;
    out->source = ERG_ENERGY_ESTIMATE;
    out->seconds = wall_s;
    /* The device draws idle power all window long and active power while
     * busy; what the work added is the difference over the busy time. */
    out->raw_joules = idle_w * wall_s + (active_w - idle_w) * busy_s;
    out->joules = (active_w - idle_w) * busy_s;
    out->baseline_watts = idle_w;
    out->baseline_subtracted = true;
    out->window_ok = true; /* no sensor whose updates the window must span */
}
