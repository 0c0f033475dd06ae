/* npu-sim's entry point and function table; its devices (one per profile). */
#include "sim.h"

#include <stdio.h>
#include <string.h>

static uint32_t probe(void) { return 1; /* usable anywhere, and the least preferred */ }

static erg_plugin_result device_count(uint32_t *count, char *err) {
    const sim_profile *p;
    return sim_profiles(&p, count, err);
}

static erg_plugin_result profile_at(uint32_t index, const sim_profile **out, char *err) {
    const sim_profile *p;
    uint32_t n;
    erg_plugin_result r = sim_profiles(&p, &n, err);
    if (r != ERG_PLUGIN_OK)
        return r;
    if (index >= n) {
        sim_err(err, "device %u of %u", index, n);
        return ERG_PLUGIN_E_INVALID;
    }
    *out = &p[index];
    return ERG_PLUGIN_OK;
}

static erg_plugin_result device_info(uint32_t index, erg_plugin_device_info *info, char *err) {
    const sim_profile *p;
    erg_plugin_result r = profile_at(index, &p, err);
    if (r != ERG_PLUGIN_OK)
        return r;
    if (!info || info->struct_size < sizeof *info) {
        sim_err(err, "device_info: struct_size too small");
        return ERG_PLUGIN_E_INVALID;
    }
    size_t size = info->struct_size;
    memset(info, 0, sizeof *info);
    info->struct_size = size;
    snprintf(info->name, sizeof info->name, "%.31s", p->name);
    snprintf(info->description, sizeof info->description, "%.60s (%.60s)", p->name,
             p->description);
    info->type = ERG_PLUGIN_DEVICE_NPU;
    info->memory_kinds = ERG_PLUGIN_MEM_DEVICE;
    info->abilities = ERG_PLUGIN_CAN_IMPORT_HOST | ERG_PLUGIN_SIMULATED;
    info->memory_bytes = (uint64_t)p->memory_bytes;
    info->alignment = 64;
    return ERG_PLUGIN_OK;
}

static erg_plugin_result device_open(uint32_t index, erg_plugin_device **out, char *err) {
    const sim_profile *p;
    erg_plugin_result r = profile_at(index, &p, err);
    if (r != ERG_PLUGIN_OK)
        return r;
    erg_plugin_device *d = sim_alloc(sizeof *d);
    if (!d) {
        sim_err(err, "out of memory");
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    memset(d, 0, sizeof *d);
    d->prof = *p;
    d->opened_at = sim_host->now_seconds(sim_host->user);
    *out = d;
    return ERG_PLUGIN_OK;
}

static void device_close(erg_plugin_device *d) {
    if (!d)
        return;
    sim_weights_free_all(d);
    sim_free(d);
}

static erg_plugin_result compat_string(erg_plugin_device *d, char *buf, size_t size, char *err) {
    if (!d || !buf || !size) {
        sim_err(err, "compat_string: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    snprintf(buf, size, "npu-sim 1.0; profile %s; int%d weights; no driver or firmware",
             d->prof.name, d->prof.weight_bits);
    return ERG_PLUGIN_OK;
}

static erg_plugin_result counters(erg_plugin_device *d, erg_plugin_counters *out, char *err) {
    if (!d || !out || out->struct_size < sizeof *out) {
        sim_err(err, "counters: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    double open_s = sim_host->now_seconds(sim_host->user) - d->opened_at - d->in_calls_s;
    double idle_s = open_s > 0 ? open_s : 0;
    out->busy_seconds = d->busy_s;
    out->energy_joules = d->active_j + idle_s * d->prof.idle_w;
    out->simulated = 1;
    return ERG_PLUGIN_OK;
}

static const erg_plugin_api api = {
    .struct_size = sizeof(erg_plugin_api),
    .abi_version = ERG_PLUGIN_ABI_VERSION,
    .name = "npu-sim",
    .version = "1.0",
    .probe = probe,
    .device_count = device_count,
    .device_info = device_info,
    .device_open = device_open,
    .device_close = device_close,
    .op_support = sim_op_support,
    .compile = sim_compile,
    .compiled_free = sim_compiled_free,
    .compat_string = compat_string,
    .serialize = sim_serialize,
    .deserialize = sim_deserialize,
    .buffer_alloc = sim_buffer_alloc,
    .buffer_free = sim_buffer_free,
    .buffer_import_host = sim_buffer_import_host,
    .copy_to_device = sim_copy_to_device,
    .copy_from_device = sim_copy_from_device,
    .execute = sim_execute,
    .fence_create = sim_fence_create,
    .fence_wait = sim_fence_wait,
    .fence_destroy = sim_fence_destroy,
    .counters = counters,
    .op_times = sim_op_times,
};

ERG_PLUGIN_EXPORT const erg_plugin_api *erg_plugin_entry(uint32_t host_abi,
                                                         const erg_plugin_host *host);

ERG_PLUGIN_EXPORT const erg_plugin_api *erg_plugin_entry(uint32_t host_abi,
                                                         const erg_plugin_host *host) {
    if (ERG_PLUGIN_ABI_MAJOR_OF(host_abi) != ERG_PLUGIN_ABI_MAJOR || !host ||
        host->struct_size < sizeof *host || !host->alloc || !host->free || !host->now_seconds ||
        !host->dequantize_row)
        return NULL;
    sim_host = host;
    return &api;
}
