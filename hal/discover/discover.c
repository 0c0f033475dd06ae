/* Discovery's entry point: resolving the roots, the list both sources fill,
 * and the rule by which a plugin's device is a discovered accelerator. */
#include "hal/discover/discover_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ctx_init(erg_discover_ctx *c, const erg_discover_env *env) {
    memset(c, 0, sizeof *c);
    erg_energy_env io = {.alloc = env ? env->alloc : NULL,
                         .sysfs_root = env ? env->sysfs_root : NULL};
    erg_energy_ctx_init(&c->io, &io);
    const char *dev = env && env->dev_root ? env->dev_root : getenv("ERG_DEV_ROOT");
    if (dev && *dev)
        snprintf(c->dev_root, sizeof c->dev_root, "%s", dev);
    else
        snprintf(c->dev_root, sizeof c->dev_root, "%.200s/dev", c->io.root);
    size_t len = strlen(c->dev_root);
    while (len > 1 && c->dev_root[len - 1] == '/')
        c->dev_root[--len] = '\0';
    const char *lib = env && env->libdrm ? env->libdrm : "libdrm.so.2";
    snprintf(c->libdrm, sizeof c->libdrm, "%s", lib);
    c->redirected = c->io.root[0] != '\0' || strcmp(c->dev_root, "/dev") != 0;
}

erg_accel *erg_accel_list_add(erg_accel_list *out) {
    if (out->n == ERG_ACCEL_MAX)
        return NULL;
    erg_accel *a = &out->items[out->n++];
    memset(a, 0, sizeof *a);
    return a;
}

void erg_accel_note(erg_accel_list *out, const char *fmt, ...) {
    if (out->n_notes == ERG_ACCEL_NOTE_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->notes[out->n_notes++], ERG_ACCEL_NOTE_LEN, fmt, ap);
    va_end(ap);
}

void erg_discover(const erg_discover_env *env, erg_accel_list *out) {
    memset(out, 0, sizeof *out);
    erg_discover_ctx c;
    ctx_init(&c, env);
    erg_discover_drm(&c, out);
    erg_discover_accel(&c, out);
}

bool erg_accel_matches(const erg_accel *a, const char *driver, const char *bus_path) {
    if (bus_path && bus_path[0])
        return strcmp(a->bus_path, bus_path) == 0;
    return driver && driver[0] && strcmp(a->driver, driver) == 0;
}
