#include "backends/vulkan/vk_weights.h"

#include <string.h>

#define STAGING_BYTES (16u << 20)

static size_t weight_bytes(const erg_weight_desc *d) {
    return d->row_bytes * (size_t)(d->ne[1] * d->ne[2] * d->ne[3]);
}

typedef struct copy_job {
    VkBuffer src, dst;
    VkBufferCopy region;
} copy_job;

static void record_copy(erg_backend_device *dev, VkCommandBuffer cb, void *user) {
    const copy_job *j = user;
    dev->vk->vkCmdCopyBuffer(cb, j->src, j->dst, 1, &j->region);
}

/* Discrete memory: through a host-visible staging buffer, a chunk at a time. */
static erg_status upload_staged(erg_backend_device *dev, const erg_vk_mem *dst, const void *src,
                                size_t size, erg_vk_mem *staging, erg_diag *diag) {
    if (!staging->block) {
        pthread_mutex_lock(&dev->lock);
        erg_status st = erg_vk_pool_alloc(&dev->host_pool, STAGING_BYTES, staging, diag);
        pthread_mutex_unlock(&dev->lock);
        ERG_RETURN_IF_ERROR(st);
    }
    for (size_t done = 0; done < size;) {
        size_t chunk = size - done < STAGING_BYTES ? size - done : STAGING_BYTES;
        memcpy(staging->block->mapped + staging->offset, (const char *)src + done, chunk);
        copy_job j = {staging->block->buffer, dst->block->buffer,
                      {staging->offset, dst->offset + done, chunk}};
        ERG_RETURN_IF_ERROR(erg_vk_submit_once(dev, record_copy, &j, diag));
        done += chunk;
    }
    return ERG_OK;
}

erg_status erg_vk_weights_prepare(erg_backend_device *dev, const erg_weight_desc *w, size_t n,
                                  erg_backend_weights **out, size_t *bytes, erg_diag *diag) {
    *out = NULL;
    *bytes = 0;
    erg_backend_weights *ws = erg_calloc(dev->alloc, 1, sizeof *ws);
    if (!ws || !(ws->mem = erg_calloc(dev->alloc, n ? n : 1, sizeof *ws->mem))) {
        erg_free(dev->alloc, ws);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "weight table of %zu tensors", n);
    }
    ws->dev = dev;
    ws->n = n;
    erg_vk_mem staging = {0};
    erg_status st = ERG_OK;
    for (size_t i = 0; i < n && st == ERG_OK; i++) {
        size_t size = weight_bytes(&w[i]);
        if (size > dev->caps.max_storage_range) {
            /* Kept out of device memory: nodes reading it are unsupported here. */
            continue;
        }
        pthread_mutex_lock(&dev->lock);
        st = erg_vk_pool_alloc(&dev->weight_pool, size, &ws->mem[i], diag);
        pthread_mutex_unlock(&dev->lock);
        if (st != ERG_OK)
            break;
        *bytes += ws->mem[i].size;
        if (dev->stage_weights)
            st = upload_staged(dev, &ws->mem[i], w[i].data, size, &staging, diag);
        else
            memcpy(ws->mem[i].block->mapped + ws->mem[i].offset, w[i].data, size);
    }
    if (staging.block) {
        pthread_mutex_lock(&dev->lock);
        erg_vk_pool_free(&dev->host_pool, &staging);
        pthread_mutex_unlock(&dev->lock);
    }
    if (st != ERG_OK) {
        erg_vk_weights_free(ws);
        *bytes = 0;
        return st;
    }
    *out = ws;
    return ERG_OK;
}

void erg_vk_weights_free(erg_backend_weights *ws) {
    if (!ws)
        return;
    erg_backend_device *dev = ws->dev;
    pthread_mutex_lock(&dev->lock);
    for (size_t i = 0; i < ws->n; i++)
        erg_vk_pool_free(&dev->weight_pool, &ws->mem[i]);
    pthread_mutex_unlock(&dev->lock);
    erg_free(dev->alloc, ws->mem);
    erg_free(dev->alloc, ws);
}
