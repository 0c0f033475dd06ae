/*
 * cl_enumerate.h: the OpenCL devices of this machine and what each is. erg
 * numbers them across every platform in enumeration order: opencl:N is the
 * N-th device found.
 */
#ifndef ERG_CL_ENUMERATE_H
#define ERG_CL_ENUMERATE_H

#include "backends/opencl/cl_api.h"

#include <stdbool.h>

#define ERG_CL_MAX_DEVICES 64

/* Fills ids with up to cap devices (platforms[i] is the platform of
 * ids[i]) and *count with every device found (at most ERG_CL_MAX_DEVICES).
 * No platform or no device: ERG_OK, *count = 0 and the reason in diag. */
erg_status erg_cl_list_devices(const erg_cl_api *cl, cl_device_id *ids, cl_platform_id *platforms,
                               size_t cap, size_t *count, erg_diag *diag);

/* Describes device `index` (ids[index]) as erg reports it. */
void erg_cl_describe(const erg_cl_api *cl, cl_platform_id platform, cl_device_id id,
                     size_t index, erg_device_info *info);

/* Whether the device lists the extension. */
bool erg_cl_has_extension(const erg_cl_api *cl, cl_device_id id, const char *ext);

/* A string property of a device or a platform, trailing blanks removed;
 * "" when it cannot be read. */
void erg_cl_device_string(const erg_cl_api *cl, cl_device_id id, cl_device_info what, char *buf,
                          size_t n);
void erg_cl_platform_string(const erg_cl_api *cl, cl_platform_id id, cl_platform_info what,
                            char *buf, size_t n);

#endif
