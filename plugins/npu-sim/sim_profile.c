/* npu-sim's JSON profiles: the parameters of its performance model. */
#include "sim.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sim_profile profiles[SIM_MAX_PROFILES];
static uint32_t n_profiles;
static bool loaded;

static bool number(const cJSON *o, const char *key, double lo, double *out, char *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < lo) {
        sim_err(err, "profile: \"%s\" must be a number >= %g", key, lo);
        return false;
    }
    *out = v->valuedouble;
    return true;
}

erg_plugin_result sim_profile_parse(const char *text, sim_profile *p, char *err) {
    memset(p, 0, sizeof *p);
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        sim_err(err, "profile is not a JSON object");
        return ERG_PLUGIN_E_INVALID;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(o, "description");
    double bits = 0, chunk = 0;
    bool ok = cJSON_IsString(name) && cJSON_IsString(desc);
    if (!ok)
        sim_err(err, "profile: \"name\" and \"description\" must be strings");
    ok = ok && number(o, "mac_units", 1, &p->mac_units, err) &&
         number(o, "clock_hz", 1, &p->clock_hz, err) &&
         number(o, "sram_bytes", 0, &p->sram_bytes, err) &&
         number(o, "sram_bandwidth_bytes_per_s", 1, &p->sram_bw, err) &&
         number(o, "dram_bandwidth_bytes_per_s", 1, &p->dram_bw, err) &&
         number(o, "dma_latency_s", 0, &p->dma_latency_s, err) &&
         number(o, "active_power_w", 0, &p->active_w, err) &&
         number(o, "idle_power_w", 0, &p->idle_w, err) &&
         number(o, "weight_bits", 4, &bits, err) &&
         number(o, "prefill_chunk", 1, &chunk, err) &&
         number(o, "memory_bytes", 0, &p->memory_bytes, err);
    if (ok && bits != 4 && bits != 8) {
        sim_err(err, "profile: weight_bits is %g; 4 or 8", bits);
        ok = false;
    }
    if (ok) {
        snprintf(p->name, sizeof p->name, "%s", name->valuestring);
        snprintf(p->description, sizeof p->description, "%s", desc->valuestring);
        p->weight_bits = (int)bits;
        p->prefill_chunk = (int)chunk;
    }
    cJSON_Delete(o);
    return ok ? ERG_PLUGIN_OK : ERG_PLUGIN_E_INVALID;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = sim_alloc((size_t)n + 1))) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            sim_free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static int compare_names(const void *a, const void *b) { return strcmp(a, b); }

static erg_plugin_result load(char *err) {
    const char *env = getenv("ERG_NPU_SIM_PROFILES");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", env && *env ? env : "");
    if (!dir[0])
        snprintf(dir, sizeof dir, "%s/npu-sim", sim_host->plugin_dir ? sim_host->plugin_dir : ".");
    DIR *d = opendir(dir);
    if (!d) {
        sim_err(err, "no profile directory %s", dir);
        return ERG_PLUGIN_E_DEVICE;
    }
    char names[SIM_MAX_PROFILES][256];
    uint32_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < SIM_MAX_PROFILES;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && len < sizeof names[0] && strcmp(e->d_name + len - 5, ".json") == 0)
            memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    for (uint32_t i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *text = read_file(path);
        if (!text) {
            sim_err(err, "cannot read profile %.200s", path);
            return ERG_PLUGIN_E_DEVICE;
        }
        char perr[ERG_PLUGIN_ERR_MAX] = "";
        erg_plugin_result r = sim_profile_parse(text, &profiles[n_profiles], perr);
        sim_free(text);
        if (r != ERG_PLUGIN_OK) {
            sim_err(err, "%.100s: %.150s", names[i], perr);
            return r;
        }
        n_profiles++;
    }
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_profiles(const sim_profile **out, uint32_t *count, char *err) {
    if (!loaded) {
        n_profiles = 0;
        erg_plugin_result r = load(err);
        if (r != ERG_PLUGIN_OK)
            return r;
        loaded = true;
    }
    *out = profiles;
    *count = n_profiles;
    return ERG_PLUGIN_OK;
}
