/* The joules of erg bench's timed runs: the device meter, its estimate, or a simulation's own. */
#include "bench/energy.h"

#include "hal/timer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

erg_status erg_bench_energy_open(erg_runtime *rt, const char *device, erg_bench_energy *e,
                                 char *err, size_t err_size) {
    memset(e, 0, sizeof *e);
    size_t n = erg_runtime_device_count(rt), index = 0;
    erg_device_info *devs = calloc(n ? n : 1, sizeof *devs);
    if (!devs) {
        snprintf(err, err_size, "out of memory");
        return ERG_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        devs[i].struct_size = sizeof devs[i];
        erg_runtime_device_info(rt, i, &devs[i]);
        if (strcmp(devs[i].name, device) == 0 && !devs[i].simulated)
            index = i;
    }
    erg_diag diag = {{0}};
    e->host_cores = devs[index].kind == ERG_DEVICE_OTHER && devs[index].unified_memory;
    erg_status st = erg_device_meter_open(&e->meter, NULL, devs, n, index, &diag);
    free(devs);
    if (st != ERG_OK) {
        snprintf(err, err_size, "%s", diag.msg);
        return st;
    }
    e->open = true;
    return ERG_OK;
}

void erg_bench_energy_close(erg_bench_energy *e) {
    if (e->open)
        erg_device_meter_close(&e->meter);
    e->open = false;
}

void erg_bench_energy_idle(erg_bench_energy *e) {
    double need = erg_device_meter_window_s(&e->meter);
    if (need <= 0)
        return;
    double idle_s = need < 0.25 ? 0.25 : need;
    struct timespec ts = {(time_t)idle_s, (long)((idle_s - (double)(time_t)idle_s) * 1e9)};
    erg_device_meter_begin(&e->meter);
    while (nanosleep(&ts, &ts) != 0)
        ;
    erg_device_meter_end_idle(&e->meter);
}

void erg_bench_energy_begin(erg_bench_energy *e) {
    e->window_start = erg_time_s();
    erg_device_meter_begin(&e->meter);
}

void erg_bench_energy_end(erg_bench_energy *e, double busy_s, double wall_s,
                          double simulated_joules, double simulated_s,
                          erg_bench_energy_sum *sum) {
    erg_energy_reading r;
    /* A sensor (dev.domain) saw the whole window; an estimate, busy_s. */
    double window_s = e->meter.dev.domain ? erg_time_s() - e->window_start : 0;
    erg_device_meter_end(&e->meter, busy_s, wall_s, &r);
    sum->busy_s += busy_s;
    sum->wall_s += wall_s;
    if (simulated_joules > 0) {
        /* The simulator's work in a sensor's window is not theirs. */
        double share = window_s > 0 ? fmin(1, wall_s / window_s) : 1;
        sum->simulated = true;
        sum->joules += simulated_joules + (wall_s > 0 ? r.joules * share : 0);
        sum->simulated_s += simulated_s;
    } else {
        sum->joules += r.joules;
    }
}

double erg_bench_energy_delay_s(const erg_bench_energy_sum *sum) {
    return sum->wall_s + sum->simulated_s;
}

double erg_bench_energy_joules(const erg_bench_energy *e, const erg_bench_energy_sum *sum) {
    if (!e->meter.fell_back || sum->simulated)
        return sum->joules;
    erg_energy_reading r;
    erg_device_energy_estimate(&e->meter.dev, sum->busy_s, sum->wall_s, &r);
    return r.joules;
}

erg_energy_source erg_bench_energy_source(const erg_bench_energy *e,
                                          const erg_bench_energy_sum *sum) {
    return sum->simulated ? ERG_ENERGY_SIMULATED : e->meter.dev.source;
}
