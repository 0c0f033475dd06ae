#include "backends/vulkan/vk_loader.h"

#include <dlfcn.h>
#include <string.h>

#define LOADER_NAME "libvulkan.so.1"

erg_status erg_vk_load(erg_vk_fns *f, erg_diag *diag) {
    memset(f, 0, sizeof *f);
    f->lib = dlopen(LOADER_NAME, RTLD_NOW | RTLD_LOCAL);
    if (!f->lib) {
        const char *why = dlerror();
        return erg_fail(diag, ERG_UNSUPPORTED, "no Vulkan loader: %s", why ? why : LOADER_NAME);
    }
    /* POSIX dlsym returns an object pointer; a function pointer is what it holds. */
    void *sym = dlsym(f->lib, "vkGetInstanceProcAddr");
    memcpy(&f->vkGetInstanceProcAddr, &sym, sizeof sym);
    if (!f->vkGetInstanceProcAddr) {
        erg_vk_unload(f);
        return erg_fail(diag, ERG_UNSUPPORTED, "%s has no vkGetInstanceProcAddr", LOADER_NAME);
    }
#define LOAD_GLOBAL_(name)                                                                       \
    f->name = (PFN_##name)f->vkGetInstanceProcAddr(NULL, #name);                                 \
    if (!f->name && strcmp(#name, "vkEnumerateInstanceVersion") != 0) {                          \
        erg_vk_unload(f);                                                                        \
        return erg_fail(diag, ERG_UNSUPPORTED, "the Vulkan loader lacks %s", #name);             \
    }
    ERG_VK_GLOBAL_FNS(LOAD_GLOBAL_)
#undef LOAD_GLOBAL_
    return ERG_OK;
}

erg_status erg_vk_load_instance(erg_vk_fns *f, VkInstance inst, erg_diag *diag) {
#define LOAD_INSTANCE_(name)                                                                     \
    f->name = (PFN_##name)f->vkGetInstanceProcAddr(inst, #name);                                 \
    if (!f->name)                                                                                \
        return erg_fail(diag, ERG_UNSUPPORTED, "Vulkan instance lacks %s", #name);
    ERG_VK_INSTANCE_FNS(LOAD_INSTANCE_)
#undef LOAD_INSTANCE_
    f->vkCreateDebugUtilsMessengerEXT = (PFN_vkCreateDebugUtilsMessengerEXT)f->vkGetInstanceProcAddr(
        inst, "vkCreateDebugUtilsMessengerEXT");
    f->vkDestroyDebugUtilsMessengerEXT =
        (PFN_vkDestroyDebugUtilsMessengerEXT)f->vkGetInstanceProcAddr(
            inst, "vkDestroyDebugUtilsMessengerEXT");
    return ERG_OK;
}

erg_status erg_vk_load_device(erg_vk_fns *f, VkDevice dev, erg_diag *diag) {
#define LOAD_DEVICE_(name)                                                                       \
    f->name = (PFN_##name)f->vkGetDeviceProcAddr(dev, #name);                                    \
    if (!f->name)                                                                                \
        return erg_fail(diag, ERG_UNSUPPORTED, "Vulkan device lacks %s", #name);
    ERG_VK_DEVICE_FNS(LOAD_DEVICE_)
#undef LOAD_DEVICE_
    return ERG_OK;
}

void erg_vk_unload(erg_vk_fns *f) {
    if (f->lib)
        dlclose(f->lib);
    memset(f, 0, sizeof *f);
}

const char *erg_vk_result_name(VkResult r) {
    switch (r) {
#define NAME_(x)                                                                                 \
    case x:                                                                                      \
        return #x;
        NAME_(VK_SUCCESS)
        NAME_(VK_NOT_READY)
        NAME_(VK_TIMEOUT)
        NAME_(VK_INCOMPLETE)
        NAME_(VK_ERROR_OUT_OF_HOST_MEMORY)
        NAME_(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        NAME_(VK_ERROR_INITIALIZATION_FAILED)
        NAME_(VK_ERROR_DEVICE_LOST)
        NAME_(VK_ERROR_MEMORY_MAP_FAILED)
        NAME_(VK_ERROR_LAYER_NOT_PRESENT)
        NAME_(VK_ERROR_EXTENSION_NOT_PRESENT)
        NAME_(VK_ERROR_FEATURE_NOT_PRESENT)
        NAME_(VK_ERROR_INCOMPATIBLE_DRIVER)
        NAME_(VK_ERROR_TOO_MANY_OBJECTS)
        NAME_(VK_ERROR_FORMAT_NOT_SUPPORTED)
        NAME_(VK_ERROR_FRAGMENTED_POOL)
        NAME_(VK_ERROR_OUT_OF_POOL_MEMORY)
        NAME_(VK_ERROR_INVALID_SHADER_NV)
#undef NAME_
    default:
        return "VkResult (unknown)";
    }
}

erg_status erg_vk_status(VkResult r) {
    switch (r) {
    case VK_SUCCESS:
        return ERG_OK;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
    case VK_ERROR_OUT_OF_POOL_MEMORY:
    case VK_ERROR_FRAGMENTED_POOL:
    case VK_ERROR_TOO_MANY_OBJECTS:
        return ERG_OUT_OF_MEMORY;
    case VK_ERROR_LAYER_NOT_PRESENT:
    case VK_ERROR_EXTENSION_NOT_PRESENT:
    case VK_ERROR_FEATURE_NOT_PRESENT:
    case VK_ERROR_INCOMPATIBLE_DRIVER:
    case VK_ERROR_FORMAT_NOT_SUPPORTED:
        return ERG_UNSUPPORTED;
    default:
        return ERG_DEVICE;
    }
}
