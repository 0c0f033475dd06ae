/*
 * vk_device.h: an opened Vulkan device: its queue, memory pools, pipelines
 * and the on-disk pipeline cache. Sessions on several threads may share it,
 * so allocation, pipeline creation and queue submission hold its lock.
 */
#ifndef ERG_VK_DEVICE_H
#define ERG_VK_DEVICE_H

#include "backends/backend.h"
#include "backends/vulkan/vk_instance.h"
#include "backends/vulkan/vk_memory.h"
#include "backends/vulkan/vk_ops.h"

#include <pthread.h>

typedef struct erg_vk_pipeline {
    const char *shader; /* the variant's name (static storage) */
    uint32_t spec[ERG_VK_MAX_SPEC], n_spec;
    VkPipeline pipeline;
} erg_vk_pipeline;

struct erg_backend_device {
    const erg_allocator *alloc;
    const erg_logger *log;
    erg_vk_instance inst;
    const erg_vk_fns *vk; /* = &inst.vk */
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    erg_vk_caps caps;
    erg_device_info info;
    pthread_mutex_t lock;
    /* Weights in device-local memory; everything the host reads or writes
     * (KV cache, activations, staging) in host-visible memory. On unified
     * memory both pools use the same memory type and weights are written
     * through the mapping; elsewhere they go through a staging copy. */
    erg_vk_pool weight_pool, host_pool;
    bool stage_weights;
    erg_vk_mem *host_allocs; /* live host_alloc results */
    uint32_t n_host_allocs, cap_host_allocs;
    VkCommandPool cmd_pool;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout pipe_layout;
    VkPipelineCache pipe_cache;
    char cache_path[512];
    erg_vk_pipeline *pipelines;
    uint32_t n_pipelines, cap_pipelines;
};

/* The pipeline of a shader variant with these specialisation constants,
 * created on first use (thread-safe). */
erg_status erg_vk_pipeline_get(erg_backend_device *dev, const char *shader, const uint32_t *spec,
                               uint32_t n_spec, VkPipeline *out, erg_diag *diag);

/* Creates the descriptor-set and pipeline layouts and loads the pipeline
 * cache; frees pipelines and saves the cache. */
erg_status erg_vk_pipelines_init(erg_backend_device *dev, erg_diag *diag);
void erg_vk_pipelines_free(erg_backend_device *dev);

/* Runs a one-off command buffer recorded by fn and waits for it. */
erg_status erg_vk_submit_once(erg_backend_device *dev,
                              void (*record)(erg_backend_device *dev, VkCommandBuffer cb, void *user),
                              void *user, erg_diag *diag);

#endif
