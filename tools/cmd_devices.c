/* erg devices [-o table|json] [--json]: what erg found on this machine: its
 * devices, and every accelerator the kernel exposes with the plugin (if
 * any) that drives it. */
#include "tools/cli.h"

#include "hal/cpu_info.h"
#include "hal/energy/device_energy.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(erg_device_kind k) {
    static const char *const names[] = {"cpu", "gpu", "npu", "other"};
    return (unsigned)k < 4 ? names[k] : "other";
}

static void gpu_features_format(uint32_t f, char *buf, size_t n) {
    static const char *const names[] = {"fp16-storage", "fp16-math", "int8-storage", "int8-math",
                                        "int-dot", "subgroups", "timestamps", "fp64"};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & (1u << i)) {
            strncat(buf, buf[0] ? " " : "", n - strlen(buf) - 1);
            strncat(buf, names[i], n - strlen(buf) - 1);
        }
}

static void print_gpu(const erg_device_info *d) {
    char features[160];
    gpu_features_format(d->gpu_features, features, sizeof features);
    printf("  vendor      %s\n", d->vendor);
    printf("  api         %s, driver %s\n", d->api_version, d->driver_version);
    for (uint32_t h = 0; h < d->n_memory_heaps && h < 4; h++)
        printf("  heap %u      %.1f GiB%s%s\n", h, (double)d->memory_heaps[h].bytes / 1073741824.0,
               d->memory_heaps[h].device_local ? " device-local" : "",
               d->memory_heaps[h].host_visible ? " host-visible" : "");
    if (d->compute_units)
        printf("  units       %u compute units\n", d->compute_units);
    printf("  subgroup    %u\n", d->subgroup_size);
    printf("  shared mem  %.0f KiB per workgroup; largest buffer %.0f MiB\n",
           (double)d->local_memory_bytes / 1024.0, (double)d->max_buffer_bytes / 1048576.0);
    printf("  features    %s\n", features[0] ? features : "(none)");
    if (d->timer_period_ns > 0)
        printf("  timer       %g ns\n", d->timer_period_ns);
}

static void add_gpu_json(cJSON *o, const erg_device_info *d) {
    char features[160];
    gpu_features_format(d->gpu_features, features, sizeof features);
    cJSON_AddStringToObject(o, "vendor", d->vendor);
    cJSON_AddStringToObject(o, "api_version", d->api_version);
    cJSON_AddStringToObject(o, "driver_version", d->driver_version);
    cJSON_AddNumberToObject(o, "compute_units", d->compute_units);
    cJSON_AddNumberToObject(o, "subgroup_size", d->subgroup_size);
    cJSON_AddNumberToObject(o, "local_memory_bytes", (double)d->local_memory_bytes);
    cJSON_AddNumberToObject(o, "max_buffer_bytes", (double)d->max_buffer_bytes);
    cJSON_AddNumberToObject(o, "timer_period_ns", d->timer_period_ns);
    cJSON_AddStringToObject(o, "features", features);
    cJSON *heaps = cJSON_AddArrayToObject(o, "memory_heaps");
    for (uint32_t h = 0; h < d->n_memory_heaps && h < 4; h++) {
        cJSON *ho = cJSON_CreateObject();
        cJSON_AddNumberToObject(ho, "bytes", (double)d->memory_heaps[h].bytes);
        cJSON_AddBoolToObject(ho, "device_local", d->memory_heaps[h].device_local);
        cJSON_AddBoolToObject(ho, "host_visible", d->memory_heaps[h].host_visible);
        cJSON_AddItemToArray(heaps, ho);
    }
}

/* Where each device's joules come from: a sensor, or the labelled estimate. */
typedef struct energy_view {
    erg_energy_registry *reg; /* NULL: not available (out of memory) */
    erg_power_profiles profiles;
    erg_device_info *devs;
    size_t n;
} energy_view;

static void energy_open(erg_runtime *rt, energy_view *e) {
    memset(e, 0, sizeof *e);
    e->n = erg_runtime_device_count(rt);
    e->devs = calloc(e->n ? e->n : 1, sizeof *e->devs);
    if (!e->devs)
        return;
    for (size_t i = 0; i < e->n; i++) {
        e->devs[i].struct_size = sizeof e->devs[i];
        erg_runtime_device_info(rt, i, &e->devs[i]);
    }
    erg_diag diag = {{0}};
    if (erg_power_profiles_load(&e->profiles, NULL, NULL, &diag) != ERG_OK) {
        fprintf(stderr, "erg devices: %s (using the default power profiles)\n", diag.msg);
        erg_power_profiles_load(&e->profiles, NULL, "", NULL);
    }
    if (erg_energy_registry_open(NULL, &e->reg, &diag) != ERG_OK)
        fprintf(stderr, "erg devices: energy meters: %s\n", diag.msg);
}

static void energy_close(energy_view *e) {
    erg_energy_registry_close(e->reg);
    erg_power_profiles_free(&e->profiles);
    free(e->devs);
}

static void print_energy(const energy_view *e, size_t i) {
    if (!e->reg || i >= e->n)
        return;
    erg_device_energy de;
    char line[320];
    erg_device_energy_resolve(e->reg, &e->profiles, e->devs, e->n, i, &de);
    erg_device_energy_describe(&de, line, sizeof line);
    printf("  energy      %s\n", line);
}

/* Every domain found (usable or not, and why), or what each source saw. */
static void print_energy_sources(const energy_view *e) {
    if (!e->reg)
        return;
    size_t n = erg_energy_registry_count(e->reg), usable = 0;
    for (size_t i = 0; i < n; i++) {
        const erg_energy_desc *d = erg_energy_domain_desc(erg_energy_registry_domain(e->reg, i));
        usable += d->usable;
        printf("energy domain %s: %s, %s%s%s\n", d->name, erg_energy_source_name(d->source),
               d->usable ? erg_energy_scope_name(d->scope) : "not used",
               d->note[0] ? ": " : "", d->note);
    }
    if (usable)
        return;
    printf("energy: no sensor found here, so every joule erg reports is an estimate "
           "(power profile x busy time)\n");
    for (int s = ERG_ENERGY_RAPL; s <= ERG_ENERGY_BATTERY; s++)
        printf("  %-8s %s\n", erg_energy_source_name((erg_energy_source)s),
               erg_energy_registry_note(e->reg, (erg_energy_source)s));
}

static void add_energy_json(cJSON *o, const energy_view *e, size_t i) {
    if (!e->reg || i >= e->n)
        return;
    erg_device_energy de;
    char line[320];
    erg_device_energy_resolve(e->reg, &e->profiles, e->devs, e->n, i, &de);
    erg_device_energy_describe(&de, line, sizeof line);
    cJSON *j = cJSON_AddObjectToObject(o, "energy");
    cJSON_AddStringToObject(j, "source", erg_energy_source_name(de.source));
    cJSON_AddBoolToObject(j, "measured", de.measured);
    cJSON_AddStringToObject(j, "detail", line);
    if (de.domain) {
        const erg_energy_desc *d = erg_energy_domain_desc(de.domain);
        cJSON_AddStringToObject(j, "domain", d->name);
        cJSON_AddStringToObject(j, "scope", erg_energy_scope_name(d->scope));
        cJSON_AddStringToObject(j, "path", d->path);
        cJSON_AddNumberToObject(j, "update_interval_s", d->update_interval_s);
        cJSON_AddNumberToObject(j, "resolution", d->resolution);
        cJSON_AddNumberToObject(j, "wrap_joules", d->wrap_joules);
        cJSON_AddBoolToObject(j, "needs_privilege", d->needs_privilege);
        cJSON_AddStringToObject(j, "shared_with", de.shared_with);
    } else {
        cJSON_AddNullToObject(j, "domain");
    }
    cJSON_AddStringToObject(j, "device_class", de.device_class);
    if (de.have_profile) {
        cJSON *p = cJSON_AddObjectToObject(j, "profile");
        cJSON_AddNumberToObject(p, "active_watts", de.profile.active_watts);
        cJSON_AddNumberToObject(p, "idle_watts", de.profile.idle_watts);
        cJSON_AddBoolToObject(p, "per_core", de.profile.per_core);
        cJSON_AddNumberToObject(p, "threads", de.threads);
        cJSON_AddStringToObject(p, "source", de.profile.source);
    }
}

/* The plugin part of an erg device name ("vendor" of "vendor:0"). */
static void plugin_of(const char *device, char *out, size_t n) {
    snprintf(out, n, "%.*s", (int)strcspn(device, ":"), device);
}

/* The next line of erg_runtime_accelerator_notes(); false at the end. */
static bool next_note(const char **p, char *line, size_t n) {
    if (!**p)
        return false;
    size_t len = strcspn(*p, "\n");
    snprintf(line, n, "%.*s", (int)len, *p);
    *p += len + ((*p)[len] == '\n');
    return true;
}

/* Accelerators the kernel exposes, with the plugin that drives each. */
static void print_accelerators(erg_runtime *rt) {
    size_t n = erg_runtime_accelerator_count(rt);
    for (size_t i = 0; i < n; i++) {
        erg_accelerator_info a = {.struct_size = sizeof a};
        if (erg_runtime_accelerator_info(rt, i, &a) != ERG_OK)
            continue;
        char plugin[32];
        plugin_of(a.claimed_by, plugin, sizeof plugin);
        printf("accelerator %s\n", a.bus_path);
        printf("  driver      %s (%s)\n", a.driver[0] ? a.driver : "unknown", a.source);
        printf("  node        %s\n", a.node[0] ? a.node : "(none)");
        if (a.vendor_id || a.device_id)
            printf("  pci ids     %04x:%04x\n", a.vendor_id, a.device_id);
        if (a.claimed_by[0])
            printf("  erg         plugin %s, device %s\n", plugin, a.claimed_by);
        else
            printf("  erg         no erg plugin loaded\n");
    }
    const char *notes = erg_runtime_accelerator_notes(rt);
    for (char line[256]; next_note(&notes, line, sizeof line);)
        printf("accelerators: %s\n", line);
}

static void add_accelerators_json(cJSON *root, erg_runtime *rt) {
    cJSON *arr = cJSON_AddArrayToObject(root, "accelerators");
    size_t n = erg_runtime_accelerator_count(rt);
    for (size_t i = 0; i < n; i++) {
        erg_accelerator_info a = {.struct_size = sizeof a};
        if (erg_runtime_accelerator_info(rt, i, &a) != ERG_OK)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "bus_path", a.bus_path);
        cJSON_AddStringToObject(o, "driver", a.driver);
        cJSON_AddStringToObject(o, "source", a.source);
        cJSON_AddStringToObject(o, "node", a.node);
        cJSON_AddNumberToObject(o, "vendor_id", a.vendor_id);
        cJSON_AddNumberToObject(o, "device_id", a.device_id);
        if (a.claimed_by[0]) {
            char plugin[32];
            plugin_of(a.claimed_by, plugin, sizeof plugin);
            cJSON_AddStringToObject(o, "plugin", plugin);
            cJSON_AddStringToObject(o, "device", a.claimed_by);
        } else {
            cJSON_AddNullToObject(o, "plugin");
            cJSON_AddNullToObject(o, "device");
        }
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *notes = cJSON_AddArrayToObject(root, "accelerator_notes");
    const char *p = erg_runtime_accelerator_notes(rt);
    for (char line[256]; next_note(&p, line, sizeof line);)
        cJSON_AddItemToArray(notes, cJSON_CreateString(line));
}

static void print_table(erg_runtime *rt, const energy_view *e) {
    size_t n = erg_runtime_device_count(rt);
    for (size_t i = 0; i < n; i++) {
        erg_device_info d = {.struct_size = sizeof d};
        if (erg_runtime_device_info(rt, i, &d) != ERG_OK)
            continue;
        char features[256];
        erg_cpu_features_format(d.cpu_features, features, sizeof features);
        printf("%s\n", d.name);
        printf("  kind        %s (backend %s)\n", kind_name(d.kind), d.backend);
        printf("  device      %s\n", d.description);
        printf("  memory      %.1f GiB%s\n", (double)d.memory_bytes / 1073741824.0,
               d.unified_memory ? " (shared with the host)" : "");
        if (d.kind == ERG_DEVICE_CPU) {
            printf("  cores       %d physical, %d logical\n", d.n_physical_cores,
                   d.n_logical_cores);
            printf("  threads     %d\n", d.n_threads);
            printf("  features    %s\n", features[0] ? features : "(none)");
            printf("  kernels     %s\n", d.kernel_level);
        } else if (d.simulated) {
            printf("  version     plugin ABI %s, plugin %s\n", d.api_version, d.driver_version);
            printf("  simulated   yes: time and energy come from the plugin's model\n");
            printf("  energy      simulated (never a measurement)\n");
            continue;
        } else {
            print_gpu(&d);
        }
        print_energy(e, i);
    }
    print_energy_sources(e);
    size_t nb = erg_runtime_backend_count(rt);
    for (size_t i = 0; i < nb; i++) {
        const char *name, *note;
        size_t count;
        if (erg_runtime_backend_info(rt, i, &name, &count, &note) == ERG_OK && count == 0)
            printf("%s: no device: %s\n", name, note);
    }
    print_accelerators(rt);
}

static int print_json(erg_runtime *rt, const energy_view *e) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "devices");
    size_t n = erg_runtime_device_count(rt);
    for (size_t i = 0; i < n; i++) {
        erg_device_info d = {.struct_size = sizeof d};
        if (erg_runtime_device_info(rt, i, &d) != ERG_OK)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", d.name);
        cJSON_AddStringToObject(o, "backend", d.backend);
        cJSON_AddStringToObject(o, "kind", kind_name(d.kind));
        cJSON_AddStringToObject(o, "description", d.description);
        cJSON_AddNumberToObject(o, "memory_bytes", (double)d.memory_bytes);
        cJSON_AddBoolToObject(o, "unified_memory", d.unified_memory);
        if (d.kind == ERG_DEVICE_CPU) {
            char features[256];
            erg_cpu_features_format(d.cpu_features, features, sizeof features);
            cJSON_AddNumberToObject(o, "physical_cores", d.n_physical_cores);
            cJSON_AddNumberToObject(o, "logical_cores", d.n_logical_cores);
            cJSON_AddNumberToObject(o, "threads", d.n_threads);
            cJSON_AddStringToObject(o, "features", features);
            cJSON_AddStringToObject(o, "kernel_level", d.kernel_level);
        } else {
            add_gpu_json(o, &d);
        }
        cJSON_AddBoolToObject(o, "simulated", d.simulated);
        if (d.simulated)
            cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "energy"), "source", "simulated");
        else
            add_energy_json(o, e, i);
        cJSON_AddItemToArray(arr, o);
    }
    add_accelerators_json(root, rt);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text)
        return CLI_EXIT_FAIL;
    printf("%s\n", text);
    free(text);
    return 0;
}

int cmd_devices(cli_args *a) {
    cli_output out = CLI_OUT_TABLE;
    long long threads = 0;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--json", NULL, false, &v, &bad)) {
            out = CLI_OUT_JSON;
        } else if (cli_flag(a, "-o", "--output", true, &v, &bad)) {
            if (bad)
                return CLI_EXIT_USAGE;
            if (!cli_parse_output(v, CLI_OUTPUTS_TABLE_JSON, &out))
                return cli_error(a, CLI_EXIT_USAGE, "-o takes table or json, not '%s'", v);
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (bad)
                return CLI_EXIT_USAGE;
            if (!cli_parse_int(v, 1, 1024, &threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes a thread count, not '%s'", v);
        } else if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            printf("usage: erg devices [-o table|json] [--json] [-t THREADS]\n");
            return 0;
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
    }
    erg_runtime *rt;
    int started = cli_runtime(a, (int)threads, &rt);
    if (started != 0)
        return started;
    int rc = 0;
    energy_view e;
    energy_open(rt, &e);
    if (out == CLI_OUT_JSON)
        rc = print_json(rt, &e);
    else
        print_table(rt, &e);
    energy_close(&e);
    erg_runtime_destroy(rt);
    return rc;
}
