/* The Vulkan backend's table: enumeration, opening a device, host-visible
 * allocations and the checks of what a device can run. */
#include "backends/vulkan/vk_backend.h"

#include "backends/vulkan/vk_device.h"
#include "backends/vulkan/vk_exec.h"
#include "backends/vulkan/vk_ops.h"
#include "backends/vulkan/vk_weights.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PHYS 16
#define SUBALLOC_ALIGN 256

static erg_status vk_enumerate(const erg_backend_env *env, erg_device_info *infos, size_t cap,
                               size_t *count, erg_diag *diag) {
    *count = 0;
    erg_vk_instance vi;
    erg_diag why = {{0}};
    if (erg_vk_instance_create(&vi, env->log, &why) != ERG_OK) {
        erg_fail(diag, ERG_OK, "%s", why.msg); /* no Vulkan is not an error */
        return ERG_OK;
    }
    VkPhysicalDevice pds[MAX_PHYS];
    uint32_t n = 0;
    erg_status st = erg_vk_physical_devices(&vi, pds, MAX_PHYS, &n, diag);
    for (uint32_t i = 0; st == ERG_OK && i < n && i < MAX_PHYS; i++) {
        if (i < cap) {
            erg_vk_caps caps;
            erg_vk_probe_caps(&vi, pds[i], &caps);
            erg_vk_describe(&vi, pds[i], &caps, i, &infos[i]);
        }
    }
    if (st == ERG_OK)
        *count = n < MAX_PHYS ? n : MAX_PHYS;
    erg_vk_instance_destroy(&vi);
    return st;
}

static void vk_close(erg_backend_device *dev) {
    if (!dev)
        return;
    const erg_vk_fns *vk = dev->vk;
    if (dev->device) {
        vk->vkDeviceWaitIdle(dev->device);
        erg_vk_pipelines_free(dev);
        if (dev->cmd_pool)
            vk->vkDestroyCommandPool(dev->device, dev->cmd_pool, NULL);
        erg_vk_pool_destroy(&dev->weight_pool);
        erg_vk_pool_destroy(&dev->host_pool);
        erg_free(dev->alloc, dev->host_allocs);
        vk->vkDestroyDevice(dev->device, NULL);
    }
    erg_vk_instance_destroy(&dev->inst);
    pthread_mutex_destroy(&dev->lock);
    erg_free(dev->alloc, dev);
}

static erg_status create_device(erg_backend_device *dev, erg_diag *diag) {
    const erg_vk_fns *vk = dev->vk;
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = dev->caps.queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &priority};
    /* The portable kernels need no optional feature; 64-bit floats give
     * ROPE exact angles where the device has them. */
    VkPhysicalDeviceFeatures features = {.shaderFloat64 = dev->caps.float64};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .pEnabledFeatures = &features};
    ERG_VK_CHECK(diag, vk->vkCreateDevice(dev->phys, &dci, NULL, &dev->device), "vkCreateDevice");
    ERG_RETURN_IF_ERROR(erg_vk_load_device(&dev->inst.vk, dev->device, diag));
    vk->vkGetDeviceQueue(dev->device, dev->caps.queue_family, 0, &dev->queue);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = dev->caps.queue_family};
    ERG_VK_CHECK(diag, vk->vkCreateCommandPool(dev->device, &pci, NULL, &dev->cmd_pool),
                 "vkCreateCommandPool");
    return ERG_OK;
}

/* Weights want device-local memory; what the host touches wants host-visible
 * memory, device-local too where memory is unified. ERG_VULKAN_STAGING=1
 * sends weights through a staging copy even where they could be mapped, so
 * the discrete-memory path is tested on any device. */
static erg_status pick_memory(erg_backend_device *dev, erg_diag *diag) {
    VkPhysicalDeviceMemoryProperties mp;
    dev->vk->vkGetPhysicalDeviceMemoryProperties(dev->phys, &mp);
    VkMemoryPropertyFlags host_need =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int host = erg_vk_pick_memory_type(&mp, host_need,
                                       dev->caps.uma ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
                                                     : VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    int local = erg_vk_pick_memory_type(&mp, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    if (host < 0)
        return erg_fail(diag, ERG_UNSUPPORTED, "no host-visible coherent memory type");
    if (local < 0)
        local = host;
    bool local_mapped = (mp.memoryTypes[local].propertyFlags & host_need) == host_need;
    const char *force = getenv("ERG_VULKAN_STAGING");
    dev->stage_weights = !local_mapped || (force && strcmp(force, "1") == 0);
    erg_vk_pool_init(&dev->weight_pool, dev->vk, dev->device, dev->alloc, (uint32_t)local,
                     !dev->stage_weights, SUBALLOC_ALIGN);
    erg_vk_pool_init(&dev->host_pool, dev->vk, dev->device, dev->alloc, (uint32_t)host, true,
                     SUBALLOC_ALIGN);
    return ERG_OK;
}

static erg_status vk_open(const erg_backend_env *env, size_t index, erg_backend_device **out,
                          erg_diag *diag) {
    *out = NULL;
    erg_backend_device *dev = erg_calloc(env->alloc, 1, sizeof *dev);
    if (!dev)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "Vulkan device");
    dev->alloc = erg_allocator_or_default(env->alloc);
    dev->log = env->log;
    dev->vk = &dev->inst.vk;
    pthread_mutex_init(&dev->lock, NULL);
    erg_status st = erg_vk_instance_create(&dev->inst, env->log, diag);
    VkPhysicalDevice pds[MAX_PHYS];
    uint32_t n = 0;
    if (st == ERG_OK)
        st = erg_vk_physical_devices(&dev->inst, pds, MAX_PHYS, &n, diag);
    if (st == ERG_OK && index >= n)
        st = erg_fail(diag, ERG_NOT_FOUND, "no Vulkan device %zu (%u found)", index, n);
    if (st == ERG_OK) {
        dev->phys = pds[index];
        erg_vk_probe_caps(&dev->inst, dev->phys, &dev->caps);
        /* ERG_VULKAN_GPU_KERNELS=1: the kernel shapes of a GPU on a CPU
         * implementation too, so lavapipe tests them. */
        const char *gpu_kernels = getenv("ERG_VULKAN_GPU_KERNELS");
        if (gpu_kernels && strcmp(gpu_kernels, "1") == 0)
            dev->caps.cpu_device = false;
        erg_vk_describe(&dev->inst, dev->phys, &dev->caps, index, &dev->info);
        st = create_device(dev, diag);
    }
    if (st == ERG_OK)
        st = pick_memory(dev, diag);
    if (st == ERG_OK)
        st = erg_vk_pipelines_init(dev, diag);
    if (st != ERG_OK) {
        vk_close(dev);
        return st;
    }
    ERG_LOGI(dev->log, "vulkan:%zu: %s, %s memory, subgroup %u%s", index, dev->info.description,
             dev->caps.uma ? "unified" : "discrete", dev->caps.subgroup_size,
             dev->stage_weights ? ", weights staged" : "");
    *out = dev;
    return ERG_OK;
}

/* Every tensor a node touches must fit one binding of the device. */
static bool fits_binding(const erg_backend_device *dev, const erg_graph *g, int32_t id,
                         erg_diag *why) {
    size_t span = erg_tensor_nbytes(&g->tensors[id]) + dev->caps.min_storage_align;
    if (span <= dev->caps.max_storage_range)
        return true;
    erg_fail(why, ERG_UNSUPPORTED, "tensor '%s' spans %.1f MiB, above %s's %.1f MiB buffer range",
             g->tensors[id].name, (double)span / 1048576.0, dev->info.name,
             (double)dev->caps.max_storage_range / 1048576.0);
    return false;
}

static bool vk_supports_node(const erg_backend_device *dev, const erg_graph *g, const erg_node *n,
                             erg_diag *why) {
    if (erg_op_is_view(n->op))
        return true;
    const erg_vk_op *op = erg_vk_op_for(n->op);
    if (!op) {
        erg_fail(why, ERG_UNSUPPORTED, "no Vulkan kernel for %s", erg_op_name(n->op));
        return false;
    }
    for (int i = 0; i < n->n_src; i++)
        if (!fits_binding(dev, g, n->src[i], why))
            return false;
    if (!fits_binding(dev, g, n->dst, why))
        return false;
    return !op->supports || op->supports(&dev->caps, g, n, why);
}

static void *vk_host_alloc(erg_backend_device *dev, size_t size) {
    void *ptr = NULL;
    erg_diag diag = {{0}};
    pthread_mutex_lock(&dev->lock);
    if (dev->n_host_allocs == dev->cap_host_allocs) {
        uint32_t cap = dev->cap_host_allocs ? 2 * dev->cap_host_allocs : 16;
        erg_vk_mem *grown = erg_calloc(dev->alloc, cap, sizeof *grown);
        if (!grown)
            goto done;
        if (dev->host_allocs)
            memcpy(grown, dev->host_allocs, dev->n_host_allocs * sizeof *grown);
        erg_free(dev->alloc, dev->host_allocs);
        dev->host_allocs = grown;
        dev->cap_host_allocs = cap;
    }
    erg_vk_mem m;
    if (erg_vk_pool_alloc(&dev->host_pool, size, &m, &diag) != ERG_OK) {
        ERG_LOGI(dev->log, "vulkan: %s", diag.msg);
        goto done;
    }
    dev->host_allocs[dev->n_host_allocs++] = m;
    ptr = m.block->mapped + m.offset;
done:
    pthread_mutex_unlock(&dev->lock);
    return ptr;
}

static void vk_host_free(erg_backend_device *dev, void *ptr) {
    if (!ptr)
        return;
    pthread_mutex_lock(&dev->lock);
    for (uint32_t i = 0; i < dev->n_host_allocs; i++) {
        erg_vk_mem *m = &dev->host_allocs[i];
        if (m->block->mapped + m->offset == (char *)ptr) {
            erg_vk_pool_free(&dev->host_pool, m);
            *m = dev->host_allocs[--dev->n_host_allocs];
            break;
        }
    }
    pthread_mutex_unlock(&dev->lock);
}

typedef struct once_ctx {
    void (*record)(erg_backend_device *dev, VkCommandBuffer cb, void *user);
    void *user;
} once_ctx;

erg_status erg_vk_submit_once(erg_backend_device *dev,
                              void (*record)(erg_backend_device *dev, VkCommandBuffer cb, void *user),
                              void *user, erg_diag *diag) {
    const erg_vk_fns *vk = dev->vk;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkResult r;
    pthread_mutex_lock(&dev->lock);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = dev->cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    r = vk->vkAllocateCommandBuffers(dev->device, &ai, &cb);
    if (r == VK_SUCCESS)
        r = vk->vkCreateFence(dev->device, &fci, NULL, &fence);
    if (r == VK_SUCCESS) {
        VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                       .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
        r = vk->vkBeginCommandBuffer(cb, &bi);
    }
    if (r == VK_SUCCESS) {
        record(dev, cb, user);
        r = vk->vkEndCommandBuffer(cb);
    }
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &cb};
        r = vk->vkQueueSubmit(dev->queue, 1, &si, fence);
    }
    if (r == VK_SUCCESS)
        r = vk->vkWaitForFences(dev->device, 1, &fence, VK_TRUE, UINT64_MAX);
    if (fence)
        vk->vkDestroyFence(dev->device, fence, NULL);
    if (cb)
        vk->vkFreeCommandBuffers(dev->device, dev->cmd_pool, 1, &cb);
    pthread_mutex_unlock(&dev->lock);
    ERG_VK_CHECK(diag, r, "one-off Vulkan submission");
    return ERG_OK;
}

/* Shaders read buffers of the device's own memory; importing host memory
 * (VK_EXT_external_memory_host) is not done, so a graph shared with other
 * devices keeps its memory here and they register it. */
static erg_status vk_host_register(erg_backend_device *dev, void *ptr, size_t size,
                                   erg_diag *diag) {
    (void)ptr;
    return erg_fail(diag, ERG_UNSUPPORTED,
                    "%s cannot use %zu bytes of host memory another device allocated (no "
                    "host-memory import)",
                    dev->info.name, size);
}

static void vk_host_unregister(erg_backend_device *dev, void *ptr) { (void)dev, (void)ptr; }

const erg_backend erg_vulkan_backend = {
    .name = "vulkan",
    .enumerate = vk_enumerate,
    .open = vk_open,
    .close = vk_close,
    .supports_node = vk_supports_node,
    .weights_prepare = erg_vk_weights_prepare,
    .weights_free = erg_vk_weights_free,
    .host_alloc = vk_host_alloc,
    .host_free = vk_host_free,
    .host_register = vk_host_register,
    .host_unregister = vk_host_unregister,
    .exec_create = erg_vk_exec_create,
    .exec_free = erg_vk_exec_free,
    .compile = erg_vk_exec_compile,
    .execute = erg_vk_exec_execute,
    .node_times = erg_vk_exec_node_times,
};
