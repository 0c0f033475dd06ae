/*
 * energy.h: energy domains. A domain is one meter: a RAPL zone, a hwmon
 * sensor, an NVML device, a battery gauge. It says what it covers, how
 * often it updates, how fine and how far it counts, and whether it needs
 * privileges; every reading says where its joules came from.
 *
 * A domain is either a counter (cumulative joules, read at the two ends of a
 * window) or a power sensor (watts, sampled by a thread and integrated over
 * the window). Either way the caller sees the same window API:
 *
 *     erg_energy_window w;
 *     erg_energy_window_begin(d, &w, diag);
 *     ... run the work ...
 *     erg_energy_reading r;
 *     erg_energy_window_end(&w, &baseline, &r, diag);
 *
 * Nothing here is read per op: a window spans a whole run (or a calibration
 * loop), and per-op joules are apportioned from it by the profiler.
 */
#ifndef ERG_HAL_ENERGY_ENERGY_H
#define ERG_HAL_ENERGY_ENERGY_H

#include "base/diag.h"

#include <stdbool.h>
#include <stdint.h>

/* Where joules come from. The measured ones first, in the order the
 * registry prefers them; ESTIMATE and SIMULATED are never measurements. */
typedef enum erg_energy_source {
    ERG_ENERGY_RAPL = 0,   /* powercap energy_uj */
    ERG_ENERGY_PERF,       /* perf power/energy-pkg */
    ERG_ENERGY_HWMON,      /* hwmon energy*_input, power*_input/_average, INA3221 rails */
    ERG_ENERGY_NVML,       /* NVIDIA's management library */
    ERG_ENERGY_BATTERY,    /* power_supply gauge, while discharging */
    ERG_ENERGY_PLUGIN,     /* reported by a vendor plugin */
    ERG_ENERGY_ESTIMATE,   /* power profile x busy time */
    ERG_ENERGY_SIMULATED,  /* a simulated device's own model */
    ERG_ENERGY_SOURCE_COUNT
} erg_energy_source;

/* "rapl", "perf", "hwmon", "nvml", "battery", "plugin", "estimate", "simulated". */
const char *erg_energy_source_name(erg_energy_source s);
/* True for the sources that read a sensor. */
bool erg_energy_source_measured(erg_energy_source s);

typedef enum erg_energy_method {
    ERG_ENERGY_COUNTER = 0, /* cumulative joules, differenced over a window */
    ERG_ENERGY_POWER        /* watts, sampled and integrated over a window */
} erg_energy_method;

/* What part of the machine a domain covers. */
typedef enum erg_energy_scope {
    ERG_ENERGY_SCOPE_CPU_PACKAGE = 0, /* cores, caches, uncore, and an iGPU on the same die */
    ERG_ENERGY_SCOPE_CPU_CORES,       /* the cores alone (RAPL PP0) */
    ERG_ENERGY_SCOPE_IGPU,            /* the graphics plane of a package or SoC */
    ERG_ENERGY_SCOPE_GPU,             /* one PCI card */
    ERG_ENERGY_SCOPE_DRAM,            /* memory: no compute device */
    ERG_ENERGY_SCOPE_PLATFORM,        /* the whole system: psys, battery, board input */
    ERG_ENERGY_SCOPE_OTHER            /* a rail or sensor erg cannot place */
} erg_energy_scope;

const char *erg_energy_scope_name(erg_energy_scope s);

#define ERG_ENERGY_NAME_MAX 64
#define ERG_ENERGY_PATH_MAX 256
#define ERG_ENERGY_NOTE_MAX 200

/* How many sensor updates a window must span for its joules to be trusted. */
#define ERG_ENERGY_MIN_UPDATES 10

typedef struct erg_energy_desc {
    char name[ERG_ENERGY_NAME_MAX];  /* "package-0 (intel-rapl:0)" */
    char path[ERG_ENERGY_PATH_MAX];  /* the file (or library) read, as seen under the root */
    erg_energy_source source;
    erg_energy_method method;
    erg_energy_scope scope;
    uint16_t pci_vendor;             /* GPU scope: the card's PCI vendor id; 0 unknown */
    char pci_slot[16];               /* "0000:03:00.0", or "" */
    double update_interval_s;        /* how often the sensor's value changes */
    bool update_interval_assumed;    /* the sensor does not say; a typical value */
    double resolution;               /* joules (counter) or watts (power) per step */
    double wrap_joules;              /* a counter wraps to 0 past this; 0: never */
    bool needs_privilege;            /* root (or a capability) reads it on current kernels */
    bool usable;                     /* false: listed only (duplicate, unreadable, off) */
    char note[ERG_ENERGY_NOTE_MAX];  /* why unusable, what it overlaps, what it assumes */
} erg_energy_desc;

/* Joules over one window. */
typedef struct erg_energy_reading {
    double joules;             /* after the baseline, when baseline_subtracted */
    double raw_joules;         /* what the meter saw */
    double seconds;            /* the window's length */
    double baseline_watts;     /* idle power subtracted (0 when none) */
    erg_energy_source source;
    bool baseline_subtracted;
    bool window_ok;            /* spans at least ERG_ENERGY_MIN_UPDATES sensor updates */
    bool stalled;              /* a counter that did not move over a window long enough to */
    uint32_t n_samples;        /* power sensors: samples integrated */
} erg_energy_reading;

/* Idle power of a domain, measured over a window with nothing running. */
typedef struct erg_energy_baseline {
    double watts;
    double seconds;
} erg_energy_baseline;

/* The baseline an idle window's reading gives. */
erg_energy_baseline erg_energy_baseline_from(const erg_energy_reading *idle);

/* A clock in seconds. Tests inject one so integration is deterministic. */
typedef struct erg_energy_clock {
    double (*now)(void *user);
    void *user;
} erg_energy_clock;

typedef struct erg_energy_domain erg_energy_domain;

const erg_energy_desc *erg_energy_domain_desc(const erg_energy_domain *d);

/* Cumulative joules a counter domain has seen since it was opened, with
 * wrap-arounds folded in (each read must come within one wrap period). */
erg_status erg_energy_domain_read_joules(erg_energy_domain *d, double *joules, erg_diag *diag);

/* Power domains: takes one sample now and integrates it. The sampling
 * thread calls this; tests with manual sampling call it themselves. */
erg_status erg_energy_domain_poll(erg_energy_domain *d, erg_diag *diag);

typedef struct erg_energy_window {
    erg_energy_domain *domain;
    double t0;
    double joules0;
    uint32_t samples0;
} erg_energy_window;

/* Starts a window (and, for a power domain, its sampling thread). */
erg_status erg_energy_window_begin(erg_energy_domain *d, erg_energy_window *w, erg_diag *diag);
/* Ends it: the joules since begin, minus baseline x seconds when baseline
 * is not NULL (never below zero; raw_joules keeps the meter's value). */
erg_status erg_energy_window_end(erg_energy_window *w, const erg_energy_baseline *baseline,
                                 erg_energy_reading *out, erg_diag *diag);

void erg_energy_domain_close(erg_energy_domain *d);

#endif
