/* The device behind a sysfs class entry (accel, drm): its bus path from the
 * resolved `device` link, its driver from the `driver` link, PCI ids. */
#include "hal/discover/discover_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A kernel name: printable, no spaces or slashes, and short. Anything else
 * comes from a malformed tree. */
static bool kernel_name_ok(const char *s, size_t cap) {
    size_t n = strlen(s);
    if (n == 0 || n >= cap)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.:-+@", *s))
            return false;
    return true;
}

static void copy_name(char *out, const char *s) { memcpy(out, s, strlen(s) + 1); }

/* The last component of path (which has no trailing '/'). */
static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The basename of the symlink's target, checked as a kernel name. */
static bool link_name(const char *link, char *out, size_t cap) {
    char target[PATH_MAX];
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = '\0';
    while (n > 1 && target[n - 1] == '/')
        target[--n] = '\0';
    const char *base = base_name(target);
    if (!kernel_name_ok(base, cap))
        return false;
    copy_name(out, base);
    return true;
}

/* 0000:00:0b.0: domain, bus, device, function. */
static bool is_pci_address(const char *s) {
    unsigned d, b, dev, f;
    char end;
    return strlen(s) == 12 && sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &dev, &f, &end) == 4;
}

/* The bus: the device's subsystem link, else what its name and place say. */
static bool bus_name(const char *resolved, const char *id, char *bus, size_t cap) {
    char link[PATH_MAX];
    if ((size_t)snprintf(link, sizeof link, "%s/subsystem", resolved) < sizeof link &&
        link_name(link, bus, cap))
        return true;
    const char *guess = is_pci_address(id)                        ? "pci"
                        : strstr(resolved, "/devices/platform/") ? "platform"
                                                                  : NULL;
    if (!guess)
        return false;
    copy_name(bus, guess);
    return true;
}

/* A PCI id file ("0x8086"); 0 when missing or not one 16-bit hex number. */
static uint32_t read_pci_id(const erg_discover_ctx *c, const char *dir, const char *name) {
    char path[PATH_MAX], buf[32];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path ||
        erg_energy_read_str(&c->io, path, buf, sizeof buf) != 0 || !buf[0])
        return 0;
    char *end;
    unsigned long v = strtoul(buf, &end, 16);
    return *end == '\0' && v <= 0xffff ? (uint32_t)v : 0;
}

const char *erg_sysfs_describe(const erg_discover_ctx *c, const char *entry, erg_accel *a) {
    char link[PATH_MAX], resolved[PATH_MAX], path[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(link, sizeof link, "%s/device", entry) >= sizeof link)
        return "its path is too long";
    if (lstat(link, &st) != 0)
        return "it has no device link";
    if (!realpath(link, resolved))
        return "its device link dangles";
    char id[64], bus[24], driver[32];
    if (!kernel_name_ok(base_name(resolved), sizeof id))
        return "its device link names no device";
    copy_name(id, base_name(resolved));
    if ((size_t)snprintf(path, sizeof path, "%s/driver", resolved) >= sizeof path)
        return "its path is too long";
    if (lstat(path, &st) != 0)
        return "its device has no driver link (no driver bound)";
    if (!link_name(path, driver, sizeof driver))
        return "its driver link names no driver";
    if (!bus_name(resolved, id, bus, sizeof bus))
        return "its device is on no bus erg knows (no subsystem link)";
    snprintf(a->bus_path, sizeof a->bus_path, "%s-%s", bus, id);
    copy_name(a->driver, driver);
    if (strcmp(bus, "pci") == 0) {
        a->vendor_id = read_pci_id(c, resolved, "vendor");
        a->device_id = read_pci_id(c, resolved, "device");
    }
    return NULL;
}
