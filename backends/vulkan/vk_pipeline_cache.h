/*
 * vk_pipeline_cache.h: the driver's pipeline cache, kept on disk per device
 * (ERG_CACHE_DIR/vulkan), so pipelines compile once per machine and driver.
 * erg wraps the driver's blob in a header with its own checksum; a file that
 * is corrupt, truncated or from another device or driver is ignored with a
 * warning, never handed to the driver.
 */
#ifndef ERG_VK_PIPELINE_CACHE_H
#define ERG_VK_PIPELINE_CACHE_H

#include "backends/vulkan/vk_device.h"

/* Creates dev->pipe_cache from the file, or empty. */
erg_status erg_vk_pipeline_cache_load(erg_backend_device *dev, erg_diag *diag);
/* Writes the cache back (failures are logged, not fatal). */
void erg_vk_pipeline_cache_save(erg_backend_device *dev);

#endif
