/*
 * cl_backend.h: the OpenCL backend. libOpenCL.so.1 is opened at run time,
 * so one binary runs with and without an OpenCL driver; every device of
 * every platform is a device of erg ("opencl:N").
 */
#ifndef ERG_CL_BACKEND_H
#define ERG_CL_BACKEND_H

#include "backends/backend.h"

extern const erg_backend erg_opencl_backend;

#endif
