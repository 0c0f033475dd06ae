/*
 * One plugin source, built as several broken plugins (each a real .so) for
 * test_plugin_loader, one defect per build:
 *   BROKEN_MAJOR        built for ABI 2.0
 *   BROKEN_NO_ENTRY     exports no entry symbol
 *   BROKEN_NULL_QUERY   leaves the required op_support NULL
 *   BROKEN_ZERO_PROBE   probe says 0: unusable here
 *   BROKEN_SMALL_STRUCT a function table smaller than ABI 1.0's
 *   BROKEN_REFUSES      the entry point returns NULL
 *   PLUGIN_ABI_1_0      not broken: built for ABI 1.0, its table ends where
 *                       1.1 appended op_times
 *   (none)              loads; supports ADD, then fails to execute it; MUL
 *                       and SCALE only within batch limits
 * and, built with CLAIM_BUS_PATH, a plugin whose device says it drives the
 * intel_vpu device at that bus path (for `erg devices` over a fake tree).
 */
#include "erg/erg_plugin.h"

#include <stdio.h>
#include <stdlib.h>

struct erg_plugin_device { int unused; };
struct erg_plugin_buffer { size_t size; };
struct erg_plugin_compiled { int unused; };

static erg_plugin_device the_device;
static erg_plugin_compiled the_compiled;

static uint32_t probe(void) {
#ifdef BROKEN_ZERO_PROBE
    return 0;
#else
    return 1;
#endif
}

static erg_plugin_result device_count(uint32_t *count, char *err) {
    (void)err;
    *count = 1;
    return ERG_PLUGIN_OK;
}

static erg_plugin_result device_info(uint32_t index, erg_plugin_device_info *info, char *err) {
    (void)index;
    (void)err;
    snprintf(info->name, sizeof info->name, "broken0");
    snprintf(info->description, sizeof info->description, "a plugin that fails to execute");
    info->type = ERG_PLUGIN_DEVICE_OTHER;
#ifdef CLAIM_BUS_PATH
    snprintf(info->driver, sizeof info->driver, "intel_vpu");
    snprintf(info->bus_path, sizeof info->bus_path, "%s", CLAIM_BUS_PATH);
#endif
    return ERG_PLUGIN_OK;
}

static erg_plugin_result device_open(uint32_t index, erg_plugin_device **out, char *err) {
    (void)index;
    (void)err;
    *out = &the_device;
    return ERG_PLUGIN_OK;
}

static void device_close(erg_plugin_device *d) { (void)d; }

#ifndef BROKEN_NULL_QUERY
static erg_plugin_result op_support(erg_plugin_device *d, const erg_plugin_graph *g,
                                    erg_plugin_support *out) {
    (void)d;
    erg_plugin_op_kind k = g->ops[0].kind;
    out->verdict = k == ERG_PLUGIN_OP_ADD || k == ERG_PLUGIN_OP_MUL || k == ERG_PLUGIN_OP_SCALE
                       ? ERG_PLUGIN_YES
                       : ERG_PLUGIN_NO;
    /* Limits the host must honour: MUL pays off from 4 rows, SCALE takes at
     * most 2 rows per execute. */
    out->min_batch = k == ERG_PLUGIN_OP_MUL ? 4 : 0;
    out->max_batch = k == ERG_PLUGIN_OP_SCALE ? 2 : 0;
    return ERG_PLUGIN_OK;
}
#endif

static erg_plugin_result compile(erg_plugin_device *d, const erg_plugin_graph *g,
                                 erg_plugin_compiled **out, erg_plugin_compile_stats *stats,
                                 char *err) {
    (void)d;
    (void)g;
    (void)stats;
    (void)err;
    *out = &the_compiled;
    return ERG_PLUGIN_OK;
}

static void compiled_free(erg_plugin_compiled *c) { (void)c; }

static erg_plugin_result buffer_alloc(erg_plugin_device *d, size_t size, uint32_t kind,
                                      erg_plugin_buffer **out, char *err) {
    (void)d;
    (void)kind;
    (void)err;
    *out = malloc(sizeof **out);
    if (!*out)
        return ERG_PLUGIN_E_NO_MEMORY;
    (*out)->size = size;
    return ERG_PLUGIN_OK;
}

static void buffer_free(erg_plugin_buffer *b) { free(b); }

static erg_plugin_result copy(erg_plugin_buffer *b, size_t offset, const void *src, size_t size,
                              char *err) {
    (void)b;
    (void)offset;
    (void)src;
    (void)size;
    (void)err;
    return ERG_PLUGIN_OK;
}

static erg_plugin_result copy_back(erg_plugin_buffer *b, size_t offset, void *dst, size_t size,
                                   char *err) {
    (void)b;
    (void)offset;
    (void)dst;
    (void)size;
    (void)err;
    return ERG_PLUGIN_OK;
}

static erg_plugin_result execute(erg_plugin_compiled *c, erg_plugin_buffer *const *bindings,
                                 uint32_t n, erg_plugin_fence *wait, erg_plugin_fence *signal,
                                 char *err) {
    (void)c;
    (void)bindings;
    (void)n;
    (void)wait;
    (void)signal;
    snprintf(err, ERG_PLUGIN_ERR_MAX, "broken plugin: execute failed on purpose");
    return ERG_PLUGIN_E_DEVICE;
}

static const erg_plugin_api api = {
#if defined(BROKEN_SMALL_STRUCT)
    .struct_size = offsetof(erg_plugin_api, execute),
#elif defined(PLUGIN_ABI_1_0)
    .struct_size = offsetof(erg_plugin_api, op_times),
#else
    .struct_size = sizeof(erg_plugin_api),
#endif
#if defined(BROKEN_MAJOR)
    .abi_version = ERG_PLUGIN_ABI(2, 0),
#elif defined(PLUGIN_ABI_1_0)
    .abi_version = ERG_PLUGIN_ABI(1, 0),
#else
    .abi_version = ERG_PLUGIN_ABI_VERSION,
#endif
    .name = "broken",
    .version = "0",
    .probe = probe,
    .device_count = device_count,
    .device_info = device_info,
    .device_open = device_open,
    .device_close = device_close,
#ifndef BROKEN_NULL_QUERY
    .op_support = op_support,
#endif
    .compile = compile,
    .compiled_free = compiled_free,
    .buffer_alloc = buffer_alloc,
    .buffer_free = buffer_free,
    .copy_to_device = copy,
    .copy_from_device = copy_back,
    .execute = execute,
};

#ifdef BROKEN_NO_ENTRY
#define ENTRY erg_plugin_entry_misspelt
#else
#define ENTRY erg_plugin_entry
#endif

ERG_PLUGIN_EXPORT const erg_plugin_api *ENTRY(uint32_t host_abi, const erg_plugin_host *host);

ERG_PLUGIN_EXPORT const erg_plugin_api *ENTRY(uint32_t host_abi, const erg_plugin_host *host) {
    (void)host_abi;
    (void)host;
#if defined(BROKEN_REFUSES)
    return host_abi == 0 ? &api : NULL; /* never 0: refuses every host */
#else
    return &api;
#endif
}
