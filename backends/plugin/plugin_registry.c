/* The plugins of this process: found once, each in a slot of its own. The
 * backend interface's enumerate and open receive no backend pointer, so
 * each slot has its own pair of small functions that name it. */
#include "backends/plugin/plugin_internal.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static erg_plugin_slot slots[ERG_PLUGIN_SLOTS];
static size_t n_slots;               /* slots taken */
static const erg_backend *found[ERG_PLUGIN_SLOTS];
static size_t n_found;               /* slots the search filled */
static pthread_once_t search_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;

#define SLOT_FUNCS(i)                                                                       \
    static erg_status enumerate_##i(const erg_backend_env *env, erg_device_info *infos,     \
                                    size_t cap, size_t *count, erg_diag *diag) {            \
        return erg_plugin_slot_enumerate(&slots[i], env, infos, cap, count, diag);          \
    }                                                                                       \
    static erg_status open_##i(const erg_backend_env *env, size_t index,                    \
                               erg_backend_device **out, erg_diag *diag) {                  \
        return erg_plugin_slot_open(&slots[i], env, index, out, diag);                      \
    }
SLOT_FUNCS(0)
SLOT_FUNCS(1)
SLOT_FUNCS(2)
SLOT_FUNCS(3)
SLOT_FUNCS(4)
SLOT_FUNCS(5)
SLOT_FUNCS(6)
SLOT_FUNCS(7)
#undef SLOT_FUNCS

typedef erg_status (*enumerate_fn)(const erg_backend_env *, erg_device_info *, size_t, size_t *,
                                   erg_diag *);
typedef erg_status (*open_fn)(const erg_backend_env *, size_t, erg_backend_device **,
                              erg_diag *);
static const enumerate_fn enumerates[ERG_PLUGIN_SLOTS] = {
    enumerate_0, enumerate_1, enumerate_2, enumerate_3,
    enumerate_4, enumerate_5, enumerate_6, enumerate_7};
static const open_fn opens[ERG_PLUGIN_SLOTS] = {open_0, open_1, open_2, open_3,
                                                open_4, open_5, open_6, open_7};

/* Takes a slot for the plugin at path (under slot_lock). NULL when full. */
static erg_plugin_slot *take_slot(const char *path, const erg_logger *log) {
    if (n_slots == ERG_PLUGIN_SLOTS)
        return NULL;
    size_t i = n_slots++;
    erg_plugin_slot *s = &slots[i];
    memset(s, 0, sizeof *s);
    if (!erg_plugin_name_from_path(path, s->name, sizeof s->name))
        snprintf(s->name, sizeof s->name, "plugin%zu", i);
    erg_diag diag = {{0}};
    if (erg_plugin_lib_open(path, NULL, log, &s->lib, &diag) != ERG_OK)
        snprintf(s->note, sizeof s->note, "%s", diag.msg);
    erg_plugin_slot_fill(s);
    s->backend.enumerate = enumerates[i];
    s->backend.open = opens[i];
    return s;
}

static bool already_found(const char *name) {
    for (size_t i = 0; i < n_found; i++)
        if (strcmp(found[i]->name, name) == 0)
            return true;
    return false;
}

static int compare_names(const void *a, const void *b) { return strcmp(a, b); }

static void search_dir(const char *dir, const erg_logger *log) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    /* Sorted, so the order (and thus the device list) does not depend on
     * the file system. */
    char names[ERG_PLUGIN_SLOTS * 4][64];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < sizeof names / sizeof names[0];) {
        char name[32];
        size_t len = strlen(e->d_name);
        if (erg_plugin_name_from_path(e->d_name, name, sizeof name) && len < sizeof names[0])
            memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    for (size_t i = 0; i < n; i++) {
        char name[32], path[4096];
        erg_plugin_name_from_path(names[i], name, sizeof name);
        if (already_found(name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        erg_plugin_slot *s = take_slot(path, log);
        if (!s) {
            ERG_LOGW(log, "plugin %s: skipped: erg holds at most %d plugins", path,
                     ERG_PLUGIN_SLOTS);
            return;
        }
        found[n_found++] = &s->backend;
    }
}

static void search(void) {
    erg_logger log = {NULL, NULL, erg_log_level_parse(getenv("ERG_LOG"))};
    pthread_mutex_lock(&slot_lock);
    const char *env = getenv("ERG_PLUGIN_PATH");
    if (env) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", env);
        char *save = NULL;
        for (char *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
            search_dir(dir, &log);
    }
    search_dir(ERG_PLUGIN_INSTALL_DIR, &log);
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            snprintf(slash, sizeof exe - (size_t)(slash - exe), "/../lib/erg/plugins");
            search_dir(exe, &log);
        }
    }
    pthread_mutex_unlock(&slot_lock);
}

const erg_backend *const *erg_plugin_backends(size_t *count) {
    pthread_once(&search_once, search);
    *count = n_found;
    return found;
}

erg_status erg_plugin_backend_load(const char *path, const erg_logger *log,
                                   const erg_backend **out, erg_diag *diag) {
    *out = NULL;
    pthread_mutex_lock(&slot_lock);
    erg_plugin_slot *s = take_slot(path, log);
    if (s)
        s->checking = true;
    pthread_mutex_unlock(&slot_lock);
    if (!s)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin %s: erg holds at most %d plugins", path,
                        ERG_PLUGIN_SLOTS);
    if (!s->lib)
        return erg_fail(diag, ERG_UNSUPPORTED, "%s", s->note);
    *out = &s->backend;
    return ERG_OK;
}

bool erg_plugin_backend_identity(const erg_backend *b, size_t index,
                                 char driver[ERG_PLUGIN_DRIVER_MAX],
                                 char bus_path[ERG_PLUGIN_BUS_PATH_MAX]) {
    const erg_plugin_slot *s = NULL;
    pthread_mutex_lock(&slot_lock);
    for (size_t i = 0; i < n_slots && !s; i++)
        if (&slots[i].backend == b)
            s = &slots[i];
    pthread_mutex_unlock(&slot_lock);
    return s && erg_plugin_slot_identity(s, index, driver, bus_path);
}
