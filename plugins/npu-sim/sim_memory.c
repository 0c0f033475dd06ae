/* npu-sim's memory: buffers the host cannot address (every transfer is a
 * copy, modelled as a DMA), host-pointer import, and fences. */
#include "sim.h"

#include <string.h>

erg_plugin_result sim_buffer_alloc(erg_plugin_device *dev, size_t size, uint32_t kind,
                                   erg_plugin_buffer **out, char *err) {
    (void)kind;
    if (!dev || !out) {
        sim_err(err, "buffer_alloc: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    *out = NULL;
    erg_plugin_buffer *b = sim_alloc(sizeof *b);
    unsigned char *bytes = sim_alloc(size);
    if (!b || !bytes) {
        sim_free(b);
        sim_free(bytes);
        sim_err(err, "out of device memory for %zu bytes", size);
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    *b = (erg_plugin_buffer){dev, bytes, size, false};
    *out = b;
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_buffer_import_host(erg_plugin_device *dev, void *ptr, size_t size,
                                         erg_plugin_buffer **out, char *err) {
    if (!dev || !ptr || !out) {
        sim_err(err, "buffer_import_host: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    *out = NULL;
    erg_plugin_buffer *b = sim_alloc(sizeof *b);
    if (!b) {
        sim_err(err, "out of memory");
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    *b = (erg_plugin_buffer){dev, ptr, size, true};
    *out = b;
    return ERG_PLUGIN_OK;
}

void sim_buffer_free(erg_plugin_buffer *b) {
    if (!b)
        return;
    if (!b->imported)
        sim_free(b->bytes);
    sim_free(b);
}

static erg_plugin_result range_ok(const erg_plugin_buffer *b, size_t offset, size_t size,
                                  const void *host, char *err) {
    if (!b || (!host && size) || offset > b->size || size > b->size - offset) {
        sim_err(err, "copy of %zu bytes at %zu outside a buffer of %zu", size, offset,
                b ? b->size : 0);
        return ERG_PLUGIN_E_INVALID;
    }
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_copy_to_device(erg_plugin_buffer *dst, size_t offset, const void *src,
                                     size_t size, char *err) {
    erg_plugin_result r = range_ok(dst, offset, size, src, err);
    if (r != ERG_PLUGIN_OK)
        return r;
    double t0 = sim_host->now_seconds(sim_host->user);
    memcpy(dst->bytes + offset, src, size);
    if (!dst->imported)
        sim_account(dst->dev, sim_transfer_seconds(&dst->dev->prof, size));
    sim_in_call(dst->dev, t0);
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_copy_from_device(erg_plugin_buffer *src, size_t offset, void *dst,
                                       size_t size, char *err) {
    erg_plugin_result r = range_ok(src, offset, size, dst, err);
    if (r != ERG_PLUGIN_OK)
        return r;
    double t0 = sim_host->now_seconds(sim_host->user);
    memcpy(dst, src->bytes + offset, size);
    if (!src->imported)
        sim_account(src->dev, sim_transfer_seconds(&src->dev->prof, size));
    sim_in_call(src->dev, t0);
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_fence_create(erg_plugin_device *dev, erg_plugin_fence **out, char *err) {
    (void)dev;
    *out = sim_alloc(sizeof **out);
    if (!*out) {
        sim_err(err, "out of memory");
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    (*out)->signaled = false;
    return ERG_PLUGIN_OK;
}

/* Execution is synchronous: a fence is signalled by the time execute returns. */
erg_plugin_result sim_fence_wait(erg_plugin_fence *f, uint64_t timeout_ns, char *err) {
    (void)timeout_ns;
    if (!f || !f->signaled) {
        sim_err(err, "waiting on a fence no execute signals");
        return ERG_PLUGIN_E_INVALID;
    }
    return ERG_PLUGIN_OK;
}

void sim_fence_destroy(erg_plugin_fence *f) { sim_free(f); }
