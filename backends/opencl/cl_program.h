/*
 * cl_program.h: erg's kernels as one OpenCL program per device: the
 * embedded sources (the .cl files of shaders/opencl), the build options
 * the device's extensions allow, the binary cache, the kernels' names.
 */
#ifndef ERG_CL_PROGRAM_H
#define ERG_CL_PROGRAM_H

#include "backends/opencl/cl_api.h"
#include "base/log.h"
#include "graph/dtype.h"

/* Work-items of every work-group (LWS in common.cl). */
#define ERG_CL_LWS 64
/* The longest q row attention.cl keeps in local memory (its AT_MAX_D). */
#define ERG_CL_ATTENTION_MAX_D 512
/* Columns one matrix-vector work-group multiplies (MV_COLS in matmul.cl). */
#define ERG_CL_MATVEC_COLS 8
/* Rows x columns of a matrix-matrix tile (TN, TM in matmul.cl). */
#define ERG_CL_TILE_ROWS 32
#define ERG_CL_TILE_COLS 32

/* The weight types with kernels, in the order of FOR_EACH_WEIGHT_TYPE. */
#define ERG_CL_N_WEIGHT_TYPES 11

typedef enum erg_cl_kernel {
    ERG_CL_K_ELEMENTWISE,
    ERG_CL_K_RMS_NORM,
    ERG_CL_K_SOFTMAX,
    ERG_CL_K_ROPE,
    ERG_CL_K_CPY,
    ERG_CL_K_ATTENTION,
    /* One kernel per weight type: family + erg_cl_weight_index(type). */
    ERG_CL_K_GET_ROWS,
    ERG_CL_K_MATVEC = ERG_CL_K_GET_ROWS + ERG_CL_N_WEIGHT_TYPES,
    ERG_CL_K_MATMUL = ERG_CL_K_MATVEC + ERG_CL_N_WEIGHT_TYPES,
    ERG_CL_K_MATVEC_SWIGLU = ERG_CL_K_MATMUL + ERG_CL_N_WEIGHT_TYPES,
    ERG_CL_K_MATMUL_SWIGLU = ERG_CL_K_MATVEC_SWIGLU + ERG_CL_N_WEIGHT_TYPES,
    ERG_CL_K_COUNT = ERG_CL_K_MATMUL_SWIGLU + ERG_CL_N_WEIGHT_TYPES
} erg_cl_kernel;

/* The index of a weight type among the kernels' types, -1 if it has none. */
int erg_cl_weight_index(erg_dtype t);

/* Whether k is a tiled matrix-matrix kernel (k_matmul_*, k_matmul_swiglu_*):
 * only programs built for GPUs hold them. */
bool erg_cl_kernel_tiled(erg_cl_kernel k);

/* The kernel's function name ("k_matvec_q4_k"). */
void erg_cl_kernel_name(erg_cl_kernel k, char *buf, size_t n);

/* How the device's program was obtained, for logs and tests. */
typedef struct erg_cl_build_report {
    bool from_cache;      /* loaded from a cached binary */
    bool cache_rejected;  /* an entry was there but unusable (stale, corrupt, refused) */
    bool cache_written;   /* a new entry was written */
    bool portable;        /* the extension variants failed to build; portable kernels */
    double seconds;       /* time to get the built program */
    char options[128];    /* the build options */
    char cache_path[1024]; /* the entry's file; "" without a cache directory */
} erg_cl_build_report;

/* What building needs of the device. */
typedef struct erg_cl_build_target {
    const erg_cl_api *cl;
    const erg_allocator *alloc;
    const erg_logger *log;
    cl_context ctx;
    cl_platform_id platform;
    cl_device_id device;
    const char *device_label; /* "opencl:0" for messages */
    bool tiled; /* build the tiled kernels (-DERG_TILED): the device runs them */
} erg_cl_build_target;

/* Builds the program for the device, from the binary cache when it holds a
 * valid entry (and writes one after a build from source), and checks that
 * every kernel runs with ERG_CL_LWS work-items. */
erg_status erg_cl_program_build(const erg_cl_build_target *t, cl_program *out,
                                erg_cl_build_report *report, erg_diag *diag);

#endif
