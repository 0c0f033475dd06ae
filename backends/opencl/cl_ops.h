/*
 * cl_ops.h: how each op becomes a kernel launch. At compile, the executor
 * binds every tensor of a node to (buffer, byte offset) and asks the op for
 * its dispatch: which kernel, its arguments (set once per graph), and the
 * NDRange. Every op launches one kernel and computes in F32, which is also
 * what reference_math asks for.
 */
#ifndef ERG_CL_OPS_H
#define ERG_CL_OPS_H

#include "backends/opencl/cl_device.h"

/* A tensor as a kernel sees it: a buffer and the byte offset of its first
 * element. */
typedef struct erg_cl_binding {
    cl_mem mem;
    cl_ulong offset;
} erg_cl_binding;

/* One kernel launch; global[0] == 0 launches nothing (an empty result). */
typedef struct erg_cl_dispatch {
    cl_kernel kernel;
    cl_uint dims;
    size_t global[3], local[3];
    size_t node; /* the node it computes */
} erg_cl_dispatch;

/* A node being compiled. */
typedef struct erg_cl_op_ctx {
    erg_backend_exec *exec;
    const erg_cl_api *cl;
    const erg_device_info *info; /* the device's: kernels' shapes follow it */
    const erg_graph *g;
    const erg_node *node;
    size_t node_index;
    erg_cl_binding src[ERG_MAX_SRC];
    erg_cl_binding dst;
} erg_cl_op_ctx;

/* Fills d for the node: every op but views. */
erg_status erg_cl_op_setup(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag);
erg_status erg_cl_op_matmul_setup(const erg_cl_op_ctx *c, erg_cl_dispatch *d, erg_diag *diag);

/* A kernel object for the node, owned by the executor (each launch of a
 * graph has its own, since the arguments stay set). */
erg_status erg_cl_exec_kernel(erg_backend_exec *exec, erg_cl_kernel k, cl_kernel *out,
                              erg_diag *diag);

/* Kernel arguments, set in order; the first failure sticks in err. */
typedef struct erg_cl_args {
    const erg_cl_api *cl;
    cl_kernel kernel;
    cl_uint next;
    cl_int err;
} erg_cl_args;

void erg_cl_arg(erg_cl_args *a, size_t size, const void *value);
/* A tensor: its buffer, then its byte offset (ulong). */
void erg_cl_arg_tensor(erg_cl_args *a, const erg_cl_binding *b);
/* A long4 (shapes ne, strides nb). */
void erg_cl_arg_long4(erg_cl_args *a, int64_t x, int64_t y, int64_t z, int64_t w);
void erg_cl_arg_ne(erg_cl_args *a, const int64_t ne[4]);
void erg_cl_arg_nb(erg_cl_args *a, const size_t nb[4]);
void erg_cl_arg_long(erg_cl_args *a, int64_t v);
void erg_cl_arg_int(erg_cl_args *a, int v);
void erg_cl_arg_float(erg_cl_args *a, float v);

/* Takes the kernel for the node and starts its arguments; ERG_OK or the
 * failure. */
erg_status erg_cl_args_begin(const erg_cl_op_ctx *c, erg_cl_kernel k, erg_cl_args *a,
                             erg_cl_dispatch *d, erg_diag *diag);
/* Checks the arguments were all set. */
erg_status erg_cl_args_end(const erg_cl_op_ctx *c, const erg_cl_args *a, erg_diag *diag);

/* A 1-D launch of `groups` work-groups of ERG_CL_LWS work-items; a 2-D
 * launch of groups0 x rows; a 3-D one. */
void erg_cl_dispatch_1d(erg_cl_dispatch *d, size_t groups);
void erg_cl_dispatch_2d(erg_cl_dispatch *d, size_t groups0, size_t rows);
void erg_cl_dispatch_3d(erg_cl_dispatch *d, size_t groups0, size_t n1, size_t n2);

#endif
