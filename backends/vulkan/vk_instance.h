/*
 * vk_instance.h: a Vulkan instance (with the Khronos validation layer when
 * ERG_VULKAN_VALIDATION=1, its messages sent to erg's logger as warnings and
 * errors), and what erg needs to know of each physical device.
 */
#ifndef ERG_VK_INSTANCE_H
#define ERG_VK_INSTANCE_H

#include "backends/vulkan/vk_loader.h"
#include "base/log.h"

#include "erg/erg.h"

#include <stdbool.h>

typedef struct erg_vk_instance {
    erg_vk_fns vk;
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    const erg_logger *log;
    uint32_t api_version; /* the instance's, capped at 1.3 */
} erg_vk_instance;

/* What a physical device offers erg's kernels. */
typedef struct erg_vk_caps {
    uint32_t api_version;
    uint32_t queue_family;         /* a compute queue family */
    bool timestamps;               /* that family has valid timestamp bits */
    double timestamp_period_ns;
    uint32_t subgroup_size;
    bool subgroup_arithmetic;      /* subgroupAdd/Max in compute shaders */
    bool storage16, storage8, float16, int8, int_dot;
    bool float64;                  /* shaderFloat64 (enabled on the device when present) */
    bool uma;                      /* every device-local heap is host-visible too */
    bool cpu_device;               /* a CPU implementation (lavapipe, SwiftShader) */
    VkDeviceSize max_storage_range;
    VkDeviceSize min_storage_align;
    uint32_t max_push_constants;
    uint32_t max_shared_bytes;
    uint32_t max_group_count[3];
} erg_vk_caps;

/* Creates the instance; ERG_UNSUPPORTED with the reason when Vulkan is
 * absent, too old, or the validation layer was asked for and is missing. */
erg_status erg_vk_instance_create(erg_vk_instance *vi, const erg_logger *log, erg_diag *diag);
void erg_vk_instance_destroy(erg_vk_instance *vi);

/* The physical devices erg can use (Vulkan 1.1+, with a compute queue). */
erg_status erg_vk_physical_devices(erg_vk_instance *vi, VkPhysicalDevice *out, uint32_t cap,
                                   uint32_t *count, erg_diag *diag);

void erg_vk_probe_caps(const erg_vk_instance *vi, VkPhysicalDevice pd, erg_vk_caps *caps);

/* Fills an erg_device_info for device index (its name is "vulkan:<index>"). */
void erg_vk_describe(const erg_vk_instance *vi, VkPhysicalDevice pd, const erg_vk_caps *caps,
                     size_t index, erg_device_info *info);

#endif
