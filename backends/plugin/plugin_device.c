/* A plugin's devices through erg_backend: enumerate, open, close, which
 * nodes they support, and host staging memory. */
#include "backends/plugin/plugin_graph.h"
#include "backends/plugin/plugin_internal.h"

#include <stdio.h>
#include <string.h>

#define HOST_ALIGN 64

_Static_assert(sizeof(((erg_plugin_device_info *)0)->driver) == ERG_PLUGIN_DRIVER_MAX &&
                   sizeof(((erg_plugin_device_info *)0)->bus_path) == ERG_PLUGIN_BUS_PATH_MAX,
               "plugin_backend.h's identity sizes follow erg_plugin.h");

static erg_device_kind device_kind(erg_plugin_device_type t) {
    switch (t) {
    case ERG_PLUGIN_DEVICE_NPU: return ERG_DEVICE_NPU;
    case ERG_PLUGIN_DEVICE_GPU: return ERG_DEVICE_GPU;
    default: return ERG_DEVICE_OTHER;
    }
}

static void fill_info(const erg_plugin_slot *s, uint32_t index, const erg_plugin_device_info *pi,
                      erg_device_info *info) {
    size_t struct_size = info->struct_size;
    memset(info, 0, sizeof *info);
    info->struct_size = struct_size;
    snprintf(info->name, sizeof info->name, "%.20s:%u", s->name, index);
    snprintf(info->backend, sizeof info->backend, "%.15s", s->name);
    bool sim = (pi->abilities & ERG_PLUGIN_SIMULATED) != 0;
    snprintf(info->description, sizeof info->description, "%s%.110s", sim ? "simulated: " : "",
             pi->description);
    info->kind = device_kind(pi->type);
    info->memory_bytes = pi->memory_bytes;
    info->unified_memory = (pi->memory_kinds & ERG_PLUGIN_MEM_HOST_VISIBLE) != 0;
    snprintf(info->vendor, sizeof info->vendor, "%.31s", pi->driver[0] ? pi->driver : s->name);
    snprintf(info->driver_version, sizeof info->driver_version, "%s",
             s->lib->api.version ? s->lib->api.version : "");
    snprintf(info->api_version, sizeof info->api_version, "%u.%u",
             ERG_PLUGIN_ABI_MAJOR_OF(s->lib->api.abi_version),
             ERG_PLUGIN_ABI_MINOR_OF(s->lib->api.abi_version));
    info->n_memory_heaps = 1;
    info->memory_heaps[0].bytes = pi->memory_bytes;
    info->memory_heaps[0].device_local = (pi->memory_kinds & ERG_PLUGIN_MEM_DEVICE) != 0;
    info->memory_heaps[0].host_visible = info->unified_memory;
    info->simulated = sim;
}

static erg_status query_info(const erg_plugin_slot *s, uint32_t i, erg_plugin_device_info *pi,
                             erg_diag *diag) {
    char err[ERG_PLUGIN_ERR_MAX] = "";
    memset(pi, 0, sizeof *pi);
    pi->struct_size = sizeof *pi;
    if (s->lib->api.device_info(i, pi, err) != ERG_PLUGIN_OK)
        return erg_fail(diag, ERG_DEVICE, "plugin %s: device_info(%u): %s", s->name, i,
                        erg_plugin_err(err));
    pi->description[sizeof pi->description - 1] = '\0';
    pi->driver[sizeof pi->driver - 1] = '\0';
    pi->bus_path[sizeof pi->bus_path - 1] = '\0';
    return ERG_OK;
}

bool erg_plugin_slot_identity(const erg_plugin_slot *s, size_t index,
                              char driver[ERG_PLUGIN_DRIVER_MAX],
                              char bus_path[ERG_PLUGIN_BUS_PATH_MAX]) {
    erg_plugin_device_info pi;
    if (!s->lib || query_info(s, (uint32_t)index, &pi, NULL) != ERG_OK)
        return false;
    memcpy(driver, pi.driver, sizeof pi.driver);
    memcpy(bus_path, pi.bus_path, sizeof pi.bus_path);
    return true;
}

erg_status erg_plugin_slot_enumerate(const erg_plugin_slot *s, const erg_backend_env *env,
                                     erg_device_info *infos, size_t cap, size_t *count,
                                     erg_diag *diag) {
    (void)env;
    *count = 0;
    if (!s->lib) {
        erg_fail(diag, ERG_UNSUPPORTED, "%s", s->note);
        return ERG_OK;
    }
    uint32_t n = 0;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    if (s->lib->api.device_count(&n, err) != ERG_PLUGIN_OK) {
        erg_fail(diag, ERG_DEVICE, "plugin %s: device_count: %s", s->name, erg_plugin_err(err));
        return ERG_OK;
    }
    if (n == 0)
        erg_fail(diag, ERG_NOT_FOUND, "plugin %s found no device", s->name);
    for (uint32_t i = 0; i < n && i < cap; i++) {
        erg_plugin_device_info pi;
        ERG_RETURN_IF_ERROR(query_info(s, i, &pi, diag));
        fill_info(s, i, &pi, &infos[i]);
    }
    *count = n;
    return ERG_OK;
}

erg_status erg_plugin_slot_open(erg_plugin_slot *s, const erg_backend_env *env, size_t index,
                                erg_backend_device **out, erg_diag *diag) {
    *out = NULL;
    if (!s->lib)
        return erg_fail(diag, ERG_UNSUPPORTED, "%s", s->note);
    erg_plugin_device_info pi;
    ERG_RETURN_IF_ERROR(query_info(s, (uint32_t)index, &pi, diag));
    const erg_allocator *a = erg_allocator_or_default(env->alloc);
    erg_backend_device *d = erg_calloc(a, 1, sizeof *d);
    if (!d)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin device");
    d->slot = s;
    d->api = &s->lib->api;
    d->alloc = a;
    d->log = *env->log;
    d->simulated = (pi.abilities & ERG_PLUGIN_SIMULATED) != 0;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    if (d->api->device_open((uint32_t)index, &d->pdev, err) != ERG_PLUGIN_OK || !d->pdev) {
        erg_free(a, d);
        return erg_fail(diag, ERG_DEVICE, "plugin %s: cannot open device %zu: %s", s->name,
                        index, erg_plugin_err(err));
    }
    *out = d;
    return ERG_OK;
}

static void device_close(erg_backend_device *d) {
    if (!d)
        return;
    d->api->device_close(d->pdev);
    erg_free(d->alloc, d);
}

/* The plugin's limits on activation rows (the result's rows): a node
 * outside them goes elsewhere, with the plugin's numbers as the reason. */
static bool batch_ok(const erg_plugin_support *sup, const erg_graph *g, const erg_node *n,
                     erg_diag *why) {
    const erg_tensor *dst = erg_graph_ctensor(g, n->dst);
    long long rows = (long long)(dst->ne[1] * dst->ne[2] * dst->ne[3]);
    if (sup->max_batch > 0 && rows > sup->max_batch)
        return erg_fail(why, ERG_UNSUPPORTED,
                        "%lld rows: the plugin takes at most %lld per execute", rows,
                        (long long)sup->max_batch),
               false;
    if (sup->min_batch > 0 && rows < sup->min_batch)
        return erg_fail(why, ERG_UNSUPPORTED, "%lld rows: the plugin pays off from %lld rows",
                        rows, (long long)sup->min_batch),
               false;
    return true;
}

static bool supports_node(const erg_backend_device *d, const erg_graph *g, const erg_node *n,
                          erg_diag *why) {
    if (erg_op_is_view(n->op))
        return true;
    if (!erg_pgraph_node_ok(g, n, why))
        return false;
    erg_pgraph pg;
    erg_pgraph_init(&pg, d->alloc);
    bool ok = false;
    if (erg_pgraph_build_one(&pg, g, n, why) == ERG_OK) {
        erg_plugin_graph v = erg_pgraph_view(&pg);
        erg_plugin_support sup;
        memset(&sup, 0, sizeof sup);
        sup.struct_size = sizeof sup;
        if (d->api->op_support(d->pdev, &v, &sup) != ERG_PLUGIN_OK) {
            erg_fail(why, ERG_DEVICE, "plugin %s: op_support failed", d->slot->name);
        } else {
            sup.reason[sizeof sup.reason - 1] = '\0';
            /* Every shape erg compiles is static: IF_STATIC is a yes. */
            ok = sup.verdict == ERG_PLUGIN_YES || sup.verdict == ERG_PLUGIN_IF_STATIC;
            if (!ok)
                erg_fail(why, ERG_UNSUPPORTED, "%s", sup.reason[0] ? sup.reason : "not supported");
            else
                ok = batch_ok(&sup, g, n, why);
        }
    }
    erg_pgraph_free(&pg);
    return ok;
}

/* Host memory: the plugin's device memory is its own, so tensors live on
 * the host and every execute copies them in and out (real copies). */
static void *host_alloc(erg_backend_device *d, size_t size) {
    return erg_aligned_alloc(d->alloc, size ? size : 1, HOST_ALIGN);
}

static void host_free(erg_backend_device *d, void *ptr) { erg_free(d->alloc, ptr); }

/* Executes copy from and to any host memory. */
static erg_status host_register(erg_backend_device *d, void *ptr, size_t size, erg_diag *diag) {
    (void)d, (void)ptr, (void)size, (void)diag;
    return ERG_OK;
}

static void host_unregister(erg_backend_device *d, void *ptr) { (void)d, (void)ptr; }

void erg_plugin_slot_fill(erg_plugin_slot *s) {
    s->backend.name = s->name;
    s->backend.close = device_close;
    s->backend.supports_node = supports_node;
    s->backend.host_alloc = host_alloc;
    s->backend.host_free = host_free;
    s->backend.host_register = host_register;
    s->backend.host_unregister = host_unregister;
    s->backend.exec_create = erg_plugin_exec_create;
    s->backend.exec_free = erg_plugin_exec_free;
    s->backend.compile = erg_plugin_compile;
    s->backend.execute = erg_plugin_execute;
    s->backend.node_times = erg_plugin_node_times;
}
