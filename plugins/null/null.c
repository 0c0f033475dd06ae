/*
 * null: the skeleton erg plugin. Copy this directory to start a plugin for
 * your NPU SDK: keep the entry point and table, fill in each function, and
 * leave NULL what your device cannot do. As it stands it finds no device.
 * See docs/plugin-guide.md.
 */
#include "erg/erg_plugin.h"

#include <stdio.h>

/* Cheap: look for your driver's device node or library, open nothing. */
static uint32_t probe(void) { return 1; }

static erg_plugin_result device_count(uint32_t *count, char *err) {
    (void)err;
    *count = 0;
    return ERG_PLUGIN_OK;
}

static erg_plugin_result no_device(char *err) {
    snprintf(err, ERG_PLUGIN_ERR_MAX, "null plugin: no device");
    return ERG_PLUGIN_E_INVALID;
}

static erg_plugin_result device_info(uint32_t index, erg_plugin_device_info *info, char *err) {
    (void)index;
    (void)info;
    return no_device(err);
}

static erg_plugin_result device_open(uint32_t index, erg_plugin_device **out, char *err) {
    (void)index;
    *out = NULL;
    return no_device(err);
}

static void device_close(erg_plugin_device *dev) { (void)dev; }

static erg_plugin_result op_support(erg_plugin_device *dev, const erg_plugin_graph *g,
                                    erg_plugin_support *out) {
    (void)dev;
    (void)g;
    out->verdict = ERG_PLUGIN_NO;
    snprintf(out->reason, sizeof out->reason, "null plugin: supports no op");
    return ERG_PLUGIN_OK;
}

static erg_plugin_result compile(erg_plugin_device *dev, const erg_plugin_graph *g,
                                 erg_plugin_compiled **out, erg_plugin_compile_stats *stats,
                                 char *err) {
    (void)dev;
    (void)g;
    (void)stats;
    *out = NULL;
    return no_device(err);
}

static void compiled_free(erg_plugin_compiled *c) { (void)c; }

static erg_plugin_result buffer_alloc(erg_plugin_device *dev, size_t size, uint32_t kind,
                                      erg_plugin_buffer **out, char *err) {
    (void)dev;
    (void)size;
    (void)kind;
    *out = NULL;
    return no_device(err);
}

static void buffer_free(erg_plugin_buffer *b) { (void)b; }

static erg_plugin_result copy_to_device(erg_plugin_buffer *dst, size_t offset, const void *src,
                                        size_t size, char *err) {
    (void)dst;
    (void)offset;
    (void)src;
    (void)size;
    return no_device(err);
}

static erg_plugin_result copy_from_device(erg_plugin_buffer *src, size_t offset, void *dst,
                                          size_t size, char *err) {
    (void)src;
    (void)offset;
    (void)dst;
    (void)size;
    return no_device(err);
}

static erg_plugin_result execute(erg_plugin_compiled *c, erg_plugin_buffer *const *bindings,
                                 uint32_t n, erg_plugin_fence *wait, erg_plugin_fence *signal,
                                 char *err) {
    (void)c;
    (void)bindings;
    (void)n;
    (void)wait;
    (void)signal;
    return no_device(err);
}

static const erg_plugin_api api = {
    .struct_size = sizeof(erg_plugin_api),
    .abi_version = ERG_PLUGIN_ABI_VERSION,
    .name = "null",
    .version = "0.1",
    .probe = probe,
    .device_count = device_count,
    .device_info = device_info,
    .device_open = device_open,
    .device_close = device_close,
    .op_support = op_support,
    .compile = compile,
    .compiled_free = compiled_free,
    .buffer_alloc = buffer_alloc,
    .buffer_free = buffer_free,
    .copy_to_device = copy_to_device,
    .copy_from_device = copy_from_device,
    .execute = execute,
};

ERG_PLUGIN_EXPORT const erg_plugin_api *erg_plugin_entry(uint32_t host_abi,
                                                         const erg_plugin_host *h);

ERG_PLUGIN_EXPORT const erg_plugin_api *erg_plugin_entry(uint32_t host_abi,
                                                         const erg_plugin_host *h) {
    /* Keep h if you log or allocate through the host (see npu-sim). */
    if (ERG_PLUGIN_ABI_MAJOR_OF(host_abi) != ERG_PLUGIN_ABI_MAJOR || !h)
        return NULL;
    return &api;
}
