/* The OpenCL backend's table: enumerating devices, opening one (context,
 * queue, program), and which nodes it runs. */
#include "backends/opencl/cl_backend.h"

#include "backends/opencl/cl_device.h"
#include "backends/opencl/cl_enumerate.h"

#include <string.h>

static erg_status cl_enumerate(const erg_backend_env *env, erg_device_info *infos, size_t cap,
                               size_t *count, erg_diag *diag) {
    (void)env;
    *count = 0;
    const erg_cl_api *cl = erg_cl_api_get(diag);
    if (!cl)
        return ERG_OK; /* no loader: no device, the reason is in diag */
    cl_device_id ids[ERG_CL_MAX_DEVICES];
    cl_platform_id platforms[ERG_CL_MAX_DEVICES];
    ERG_RETURN_IF_ERROR(
        erg_cl_list_devices(cl, ids, platforms, ERG_CL_MAX_DEVICES, count, diag));
    for (size_t i = 0; i < *count && i < cap; i++)
        erg_cl_describe(cl, platforms[i], ids[i], i, &infos[i]);
    return ERG_OK;
}

/* Asynchronous reports of the driver; the calls that fail say so too. */
static void CL_CALLBACK context_notify(const char *what, const void *info, size_t size,
                                       void *user) {
    (void)info, (void)size;
    const erg_backend_device *dev = user;
    ERG_LOGI(dev->log, "%s: OpenCL driver: %s", dev->info.name, what);
}

static void cl_close(erg_backend_device *dev) {
    if (!dev)
        return;
    const erg_cl_api *cl = dev->cl;
    if (dev->queue)
        cl->clFinish(dev->queue);
    for (size_t i = 0; i < dev->n_regions; i++) {
        erg_cl_region *r = &dev->regions[i];
        ERG_LOGW(dev->log, "%s: closed with %zu bytes of host memory not freed", dev->info.name,
                 r->size);
        if (r->mapped)
            cl->clEnqueueUnmapMemObject(dev->queue, r->buf, r->host, 0, NULL, NULL);
        cl->clFinish(dev->queue);
        cl->clReleaseMemObject(r->buf);
        erg_free(dev->alloc, r->host);
    }
    erg_free(dev->alloc, dev->regions);
    if (dev->program)
        cl->clReleaseProgram(dev->program);
    if (dev->queue)
        cl->clReleaseCommandQueue(dev->queue);
    if (dev->ctx)
        cl->clReleaseContext(dev->ctx);
    pthread_mutex_destroy(&dev->lock);
    erg_free(dev->alloc, dev);
}

static erg_status cl_open(const erg_backend_env *env, size_t index, erg_backend_device **out,
                          erg_diag *diag) {
    const erg_cl_api *cl = erg_cl_api_get(diag);
    if (!cl)
        return ERG_UNSUPPORTED;
    cl_device_id ids[ERG_CL_MAX_DEVICES];
    cl_platform_id platforms[ERG_CL_MAX_DEVICES];
    size_t count = 0;
    erg_diag why = {{0}};
    ERG_RETURN_IF_ERROR(erg_cl_list_devices(cl, ids, platforms, ERG_CL_MAX_DEVICES, &count, &why));
    if (index >= count)
        return erg_fail(diag, ERG_NOT_FOUND, "there is no opencl:%zu (%zu OpenCL device(s)%s%s)",
                        index, count, why.msg[0] ? ": " : "", why.msg);
    erg_backend_device *dev = erg_calloc(env->alloc, 1, sizeof *dev);
    if (!dev)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL device");
    dev->alloc = erg_allocator_or_default(env->alloc);
    dev->log = env->log;
    dev->cl = cl;
    dev->platform = platforms[index];
    dev->id = ids[index];
    pthread_mutex_init(&dev->lock, NULL);
    erg_cl_describe(cl, dev->platform, dev->id, index, &dev->info);
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)dev->platform,
                                     0};
    cl_int err;
    erg_status st = ERG_OK;
    dev->ctx = cl->clCreateContext(props, 1, &dev->id, context_notify, dev, &err);
    if (err != CL_SUCCESS) {
        dev->ctx = NULL;
        st = erg_cl_fail(diag, err, "%s: clCreateContext", dev->info.name);
    }
    if (st == ERG_OK) {
        dev->queue = cl->clCreateCommandQueue(dev->ctx, dev->id, CL_QUEUE_PROFILING_ENABLE, &err);
        if (err != CL_SUCCESS) {
            dev->queue = NULL;
            st = erg_cl_fail(diag, err, "%s: clCreateCommandQueue", dev->info.name);
        }
    }
    if (st == ERG_OK) {
        erg_cl_build_target t = {.cl = cl,
                                 .alloc = dev->alloc,
                                 .log = dev->log,
                                 .ctx = dev->ctx,
                                 .platform = dev->platform,
                                 .device = dev->id,
                                 .device_label = dev->info.name,
                                 .tiled = erg_cl_tiled(&dev->info)};
        st = erg_cl_program_build(&t, &dev->program, &dev->build, diag);
    }
    if (st != ERG_OK) {
        cl_close(dev);
        return st;
    }
    ERG_LOGI(dev->log, "%s (%s): kernels %s in %.3f s%s%s", dev->info.name, dev->info.description,
             dev->build.from_cache ? "loaded from the cache" : "built", dev->build.seconds,
             dev->build.options[0] ? ", options " : "", dev->build.options);
    *out = dev;
    return ERG_OK;
}

static bool cl_supports_node(const erg_backend_device *dev, const erg_graph *g, const erg_node *n,
                             erg_diag *why) {
    (void)dev;
    if (n->op == ERG_OP_MATMUL || n->op == ERG_OP_MATMUL_ADD || n->op == ERG_OP_MATMUL_SWIGLU ||
        n->op == ERG_OP_GET_ROWS) {
        erg_dtype dt = g->tensors[n->src[0]].dtype;
        if (erg_cl_weight_index(dt) < 0) {
            erg_fail(why, ERG_UNSUPPORTED, "no OpenCL kernel for %s weights", erg_dtype_name(dt));
            return false;
        }
    }
    if (n->op == ERG_OP_CPY || n->op == ERG_OP_ROPE_STORE) {
        erg_dtype dt = g->tensors[n->dst].dtype;
        if (dt != ERG_DT_F32 && dt != ERG_DT_F16 && dt != ERG_DT_BF16) {
            erg_fail(why, ERG_UNSUPPORTED, "no OpenCL store into %s", erg_dtype_name(dt));
            return false;
        }
    }
    if (n->op == ERG_OP_ATTENTION && g->tensors[n->src[0]].ne[0] > ERG_CL_ATTENTION_MAX_D) {
        erg_fail(why, ERG_UNSUPPORTED, "no OpenCL attention over heads of more than %d dims",
                 ERG_CL_ATTENTION_MAX_D);
        return false;
    }
    if (n->op == ERG_OP_ATTENTION)
        for (int i = 1; i < 3; i++) {
            erg_dtype dt = g->tensors[n->src[i]].dtype;
            if (dt != ERG_DT_F32 && dt != ERG_DT_F16) {
                erg_fail(why, ERG_UNSUPPORTED, "no OpenCL attention over %s K/V",
                         erg_dtype_name(dt));
                return false;
            }
        }
    return (unsigned)n->op < ERG_OP_COUNT;
}

const erg_backend erg_opencl_backend = {
    .name = "opencl",
    .enumerate = cl_enumerate,
    .open = cl_open,
    .close = cl_close,
    .supports_node = cl_supports_node,
    .weights_prepare = erg_cl_weights_prepare,
    .weights_free = erg_cl_weights_free,
    .host_alloc = erg_cl_host_alloc,
    .host_free = erg_cl_host_free,
    .host_register = erg_cl_host_register,
    .host_unregister = erg_cl_host_unregister,
    .exec_create = erg_cl_exec_create,
    .exec_free = erg_cl_exec_free,
    .compile = erg_cl_exec_compile,
    .execute = erg_cl_exec_execute,
    .node_times = erg_cl_exec_node_times,
};
