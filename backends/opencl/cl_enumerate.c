/* Listing the OpenCL devices of every platform, and describing each. */
#include "backends/opencl/cl_enumerate.h"

#include <CL/cl_ext.h>

#include <stdio.h>
#include <string.h>

#define MAX_PLATFORMS 16

erg_status erg_cl_list_devices(const erg_cl_api *cl, cl_device_id *ids, cl_platform_id *platforms,
                               size_t cap, size_t *count, erg_diag *diag) {
    *count = 0;
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint n_plats = 0;
    cl_int err = cl->clGetPlatformIDs(MAX_PLATFORMS, plats, &n_plats);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: the ICD loader found no driver */ ||
        (err == CL_SUCCESS && n_plats == 0)) {
        erg_fail(diag, ERG_NOT_FOUND, "no OpenCL platform (no driver registered with the loader)");
        return ERG_OK;
    }
    if (err != CL_SUCCESS) {
        erg_cl_fail(diag, err, "no OpenCL platform: clGetPlatformIDs");
        return ERG_OK;
    }
    if (n_plats > MAX_PLATFORMS)
        n_plats = MAX_PLATFORMS;
    size_t total = 0;
    for (cl_uint p = 0; p < n_plats && total < ERG_CL_MAX_DEVICES; p++) {
        cl_device_id devs[ERG_CL_MAX_DEVICES];
        cl_uint n = 0;
        if (cl->clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, ERG_CL_MAX_DEVICES, devs, &n) !=
            CL_SUCCESS)
            continue; /* CL_DEVICE_NOT_FOUND: a platform without devices */
        for (cl_uint d = 0; d < n && d < ERG_CL_MAX_DEVICES && total < ERG_CL_MAX_DEVICES; d++) {
            if (total < cap) {
                ids[total] = devs[d];
                platforms[total] = plats[p];
            }
            total++;
        }
    }
    if (total == 0)
        erg_fail(diag, ERG_NOT_FOUND, "no OpenCL device on %u platform(s)", (unsigned)n_plats);
    *count = total;
    return ERG_OK;
}

void erg_cl_device_string(const erg_cl_api *cl, cl_device_id id, cl_device_info what, char *buf,
                          size_t n) {
    size_t len = 0;
    if (cl->clGetDeviceInfo(id, what, n - 1, buf, &len) != CL_SUCCESS || len == 0 || len > n - 1)
        len = 0;
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\0'))
        buf[--len] = '\0';
}

void erg_cl_platform_string(const erg_cl_api *cl, cl_platform_id id, cl_platform_info what,
                            char *buf, size_t n) {
    size_t len = 0;
    if (cl->clGetPlatformInfo(id, what, n - 1, buf, &len) != CL_SUCCESS || len == 0 || len > n - 1)
        len = 0;
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\0'))
        buf[--len] = '\0';
}

bool erg_cl_has_extension(const erg_cl_api *cl, cl_device_id id, const char *ext) {
    size_t len = 0;
    if (cl->clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &len) != CL_SUCCESS || len == 0)
        return false;
    char buf[8192];
    if (len > sizeof buf)
        len = sizeof buf; /* longer lists are truncated; the common extensions come first */
    if (cl->clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, len, buf, NULL) != CL_SUCCESS)
        return false;
    buf[len - 1] = '\0';
    size_t n = strlen(ext);
    for (const char *p = buf; (p = strstr(p, ext)); p += n)
        if ((p == buf || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    return false;
}

static uint64_t device_u64(const erg_cl_api *cl, cl_device_id id, cl_device_info what) {
    cl_ulong v = 0;
    return cl->clGetDeviceInfo(id, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static uint32_t device_u32(const erg_cl_api *cl, cl_device_id id, cl_device_info what) {
    cl_uint v = 0;
    return cl->clGetDeviceInfo(id, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

static size_t device_size(const erg_cl_api *cl, cl_device_id id, cl_device_info what) {
    size_t v = 0;
    return cl->clGetDeviceInfo(id, what, sizeof v, &v, NULL) == CL_SUCCESS ? v : 0;
}

/* The sub-group width where the driver says it (Intel: the largest size it
 * offers; AMD: the wavefront); 0 where it does not. */
static uint32_t subgroup_width(const erg_cl_api *cl, cl_device_id id) {
    size_t sizes[8] = {0}, len = 0;
    if (erg_cl_has_extension(cl, id, "cl_intel_subgroups") &&
        cl->clGetDeviceInfo(id, CL_DEVICE_SUB_GROUP_SIZES_INTEL, sizeof sizes, sizes, &len) ==
            CL_SUCCESS) {
        size_t best = 0;
        for (size_t i = 0; i < len / sizeof sizes[0] && i < 8; i++)
            best = sizes[i] > best ? sizes[i] : best;
        return (uint32_t)best;
    }
    if (erg_cl_has_extension(cl, id, "cl_amd_device_attribute_query"))
        return device_u32(cl, id, CL_DEVICE_WAVEFRONT_WIDTH_AMD);
    return 0;
}

/* "OpenCL 3.0 PoCL ..." -> "3.0" */
static void api_version(const erg_cl_api *cl, cl_device_id id, char *buf, size_t n) {
    char full[128];
    erg_cl_device_string(cl, id, CL_DEVICE_VERSION, full, sizeof full);
    const char *v = strncmp(full, "OpenCL ", 7) == 0 ? full + 7 : full;
    size_t len = strcspn(v, " ");
    snprintf(buf, n, "%.*s", (int)len, v);
}

void erg_cl_describe(const erg_cl_api *cl, cl_platform_id platform, cl_device_id id,
                     size_t index, erg_device_info *info) {
    memset((char *)info + sizeof info->struct_size, 0, sizeof *info - sizeof info->struct_size);
    snprintf(info->name, sizeof info->name, "opencl:%zu", index);
    snprintf(info->backend, sizeof info->backend, "opencl");
    char name[128], plat[64];
    erg_cl_device_string(cl, id, CL_DEVICE_NAME, name, sizeof name);
    erg_cl_platform_string(cl, platform, CL_PLATFORM_NAME, plat, sizeof plat);
    snprintf(info->description, sizeof info->description, "%.80s (%.40s)",
             name[0] ? name : "unnamed", plat[0] ? plat : "unknown platform");
    cl_device_type type = 0;
    cl->clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    /* A CL CPU device (PoCL) is not erg's CPU backend: it is another device. */
    info->kind = type & CL_DEVICE_TYPE_GPU ? ERG_DEVICE_GPU : ERG_DEVICE_OTHER;
    erg_cl_device_string(cl, id, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    erg_cl_device_string(cl, id, CL_DRIVER_VERSION, info->driver_version,
                         sizeof info->driver_version);
    api_version(cl, id, info->api_version, sizeof info->api_version);
    info->memory_bytes = device_u64(cl, id, CL_DEVICE_GLOBAL_MEM_SIZE);
    cl_bool unified = CL_FALSE;
    cl->clGetDeviceInfo(id, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL);
    info->unified_memory = unified == CL_TRUE;
    info->compute_units = device_u32(cl, id, CL_DEVICE_MAX_COMPUTE_UNITS);
    info->local_memory_bytes = device_u64(cl, id, CL_DEVICE_LOCAL_MEM_SIZE);
    info->max_buffer_bytes = device_u64(cl, id, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
    info->timer_period_ns = (double)device_size(cl, id, CL_DEVICE_PROFILING_TIMER_RESOLUTION);
    /* One heap: the device's global memory, which buffers map for the host. */
    info->n_memory_heaps = 1;
    info->memory_heaps[0].bytes = info->memory_bytes;
    info->memory_heaps[0].device_local = true;
    info->memory_heaps[0].host_visible = true;
    /* Halves through vload/vstore_half and 8-bit integers are core OpenCL. */
    uint32_t f = ERG_GPU_FEATURE_FP16_STORAGE | ERG_GPU_FEATURE_INT8_STORAGE |
                 ERG_GPU_FEATURE_INT8_MATH | ERG_GPU_FEATURE_TIMESTAMPS;
    if (erg_cl_has_extension(cl, id, "cl_khr_fp16"))
        f |= ERG_GPU_FEATURE_FP16_MATH;
    if (erg_cl_has_extension(cl, id, "cl_khr_integer_dot_product"))
        f |= ERG_GPU_FEATURE_INT_DOT;
    if (erg_cl_has_extension(cl, id, "cl_khr_subgroups") ||
        erg_cl_has_extension(cl, id, "cl_intel_subgroups")) {
        f |= ERG_GPU_FEATURE_SUBGROUPS;
        info->subgroup_size = subgroup_width(cl, id);
    }
    if (erg_cl_has_extension(cl, id, "cl_khr_fp64"))
        f |= ERG_GPU_FEATURE_FP64;
    info->gpu_features = f;
}
