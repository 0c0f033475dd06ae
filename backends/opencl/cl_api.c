/* Loading libOpenCL.so.1 and naming OpenCL errors. */
#include "backends/opencl/cl_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#define LIBRARY "libOpenCL.so.1"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static erg_cl_api api;
static bool loaded;
static char load_error[ERG_DIAG_MAX];

static void load(void) {
    void *lib = dlopen(LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "%s not found: %s", LIBRARY, why ? why : "");
        return;
    }
#define ERG_CL_RESOLVE_(fn)                                                                  \
    api.fn = (__typeof__(api.fn))dlsym(lib, #fn);                                            \
    if (!api.fn) {                                                                           \
        snprintf(load_error, sizeof load_error, "%s has no %s", LIBRARY, #fn);               \
        dlclose(lib);                                                                        \
        return;                                                                              \
    }
    ERG_CL_FUNCTIONS(ERG_CL_RESOLVE_)
#undef ERG_CL_RESOLVE_
    loaded = true;
}

const erg_cl_api *erg_cl_api_get(erg_diag *diag) {
    pthread_once(&load_once, load);
    if (!loaded) {
        erg_fail(diag, ERG_UNSUPPORTED, "%s", load_error);
        return NULL;
    }
    return &api;
}

const char *erg_cl_error_name(cl_int err) {
    switch (err) {
#define NAME_(e) case e: return #e;
    NAME_(CL_SUCCESS) NAME_(CL_DEVICE_NOT_FOUND) NAME_(CL_DEVICE_NOT_AVAILABLE)
    NAME_(CL_COMPILER_NOT_AVAILABLE) NAME_(CL_MEM_OBJECT_ALLOCATION_FAILURE)
    NAME_(CL_OUT_OF_RESOURCES) NAME_(CL_OUT_OF_HOST_MEMORY)
    NAME_(CL_PROFILING_INFO_NOT_AVAILABLE) NAME_(CL_MEM_COPY_OVERLAP)
    NAME_(CL_IMAGE_FORMAT_MISMATCH) NAME_(CL_IMAGE_FORMAT_NOT_SUPPORTED)
    NAME_(CL_BUILD_PROGRAM_FAILURE) NAME_(CL_MAP_FAILURE)
    NAME_(CL_MISALIGNED_SUB_BUFFER_OFFSET) NAME_(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
    NAME_(CL_COMPILE_PROGRAM_FAILURE) NAME_(CL_LINKER_NOT_AVAILABLE)
    NAME_(CL_LINK_PROGRAM_FAILURE) NAME_(CL_DEVICE_PARTITION_FAILED)
    NAME_(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) NAME_(CL_INVALID_VALUE)
    NAME_(CL_INVALID_DEVICE_TYPE) NAME_(CL_INVALID_PLATFORM) NAME_(CL_INVALID_DEVICE)
    NAME_(CL_INVALID_CONTEXT) NAME_(CL_INVALID_QUEUE_PROPERTIES)
    NAME_(CL_INVALID_COMMAND_QUEUE) NAME_(CL_INVALID_HOST_PTR) NAME_(CL_INVALID_MEM_OBJECT)
    NAME_(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) NAME_(CL_INVALID_IMAGE_SIZE)
    NAME_(CL_INVALID_SAMPLER) NAME_(CL_INVALID_BINARY) NAME_(CL_INVALID_BUILD_OPTIONS)
    NAME_(CL_INVALID_PROGRAM) NAME_(CL_INVALID_PROGRAM_EXECUTABLE)
    NAME_(CL_INVALID_KERNEL_NAME) NAME_(CL_INVALID_KERNEL_DEFINITION)
    NAME_(CL_INVALID_KERNEL) NAME_(CL_INVALID_ARG_INDEX) NAME_(CL_INVALID_ARG_VALUE)
    NAME_(CL_INVALID_ARG_SIZE) NAME_(CL_INVALID_KERNEL_ARGS)
    NAME_(CL_INVALID_WORK_DIMENSION) NAME_(CL_INVALID_WORK_GROUP_SIZE)
    NAME_(CL_INVALID_WORK_ITEM_SIZE) NAME_(CL_INVALID_GLOBAL_OFFSET)
    NAME_(CL_INVALID_EVENT_WAIT_LIST) NAME_(CL_INVALID_EVENT) NAME_(CL_INVALID_OPERATION)
    NAME_(CL_INVALID_GL_OBJECT) NAME_(CL_INVALID_BUFFER_SIZE) NAME_(CL_INVALID_MIP_LEVEL)
    NAME_(CL_INVALID_GLOBAL_WORK_SIZE) NAME_(CL_INVALID_PROPERTY)
    NAME_(CL_INVALID_IMAGE_DESCRIPTOR) NAME_(CL_INVALID_COMPILER_OPTIONS)
    NAME_(CL_INVALID_LINKER_OPTIONS) NAME_(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef NAME_
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}

erg_status erg_cl_status(cl_int err) {
    switch (err) {
    case CL_SUCCESS: return ERG_OK;
    case CL_OUT_OF_RESOURCES:
    case CL_MEM_OBJECT_ALLOCATION_FAILURE:
    case CL_OUT_OF_HOST_MEMORY: return ERG_OUT_OF_MEMORY;
    case CL_DEVICE_NOT_FOUND:
    case -1001: return ERG_NOT_FOUND;
    default: return ERG_DEVICE;
    }
}

erg_status erg_cl_fail(erg_diag *diag, cl_int err, const char *fmt, ...) {
    erg_status st = erg_cl_status(err);
    if (!diag)
        return st;
    char what[ERG_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return erg_fail(diag, st, "%s failed: %s (%d)", what, erg_cl_error_name(err), (int)err);
}
