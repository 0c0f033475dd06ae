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

/* The plugin backends found on this machine (loaded on the first call). */
const erg_backend *const *erg_plugin_backends(size_t *count);

/* Loads the plugin at path into a backend of its own (for erg plugin-check:
 * not added to the list above). Fails, with the loader's sentence, if the
 * plugin does not load or every slot is taken. */
erg_status erg_plugin_backend_load(const char *path, const erg_logger *log,
                                   const erg_backend **out, erg_diag *diag);

#endif
