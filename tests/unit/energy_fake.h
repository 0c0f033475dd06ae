/*
 * energy_fake.h: what the energy tests share: fake sysfs trees made in a
 * fresh temp directory at run time, an injected clock, and an I/O table that
 * fails chosen reads (CI runs as root, so chmod cannot deny a read).
 */
#ifndef ERG_TESTS_ENERGY_FAKE_H
#define ERG_TESTS_ENERGY_FAKE_H

#include "hal/energy/energy_io.h"

#include <stdbool.h>
#include <stddef.h>

/* Makes an empty root under $TMPDIR (or /tmp); false on failure (printed). */
bool fake_root_make(char *root, size_t cap);
/* Removes the root and everything under it. */
void fake_root_remove(const char *root);
/* Writes root/rel (parents made as needed); "" makes an empty file. */
bool fake_write(const char *root, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool fake_chmod(const char *root, const char *rel, unsigned mode);
bool fake_remove(const char *root, const char *rel);

/* A clock the test moves by hand. */
typedef struct fake_clock {
    double t;
} fake_clock;
double fake_clock_now(void *user);

/* The system's I/O, except that reading a path ending in deny_suffix fails
 * with deny_err, and perf events are simulated: perf_open fails with
 * perf_open_err when set, else opens a counter that reads perf_count. */
typedef struct fake_io {
    erg_energy_io io;
    const char *deny_suffix;
    int deny_err;
    int perf_open_err;
    unsigned long long perf_count;
    int perf_opened, perf_closed;
    unsigned perf_type;
    unsigned long long perf_config;
    int perf_cpu;
} fake_io;
void fake_io_init(fake_io *f);

/* An environment with the root, the fake I/O and clock, manual sampling. */
erg_energy_env fake_env(const char *root, fake_io *io, fake_clock *clock);

#endif
