/* The calibration cache as JSON (cJSON). */
#include "scheduler/calib_cache.h"

#include "hal/cache_dir.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_VERSION 1
#define MAX_FILE_BYTES (64u << 20)

static cJSON *device_json(const erg_device_costs *c) {
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "device", c->device);
    cJSON_AddStringToObject(d, "identity", c->identity);
    cJSON_AddNumberToObject(d, "busy_watts", c->busy_watts);
    cJSON_AddBoolToObject(d, "simulated", c->simulated);
    cJSON_AddBoolToObject(d, "shares_host", c->shares_host);
    cJSON_AddNumberToObject(d, "handover_s", c->handover_s);
    cJSON_AddNumberToObject(d, "node_overhead_s", c->node_overhead_s);
    cJSON_AddNumberToObject(d, "copy_s_per_byte", c->copy_s_per_byte);
    if (c->partial)
        cJSON_AddNumberToObject(d, "partial_s", c->partial_s);
    cJSON *rows = cJSON_AddArrayToObject(d, "rows");
    for (size_t k = 0; k < c->n_rows; k++) {
        const erg_cost_row *r = &c->rows[k];
        char key[17];
        snprintf(key, sizeof key, "%016" PRIx64, r->key);
        cJSON *row = cJSON_CreateArray();
        cJSON_AddItemToArray(row, cJSON_CreateString(key));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(r->phase));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(r->op));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(r->seconds));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(r->bytes));
        cJSON_AddItemToArray(row, cJSON_CreateNumber(r->flops));
        cJSON_AddItemToArray(rows, row);
    }
    return d;
}

erg_status erg_calib_cache_save(const char *path, const erg_device_costs *costs, size_t n,
                                erg_diag *diag) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", FORMAT_VERSION);
    cJSON *devs = cJSON_AddArrayToObject(root, "devices");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(devs, device_json(&costs[i]));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "calibration cache %s", path);
    erg_status st = erg_cache_write_file(path, text, strlen(text), diag);
    cJSON_free(text);
    return st;
}

static double num(const cJSON *o, const char *name, bool *ok) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    *ok &= cJSON_IsNumber(v);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Reads one device's entry into c: ERG_FORMAT if it is malformed. */
static erg_status parse_device(const cJSON *d, const erg_allocator *a, erg_device_costs *c) {
    bool ok = true;
    c->busy_watts = num(d, "busy_watts", &ok);
    c->handover_s = num(d, "handover_s", &ok);
    c->node_overhead_s = num(d, "node_overhead_s", &ok);
    c->copy_s_per_byte = num(d, "copy_s_per_byte", &ok);
    c->simulated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "simulated"));
    c->shares_host = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "shares_host"));
    /* Absent in a complete entry. */
    c->partial = cJSON_GetObjectItemCaseSensitive(d, "partial_s") != NULL;
    c->partial_s = c->partial ? num(d, "partial_s", &ok) : 0;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(d, "rows");
    if (!ok || !cJSON_IsArray(rows) || c->busy_watts < 0 || c->handover_s < 0 ||
        c->node_overhead_s < 0 || c->copy_s_per_byte < 0 || c->partial_s < 0)
        return ERG_FORMAT;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        double v[5];
        const cJSON *key = cJSON_GetArrayItem(row, 0);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != 6 || !cJSON_IsString(key))
            return ERG_FORMAT;
        for (int k = 0; k < 5; k++) {
            const cJSON *x = cJSON_GetArrayItem(row, k + 1);
            if (!cJSON_IsNumber(x) || x->valuedouble < 0)
                return ERG_FORMAT;
            v[k] = x->valuedouble;
        }
        char *end;
        uint64_t kv = strtoull(key->valuestring, &end, 16);
        if (*end || v[0] >= ERG_PROFILE_PHASES || v[1] >= ERG_OP_COUNT)
            return ERG_FORMAT;
        if (!erg_grow_array(a, (void **)&c->rows, sizeof *c->rows, &c->cap_rows, c->n_rows + 1))
            return ERG_OUT_OF_MEMORY;
        c->rows[c->n_rows++] = (erg_cost_row){kv, (uint8_t)v[0], (erg_op)v[1], v[2], v[3], v[4]};
    }
    erg_cost_finish(c);
    return ERG_OK;
}

static erg_status read_text(const char *path, char **out, bool *missing, erg_diag *diag) {
    *out = NULL;
    *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        *missing = true;
        return ERG_OK;
    }
    char *buf = malloc(MAX_FILE_BYTES + 1);
    size_t len = buf ? fread(buf, 1, MAX_FILE_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "reading %s", path);
    if (len > MAX_FILE_BYTES) {
        free(buf);
        return erg_fail(diag, ERG_FORMAT, "calibration cache %s is over %u bytes", path,
                        MAX_FILE_BYTES);
    }
    buf[len] = '\0';
    *out = buf;
    return ERG_OK;
}

erg_status erg_calib_cache_load(const char *path, const erg_allocator *a, erg_device_costs *costs,
                                bool *found, size_t n, erg_diag *diag) {
    for (size_t i = 0; i < n; i++)
        found[i] = false;
    char *text;
    bool missing;
    ERG_RETURN_IF_ERROR(read_text(path, &text, &missing, diag));
    if (missing)
        return ERG_OK;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(root, "devices");
    erg_status st = ERG_OK;
    if (!root || !cJSON_IsNumber(fmt) || fmt->valueint != FORMAT_VERSION || !cJSON_IsArray(devs))
        st = erg_fail(diag, ERG_FORMAT, "calibration cache %s is not a format-%d cost file", path,
                      FORMAT_VERSION);
    const cJSON *d;
    const cJSON *list = st == ERG_OK ? devs : (const cJSON *)NULL;
    cJSON_ArrayForEach(d, list) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "identity");
        for (size_t i = 0; i < n && cJSON_IsString(id); i++) {
            if (found[i] || strcmp(id->valuestring, costs[i].identity) != 0)
                continue;
            st = parse_device(d, a, &costs[i]);
            if (st != ERG_OK) {
                erg_device_costs_free(&costs[i], a);
                st = st == ERG_FORMAT ? erg_fail(diag, st,
                                                 "calibration cache %s: the entry of %s is "
                                                 "malformed",
                                                 path, costs[i].device)
                                      : erg_fail(diag, st, "reading calibration cache %s", path);
                break;
            }
            found[i] = true;
        }
        if (st != ERG_OK)
            break;
    }
    cJSON_Delete(root);
    if (st != ERG_OK)
        for (size_t i = 0; i < n; i++)
            if (found[i]) {
                erg_device_costs_free(&costs[i], a);
                found[i] = false;
            }
    return st;
}
