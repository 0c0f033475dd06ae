/*
 * NVML, opened at run time (libnvidia-ml.so.1, or ERG_NVML_LIB), so erg
 * builds and runs without NVIDIA's driver. Per GPU: the total energy
 * counter (mJ since the driver loaded; Volta and newer) where supported,
 * else the power usage (mW), sampled and integrated.
 */
#include "hal/energy/sources.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3
/* NVIDIA documents no update period; the counter moves every 20-100 ms on
 * recent boards (PETSc's notes on nvmlDeviceGetTotalEnergyConsumption). */
#define NVML_UPDATE_S 0.1

typedef void *nvml_device;

typedef struct nvml_lib {
    void *so;
    int refs; /* domains using it; the last one shuts NVML down */
    int (*init)(void);
    int (*shutdown)(void);
    int (*count)(unsigned *n);
    int (*handle)(unsigned index, nvml_device *dev);
    int (*name)(nvml_device dev, char *name, unsigned length);
    int (*energy)(nvml_device dev, unsigned long long *mj);
    int (*power)(nvml_device dev, unsigned *mw);
} nvml_lib;

typedef struct nvml_impl {
    nvml_lib *lib;
    nvml_device dev;
} nvml_impl;

static void lib_release(const erg_allocator *a, nvml_lib *lib) {
    if (--lib->refs > 0)
        return;
    lib->shutdown();
    dlclose(lib->so);
    erg_free(a, lib);
}

static erg_status nvml_energy(erg_energy_domain *d, double *joules, erg_diag *diag) {
    const nvml_impl *impl = d->impl;
    unsigned long long mj;
    int rc = impl->lib->energy(impl->dev, &mj);
    if (rc != NVML_SUCCESS)
        return erg_fail(diag, ERG_DEVICE, "%s: nvmlDeviceGetTotalEnergyConsumption returned %d",
                        d->desc.name, rc);
    *joules = (double)mj * 1e-3;
    return ERG_OK;
}

static erg_status nvml_power(erg_energy_domain *d, double *watts, erg_diag *diag) {
    const nvml_impl *impl = d->impl;
    unsigned mw;
    int rc = impl->lib->power(impl->dev, &mw);
    if (rc != NVML_SUCCESS)
        return erg_fail(diag, ERG_DEVICE, "%s: nvmlDeviceGetPowerUsage returned %d", d->desc.name,
                        rc);
    *watts = (double)mw * 1e-3;
    return ERG_OK;
}

static void nvml_close(erg_energy_domain *d) {
    nvml_impl *impl = d->impl;
    lib_release(d->ctx->alloc, impl->lib);
}

static const erg_energy_domain_ops energy_ops = {nvml_energy, NULL, nvml_close};
static const erg_energy_domain_ops power_ops = {NULL, nvml_power, nvml_close};

/* Loads the library and its symbols; NULL with the reason in why. */
static nvml_lib *lib_open(const erg_energy_ctx *ctx, char *why, size_t cap) {
    void *so = dlopen(ctx->nvml_lib, RTLD_NOW | RTLD_LOCAL);
    if (!so) {
        const char *e = dlerror();
        snprintf(why, cap, "%.80s not loadable (%.80s)", ctx->nvml_lib, e ? e : "unknown error");
        return NULL;
    }
    nvml_lib *lib = erg_calloc(ctx->alloc, 1, sizeof *lib);
    if (!lib) {
        dlclose(so);
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    lib->so = so;
    /* POSIX dlsym returns an object pointer; a function pointer is what it holds. */
#define LOAD(field, sym) lib->field = (__typeof__(lib->field))dlsym(so, sym)
    LOAD(init, "nvmlInit_v2");
    LOAD(shutdown, "nvmlShutdown");
    LOAD(count, "nvmlDeviceGetCount_v2");
    LOAD(handle, "nvmlDeviceGetHandleByIndex_v2");
    LOAD(name, "nvmlDeviceGetName");
    LOAD(energy, "nvmlDeviceGetTotalEnergyConsumption");
    LOAD(power, "nvmlDeviceGetPowerUsage");
#undef LOAD
    if (!lib->init || !lib->shutdown || !lib->count || !lib->handle || !lib->energy ||
        !lib->power) {
        snprintf(why, cap, "%.120s lacks the NVML functions erg needs", ctx->nvml_lib);
        dlclose(so);
        erg_free(ctx->alloc, lib);
        return NULL;
    }
    int rc = lib->init();
    if (rc != NVML_SUCCESS) {
        snprintf(why, cap, "nvmlInit_v2 returned %d", rc);
        dlclose(so);
        erg_free(ctx->alloc, lib);
        return NULL;
    }
    lib->refs = 1; /* discovery's own reference */
    return lib;
}

static erg_status add_device(erg_energy_registry *r, nvml_lib *lib, unsigned index,
                             size_t *n_usable, erg_diag *diag) {
    nvml_device dev = NULL;
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_NVML, ERG_ENERGY_COUNTER, ERG_ENERGY_SCOPE_GPU);
    desc.pci_vendor = 0x10de;
    char gpu[64] = "";
    int rc = lib->handle(index, &dev);
    if (rc == NVML_SUCCESS && lib->name)
        lib->name(dev, gpu, sizeof gpu);
    snprintf(desc.name, sizeof desc.name, "%.40s (nvml %u)", gpu[0] ? gpu : "GPU", index);
    snprintf(desc.path, sizeof desc.path, "%s", r->ctx.nvml_lib);
    desc.update_interval_s = NVML_UPDATE_S;
    desc.update_interval_assumed = true;
    const erg_energy_domain_ops *ops = NULL;
    unsigned long long mj;
    unsigned mw;
    if (rc != NVML_SUCCESS) {
        snprintf(desc.note, sizeof desc.note, "nvmlDeviceGetHandleByIndex_v2 returned %d", rc);
    } else if ((rc = lib->energy(dev, &mj)) == NVML_SUCCESS) {
        ops = &energy_ops;
        desc.resolution = 1e-3;
    } else if (lib->power(dev, &mw) == NVML_SUCCESS) {
        ops = &power_ops;
        desc.method = ERG_ENERGY_POWER;
        desc.resolution = 1e-3;
        snprintf(desc.note, sizeof desc.note, "total energy %s: power usage sampled instead",
                 rc == NVML_ERROR_NOT_SUPPORTED ? "not supported" : "failed");
    } else {
        snprintf(desc.note, sizeof desc.note,
                 "neither total energy nor power usage is supported on this GPU");
    }
    void *v;
    ERG_RETURN_IF_ERROR(erg_energy_registry_make(r, ops, &desc, sizeof(nvml_impl), &v, diag));
    if (ops) {
        nvml_impl *impl = v;
        impl->lib = lib;
        impl->dev = dev;
        lib->refs++;
        (*n_usable)++;
    }
    return ERG_OK;
}

erg_status erg_energy_discover_nvml(erg_energy_registry *r, erg_diag *diag) {
    char why[ERG_ENERGY_NOTE_MAX];
    nvml_lib *lib = lib_open(&r->ctx, why, sizeof why);
    if (!lib) {
        erg_energy_registry_set_note(r, ERG_ENERGY_NVML, "%s", why);
        return ERG_OK;
    }
    unsigned n = 0;
    int rc = lib->count(&n);
    size_t usable = 0;
    erg_status st = ERG_OK;
    for (unsigned i = 0; rc == NVML_SUCCESS && i < n && st == ERG_OK; i++)
        st = add_device(r, lib, i, &usable, diag);
    if (rc != NVML_SUCCESS)
        erg_energy_registry_set_note(r, ERG_ENERGY_NVML, "nvmlDeviceGetCount_v2 returned %d", rc);
    else
        erg_energy_registry_set_note(r, ERG_ENERGY_NVML, "%u GPU(s), %zu with energy or power", n,
                                     usable);
    lib_release(r->ctx.alloc, lib);
    return st;
}
