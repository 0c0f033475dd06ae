/* The CPU backend's table: one device, the host CPU, with the kernel level
 * detected at run time or forced (ERG_CPU_FEATURES / runtime option). */
#include "backends/cpu/cpu_backend.h"

#include "backends/cpu/cpu_device.h"
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/cpu_weights.h"

#include <stdio.h>
#include <string.h>

/* The level to use: the forced one if any (it must run on this CPU), else
 * the best this CPU supports. */
static erg_status pick_level(const erg_backend_env *env, const erg_cpu_info *info,
                             erg_cpu_level *out, erg_diag *diag) {
    if (!env->cpu_features || !*env->cpu_features) {
        *out = erg_cpu_level_best(info->features);
        return ERG_OK;
    }
    int l = erg_cpu_level_parse(env->cpu_features);
    if (l < 0)
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "CPU features '%s' unknown: use scalar, avx2, avx512 or avx512vnni",
                        env->cpu_features);
    if (!erg_cpu_level_supported((erg_cpu_level)l, info->features)) {
        char have[160];
        erg_cpu_features_format(info->features, have, sizeof have);
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "CPU features '%s' forced, but this CPU or build cannot run them (CPU has: "
                        "%s)",
                        env->cpu_features, have[0] ? have : "none");
    }
    *out = (erg_cpu_level)l;
    return ERG_OK;
}

static void describe(const erg_backend_env *env, const erg_cpu_info *ci, erg_cpu_level level,
                     erg_device_info *info) {
    memset((char *)info + sizeof info->struct_size, 0,
           sizeof *info - sizeof info->struct_size);
    snprintf(info->name, sizeof info->name, "cpu");
    snprintf(info->backend, sizeof info->backend, "cpu");
    snprintf(info->description, sizeof info->description, "%s",
             ci->model_name[0] ? ci->model_name : "unknown CPU");
    info->kind = ERG_DEVICE_CPU;
    info->memory_bytes = ci->memory_bytes;
    info->unified_memory = true;
    info->n_physical_cores = ci->n_physical_cores;
    info->n_logical_cores = ci->n_logical_cores;
    info->cpu_features = ci->features;
    snprintf(info->kernel_level, sizeof info->kernel_level, "%s", erg_cpu_level_name(level));
    info->n_threads = env->n_threads;
}

static erg_status cpu_enumerate(const erg_backend_env *env, erg_device_info *infos, size_t cap,
                                size_t *count, erg_diag *diag) {
    erg_cpu_info ci;
    erg_cpu_info_probe(&ci);
    erg_cpu_level level = ERG_CPU_SCALAR;
    ERG_RETURN_IF_ERROR(pick_level(env, &ci, &level, diag));
    *count = 1;
    if (cap >= 1)
        describe(env, &ci, level, &infos[0]);
    return ERG_OK;
}

static erg_status cpu_open(const erg_backend_env *env, size_t index, erg_backend_device **out,
                           erg_diag *diag) {
    if (index != 0)
        return erg_fail(diag, ERG_NOT_FOUND, "there is one CPU device (cpu:0), not cpu:%zu", index);
    erg_backend_device *dev = erg_calloc(env->alloc, 1, sizeof *dev);
    if (!dev)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "CPU device");
    dev->alloc = erg_allocator_or_default(env->alloc);
    dev->log = env->log;
    dev->n_threads = env->n_threads;
    dev->no_repack = env->cpu_no_repack;
    erg_cpu_info_probe(&dev->info);
    erg_cpu_level level = ERG_CPU_SCALAR;
    erg_status st = pick_level(env, &dev->info, &level, diag);
    if (st == ERG_OK && !(dev->kernels = erg_cpu_kernels_for(level)))
        st = erg_fail(diag, ERG_UNSUPPORTED, "this build has no %s kernels",
                      erg_cpu_level_name(level));
    if (st != ERG_OK) {
        erg_free(env->alloc, dev);
        return st;
    }
    *out = dev;
    return ERG_OK;
}

static void cpu_close(erg_backend_device *dev) {
    if (dev)
        erg_free(dev->alloc, dev);
}

static bool cpu_supports_node(const erg_backend_device *dev, const erg_graph *g,
                              const erg_node *n, erg_diag *why) {
    if (erg_op_is_view(n->op))
        return true;
    const erg_cpu_op *op = erg_cpu_op_for(n->op);
    if (!op) {
        erg_fail(why, ERG_UNSUPPORTED, "no CPU kernel for %s", erg_op_name(n->op));
        return false;
    }
    return !op->supports || op->supports(g, n, dev->kernels, why);
}

static void *cpu_host_alloc(erg_backend_device *dev, size_t size) {
    return erg_aligned_alloc(dev->alloc, size, 64);
}

static void cpu_host_free(erg_backend_device *dev, void *ptr) { erg_free(dev->alloc, ptr); }

/* The CPU's kernels read and write any host memory. */
static erg_status cpu_host_register(erg_backend_device *dev, void *ptr, size_t size,
                                    erg_diag *diag) {
    (void)dev, (void)ptr, (void)size, (void)diag;
    return ERG_OK;
}

static void cpu_host_unregister(erg_backend_device *dev, void *ptr) { (void)dev, (void)ptr; }

const erg_backend erg_cpu_backend = {
    .name = "cpu",
    .enumerate = cpu_enumerate,
    .open = cpu_open,
    .close = cpu_close,
    .supports_node = cpu_supports_node,
    .weights_prepare = erg_cpu_weights_prepare,
    .weights_free = erg_cpu_weights_free,
    .host_alloc = cpu_host_alloc,
    .host_free = cpu_host_free,
    .host_register = cpu_host_register,
    .host_unregister = cpu_host_unregister,
    .exec_create = erg_cpu_exec_create,
    .exec_free = erg_cpu_exec_free,
    .compile = erg_cpu_exec_compile,
    .execute = erg_cpu_exec_execute,
    .node_times = erg_cpu_exec_node_times,
};
