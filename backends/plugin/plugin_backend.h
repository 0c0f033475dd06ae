/*
 * plugin_backend.h: each loaded plugin as an erg_backend, so its devices are
 * named <plugin> / <plugin>:N like every other device. The plugins are found
 * once per process (liberg-plugin-<name>.so in ERG_PLUGIN_PATH, then the
 * installed plugin directory, then ../lib/erg/plugins beside the executable).
 * A plugin that fails to load still appears, with no device and the reason
 * as its note.
 */
#ifndef ERG_BACKENDS_PLUGIN_BACKEND_H
#define ERG_BACKENDS_PLUGIN_BACKEND_H

#include "backends/backend.h"

#define ERG_PLUGIN_SLOTS 8
/* The sizes of erg_plugin_device_info.driver and .bus_path. */
#define ERG_PLUGIN_DRIVER_MAX 32
#define ERG_PLUGIN_BUS_PATH_MAX 64

/* The plugin backends found on this machine (loaded on the first call). */
const erg_backend *const *erg_plugin_backends(size_t *count);

/* Loads the plugin at path into a backend of its own (for erg plugin-check:
 * not added to the list above). Its compiled graphs skip the disk cache and
 * go through serialize and deserialize when the plugin offers them, so the
 * checks cover both. Fails, with the loader's sentence, if the plugin does
 * not load or every slot is taken. */
erg_status erg_plugin_backend_load(const char *path, const erg_logger *log,
                                   const erg_backend **out, erg_diag *diag);

/* The kernel device that device index of plugin backend b drives, as the
 * plugin's device_info says (driver and bus path; either may be ""), so that
 * `erg devices` can say which plugin claims each discovered accelerator.
 * False if b is not a plugin backend or the plugin does not answer. */
bool erg_plugin_backend_identity(const erg_backend *b, size_t index,
                                 char driver[ERG_PLUGIN_DRIVER_MAX],
                                 char bus_path[ERG_PLUGIN_BUS_PATH_MAX]);

#endif
