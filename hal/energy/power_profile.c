/* Device power profiles: defaults per class, overridden from a JSON file. */
#include "hal/energy/power_profile.h"

#include "base/alloc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rated powers (TDP, base power, board power) are what vendors publish: a
 * sustained-load ceiling, not a measurement of erg's kernels. Nobody
 * publishes idle power per core, so idle figures are stated assumptions. */
static const erg_power_profile defaults[] = {
    {"desktop-cpu", "", 10.8, 1.1, true,
     "Intel Core i5-12400: 65 W processor base power over 6 cores (Intel ARK); "
     "idle assumed 10% of that"},
    {"laptop-cpu", "", 2.3, 0.23, true,
     "Intel Core i7-1260P: 28 W processor base power over 12 cores (Intel ARK); "
     "idle assumed 10% of that"},
    {"server-cpu", "", 4.4, 1.1, true,
     "AMD EPYC 7763: 280 W default TDP over 64 cores (AMD product page); "
     "idle assumed 25% of that"},
    {"mobile-soc", "", 2.5, 0.25, true,
     "NVIDIA Jetson Orin Nano 8GB: 15 W power mode over 6 Cortex-A78AE cores (NVIDIA "
     "datasheet); idle assumed 10% of that"},
    {"integrated-gpu", "", 14.0, 0.5, false,
     "half of a 28 W laptop package (Intel Core i7-1165G7 with Iris Xe, 28 W TDP-up, "
     "Intel ARK); idle assumed"},
    {"discrete-gpu", "", 170.0, 15.0, false,
     "NVIDIA GeForce RTX 3060: 170 W graphics card power (NVIDIA specifications); "
     "idle assumed"},
    {"npu", "", 5.0, 0.5, false, "assumed: a few watts, as laptop NPUs are marketed; no "
                                 "published per-device figure"},
    {"accelerator", "", 10.0, 1.0, false, "assumed: no published figure for this kind"},
};

static erg_status add_entry(erg_power_profiles *p, const erg_power_profile *e, erg_diag *diag) {
    /* A user entry for a class (or device) replaces the one already there. */
    for (size_t i = 0; i < p->n; i++) {
        erg_power_profile *old = &p->entries[i];
        bool same = e->device[0]
                        ? strcmp(old->device, e->device) == 0
                        : !old->device[0] && strcmp(old->device_class, e->device_class) == 0;
        if (same) {
            *old = *e;
            return ERG_OK;
        }
    }
    if (!erg_grow_array(p->alloc, (void **)&p->entries, sizeof *p->entries, &p->cap, p->n + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "power profiles");
    p->entries[p->n++] = *e;
    return ERG_OK;
}

static bool known_class(const char *c) {
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        if (strcmp(defaults[i].device_class, c) == 0)
            return true;
    return false;
}

static erg_status parse_entry(const cJSON *o, const char *path, int index, erg_power_profile *e,
                              erg_diag *diag) {
    memset(e, 0, sizeof *e);
    if (!cJSON_IsObject(o))
        return erg_fail(diag, ERG_FORMAT, "%s: profiles[%d] is not an object", path, index);
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "class");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(o, "device");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "active_watts");
    const cJSON *idle = cJSON_GetObjectItemCaseSensitive(o, "idle_watts");
    const cJSON *per_core = cJSON_GetObjectItemCaseSensitive(o, "per_core");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
    if (cJSON_IsString(cls) == cJSON_IsString(dev))
        return erg_fail(diag, ERG_FORMAT, "%s: profiles[%d] needs either \"class\" or \"device\"",
                        path, index);
    if (cJSON_IsString(cls) && !known_class(cls->valuestring))
        return erg_fail(diag, ERG_FORMAT, "%s: profiles[%d]: unknown class \"%.40s\"", path, index,
                        cls->valuestring);
    if (!cJSON_IsNumber(act) || !cJSON_IsNumber(idle) || act->valuedouble < 0 ||
        idle->valuedouble < 0 || idle->valuedouble > act->valuedouble ||
        act->valuedouble > 100000)
        return erg_fail(diag, ERG_FORMAT,
                        "%s: profiles[%d] needs active_watts >= idle_watts >= 0 (numbers)", path,
                        index);
    if (per_core && !cJSON_IsBool(per_core))
        return erg_fail(diag, ERG_FORMAT, "%s: profiles[%d]: per_core must be true or false",
                        path, index);
    if (cJSON_IsString(cls))
        snprintf(e->device_class, sizeof e->device_class, "%s", cls->valuestring);
    else
        snprintf(e->device, sizeof e->device, "%s", dev->valuestring);
    e->active_watts = act->valuedouble;
    e->idle_watts = idle->valuedouble;
    e->per_core = cJSON_IsTrue(per_core);
    if (cJSON_IsString(src))
        snprintf(e->source, sizeof e->source, "%s", src->valuestring);
    else
        snprintf(e->source, sizeof e->source, "%s", path);
    return ERG_OK;
}

static erg_status read_text(const erg_allocator *a, const char *path, char **out, erg_diag *diag) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return erg_fail(diag, ERG_IO, "power profile %s: %s", path, strerror(errno));
    /* A profile is a few entries; anything near this size is not one. */
    enum { MAX_BYTES = 1 << 20 };
    char *text = erg_malloc(a, MAX_BYTES + 1);
    if (!text) {
        fclose(f);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "power profile %s", path);
    }
    size_t n = fread(text, 1, MAX_BYTES + 1, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || n > MAX_BYTES) {
        erg_free(a, text);
        return erg_fail(diag, failed ? ERG_IO : ERG_FORMAT, "power profile %s: %s", path,
                        failed ? "read failed" : "larger than 1 MiB");
    }
    text[n] = '\0';
    *out = text;
    return ERG_OK;
}

static erg_status load_user(erg_power_profiles *p, const char *path, erg_diag *diag) {
    char *text;
    ERG_RETURN_IF_ERROR(read_text(p->alloc, path, &text, diag));
    cJSON *root = cJSON_Parse(text);
    erg_free(p->alloc, text);
    const cJSON *list = root ? cJSON_GetObjectItemCaseSensitive(root, "profiles") : NULL;
    erg_status st = ERG_OK;
    if (!root)
        st = erg_fail(diag, ERG_FORMAT, "power profile %s: not valid JSON", path);
    else if (!cJSON_IsArray(list))
        st = erg_fail(diag, ERG_FORMAT, "power profile %s: no \"profiles\" array", path);
    int index = 0;
    for (const cJSON *o = list ? list->child : NULL; o && st == ERG_OK; o = o->next, index++) {
        erg_power_profile e;
        st = parse_entry(o, path, index, &e, diag);
        if (st == ERG_OK)
            st = add_entry(p, &e, diag);
    }
    cJSON_Delete(root);
    if (st == ERG_OK)
        snprintf(p->user_file, sizeof p->user_file, "%s", path);
    return st;
}

erg_status erg_power_profiles_load(erg_power_profiles *p, const erg_allocator *alloc,
                                   const char *user_path, erg_diag *diag) {
    memset(p, 0, sizeof *p);
    p->alloc = erg_allocator_or_default(alloc);
    erg_status st = ERG_OK;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && st == ERG_OK; i++)
        st = add_entry(p, &defaults[i], diag);
    const char *path = user_path ? user_path : getenv("ERG_POWER_PROFILE");
    if (st == ERG_OK && path && path[0])
        st = load_user(p, path, diag);
    if (st != ERG_OK)
        erg_power_profiles_free(p);
    return st;
}

void erg_power_profiles_free(erg_power_profiles *p) {
    if (!p)
        return;
    erg_free(p->alloc, p->entries);
    p->entries = NULL;
    p->n = p->cap = 0;
}

static bool has_word(const char *s, const char *const *words, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strstr(s, words[i]))
            return true;
    return false;
}

static const char *cpu_class(const erg_device_info *cpu, bool on_battery_machine) {
    static const char *const server[] = {"EPYC", "Xeon", "Neoverse", "Graviton", "Ampere"};
    if (cpu->cpu_features & ERG_CPU_FEATURE_NEON)
        return "mobile-soc";
    if (has_word(cpu->description, server, sizeof server / sizeof server[0]))
        return "server-cpu";
    return on_battery_machine ? "laptop-cpu" : "desktop-cpu";
}

const char *erg_power_class_of(const erg_device_info *dev, const erg_device_info *host_cpu,
                               bool on_battery_machine) {
    switch (dev->kind) {
    case ERG_DEVICE_CPU: return cpu_class(dev, on_battery_machine);
    case ERG_DEVICE_GPU: return dev->unified_memory ? "integrated-gpu" : "discrete-gpu";
    case ERG_DEVICE_NPU: return "npu";
    default:
        /* llvmpipe and PoCL: the host's cores do the work. */
        if (dev->unified_memory && host_cpu)
            return cpu_class(host_cpu, on_battery_machine);
        return "accelerator";
    }
}

const erg_power_profile *erg_power_profile_find(const erg_power_profiles *p,
                                                const char *device_name, const char *device_class) {
    for (size_t i = 0; i < p->n; i++)
        if (device_name && p->entries[i].device[0] &&
            strcmp(p->entries[i].device, device_name) == 0)
            return &p->entries[i];
    for (size_t i = 0; i < p->n; i++)
        if (!p->entries[i].device[0] && device_class &&
            strcmp(p->entries[i].device_class, device_class) == 0)
            return &p->entries[i];
    return NULL;
}
