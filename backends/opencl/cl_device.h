/*
 * cl_device.h: an opened OpenCL device (internal to backends/opencl).
 *
 * Each device has one context, one in-order queue (with profiling) and one
 * program holding every kernel. Memory the host and the device share
 * (host_alloc) is page-aligned host memory wrapped by a CL_MEM_USE_HOST_PTR
 * buffer: zero-copy where memory is unified. The host owns it between
 * executes (the buffer stays mapped); execute unmaps what a graph uses,
 * runs, and maps it again, as OpenCL 1.2 requires of host access.
 */
#ifndef ERG_CL_DEVICE_H
#define ERG_CL_DEVICE_H

#include "backends/backend.h"
#include "backends/opencl/cl_api.h"
#include "backends/opencl/cl_program.h"

#include <pthread.h>

/* A host_alloc region: host[0, size) is what buf holds. */
typedef struct erg_cl_region {
    char *host;
    size_t size;
    cl_mem buf;
    bool mapped; /* the host owns it */
} erg_cl_region;

struct erg_backend_device {
    const erg_allocator *alloc;
    const erg_logger *log;
    const erg_cl_api *cl;
    cl_platform_id platform;
    cl_device_id id;
    cl_context ctx;
    cl_command_queue queue;
    cl_program program;
    erg_device_info info;
    erg_cl_build_report build; /* how open got the program */
    /* Guards the queue and the regions: executors and allocations of one
     * device may come from several threads. */
    pthread_mutex_t lock;
    erg_cl_region *regions; /* sorted by host address */
    size_t n_regions, cap_regions;
};

/* The model's weights as device buffers, one per weight (by ext_id). */
struct erg_backend_weights {
    erg_backend_device *dev;
    size_t n;
    cl_mem *bufs;  /* NULL for an empty weight */
    size_t *sizes;
};

/* Whether the device runs the tiled matmul kernels (and its program holds
 * them): GPUs do; other devices run every matmul through the matrix-vector
 * kernel (cl_op_matmul.c). */
static inline bool erg_cl_tiled(const erg_device_info *info) {
    return info->kind == ERG_DEVICE_GPU;
}

/* cl_memory.c */
erg_status erg_cl_weights_prepare(erg_backend_device *dev, const erg_weight_desc *weights,
                                  size_t n, erg_backend_weights **out, size_t *bytes,
                                  erg_diag *diag);
void erg_cl_weights_free(erg_backend_weights *weights);
void *erg_cl_host_alloc(erg_backend_device *dev, size_t size);
void erg_cl_host_free(erg_backend_device *dev, void *ptr);
erg_status erg_cl_host_register(erg_backend_device *dev, void *ptr, size_t size, erg_diag *diag);
void erg_cl_host_unregister(erg_backend_device *dev, void *ptr);
/* The region holding [p, p + size), or NULL. With dev->lock held. */
erg_cl_region *erg_cl_region_find(erg_backend_device *dev, const void *p, size_t size);

/* cl_exec.c */
erg_status erg_cl_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                              erg_backend_exec **out, erg_diag *diag);
void erg_cl_exec_free(erg_backend_exec *exec);
erg_status erg_cl_exec_compile(erg_backend_exec *exec, const erg_graph *g, erg_diag *diag);
erg_status erg_cl_exec_execute(erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                               erg_diag *diag);
erg_status erg_cl_exec_node_times(const erg_backend_exec *exec, double *seconds, size_t n_nodes,
                                  erg_diag *diag);

#endif
