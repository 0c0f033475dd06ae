/*
 * cl_sources.h: the kernel sources (the .cl files of shaders/opencl),
 * embedded at build time by embed_sources.cmake into cl_sources.c, in the
 * order the program concatenates them.
 */
#ifndef ERG_CL_SOURCES_H
#define ERG_CL_SOURCES_H

#include <stddef.h>

typedef struct erg_cl_source {
    const char *name; /* "matmul.cl" */
    const char *text; /* not NUL-terminated */
    size_t len;
} erg_cl_source;

extern const erg_cl_source erg_cl_sources[];
extern const size_t erg_cl_n_sources;

#endif
