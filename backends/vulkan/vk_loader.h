/*
 * vk_loader.h: the Vulkan loader, opened at run time (libvulkan.so.1), and
 * the entry points erg uses, resolved into one table. Nothing links against
 * Vulkan, so one binary runs on machines with and without it.
 */
#ifndef ERG_VK_LOADER_H
#define ERG_VK_LOADER_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "base/diag.h"

/* Entry points resolved without an instance. */
#define ERG_VK_GLOBAL_FNS(X)                                                                     \
    X(vkCreateInstance)                                                                          \
    X(vkEnumerateInstanceVersion)                                                                \
    X(vkEnumerateInstanceLayerProperties)                                                        \
    X(vkEnumerateInstanceExtensionProperties)

/* Entry points resolved through an instance. */
#define ERG_VK_INSTANCE_FNS(X)                                                                   \
    X(vkDestroyInstance)                                                                         \
    X(vkEnumeratePhysicalDevices)                                                                \
    X(vkGetPhysicalDeviceProperties)                                                             \
    X(vkGetPhysicalDeviceProperties2)                                                            \
    X(vkGetPhysicalDeviceFeatures2)                                                              \
    X(vkGetPhysicalDeviceMemoryProperties)                                                       \
    X(vkGetPhysicalDeviceQueueFamilyProperties)                                                  \
    X(vkEnumerateDeviceExtensionProperties)                                                      \
    X(vkCreateDevice)                                                                            \
    X(vkGetDeviceProcAddr)

/* Entry points resolved through a device. */
#define ERG_VK_DEVICE_FNS(X)                                                                     \
    X(vkDestroyDevice)                                                                           \
    X(vkGetDeviceQueue)                                                                          \
    X(vkDeviceWaitIdle)                                                                          \
    X(vkAllocateMemory)                                                                          \
    X(vkFreeMemory)                                                                              \
    X(vkMapMemory)                                                                               \
    X(vkUnmapMemory)                                                                             \
    X(vkCreateBuffer)                                                                            \
    X(vkDestroyBuffer)                                                                           \
    X(vkGetBufferMemoryRequirements)                                                             \
    X(vkBindBufferMemory)                                                                        \
    X(vkCreateShaderModule)                                                                      \
    X(vkDestroyShaderModule)                                                                     \
    X(vkCreatePipelineCache)                                                                     \
    X(vkDestroyPipelineCache)                                                                    \
    X(vkGetPipelineCacheData)                                                                    \
    X(vkCreateComputePipelines)                                                                  \
    X(vkDestroyPipeline)                                                                         \
    X(vkCreatePipelineLayout)                                                                    \
    X(vkDestroyPipelineLayout)                                                                   \
    X(vkCreateDescriptorSetLayout)                                                               \
    X(vkDestroyDescriptorSetLayout)                                                              \
    X(vkCreateDescriptorPool)                                                                    \
    X(vkDestroyDescriptorPool)                                                                   \
    X(vkResetDescriptorPool)                                                                     \
    X(vkAllocateDescriptorSets)                                                                  \
    X(vkUpdateDescriptorSets)                                                                    \
    X(vkCreateCommandPool)                                                                       \
    X(vkDestroyCommandPool)                                                                      \
    X(vkAllocateCommandBuffers)                                                                  \
    X(vkFreeCommandBuffers)                                                                      \
    X(vkResetCommandBuffer)                                                                      \
    X(vkBeginCommandBuffer)                                                                      \
    X(vkEndCommandBuffer)                                                                        \
    X(vkCmdBindPipeline)                                                                         \
    X(vkCmdBindDescriptorSets)                                                                   \
    X(vkCmdPushConstants)                                                                        \
    X(vkCmdDispatch)                                                                             \
    X(vkCmdPipelineBarrier)                                                                      \
    X(vkCmdCopyBuffer)                                                                           \
    X(vkCmdFillBuffer)                                                                           \
    X(vkCmdWriteTimestamp)                                                                       \
    X(vkCmdResetQueryPool)                                                                       \
    X(vkCreateQueryPool)                                                                         \
    X(vkDestroyQueryPool)                                                                        \
    X(vkGetQueryPoolResults)                                                                     \
    X(vkCreateFence)                                                                             \
    X(vkDestroyFence)                                                                            \
    X(vkResetFences)                                                                             \
    X(vkWaitForFences)                                                                           \
    X(vkQueueSubmit)

typedef struct erg_vk_fns {
    void *lib;
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
#define ERG_VK_FN_FIELD_(name) PFN_##name name;
    ERG_VK_GLOBAL_FNS(ERG_VK_FN_FIELD_)
    ERG_VK_INSTANCE_FNS(ERG_VK_FN_FIELD_)
    ERG_VK_DEVICE_FNS(ERG_VK_FN_FIELD_)
    /* VK_EXT_debug_utils, when the validation layer is on */
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
    PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT;
#undef ERG_VK_FN_FIELD_
} erg_vk_fns;

/* Opens the loader and resolves the global entry points. ERG_UNSUPPORTED,
 * with the reason, when there is no usable loader. */
erg_status erg_vk_load(erg_vk_fns *f, erg_diag *diag);
erg_status erg_vk_load_instance(erg_vk_fns *f, VkInstance inst, erg_diag *diag);
erg_status erg_vk_load_device(erg_vk_fns *f, VkDevice dev, erg_diag *diag);
void erg_vk_unload(erg_vk_fns *f);

/* "VK_ERROR_OUT_OF_DEVICE_MEMORY" … for messages. */
const char *erg_vk_result_name(VkResult r);
/* The erg status a Vulkan error maps to (out of memory, device lost …). */
erg_status erg_vk_status(VkResult r);

/* Fails with the call and the result named: returns from the enclosing
 * function with the mapped status unless r is VK_SUCCESS. */
#define ERG_VK_CHECK(diag, r, what)                                                              \
    do {                                                                                         \
        VkResult erg_vk_r_ = (r);                                                                \
        if (erg_vk_r_ != VK_SUCCESS)                                                             \
            return erg_fail((diag), erg_vk_status(erg_vk_r_), "%s: %s", (what),                  \
                            erg_vk_result_name(erg_vk_r_));                                      \
    } while (0)

#endif
