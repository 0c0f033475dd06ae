/*
 * plugin_lib.h: loading one vendor plugin (liberg-plugin-<name>.so): dlopen,
 * the entry symbol, the ABI version and struct-size handshake, and the
 * functions ABI 1.0 requires. A plugin that fails any check is closed again
 * and the one sentence in diag says why; nothing aborts.
 */
#ifndef ERG_BACKENDS_PLUGIN_LIB_H
#define ERG_BACKENDS_PLUGIN_LIB_H

#include "base/diag.h"
#include "base/log.h"

#include "erg/erg_plugin.h"

#include <limits.h>

typedef struct erg_plugin_lib {
    void *handle;
    erg_plugin_api api;    /* the plugin's table, zero past its struct_size */
    erg_plugin_host host;  /* the services handed to the plugin */
    const erg_allocator *alloc;
    erg_logger log;
    uint32_t score;        /* probe()'s answer */
    uint64_t file_stamp;   /* of the .so's size and time: changes when it is rebuilt */
    char name[32];         /* <name> from the file name */
    char path[PATH_MAX];
    char dir[PATH_MAX];
} erg_plugin_lib;

/* The <name> of a path ending in liberg-plugin-<name>.so, or false. */
bool erg_plugin_name_from_path(const char *path, char *name, size_t size);

/* Loads and checks the plugin at path. log receives the plugin's log lines.
 * A probe score of 0 fails with ERG_UNSUPPORTED ("unusable here"). */
erg_status erg_plugin_lib_open(const char *path, const erg_allocator *alloc,
                               const erg_logger *log, erg_plugin_lib **out, erg_diag *diag);
void erg_plugin_lib_close(erg_plugin_lib *lib);

#endif
