/*
 * discover.h: the accelerators the kernel exposes, whether or not erg has a
 * backend for them: DRM render nodes (listed by libdrm, opened at run time)
 * and compute accelerators of the accel class (/dev/accel/accelN, described
 * by /sys/class/accel/accelN). Each is identified by its bus path, which
 * stays the same across boots and driver reloads, unlike N.
 *
 * Paths are read under roots tests can redirect: ERG_SYSFS_ROOT, a prefix
 * under which /sys is read (the same rule as the energy meters), and
 * ERG_DEV_ROOT, the directory that stands for /dev (default: /dev under
 * ERG_SYSFS_ROOT). Malformed entries are skipped with a reason; nothing
 * aborts.
 */
#ifndef ERG_HAL_DISCOVER_H
#define ERG_HAL_DISCOVER_H

#include "erg/erg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ERG_ACCEL_MAX 32
#define ERG_ACCEL_NOTE_MAX 16
#define ERG_ACCEL_NOTE_LEN 192

typedef enum erg_accel_source {
    ERG_ACCEL_FROM_DRM = 0,   /* a DRM render node (libdrm) */
    ERG_ACCEL_FROM_ACCEL = 1  /* the accel class (/dev/accel) */
} erg_accel_source;

typedef struct erg_accel {
    erg_accel_source source;
    char node[256];      /* the device node under the dev root; "" if it has none */
    char driver[32];     /* the kernel driver bound to it; "" if unknown */
    /* "<bus>-<id>" as udev's ID_PATH ends: "pci-0000:00:0b.0",
     * "platform-fdab0000.npu" */
    char bus_path[96];
    uint32_t vendor_id, device_id; /* PCI ids; 0 elsewhere */
} erg_accel;

typedef struct erg_accel_list {
    erg_accel items[ERG_ACCEL_MAX];
    size_t n;
    /* Why a source found nothing, and each entry skipped, one sentence each. */
    char notes[ERG_ACCEL_NOTE_MAX][ERG_ACCEL_NOTE_LEN];
    size_t n_notes;
} erg_accel_list;

/* Where to look, and with what. NULL fields mean the defaults above. */
typedef struct erg_discover_env {
    const erg_allocator *alloc; /* NULL: the C library's */
    const char *sysfs_root; /* NULL: ERG_SYSFS_ROOT, else "" (the real /sys) */
    const char *dev_root;   /* NULL: ERG_DEV_ROOT, else <sysfs_root>/dev */
    const char *libdrm;     /* NULL: "libdrm.so.2" */
} erg_discover_env;

/* Every accelerator both sources find, DRM first. Never fails: a source
 * that cannot look says why in out->notes. */
void erg_discover(const erg_discover_env *env, erg_accel_list *out);

/* Whether a device a plugin describes by driver and bus path (either may be
 * "") is accelerator a: the same bus path, or, when the plugin gives no bus
 * path, the same driver. */
bool erg_accel_matches(const erg_accel *a, const char *driver, const char *bus_path);

#endif
