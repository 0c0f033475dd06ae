/*
 * cl_api.h: the OpenCL 1.2 entry points erg calls, resolved from
 * libOpenCL.so.1 at run time (erg never links -lOpenCL), and OpenCL errors
 * turned into erg statuses.
 */
#ifndef ERG_CL_API_H
#define ERG_CL_API_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include "base/diag.h"

#define ERG_CL_FUNCTIONS(X)                                                                  \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo)            \
    X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue)                           \
    X(clReleaseCommandQueue) X(clCreateBuffer) X(clReleaseMemObject)                          \
    X(clCreateProgramWithSource) X(clCreateProgramWithBinary) X(clBuildProgram)              \
    X(clGetProgramInfo) X(clGetProgramBuildInfo) X(clReleaseProgram) X(clCreateKernel)       \
    X(clReleaseKernel) X(clSetKernelArg) X(clGetKernelWorkGroupInfo)                         \
    X(clEnqueueNDRangeKernel) X(clEnqueueMapBuffer) X(clEnqueueUnmapMemObject) X(clFinish)   \
    X(clGetEventInfo) X(clGetEventProfilingInfo) X(clReleaseEvent)

typedef struct erg_cl_api {
#define ERG_CL_MEMBER_(fn) __typeof__(fn) *fn;
    ERG_CL_FUNCTIONS(ERG_CL_MEMBER_)
#undef ERG_CL_MEMBER_
} erg_cl_api;

/* The entry points, loaded once per process; NULL (the reason in diag)
 * where libOpenCL.so.1 or one of the functions is missing. The library is
 * never closed: drivers keep threads that a dlclose would pull the code
 * from under. */
const erg_cl_api *erg_cl_api_get(erg_diag *diag);

/* "CL_OUT_OF_RESOURCES", or "unknown OpenCL error" */
const char *erg_cl_error_name(cl_int err);

/* The status an OpenCL error means: ERG_OUT_OF_MEMORY for exhausted
 * resources or memory, ERG_NOT_FOUND for a missing platform or device,
 * ERG_DEVICE for the rest (lost devices, failed launches and builds). */
erg_status erg_cl_status(cl_int err);

/* Fails with erg_cl_status(err); the sentence is the formatted context (the
 * call and what it was for) followed by "failed: CL_NAME (number)". */
erg_status erg_cl_fail(erg_diag *diag, cl_int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
