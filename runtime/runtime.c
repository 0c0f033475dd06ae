/* erg_runtime: options and environment, the allocator and logger, and the
 * devices every registered backend finds. */
#include "runtime/internal.h"

#include "hal/cpu_info.h"
#ifdef ERG_HAVE_PLUGINS
#include "backends/plugin/plugin_backend.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *erg_version(void) { return "0.1.0"; }

erg_status erg_rt_set_error(char *last_error, erg_status st, const erg_diag *diag) {
    if (st == ERG_OK)
        last_error[0] = '\0';
    else
        snprintf(last_error, ERG_DIAG_MAX, "%s",
                 diag && diag->msg[0] ? diag->msg : erg_status_message(st));
    return st;
}

void erg_rt_copy_out(void *out, size_t out_size, const void *in, size_t in_size) {
    memcpy(out, in, out_size < in_size ? out_size : in_size);
    if (out_size > in_size)
        memset((char *)out + in_size, 0, out_size - in_size);
    memcpy(out, &out_size, sizeof out_size);
}

erg_backend_env erg_rt_backend_env(const erg_runtime *rt) {
    erg_backend_env env = {
        .alloc = &rt->alloc,
        .log = &rt->log,
        .n_threads = rt->n_threads,
        .cpu_features = rt->cpu_features[0] ? rt->cpu_features : NULL,
        .cpu_no_repack = rt->cpu_no_repack,
    };
    return env;
}

erg_status erg_rt_read_options(const void *in, void *out, size_t out_size, const char *type_name,
                               erg_diag *diag) {
    memset(out, 0, out_size);
    if (!in)
        return ERG_OK;
    size_t in_size;
    memcpy(&in_size, in, sizeof in_size);
    if (in_size < sizeof(size_t))
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "%s.struct_size is %zu: set it to sizeof(%s) (the _OPTIONS_INIT macro)",
                        type_name, in_size, type_name);
    memcpy(out, in, in_size < out_size ? in_size : out_size);
    return ERG_OK;
}

/* ERG_BACKENDS: the backends to use, comma-separated (unset: all). The CPU
 * is always used: it is the fallback. */
static bool backend_wanted(const char *name, const char *list) {
    if (!list || !*list || strcmp(name, "cpu") == 0)
        return true;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

static erg_status enumerate_devices(erg_runtime *rt, erg_diag *diag) {
    size_t n_backends;
    const erg_backend *const *backends = erg_backends(&n_backends);
    erg_backend_env env = erg_rt_backend_env(rt);
    rt->backend_notes = erg_calloc(&rt->alloc, n_backends, sizeof *rt->backend_notes);
    if (!rt->backend_notes)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "backend list");
    rt->n_backends = n_backends;
    for (size_t b = 0; b < n_backends; b++) {
        erg_device_info infos[16];
        size_t count = 0;
        erg_diag why = {{0}};
        erg_rt_backend_note *note = &rt->backend_notes[b];
        note->name = backends[b]->name;
        if (!backend_wanted(note->name, getenv("ERG_BACKENDS"))) {
            snprintf(note->note, sizeof note->note, "not used: ERG_BACKENDS is %s",
                     getenv("ERG_BACKENDS"));
            continue;
        }
        erg_status st = erg_backend_enumerate(backends[b], &env, infos, 16, &count, &why);
        if (st != ERG_OK) {
            /* The CPU is the fallback: without it there is no runtime. */
            if (b == 0)
                return erg_fail(diag, st, "%s", why.msg);
            ERG_LOGW(&rt->log, "%s backend: %s", backends[b]->name, why.msg);
            snprintf(note->note, sizeof note->note, "%s", why.msg);
            continue;
        }
        if (count == 0) {
            snprintf(note->note, sizeof note->note, "%s", why.msg[0] ? why.msg : "no device");
            ERG_LOGI(&rt->log, "%s backend: no device: %s", backends[b]->name, note->note);
        }
        if (count > 16)
            count = 16;
        note->n_devices = count;
        erg_rt_device *grown = erg_calloc(&rt->alloc, rt->n_devices + count, sizeof *grown);
        if (!grown)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "device list");
        if (rt->devices)
            memcpy(grown, rt->devices, rt->n_devices * sizeof *grown);
        erg_free(&rt->alloc, rt->devices);
        rt->devices = grown;
        for (size_t i = 0; i < count; i++) {
            erg_rt_device *d = &rt->devices[rt->n_devices++];
            d->backend = backends[b];
            d->backend_index = i;
            d->info = infos[i];
        }
    }
    return ERG_OK;
}

/* Appends s to the string in buf (size bytes), cutting what does not fit. */
static void append(char *buf, size_t size, const char *s) {
    size_t len = strlen(buf);
    if (len + 1 < size)
        snprintf(buf + len, size - len, "%s", s);
}

/* The accelerators the kernel exposes, each with the plugin device (if any)
 * whose device_info names its bus path or driver. */
static erg_status discover_accelerators(erg_runtime *rt, erg_diag *diag) {
    erg_rt_accels *x = erg_calloc(&rt->alloc, 1, sizeof *x);
    if (!x)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "accelerator list");
    rt->accels = x;
    erg_discover(&(erg_discover_env){.alloc = &rt->alloc}, &x->list);
    for (size_t i = 0; i < x->list.n_notes; i++) {
        append(x->notes, sizeof x->notes, i ? "\n" : "");
        append(x->notes, sizeof x->notes, x->list.notes[i]);
    }
#ifdef ERG_HAVE_PLUGINS
    for (size_t d = 0; d < rt->n_devices; d++) {
        char driver[ERG_PLUGIN_DRIVER_MAX], bus[ERG_PLUGIN_BUS_PATH_MAX];
        const erg_rt_device *dev = &rt->devices[d];
        if (!erg_plugin_backend_identity(dev->backend, dev->backend_index, driver, bus))
            continue;
        for (size_t a = 0; a < x->list.n; a++)
            if (!x->claimed_by[a][0] && erg_accel_matches(&x->list.items[a], driver, bus))
                snprintf(x->claimed_by[a], sizeof x->claimed_by[a], "%s", dev->info.name);
    }
#endif
    return ERG_OK;
}

static int default_threads(void) {
    erg_cpu_info ci;
    erg_cpu_info_probe(&ci);
    return ci.n_physical_cores > 0 ? ci.n_physical_cores : 1;
}

erg_status erg_runtime_create(const erg_runtime_options *options, erg_runtime **out) {
    if (!out)
        return ERG_INVALID_ARGUMENT;
    *out = NULL;
    erg_diag diag = {{0}};
    erg_runtime_options o;
    erg_logger fallback_log = {NULL, NULL, erg_log_level_parse(getenv("ERG_LOG"))};
    erg_status st = erg_rt_read_options(options, &o, sizeof o, "erg_runtime_options", &diag);
    if (st != ERG_OK) {
        ERG_LOGE(&fallback_log, "%s", diag.msg);
        return st;
    }
    /* Until the runtime exists, errors go to the caller's logger. */
    fallback_log.fn = o.log_fn;
    fallback_log.user = o.log_user;
    if (o.log_level != ERG_LOG_DEFAULT)
        fallback_log.level = o.log_level;
    const erg_allocator *a = o.allocator ? o.allocator : erg_default_allocator();
    if (!a->alloc || !a->free) {
        ERG_LOGE(&fallback_log, "erg_runtime_options.allocator needs both alloc and free");
        return ERG_INVALID_ARGUMENT;
    }
    erg_runtime *rt = erg_calloc(a, 1, sizeof *rt);
    if (!rt) {
        ERG_LOGE(&fallback_log, "out of memory creating the runtime");
        return ERG_OUT_OF_MEMORY;
    }
    rt->alloc = *a;
    if (pthread_mutex_init(&rt->device_lock, NULL) != 0) {
        erg_free(a, rt);
        ERG_LOGE(&fallback_log, "could not create a mutex");
        return ERG_INTERNAL;
    }
    rt->log = fallback_log;
    rt->n_threads = o.n_threads > 0 ? o.n_threads : default_threads();
    const char *features = o.cpu_features ? o.cpu_features : getenv("ERG_CPU_FEATURES");
    snprintf(rt->cpu_features, sizeof rt->cpu_features, "%s", features ? features : "");
    const char *repack = getenv("ERG_CPU_REPACK");
    rt->cpu_no_repack = o.cpu_no_repack || (repack && strcmp(repack, "0") == 0);
    const char *dev = getenv("ERG_DEVICE");
    snprintf(rt->default_device, sizeof rt->default_device, "%s", dev && *dev ? dev : "auto");
    if (o.n_threads < 0)
        st = erg_fail(&diag, ERG_INVALID_ARGUMENT, "n_threads is %d", o.n_threads);
    if (st == ERG_OK)
        st = enumerate_devices(rt, &diag);
    if (st == ERG_OK)
        st = discover_accelerators(rt, &diag);
    if (st != ERG_OK) {
        ERG_LOGE(&rt->log, "%s", diag.msg);
        erg_runtime_destroy(rt);
        return st;
    }
    *out = rt;
    return ERG_OK;
}

void erg_runtime_destroy(erg_runtime *rt) {
    if (!rt)
        return;
    for (size_t i = 0; i < rt->n_devices; i++)
        if (rt->devices[i].open)
            rt->devices[i].backend->close(rt->devices[i].open);
    pthread_mutex_destroy(&rt->device_lock);
    erg_allocator a = rt->alloc;
    erg_free(&a, rt->devices);
    erg_free(&a, rt->backend_notes);
    erg_free(&a, rt->accels);
    erg_free(&a, rt);
}

const char *erg_runtime_last_error(const erg_runtime *rt) { return rt ? rt->last_error : ""; }

size_t erg_runtime_device_count(const erg_runtime *rt) { return rt ? rt->n_devices : 0; }

size_t erg_runtime_backend_count(const erg_runtime *rt) { return rt ? rt->n_backends : 0; }

erg_status erg_runtime_backend_info(const erg_runtime *rt, size_t index, const char **name,
                                    size_t *n_devices, const char **note) {
    if (!rt || !name || !n_devices || !note || index >= rt->n_backends)
        return ERG_INVALID_ARGUMENT;
    *name = rt->backend_notes[index].name;
    *n_devices = rt->backend_notes[index].n_devices;
    *note = rt->backend_notes[index].note;
    return ERG_OK;
}

#define SAME_SIZE(a, b) (sizeof(((erg_accelerator_info *)0)->a) == sizeof(((erg_accel *)0)->b))
_Static_assert(SAME_SIZE(node, node) && SAME_SIZE(driver, driver) && SAME_SIZE(bus_path, bus_path),
               "erg_accelerator_info holds what discovery finds");
#undef SAME_SIZE

size_t erg_runtime_accelerator_count(const erg_runtime *rt) {
    return rt && rt->accels ? rt->accels->list.n : 0;
}

erg_status erg_runtime_accelerator_info(const erg_runtime *rt, size_t index,
                                        erg_accelerator_info *info) {
    if (!rt || !info || info->struct_size < sizeof(size_t))
        return ERG_INVALID_ARGUMENT;
    size_t n = erg_runtime_accelerator_count(rt);
    if (index >= n) {
        erg_diag d;
        return erg_rt_set_error(((erg_runtime *)rt)->last_error,
                                erg_fail(&d, ERG_NOT_FOUND, "accelerator %zu of %zu", index, n),
                                &d);
    }
    const erg_accel *a = &rt->accels->list.items[index];
    erg_accelerator_info out;
    memset(&out, 0, sizeof out);
    snprintf(out.source, sizeof out.source, "%s",
             a->source == ERG_ACCEL_FROM_DRM ? "drm" : "accel");
    memcpy(out.node, a->node, sizeof out.node);
    memcpy(out.driver, a->driver, sizeof out.driver);
    memcpy(out.bus_path, a->bus_path, sizeof out.bus_path);
    out.vendor_id = a->vendor_id;
    out.device_id = a->device_id;
    memcpy(out.claimed_by, rt->accels->claimed_by[index], sizeof out.claimed_by);
    erg_rt_copy_out(info, info->struct_size, &out, sizeof out);
    return ERG_OK;
}

const char *erg_runtime_accelerator_notes(const erg_runtime *rt) {
    return rt && rt->accels ? rt->accels->notes : "";
}

erg_status erg_runtime_device_info(const erg_runtime *rt, size_t index, erg_device_info *info) {
    if (!rt || !info || info->struct_size < sizeof(size_t))
        return ERG_INVALID_ARGUMENT;
    if (index >= rt->n_devices) {
        erg_diag d;
        return erg_rt_set_error(((erg_runtime *)rt)->last_error,
                                erg_fail(&d, ERG_NOT_FOUND, "device %zu of %zu", index,
                                         rt->n_devices),
                                &d);
    }
    erg_rt_copy_out(info, info->struct_size, &rt->devices[index].info, sizeof *info);
    return ERG_OK;
}

erg_status erg_rt_device_acquire(erg_runtime *rt, const char *name, erg_rt_device **out,
                                 erg_diag *diag) {
    *out = NULL;
    if (!name || !*name)
        name = rt->default_device;
    erg_rt_device *dev = NULL;
    if (strcmp(name, "auto") == 0) {
        /* Sessions place "auto" by cost (session_auto.c); a caller that needs
         * one device (erg graph's fusion check) gets the first found, the CPU,
         * which runs every op. */
        dev = rt->n_devices ? &rt->devices[0] : NULL;
    } else {
        char want[40];
        snprintf(want, sizeof want, "%s", name);
        /* "vulkan" means "vulkan:0"; "cpu:0" means "cpu". */
        if (!strchr(want, ':') && strcmp(want, "cpu") != 0)
            append(want, sizeof want, ":0");
        if (strcmp(want, "cpu:0") == 0)
            snprintf(want, sizeof want, "cpu");
        for (size_t i = 0; i < rt->n_devices && !dev; i++)
            if (strcmp(rt->devices[i].info.name, want) == 0)
                dev = &rt->devices[i];
    }
    if (!dev) {
        char list[256] = "";
        for (size_t i = 0; i < rt->n_devices; i++) {
            append(list, sizeof list, i ? ", " : "");
            append(list, sizeof list, rt->devices[i].info.name);
        }
        return erg_fail(diag, ERG_NOT_FOUND, "no device '%s' (devices: %s, auto)", name, list);
    }
    erg_status st = ERG_OK;
    pthread_mutex_lock(&rt->device_lock);
    if (!dev->open) {
        erg_backend_env env = erg_rt_backend_env(rt);
        st = erg_backend_open(dev->backend, &env, dev->backend_index, &dev->open, diag);
    }
    pthread_mutex_unlock(&rt->device_lock);
    if (st == ERG_OK)
        *out = dev;
    return st;
}
