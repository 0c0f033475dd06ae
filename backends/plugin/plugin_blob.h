/*
 * plugin_blob.h: compiled graphs cached on disk, for plugins that serialise
 * them (a context binary, a compiled model blob). An entry lives in
 * <cache dir>/plugin-<name>/<key>.blob; the key hashes the plugin's
 * compat_string, the graph's structure and its constants' bytes (not their
 * addresses, which change between processes). The file repeats the compat
 * string, with a stamp of the plugin's .so, and carries a checksum: a blob
 * made by another driver, firmware, compiler or build of the plugin, or
 * damaged on disk, is compiled again (and its file rewritten), never handed
 * over.
 */
#ifndef ERG_BACKENDS_PLUGIN_BLOB_H
#define ERG_BACKENDS_PLUGIN_BLOB_H

#include "backends/plugin/plugin_graph.h"
#include "backends/plugin/plugin_internal.h"

#include <limits.h>

typedef struct erg_plugin_blob_ref {
    char compat[320];       /* the device's compat string; the plugin file's stamp */
    char path[PATH_MAX];
} erg_plugin_blob_ref;

/* Where pg's blob lives for device d; false when the plugin cannot cache
 * (no serialize, deserialize or compat_string) or there is no cache dir. */
bool erg_plugin_blob_ref_make(erg_backend_device *d, const erg_pgraph *pg,
                              erg_plugin_blob_ref *ref);

/* The compiled graph from the cache, or NULL (no entry, a stale or damaged
 * one: the reason is logged at info level). */
erg_plugin_compiled *erg_plugin_blob_load(erg_backend_device *d, const erg_plugin_blob_ref *ref);

/* Serialises c into the cache. A failure is logged, not returned: the cache
 * only saves time. */
void erg_plugin_blob_store(erg_backend_device *d, const erg_plugin_blob_ref *ref,
                           const erg_plugin_compiled *c);

/* Replaces *c by what serialize then deserialize make of it (for erg
 * plugin-check); a no-op for a plugin without them. A failure of either is
 * the plugin's bug: ERG_DEVICE with its reason (*c is then freed). */
erg_status erg_plugin_blob_round_trip(erg_backend_device *d, erg_plugin_compiled **c,
                                      erg_diag *diag);

#endif
