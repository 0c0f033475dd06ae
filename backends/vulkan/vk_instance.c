#include "backends/vulkan/vk_instance.h"

#include "backends/vulkan/vk_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static bool validation_wanted(void) {
    const char *v = getenv("ERG_VULKAN_VALIDATION");
    return v && *v && strcmp(v, "0") != 0;
}

static bool has_layer(const erg_vk_fns *vk, const char *name) {
    uint32_t n = 0;
    if (vk->vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkLayerProperties props[64];
    if (n > 64)
        n = 64;
    if (vk->vkEnumerateInstanceLayerProperties(&n, props) < 0)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(props[i].layerName, name) == 0)
            return true;
    return false;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user) {
    (void)type;
    const erg_vk_instance *vi = user;
    erg_log_level level = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? ERG_LOG_ERROR
                                                                                     : ERG_LOG_WARN;
    erg_log(vi->log, level, "vulkan validation: %s", data->pMessage ? data->pMessage : "");
    return VK_FALSE;
}

erg_status erg_vk_instance_create(erg_vk_instance *vi, const erg_logger *log, erg_diag *diag) {
    memset(vi, 0, sizeof *vi);
    vi->log = log;
    ERG_RETURN_IF_ERROR(erg_vk_load(&vi->vk, diag));
    uint32_t version = VK_API_VERSION_1_0;
    if (vi->vk.vkEnumerateInstanceVersion)
        vi->vk.vkEnumerateInstanceVersion(&version);
    if (version < VK_API_VERSION_1_1) {
        erg_vk_unload(&vi->vk);
        return erg_fail(diag, ERG_UNSUPPORTED, "Vulkan instance version %u.%u is below 1.1",
                        VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version));
    }
    vi->api_version = version < VK_API_VERSION_1_3 ? version : VK_API_VERSION_1_3;
    bool validate = validation_wanted();
    if (validate && !has_layer(&vi->vk, VALIDATION_LAYER)) {
        erg_vk_unload(&vi->vk);
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "ERG_VULKAN_VALIDATION is set but %s is not installed "
                        "(Debian: vulkan-validationlayers)",
                        VALIDATION_LAYER);
    }
    const char *layers[] = {VALIDATION_LAYER};
    const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "erg",
                             .pEngineName = "erg",
                             .apiVersion = vi->api_version};
    VkDebugUtilsMessengerCreateInfoEXT mci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = vi};
    /* Synchronization validation too: it checks the executor's barriers. */
    VkValidationFeatureEnableEXT enables[] = {
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .pNext = &mci,
                                        .enabledValidationFeatureCount = 1,
                                        .pEnabledValidationFeatures = enables};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = validate ? &features : NULL,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = validate ? 1 : 0,
                               .ppEnabledLayerNames = layers,
                               .enabledExtensionCount = validate ? 1 : 0,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vi->vk.vkCreateInstance(&ci, NULL, &vi->instance);
    if (r != VK_SUCCESS) {
        erg_vk_unload(&vi->vk);
        return erg_fail(diag, erg_vk_status(r) == ERG_DEVICE ? ERG_UNSUPPORTED : erg_vk_status(r),
                        "vkCreateInstance: %s", erg_vk_result_name(r));
    }
    erg_status st = erg_vk_load_instance(&vi->vk, vi->instance, diag);
    if (st == ERG_OK && validate && vi->vk.vkCreateDebugUtilsMessengerEXT) {
        r = vi->vk.vkCreateDebugUtilsMessengerEXT(vi->instance, &mci, NULL, &vi->messenger);
        if (r != VK_SUCCESS)
            st = erg_fail(diag, ERG_UNSUPPORTED, "vkCreateDebugUtilsMessengerEXT: %s",
                          erg_vk_result_name(r));
    }
    if (st != ERG_OK)
        erg_vk_instance_destroy(vi);
    return st;
}

void erg_vk_instance_destroy(erg_vk_instance *vi) {
    if (vi->messenger)
        vi->vk.vkDestroyDebugUtilsMessengerEXT(vi->instance, vi->messenger, NULL);
    if (vi->instance)
        vi->vk.vkDestroyInstance(vi->instance, NULL);
    erg_vk_unload(&vi->vk);
    vi->instance = VK_NULL_HANDLE;
    vi->messenger = VK_NULL_HANDLE;
}

static bool compute_family(const erg_vk_instance *vi, VkPhysicalDevice pd, uint32_t *family,
                           uint32_t *ts_bits) {
    VkQueueFamilyProperties props[16];
    uint32_t n = 16;
    vi->vk.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, props);
    /* Prefer a compute-only family (async compute on discrete GPUs). */
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (!(props[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
            continue;
        if (best < 0 || !(props[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
            best = (int)i;
    }
    if (best < 0)
        return false;
    *family = (uint32_t)best;
    *ts_bits = props[best].timestampValidBits;
    return true;
}

erg_status erg_vk_physical_devices(erg_vk_instance *vi, VkPhysicalDevice *out, uint32_t cap,
                                   uint32_t *count, erg_diag *diag) {
    VkPhysicalDevice all[16];
    uint32_t n = 16;
    VkResult r = vi->vk.vkEnumeratePhysicalDevices(vi->instance, &n, all);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE)
        return erg_fail(diag, erg_vk_status(r), "vkEnumeratePhysicalDevices: %s",
                        erg_vk_result_name(r));
    *count = 0;
    char skipped[ERG_DIAG_MAX / 2] = "";
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties p;
        vi->vk.vkGetPhysicalDeviceProperties(all[i], &p);
        uint32_t fam, ts;
        /* Every kernel's descriptor set has ERG_VK_BINDINGS storage buffers. */
        bool bindings = p.limits.maxPerStageDescriptorStorageBuffers >= ERG_VK_BINDINGS &&
                        p.limits.maxDescriptorSetStorageBuffers >= ERG_VK_BINDINGS;
        const char *why = p.apiVersion < VK_API_VERSION_1_1 ? "Vulkan 1.0 only"
                          : !bindings ? "fewer storage buffers per shader than erg binds"
                          : !compute_family(vi, all[i], &fam, &ts) ? "no compute queue"
                                                                     : NULL;
        if (why) {
            size_t used = strlen(skipped);
            snprintf(skipped + used, sizeof skipped - used, "%s%.64s: %s", used ? "; " : "",
                     p.deviceName, why);
            continue;
        }
        if (*count < cap)
            out[*count] = all[i];
        (*count)++;
    }
    if (*count == 0)
        erg_fail(diag, ERG_OK, "%s", n == 0 ? "the Vulkan loader found no device" : skipped);
    return ERG_OK;
}

void erg_vk_probe_caps(const erg_vk_instance *vi, VkPhysicalDevice pd, erg_vk_caps *caps) {
    memset(caps, 0, sizeof *caps);
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sg};
    vi->vk.vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;
    caps->api_version = p->apiVersion;
    uint32_t ts_bits = 0;
    compute_family(vi, pd, &caps->queue_family, &ts_bits);
    caps->timestamps = ts_bits > 0 && p->limits.timestampPeriod > 0;
    caps->timestamp_period_ns = p->limits.timestampPeriod;
    if (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) {
        caps->subgroup_size = sg.subgroupSize;
        caps->subgroup_arithmetic = (sg.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) != 0;
    }
    VkPhysicalDevice16BitStorageFeatures s16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &s16};
    VkPhysicalDeviceVulkan12Features f12 = {.sType =
                                                VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan13Features f13 = {.sType =
                                                VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    /* The 1.2/1.3 feature structs may only be chained where the device has them. */
    if (p->apiVersion >= VK_API_VERSION_1_2 && vi->api_version >= VK_API_VERSION_1_2) {
        s16.pNext = &f12;
        if (p->apiVersion >= VK_API_VERSION_1_3 && vi->api_version >= VK_API_VERSION_1_3)
            f12.pNext = &f13;
    }
    vi->vk.vkGetPhysicalDeviceFeatures2(pd, &f2);
    caps->storage16 = s16.storageBuffer16BitAccess;
    caps->float64 = f2.features.shaderFloat64;
    caps->storage8 = f12.storageBuffer8BitAccess;
    caps->float16 = f12.shaderFloat16;
    caps->int8 = f12.shaderInt8;
    caps->int_dot = f13.shaderIntegerDotProduct;
    caps->max_storage_range = p->limits.maxStorageBufferRange;
    caps->min_storage_align = p->limits.minStorageBufferOffsetAlignment;
    caps->max_push_constants = p->limits.maxPushConstantsSize;
    caps->max_shared_bytes = p->limits.maxComputeSharedMemorySize;
    memcpy(caps->max_group_count, p->limits.maxComputeWorkGroupCount, sizeof caps->max_group_count);
    VkPhysicalDeviceMemoryProperties mp;
    vi->vk.vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    caps->uma = true;
    for (uint32_t t = 0; t < mp.memoryTypeCount; t++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[t].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && !(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
            mp.memoryHeaps[mp.memoryTypes[t].heapIndex].size > 256u * 1024 * 1024)
            caps->uma = false; /* a large device-only heap: discrete memory */
    }
    if (p->deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)
        caps->uma = false;
    caps->cpu_device = p->deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
}

static const char *vendor_name(uint32_t id) {
    switch (id) {
    case 0x1002: return "AMD";
    case 0x10DE: return "NVIDIA";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "Imagination";
    case 0x10005: return "Mesa";
    case 0x106B: return "Apple";
    default: return NULL;
    }
}

void erg_vk_describe(const erg_vk_instance *vi, VkPhysicalDevice pd, const erg_vk_caps *caps,
                     size_t index, erg_device_info *info) {
    memset((char *)info + sizeof info->struct_size, 0, sizeof *info - sizeof info->struct_size);
    VkPhysicalDeviceProperties p;
    vi->vk.vkGetPhysicalDeviceProperties(pd, &p);
    static const char *const types[] = {"other", "integrated GPU", "discrete GPU", "virtual GPU",
                                        "CPU"};
    snprintf(info->name, sizeof info->name, "vulkan:%zu", index);
    snprintf(info->backend, sizeof info->backend, "vulkan");
    snprintf(info->description, sizeof info->description, "%.100s (%s)", p.deviceName,
             (unsigned)p.deviceType < 5 ? types[p.deviceType] : "other");
    info->kind = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? ERG_DEVICE_OTHER : ERG_DEVICE_GPU;
    const char *vendor = vendor_name(p.vendorID);
    if (vendor)
        snprintf(info->vendor, sizeof info->vendor, "%s", vendor);
    else
        snprintf(info->vendor, sizeof info->vendor, "0x%04x", p.vendorID);
    snprintf(info->api_version, sizeof info->api_version, "%u.%u.%u",
             VK_API_VERSION_MAJOR(p.apiVersion), VK_API_VERSION_MINOR(p.apiVersion),
             VK_API_VERSION_PATCH(p.apiVersion));
    snprintf(info->driver_version, sizeof info->driver_version, "0x%08x", p.driverVersion);
    info->unified_memory = caps->uma;
    info->subgroup_size = caps->subgroup_arithmetic ? caps->subgroup_size : 0;
    info->local_memory_bytes = caps->max_shared_bytes;
    info->max_buffer_bytes = caps->max_storage_range;
    info->timer_period_ns = caps->timestamps ? caps->timestamp_period_ns : 0;
    info->gpu_features = (caps->storage16 ? ERG_GPU_FEATURE_FP16_STORAGE : 0) |
                         (caps->float16 ? ERG_GPU_FEATURE_FP16_MATH : 0) |
                         (caps->storage8 ? ERG_GPU_FEATURE_INT8_STORAGE : 0) |
                         (caps->int8 ? ERG_GPU_FEATURE_INT8_MATH : 0) |
                         (caps->int_dot ? ERG_GPU_FEATURE_INT_DOT : 0) |
                         (caps->subgroup_arithmetic ? ERG_GPU_FEATURE_SUBGROUPS : 0) |
                         (caps->timestamps ? ERG_GPU_FEATURE_TIMESTAMPS : 0);
    if (caps->float64)
        info->gpu_features |= ERG_GPU_FEATURE_FP64;
    VkPhysicalDeviceMemoryProperties mp;
    vi->vk.vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    info->n_memory_heaps = mp.memoryHeapCount < 4 ? mp.memoryHeapCount : 4;
    for (uint32_t h = 0; h < info->n_memory_heaps; h++) {
        info->memory_heaps[h].bytes = mp.memoryHeaps[h].size;
        info->memory_heaps[h].device_local =
            (mp.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
        for (uint32_t t = 0; t < mp.memoryTypeCount; t++)
            if (mp.memoryTypes[t].heapIndex == h &&
                (mp.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
                info->memory_heaps[h].host_visible = true;
        if (info->memory_heaps[h].device_local)
            info->memory_bytes += mp.memoryHeaps[h].size;
    }
}
