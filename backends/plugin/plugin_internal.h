/*
 * plugin_internal.h: what the plugin adapter's files share: a slot (one
 * loaded plugin and the erg_backend that serves it), and an opened device.
 */
#ifndef ERG_BACKENDS_PLUGIN_INTERNAL_H
#define ERG_BACKENDS_PLUGIN_INTERNAL_H

#include "backends/plugin/plugin_backend.h"
#include "backends/plugin/plugin_lib.h"

typedef struct erg_plugin_slot {
    erg_backend backend;
    erg_plugin_lib *lib;      /* NULL: the plugin failed to load (note says why) */
    char name[32];
    char note[ERG_DIAG_MAX];
    /* Loaded by erg_plugin_backend_load (erg plugin-check): compiled graphs
     * are not cached on disk but sent through serialize and deserialize,
     * so the checks run on what a cache would hand back. */
    bool checking;
} erg_plugin_slot;

struct erg_backend_device {
    erg_plugin_slot *slot;
    const erg_plugin_api *api;
    erg_plugin_device *pdev;
    const erg_allocator *alloc;
    erg_logger log;
    bool simulated;
};

/* Fills slot's table with the functions every plugin shares; enumerate and
 * open (which get no device to find the slot through) are the caller's,
 * and call the two below with the slot. */
void erg_plugin_slot_fill(erg_plugin_slot *slot);
erg_status erg_plugin_slot_enumerate(const erg_plugin_slot *s, const erg_backend_env *env,
                                     erg_device_info *infos, size_t cap, size_t *count,
                                     erg_diag *diag);
erg_status erg_plugin_slot_open(erg_plugin_slot *s, const erg_backend_env *env, size_t index,
                                erg_backend_device **out, erg_diag *diag);

/* Device index's driver and bus path as the plugin reports them. */
bool erg_plugin_slot_identity(const erg_plugin_slot *s, size_t index,
                              char driver[ERG_PLUGIN_DRIVER_MAX],
                              char bus_path[ERG_PLUGIN_BUS_PATH_MAX]);

erg_status erg_plugin_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                                  erg_backend_exec **out, erg_diag *diag);
void erg_plugin_exec_free(erg_backend_exec *exec);
erg_status erg_plugin_compile(erg_backend_exec *exec, const erg_graph *g, erg_diag *diag);
erg_status erg_plugin_execute(erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                              erg_diag *diag);
/* Each node's device time in the last execute: the plugin's op_times plus
 * the device time of the copies charged to the node; ERG_UNSUPPORTED for a
 * plugin without op_times. */
erg_status erg_plugin_node_times(const erg_backend_exec *exec, double *seconds, size_t n_nodes,
                                 erg_diag *diag);

/* Plugin error text with a fallback when the plugin wrote none. */
static inline const char *erg_plugin_err(const char *err) {
    return err[0] ? err : "(the plugin gave no reason)";
}

#endif
