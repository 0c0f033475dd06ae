/* The compiled-blob cache: keys, reading and writing entries. */
#include "backends/plugin/plugin_blob.h"

#include "base/byte_order.h"
#include "hal/cache_dir.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "ERGPBLOB"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 32
#define MAX_PAYLOAD_BYTES (1ull << 34)

/* What a compile depends on, by value: hashing the constants' bytes costs
 * one pass over the weights, paid on an in-memory miss only. */
static uint64_t graph_key(const erg_pgraph *pg, const char *compat) {
    uint64_t h = erg_fnv1a64(compat, strlen(compat), ERG_FNV1A64_SEED);
    for (size_t i = 0; i < pg->n_tensors; i++) {
        const erg_plugin_tensor *t = &pg->tensors[i];
        uint64_t fields[8] = {(uint64_t)t->dtype, t->gguf_type, (uint64_t)t->quant,
                              (uint64_t)t->ne[0], (uint64_t)t->ne[1], (uint64_t)t->ne[2],
                              (uint64_t)t->ne[3], t->data != NULL};
        h = erg_fnv1a64(fields, sizeof fields, h);
        if (t->data)
            h = erg_fnv1a64(t->data, t->nbytes, h);
    }
    for (size_t i = 0; i < pg->n_ops; i++) {
        const erg_plugin_op *op = &pg->ops[i];
        h = erg_fnv1a64(&op->kind, sizeof op->kind, h);
        h = erg_fnv1a64(&op->n_src, sizeof op->n_src, h);
        h = erg_fnv1a64(op->src, sizeof op->src, h);
        h = erg_fnv1a64(&op->dst, sizeof op->dst, h);
        h = erg_fnv1a64(op->iparams, sizeof op->iparams, h);
        h = erg_fnv1a64(op->fparams, sizeof op->fparams, h);
    }
    return h;
}

bool erg_plugin_blob_ref_make(erg_backend_device *d, const erg_pgraph *pg,
                              erg_plugin_blob_ref *ref) {
    const erg_plugin_api *api = d->api;
    if (!api->serialize || !api->deserialize || !api->compat_string || d->slot->checking)
        return false;
    char err[ERG_PLUGIN_ERR_MAX] = "", compat[256] = "";
    if (api->compat_string(d->pdev, compat, sizeof compat, err) != ERG_PLUGIN_OK) {
        ERG_LOGI(&d->log, "plugin %s: compat_string: %s: compiled graphs are not cached",
                 d->slot->name, erg_plugin_err(err));
        return false;
    }
    compat[sizeof compat - 1] = '\0';
    /* Devices differ by their compat strings, so those name the file; a
     * rebuilt plugin finds its old file stale and writes it again. */
    snprintf(ref->compat, sizeof ref->compat, "%s; plugin file %016llx", compat,
             (unsigned long long)d->slot->lib->file_stamp);
    char sub[64], dir[PATH_MAX - 32];
    erg_diag diag = {{0}};
    snprintf(sub, sizeof sub, "plugin-%s", d->slot->name);
    if (erg_cache_dir(sub, dir, sizeof dir, &diag) != ERG_OK) {
        ERG_LOGI(&d->log, "plugin %s: %s: compiled graphs are not cached", d->slot->name,
                 diag.msg);
        return false;
    }
    snprintf(ref->path, sizeof ref->path, "%s/%016llx.blob", dir,
             (unsigned long long)graph_key(pg, compat));
    return true;
}

/* Reads and checks the entry: its payload, or NULL with why. */
static void *read_entry(erg_backend_device *d, const erg_plugin_blob_ref *ref, size_t *len,
                        const char **why) {
    FILE *f = fopen(ref->path, "rb");
    if (!f) {
        *why = NULL; /* a plain miss */
        return NULL;
    }
    unsigned char header[HEADER_BYTES];
    size_t compat_len = strlen(ref->compat);
    unsigned char *file = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    *why = "cannot read it";
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    *why = "truncated header";
    if ((size_t)size < HEADER_BYTES || fread(header, 1, HEADER_BYTES, f) != HEADER_BYTES)
        goto fail;
    uint64_t stored_compat = erg_get_le(header + 12, 4), payload = erg_get_le(header + 16, 8);
    *why = "not an erg blob of this format";
    if (memcmp(header, MAGIC, 8) != 0 || erg_get_le(header + 8, 4) != FORMAT_VERSION)
        goto fail;
    *why = "sizes that do not add up (truncated or trailing bytes)";
    if (stored_compat > sizeof ref->compat || payload == 0 || payload > MAX_PAYLOAD_BYTES ||
        (uint64_t)size != HEADER_BYTES + stored_compat + payload)
        goto fail;
    *why = "out of memory reading it";
    file = erg_malloc(d->alloc, (size_t)size - HEADER_BYTES);
    if (!file)
        goto fail;
    *why = "short read";
    if (fread(file, 1, (size_t)size - HEADER_BYTES, f) != (size_t)size - HEADER_BYTES)
        goto fail;
    *why = "made for another driver, firmware, compiler or plugin build (compat differs)";
    if (stored_compat != compat_len || memcmp(file, ref->compat, compat_len) != 0)
        goto fail;
    *why = "checksum mismatch (corrupt)";
    if (erg_fnv1a64(file + compat_len, payload, ERG_FNV1A64_SEED) != erg_get_le(header + 24, 8))
        goto fail;
    fclose(f);
    memmove(file, file + compat_len, payload);
    *len = payload;
    return file;
fail:
    fclose(f);
    erg_free(d->alloc, file);
    return NULL;
}

erg_plugin_compiled *erg_plugin_blob_load(erg_backend_device *d, const erg_plugin_blob_ref *ref) {
    size_t len = 0;
    const char *why = NULL;
    void *payload = read_entry(d, ref, &len, &why);
    if (!payload) {
        if (why)
            ERG_LOGI(&d->log, "plugin %s: cached blob %s not used: %s", d->slot->name,
                     ref->path, why);
        return NULL;
    }
    char err[ERG_PLUGIN_ERR_MAX] = "";
    erg_plugin_compiled *c = NULL;
    if (d->api->deserialize(d->pdev, payload, len, &c, err) != ERG_PLUGIN_OK || !c) {
        ERG_LOGI(&d->log, "plugin %s: cached blob %s not used: deserialize: %s", d->slot->name,
                 ref->path, erg_plugin_err(err));
        c = NULL;
    } else {
        ERG_LOGI(&d->log, "plugin %s: compiled graph loaded from the cache (%s, %zu bytes)",
                 d->slot->name, ref->path, len);
    }
    erg_free(d->alloc, payload);
    return c;
}

void erg_plugin_blob_store(erg_backend_device *d, const erg_plugin_blob_ref *ref,
                           const erg_plugin_compiled *c) {
    char err[ERG_PLUGIN_ERR_MAX] = "";
    size_t len = 0;
    if (d->api->serialize(c, NULL, 0, &len, err) != ERG_PLUGIN_OK || len == 0 ||
        len > MAX_PAYLOAD_BYTES) {
        ERG_LOGI(&d->log, "plugin %s: compiled graph not cached: serialize: %s", d->slot->name,
                 err[0] ? err : "no bytes");
        return;
    }
    size_t compat_len = strlen(ref->compat), total = HEADER_BYTES + compat_len + len;
    unsigned char *file = erg_malloc(d->alloc, total);
    if (!file)
        return;
    unsigned char *payload = file + HEADER_BYTES + compat_len;
    size_t written = 0;
    erg_diag diag = {{0}};
    if (d->api->serialize(c, payload, len, &written, err) != ERG_PLUGIN_OK || written != len) {
        ERG_LOGI(&d->log, "plugin %s: compiled graph not cached: serialize: %s", d->slot->name,
                 erg_plugin_err(err));
    } else {
        memcpy(file, MAGIC, 8);
        erg_put_le(file + 8, FORMAT_VERSION, 4);
        erg_put_le(file + 12, compat_len, 4);
        erg_put_le(file + 16, len, 8);
        erg_put_le(file + 24, erg_fnv1a64(payload, len, ERG_FNV1A64_SEED), 8);
        memcpy(file + HEADER_BYTES, ref->compat, compat_len);
        if (erg_cache_write_file(ref->path, file, total, &diag) != ERG_OK)
            ERG_LOGI(&d->log, "plugin %s: compiled graph not cached: %s", d->slot->name,
                     diag.msg);
    }
    erg_free(d->alloc, file);
}

erg_status erg_plugin_blob_round_trip(erg_backend_device *d, erg_plugin_compiled **c,
                                      erg_diag *diag) {
    const erg_plugin_api *api = d->api;
    if (!api->serialize || !api->deserialize)
        return ERG_OK;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    size_t len = 0, written = 0;
    void *blob = NULL;
    erg_plugin_compiled *back = NULL;
    const char *step = "serialize";
    if (api->serialize(*c, NULL, 0, &len, err) == ERG_PLUGIN_OK && len &&
        (blob = erg_malloc(d->alloc, len)) &&
        api->serialize(*c, blob, len, &written, err) == ERG_PLUGIN_OK && written == len) {
        step = "deserialize";
        if (api->deserialize(d->pdev, blob, len, &back, err) != ERG_PLUGIN_OK)
            back = NULL;
    }
    erg_free(d->alloc, blob);
    api->compiled_free(*c);
    *c = back;
    if (!back)
        return erg_fail(diag, ERG_DEVICE, "plugin %s: %s of a compiled graph (%zu bytes): %s",
                        d->slot->name, step, len, erg_plugin_err(err));
    return ERG_OK;
}
