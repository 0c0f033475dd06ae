/*
 * discover_internal.h: what the discovery sources share: the resolved roots
 * (file reads go through hal/energy's I/O helpers, so ERG_SYSFS_ROOT means
 * one thing everywhere), the list they append to, and the description of a
 * device behind a sysfs class entry.
 */
#ifndef ERG_HAL_DISCOVER_INTERNAL_H
#define ERG_HAL_DISCOVER_INTERNAL_H

#include "hal/discover/discover.h"
#include "hal/energy/energy_io.h"

typedef struct erg_discover_ctx {
    erg_energy_ctx io;      /* the sysfs root and reads */
    char dev_root[256];
    char libdrm[128];
    /* A root points at a fake tree: libdrm, which reads the real /dev/dri,
     * is not asked. */
    bool redirected;
} erg_discover_ctx;

/* The next free entry of out (zeroed), or NULL when the list is full. */
erg_accel *erg_accel_list_add(erg_accel_list *out);

/* Adds one note to out (dropped when the notes are full). */
void erg_accel_note(erg_accel_list *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Describes the device behind the sysfs class entry at entry (a joined
 * path, e.g. <root>/sys/class/accel/accel0): its bus path from the resolved
 * `device` link, its driver from that device's `driver` link, and its PCI
 * ids. Returns NULL, or why the entry is unusable ("its device link
 * dangles"). */
const char *erg_sysfs_describe(const erg_discover_ctx *c, const char *entry, erg_accel *a);

void erg_discover_drm(const erg_discover_ctx *c, erg_accel_list *out);
void erg_discover_accel(const erg_discover_ctx *c, erg_accel_list *out);

#endif
