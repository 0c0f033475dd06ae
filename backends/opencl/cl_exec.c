/*
 * The OpenCL executor. Compile binds each node's tensors to buffers, takes
 * a kernel object per launch and sets its arguments, once per graph; no
 * program is built here. Execute hands the host_alloc regions the graph
 * uses to the device (unmap), enqueues every launch on the device's
 * in-order queue, maps the regions back for the host, and waits once. Each
 * launch has an event whose start and end give the node's device time.
 */
#include "backends/opencl/cl_ops.h"

#include <stdio.h>
#include <string.h>

struct erg_backend_exec {
    erg_backend_device *dev;
    const erg_backend_weights *weights;
    /* Kernel objects by kernel; the first used[k] serve the compiled graph. */
    cl_kernel *pool[ERG_CL_K_COUNT];
    size_t pool_n[ERG_CL_K_COUNT], pool_cap[ERG_CL_K_COUNT], used[ERG_CL_K_COUNT];
    /* The compiled graph. */
    const erg_graph *g;
    erg_cl_dispatch *dispatches;
    size_t n_dispatches, cap_dispatches;
    cl_event *events; /* one per dispatch */
    char **regions;   /* host addresses of the regions it uses */
    size_t n_regions, cap_regions;
    double *node_seconds; /* per node, from the last execute */
    size_t n_nodes, cap_nodes;
};

erg_status erg_cl_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                              erg_backend_exec **out, erg_diag *diag) {
    *out = NULL;
    erg_backend_exec *e = erg_calloc(dev->alloc, 1, sizeof *e);
    if (!e)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL executor");
    e->dev = dev;
    e->weights = opts ? opts->weights : NULL;
    *out = e;
    return ERG_OK;
}

void erg_cl_exec_free(erg_backend_exec *e) {
    if (!e)
        return;
    const erg_allocator *a = e->dev->alloc;
    for (int k = 0; k < ERG_CL_K_COUNT; k++) {
        for (size_t i = 0; i < e->pool_n[k]; i++)
            e->dev->cl->clReleaseKernel(e->pool[k][i]);
        erg_free(a, e->pool[k]);
    }
    erg_free(a, e->dispatches);
    erg_free(a, e->events);
    erg_free(a, e->regions);
    erg_free(a, e->node_seconds);
    erg_free(a, e);
}

erg_status erg_cl_exec_kernel(erg_backend_exec *e, erg_cl_kernel k, cl_kernel *out,
                              erg_diag *diag) {
    if (e->used[k] == e->pool_n[k]) {
        char name[64];
        erg_cl_kernel_name(k, name, sizeof name);
        if (!erg_grow_array(e->dev->alloc, (void **)&e->pool[k], sizeof *e->pool[k],
                            &e->pool_cap[k], e->pool_n[k] + 1))
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL kernel table");
        cl_int err;
        cl_kernel kernel = e->dev->cl->clCreateKernel(e->dev->program, name, &err);
        if (err != CL_SUCCESS)
            return erg_cl_fail(diag, err, "%s: clCreateKernel(%s)", e->dev->info.name, name);
        e->pool[k][e->pool_n[k]++] = kernel;
    }
    *out = e->pool[k][e->used[k]++];
    return ERG_OK;
}

static erg_status remember_region(erg_backend_exec *e, char *host, erg_diag *diag) {
    for (size_t i = 0; i < e->n_regions; i++)
        if (e->regions[i] == host)
            return ERG_OK;
    if (!erg_grow_array(e->dev->alloc, (void **)&e->regions, sizeof *e->regions, &e->cap_regions,
                        e->n_regions + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL region list");
    e->regions[e->n_regions++] = host;
    return ERG_OK;
}

/* Where tensor id of node i lives on the device. With dev->lock held. */
static erg_status bind(erg_backend_exec *e, const erg_graph *g, size_t i, int32_t id,
                       erg_cl_binding *b, erg_diag *diag) {
    const erg_tensor *t = &g->tensors[id];
    const erg_tensor *root = &g->tensors[erg_tensor_storage_root(g, id)];
    const erg_node *n = &g->nodes[i];
    size_t span = erg_tensor_nbytes(t);
    if (root->kind == ERG_TENSOR_WEIGHT) {
        const erg_backend_weights *w = e->weights;
        size_t off = t->kind == ERG_TENSOR_VIEW ? t->view_offset : 0;
        if (!w || root->ext_id < 0 || (size_t)root->ext_id >= w->n || !w->bufs[root->ext_id])
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "%s: node %zu (%s -> '%s'): weight '%s' has no copy on the device "
                            "(weights_prepare)",
                            e->dev->info.name, i, erg_op_name(n->op), g->tensors[n->dst].name,
                            t->name);
        if (off > w->sizes[root->ext_id] || span > w->sizes[root->ext_id] - off)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "%s: node %zu (%s): tensor '%s' spans bytes %zu..%zu of a %zu-byte "
                            "weight",
                            e->dev->info.name, i, erg_op_name(n->op), t->name, off, off + span,
                            w->sizes[root->ext_id]);
        b->mem = w->bufs[root->ext_id];
        b->offset = off;
        return ERG_OK;
    }
    char *host = erg_tensor_host_data(g, id);
    erg_cl_region *r = host ? erg_cl_region_find(e->dev, host, span) : NULL;
    if (!r)
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "%s: node %zu (%s -> '%s'): tensor '%s' (%zu bytes at %p) is neither a "
                        "prepared weight nor in memory from this device's host_alloc",
                        e->dev->info.name, i, erg_op_name(n->op), g->tensors[n->dst].name,
                        t->name, span, (void *)host);
    b->mem = r->buf;
    b->offset = (cl_ulong)(host - r->host);
    return remember_region(e, r->host, diag);
}

static erg_status reserve(erg_backend_exec *e, size_t n_nodes, erg_diag *diag) {
    const erg_allocator *a = e->dev->alloc;
    if (n_nodes > e->cap_dispatches) {
        erg_cl_dispatch *d = erg_malloc(a, n_nodes * sizeof *d);
        cl_event *ev = erg_malloc(a, n_nodes * sizeof *ev);
        if (!d || !ev) {
            erg_free(a, d);
            erg_free(a, ev);
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL plan of %zu nodes", n_nodes);
        }
        erg_free(a, e->dispatches);
        erg_free(a, e->events);
        e->dispatches = d;
        e->events = ev;
        e->cap_dispatches = n_nodes;
    }
    if (n_nodes > e->cap_nodes) {
        double *s = erg_malloc(a, n_nodes * sizeof *s);
        if (!s)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL node times");
        erg_free(a, e->node_seconds);
        e->node_seconds = s;
        e->cap_nodes = n_nodes;
    }
    return ERG_OK;
}

erg_status erg_cl_exec_compile(erg_backend_exec *e, const erg_graph *g, erg_diag *diag) {
    e->g = NULL;
    ERG_RETURN_IF_ERROR(reserve(e, g->n_nodes, diag));
    memset(e->used, 0, sizeof e->used);
    for (size_t i = 0; i < g->n_nodes; i++)
        e->node_seconds[i] = 0.0;
    e->n_dispatches = e->n_regions = 0;
    e->n_nodes = g->n_nodes;
    erg_status st = ERG_OK;
    pthread_mutex_lock(&e->dev->lock);
    for (size_t i = 0; i < g->n_nodes && st == ERG_OK; i++) {
        const erg_node *n = &g->nodes[i];
        if (erg_op_is_view(n->op))
            continue;
        erg_cl_op_ctx c = {.exec = e,
                           .cl = e->dev->cl,
                           .info = &e->dev->info,
                           .g = g,
                           .node = n,
                           .node_index = i};
        for (int s = 0; s < n->n_src && st == ERG_OK; s++)
            st = bind(e, g, i, n->src[s], &c.src[s], diag);
        if (st == ERG_OK)
            st = bind(e, g, i, n->dst, &c.dst, diag);
        erg_cl_dispatch *d = &e->dispatches[e->n_dispatches];
        memset(d, 0, sizeof *d);
        d->node = i;
        if (st == ERG_OK)
            st = erg_cl_op_setup(&c, d, diag);
        if (st == ERG_OK && d->global[0] > 0)
            e->n_dispatches++;
    }
    pthread_mutex_unlock(&e->dev->lock);
    if (st == ERG_OK)
        e->g = g;
    return st;
}

/* The region that starts at host, or NULL if it was freed. */
static erg_cl_region *region_at(erg_backend_device *dev, char *host) {
    erg_cl_region *r = erg_cl_region_find(dev, host, 0);
    return r && r->host == host ? r : NULL;
}

/* Unmaps the graph's regions for the device. */
static erg_status release_regions(erg_backend_exec *e, erg_diag *diag) {
    erg_backend_device *dev = e->dev;
    for (size_t i = 0; i < e->n_regions; i++) {
        erg_cl_region *r = region_at(dev, e->regions[i]);
        if (!r)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "%s: execute: memory the graph was compiled with was freed",
                            dev->info.name);
        if (!r->mapped)
            continue;
        cl_int err = dev->cl->clEnqueueUnmapMemObject(dev->queue, r->buf, r->host, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            return erg_cl_fail(diag, err, "%s: execute: clEnqueueUnmapMemObject",
                               dev->info.name);
        r->mapped = false;
    }
    return ERG_OK;
}

/* Maps every unmapped region of the graph back for the host. */
static erg_status reclaim_regions(erg_backend_exec *e, erg_diag *diag) {
    erg_backend_device *dev = e->dev;
    erg_status st = ERG_OK;
    for (size_t i = 0; i < e->n_regions; i++) {
        erg_cl_region *r = region_at(dev, e->regions[i]);
        if (!r || r->mapped)
            continue;
        cl_int err;
        void *p = dev->cl->clEnqueueMapBuffer(dev->queue, r->buf, CL_FALSE,
                                              CL_MAP_READ | CL_MAP_WRITE, 0, r->size, 0, NULL,
                                              NULL, &err);
        if (err == CL_SUCCESS && p == r->host)
            r->mapped = true;
        else if (st == ERG_OK)
            st = err != CL_SUCCESS
                     ? erg_cl_fail(diag, err, "%s: execute: clEnqueueMapBuffer", dev->info.name)
                     : erg_fail(diag, ERG_DEVICE, "%s: execute: a buffer mapped at %p, not at "
                                "its host memory %p",
                                dev->info.name, p, (void *)r->host);
    }
    return st;
}

static const char *node_label(const erg_graph *g, size_t i, char *buf, size_t n) {
    snprintf(buf, n, "node %zu (%s -> '%s')", i, erg_op_name(g->nodes[i].op),
             g->tensors[g->nodes[i].dst].name);
    return buf;
}

/* After the queue finished: failed launches, and each node's device time. */
static erg_status collect(erg_backend_exec *e, const erg_graph *g, size_t n_run, double *total,
                          erg_diag *diag) {
    const erg_cl_api *cl = e->dev->cl;
    erg_status st = ERG_OK;
    *total = 0;
    for (size_t i = 0; i < n_run; i++) {
        const erg_cl_dispatch *d = &e->dispatches[i];
        char label[160];
        cl_int status = CL_COMPLETE;
        cl_ulong t0 = 0, t1 = 0;
        cl_int err = cl->clGetEventInfo(e->events[i], CL_EVENT_COMMAND_EXECUTION_STATUS,
                                        sizeof status, &status, NULL);
        if (err == CL_SUCCESS && status < 0)
            err = status;
        if (err == CL_SUCCESS)
            err = cl->clGetEventProfilingInfo(e->events[i], CL_PROFILING_COMMAND_START, sizeof t0,
                                              &t0, NULL);
        if (err == CL_SUCCESS)
            err = cl->clGetEventProfilingInfo(e->events[i], CL_PROFILING_COMMAND_END, sizeof t1,
                                              &t1, NULL);
        if (err != CL_SUCCESS && st == ERG_OK)
            st = erg_cl_fail(diag, err, "%s: %s: the kernel", e->dev->info.name,
                             node_label(g, d->node, label, sizeof label));
        double s = t1 > t0 ? (double)(t1 - t0) * 1e-9 : 0.0;
        e->node_seconds[d->node] += s;
        *total += s;
        cl->clReleaseEvent(e->events[i]);
    }
    return st;
}

erg_status erg_cl_exec_execute(erg_backend_exec *e, const erg_graph *g, erg_exec_stats *stats,
                               erg_diag *diag) {
    if (e->g != g)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "execute: graph was not compiled");
    erg_backend_device *dev = e->dev;
    const erg_cl_api *cl = dev->cl;
    for (size_t i = 0; i < e->n_nodes; i++)
        e->node_seconds[i] = 0.0;
    size_t n_run = 0;
    pthread_mutex_lock(&dev->lock);
    erg_status st = release_regions(e, diag);
    for (; st == ERG_OK && n_run < e->n_dispatches; n_run++) {
        const erg_cl_dispatch *d = &e->dispatches[n_run];
        cl_int err = cl->clEnqueueNDRangeKernel(dev->queue, d->kernel, d->dims, NULL, d->global,
                                                d->local, 0, NULL, &e->events[n_run]);
        if (err != CL_SUCCESS) {
            char label[160];
            st = erg_cl_fail(diag, err, "%s: %s: clEnqueueNDRangeKernel", dev->info.name,
                             node_label(g, d->node, label, sizeof label));
            break;
        }
    }
    /* Whatever happened, the host gets its memory back. */
    erg_status back = reclaim_regions(e, st == ERG_OK ? diag : NULL);
    cl_int err = cl->clFinish(dev->queue);
    if (st == ERG_OK)
        st = back;
    if (st == ERG_OK && err != CL_SUCCESS)
        st = erg_cl_fail(diag, err, "%s: execute: clFinish", dev->info.name);
    double seconds = 0;
    erg_status ran = collect(e, g, n_run, &seconds, st == ERG_OK ? diag : NULL);
    pthread_mutex_unlock(&dev->lock);
    if (st == ERG_OK)
        st = ran;
    stats->n_dispatches = (uint32_t)n_run;
    stats->device_seconds = seconds;
    return st;
}

erg_status erg_cl_exec_node_times(const erg_backend_exec *e, double *seconds, size_t n_nodes,
                                  erg_diag *diag) {
    (void)diag;
    for (size_t i = 0; i < n_nodes; i++)
        seconds[i] = e->g && i < e->n_nodes ? e->node_seconds[i] : 0.0;
    return ERG_OK;
}
