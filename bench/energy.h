/*
 * energy.h: the joules of a test's timed runs, taken the way `erg profile`
 * takes them: the device's meter (idle baseline first, one window per
 * timed run), else the labelled estimate (power profile x busy time), and
 * for a simulated device (npu-sim) the joules its own model reports.
 */
#ifndef ERG_BENCH_ENERGY_H
#define ERG_BENCH_ENERGY_H

#include "hal/energy/device_meter.h"

typedef struct erg_bench_energy {
    erg_device_meter meter;
    bool open;
    /* A GPU API implemented on the host's own cores (lavapipe, PoCL): its
     * kernel timers leave out the host-side work between kernels, which
     * keeps the same cores busy, so its busy time is the wall time, as for
     * the CPU device. */
    bool host_cores;
    double window_start;  /* of the open window (erg_time_s) */
} erg_bench_energy;

/* One test's windows added up. */
typedef struct erg_bench_energy_sum {
    /* wall_s: the runs' measured time; of a partly simulated run, its
     * measured parts (the CPU's, say: the host wall less the time spent
     * simulating), whose joules are the meter's. */
    double joules, busy_s, wall_s;
    bool simulated;        /* the device's own model reported joules */
    double simulated_s;    /* and the seconds its model took */
} erg_bench_energy_sum;

/* The meter of the runtime's device named `device` (the CPU's when no
 * device has that name, e.g. "auto", or when it is simulated: its joules
 * are its model's, and the meter covers the parts the CPU runs); ERG_IO
 * or ERG_FORMAT with the reason in err (a bad power profile file). */
erg_status erg_bench_energy_open(erg_runtime *rt, const char *device, erg_bench_energy *e,
                                 char *err, size_t err_size);
void erg_bench_energy_close(erg_bench_energy *e);

/* With a meter: its idle baseline, over an idle window of 10 updates and at
 * least 250 ms. Nothing while estimating. */
void erg_bench_energy_idle(erg_bench_energy *e);

/* A window around one timed run, added to sum: busy_s of device time (the
 * wall time on devices without timers) in wall_s; simulated_joules and
 * simulated_s the run's from the device's model (0 for real devices). A
 * partly simulated run passes its measured parts' time as busy_s and
 * wall_s: their joules (the host's meter or estimate over that time; a
 * sensor's window scaled to it) are added to the model's. */
void erg_bench_energy_begin(erg_bench_energy *e);
void erg_bench_energy_end(erg_bench_energy *e, double busy_s, double wall_s,
                          double simulated_joules, double simulated_s,
                          erg_bench_energy_sum *sum);

/* A test's delay: its runs' measured time plus what a simulated device's
 * model took (the host's wall time in simulating is the simulator's, no
 * device's); a test that used the simulated device in some runs only
 * (auto placing again) counts the others whole. */
double erg_bench_energy_delay_s(const erg_bench_energy_sum *sum);

/* A test's joules and where they came from. A meter that failed during the
 * run makes every window the estimate (never half measured). */
double erg_bench_energy_joules(const erg_bench_energy *e, const erg_bench_energy_sum *sum);
erg_energy_source erg_bench_energy_source(const erg_bench_energy *e,
                                          const erg_bench_energy_sum *sum);

#endif
