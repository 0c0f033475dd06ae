#include "backends/vulkan/vk_pipeline_cache.h"

#include "hal/cache_dir.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "ERGVKPC1"

typedef struct file_header {
    char magic[8];
    uint64_t payload_bytes;
    uint64_t checksum; /* FNV-1a of the payload */
} file_header;

/* The driver's own header (VkPipelineCacheHeaderVersionOne), checked so a
 * cache from another device or driver version is never passed on. */
static bool matches_device(const erg_backend_device *dev, const unsigned char *blob, size_t n) {
    VkPhysicalDeviceProperties p;
    dev->vk->vkGetPhysicalDeviceProperties(dev->phys, &p);
    if (n < 16 + VK_UUID_SIZE)
        return false;
    uint32_t header_len, version, vendor, device;
    memcpy(&header_len, blob, 4);
    memcpy(&version, blob + 4, 4);
    memcpy(&vendor, blob + 8, 4);
    memcpy(&device, blob + 12, 4);
    return header_len >= 16 + VK_UUID_SIZE && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
           vendor == p.vendorID && device == p.deviceID &&
           memcmp(blob + 16, p.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

static void cache_path(erg_backend_device *dev) {
    erg_diag diag = {{0}};
    char dir[400];
    dev->cache_path[0] = '\0';
    if (erg_cache_dir("vulkan", dir, sizeof dir, &diag) != ERG_OK) {
        ERG_LOGI(dev->log, "vulkan: no pipeline cache on disk: %s", diag.msg);
        return;
    }
    VkPhysicalDeviceProperties p;
    dev->vk->vkGetPhysicalDeviceProperties(dev->phys, &p);
    snprintf(dev->cache_path, sizeof dev->cache_path, "%s/%04x-%04x-%08x.pipelines", dir,
             p.vendorID, p.deviceID, p.driverVersion);
}

/* The validated driver blob from the file, or NULL (with the reason logged). */
static unsigned char *read_blob(erg_backend_device *dev, size_t *size) {
    FILE *f = fopen(dev->cache_path, "rb");
    if (!f)
        return NULL; /* no cache yet */
    file_header h;
    unsigned char *blob = NULL;
    const char *why = NULL;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, MAGIC, 8) != 0)
        why = "not an erg pipeline cache";
    else if (h.payload_bytes > (256u << 20))
        why = "implausible size";
    else if (!(blob = erg_malloc(dev->alloc, h.payload_bytes ? h.payload_bytes : 1)))
        why = "out of memory";
    else if (fread(blob, 1, h.payload_bytes, f) != h.payload_bytes)
        why = "truncated";
    else if (erg_fnv1a64(blob, h.payload_bytes, ERG_FNV1A64_SEED) != h.checksum)
        why = "checksum mismatch";
    else if (!matches_device(dev, blob, h.payload_bytes))
        why = "made by another device or driver";
    fclose(f);
    if (why) {
        ERG_LOGW(dev->log, "vulkan: ignoring pipeline cache %s: %s", dev->cache_path, why);
        erg_free(dev->alloc, blob);
        return NULL;
    }
    *size = h.payload_bytes;
    return blob;
}

erg_status erg_vk_pipeline_cache_load(erg_backend_device *dev, erg_diag *diag) {
    cache_path(dev);
    size_t size = 0;
    unsigned char *blob = dev->cache_path[0] ? read_blob(dev, &size) : NULL;
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                    .initialDataSize = blob ? size : 0,
                                    .pInitialData = blob};
    VkResult r = dev->vk->vkCreatePipelineCache(dev->device, &ci, NULL, &dev->pipe_cache);
    erg_free(dev->alloc, blob);
    ERG_VK_CHECK(diag, r, "vkCreatePipelineCache");
    return ERG_OK;
}

void erg_vk_pipeline_cache_save(erg_backend_device *dev) {
    if (!dev->pipe_cache || !dev->cache_path[0])
        return;
    size_t size = 0;
    if (dev->vk->vkGetPipelineCacheData(dev->device, dev->pipe_cache, &size, NULL) != VK_SUCCESS ||
        size == 0)
        return;
    unsigned char *buf = erg_malloc(dev->alloc, sizeof(file_header) + size);
    if (!buf)
        return;
    unsigned char *blob = buf + sizeof(file_header);
    if (dev->vk->vkGetPipelineCacheData(dev->device, dev->pipe_cache, &size, blob) == VK_SUCCESS) {
        file_header h = {.payload_bytes = size,
                         .checksum = erg_fnv1a64(blob, size, ERG_FNV1A64_SEED)};
        memcpy(h.magic, MAGIC, 8);
        memcpy(buf, &h, sizeof h);
        erg_diag diag = {{0}};
        if (erg_cache_write_file(dev->cache_path, buf, sizeof h + size, &diag) != ERG_OK)
            ERG_LOGI(dev->log, "vulkan: pipeline cache not saved: %s", diag.msg);
    }
    erg_free(dev->alloc, buf);
}
