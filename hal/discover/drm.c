/* DRM render nodes through libdrm's drmGetDevices2. libdrm is opened at run
 * time (dlopen), so erg has no link-time dependency on it and runs where it
 * is absent; only its header is needed to build. */
#include "hal/discover/discover_internal.h"

#ifdef ERG_HAVE_LIBDRM_H

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <xf86drm.h>

typedef int (*get_devices_fn)(uint32_t flags, drmDevicePtr devices[], int max);
typedef void (*free_devices_fn)(drmDevicePtr devices[], int count);

static void add(const erg_discover_ctx *c, const drmDevice *d, erg_accel_list *out) {
    if (!(d->available_nodes & (1 << DRM_NODE_RENDER)) || !d->nodes[DRM_NODE_RENDER])
        return;
    const char *node = d->nodes[DRM_NODE_RENDER];
    erg_accel a;
    memset(&a, 0, sizeof a);
    a.source = ERG_ACCEL_FROM_DRM;
    if (strlen(node) >= sizeof a.node) {
        erg_accel_note(out, "DRM: a render node path is too long");
        return;
    }
    memcpy(a.node, node, strlen(node) + 1);
    /* The driver (and off PCI the bus path) come from sysfs, as for accel. */
    const char *base = strrchr(node, '/');
    char entry[PATH_MAX];
    const char *why =
        erg_energy_path(&c->io, entry, sizeof entry, "/sys/class/drm/%s", base ? base + 1 : node)
            ? erg_sysfs_describe(c, entry, &a)
            : "its path is too long";
    if (d->bustype == DRM_BUS_PCI && d->businfo.pci) {
        const drmPciBusInfo *p = d->businfo.pci;
        snprintf(a.bus_path, sizeof a.bus_path, "pci-%04x:%02x:%02x.%u", p->domain, p->bus,
                 p->dev, p->func);
        if (d->deviceinfo.pci) {
            a.vendor_id = d->deviceinfo.pci->vendor_id;
            a.device_id = d->deviceinfo.pci->device_id;
        }
    } else if (why) {
        erg_accel_note(out, "%s skipped: %s", node, why);
        return;
    }
    erg_accel *slot = erg_accel_list_add(out);
    if (!slot) {
        erg_accel_note(out, "%s skipped: erg lists at most %d accelerators", node, ERG_ACCEL_MAX);
        return;
    }
    *slot = a;
}

void erg_discover_drm(const erg_discover_ctx *c, erg_accel_list *out) {
    if (c->redirected) {
        erg_accel_note(out, "DRM: libdrm not asked: it reads the real /dev/dri, and the roots "
                            "point at a fake tree (%.100s)", c->dev_root);
        return;
    }
    dlerror();
    void *lib = dlopen(c->libdrm, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        erg_accel_note(out, "DRM: %.60s absent (%.80s): render nodes not listed", c->libdrm,
                       why ? why : "dlopen failed");
        return;
    }
    void *get_sym = dlsym(lib, "drmGetDevices2"), *free_sym = dlsym(lib, "drmFreeDevices");
    if (!get_sym || !free_sym) {
        erg_accel_note(out, "DRM: %.60s has no drmGetDevices2 (libdrm before 2.4.75)",
                       c->libdrm);
        dlclose(lib);
        return;
    }
    get_devices_fn get_devices;
    free_devices_fn free_devices;
    memcpy(&get_devices, &get_sym, sizeof get_devices);
    memcpy(&free_devices, &free_sym, sizeof free_devices);
    drmDevicePtr devs[ERG_ACCEL_MAX];
    /* Flags 0: no PCI revision, which would wake sleeping GPUs. */
    int n = get_devices(0, devs, ERG_ACCEL_MAX);
    size_t before = out->n;
    if (n < 0)
        erg_accel_note(out, "DRM: no render node: drmGetDevices2: %s", strerror(-n));
    for (int i = 0; i < n; i++)
        add(c, devs[i], out);
    if (n >= 0 && out->n == before)
        erg_accel_note(out, "DRM: no render node");
    if (n > 0)
        free_devices(devs, n);
    dlclose(lib);
}

#else

void erg_discover_drm(const erg_discover_ctx *c, erg_accel_list *out) {
    (void)c;
    erg_accel_note(out, "DRM: erg was built without the libdrm headers: render nodes not listed");
}

#endif
