/*
 * Device memory: the model's weights as read-only buffers written once,
 * and host_alloc regions (host memory a buffer wraps) that executors find
 * tensors in.
 */
#include "backends/opencl/cl_device.h"

#include "base/checked.h"

#include <string.h>

/* Page-aligned, whole cache lines: what zero-copy wrapping asks for on
 * integrated GPUs (Intel, Arm). */
#define HOST_ALIGN 4096
#define HOST_GRANULE 64

static void release_weights(erg_backend_weights *w) {
    const erg_cl_api *cl = w->dev->cl;
    for (size_t i = 0; i < w->n && w->bufs; i++)
        if (w->bufs[i])
            cl->clReleaseMemObject(w->bufs[i]);
    erg_free(w->dev->alloc, w->bufs);
    erg_free(w->dev->alloc, w->sizes);
    erg_free(w->dev->alloc, w);
}

erg_status erg_cl_weights_prepare(erg_backend_device *dev, const erg_weight_desc *weights,
                                  size_t n, erg_backend_weights **out, size_t *bytes,
                                  erg_diag *diag) {
    *out = NULL;
    *bytes = 0;
    erg_backend_weights *w = erg_calloc(dev->alloc, 1, sizeof *w);
    if (!w)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL weight table");
    w->dev = dev;
    w->n = n;
    w->bufs = erg_calloc(dev->alloc, n ? n : 1, sizeof *w->bufs);
    w->sizes = erg_calloc(dev->alloc, n ? n : 1, sizeof *w->sizes);
    if (!w->bufs || !w->sizes) {
        release_weights(w);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "OpenCL weight table of %zu entries", n);
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const erg_weight_desc *d = &weights[i];
        size_t size = d->row_bytes;
        for (int k = 1; k < 4; k++)
            if (d->ne[k] < 0 || !erg_mul_size(size, (size_t)d->ne[k], &size))
                size = SIZE_MAX;
        if (size == 0 || !d->data)
            continue;
        if (size == SIZE_MAX || size > dev->info.max_buffer_bytes) {
            release_weights(w);
            return erg_fail(diag, ERG_OUT_OF_MEMORY,
                            "weight %zu (%s) needs %zu bytes; %s buffers hold at most %llu", i,
                            erg_dtype_name(d->dtype), size, dev->info.name,
                            (unsigned long long)dev->info.max_buffer_bytes);
        }
        cl_int err;
        w->bufs[i] = dev->cl->clCreateBuffer(dev->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                             size, (void *)d->data, &err);
        if (err != CL_SUCCESS) {
            w->bufs[i] = NULL;
            release_weights(w);
            return erg_cl_fail(diag, err, "%s: weight %zu (%s, %zu bytes): clCreateBuffer",
                               dev->info.name, i, erg_dtype_name(d->dtype), size);
        }
        w->sizes[i] = size;
        total += size;
    }
    *out = w;
    *bytes = total;
    return ERG_OK;
}

void erg_cl_weights_free(erg_backend_weights *w) {
    if (w)
        release_weights(w);
}

/* Index of the first region whose host address is above p. */
static size_t upper_bound(const erg_backend_device *dev, const char *p) {
    size_t lo = 0, hi = dev->n_regions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dev->regions[mid].host <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

erg_cl_region *erg_cl_region_find(erg_backend_device *dev, const void *p, size_t size) {
    const char *c = p;
    size_t i = upper_bound(dev, c);
    if (i == 0)
        return NULL;
    erg_cl_region *r = &dev->regions[i - 1];
    size_t off = (size_t)(c - r->host);
    return off <= r->size && size <= r->size - off ? r : NULL;
}

/* Wraps host[0, bytes) in a CL_MEM_USE_HOST_PTR buffer, mapped for the
 * host, and records it as a region. */
static erg_status wrap_region(erg_backend_device *dev, char *host, size_t bytes, erg_diag *diag) {
    const erg_cl_api *cl = dev->cl;
    cl_int err;
    cl_mem buf = cl->clCreateBuffer(dev->ctx, CL_MEM_READ_WRITE | CL_MEM_USE_HOST_PTR, bytes, host,
                                    &err);
    if (err != CL_SUCCESS)
        return erg_fail(diag, ERG_DEVICE, "%s: host memory of %zu bytes: clCreateBuffer failed: %s (%d)",
                        dev->info.name, bytes, erg_cl_error_name(err), (int)err);
    pthread_mutex_lock(&dev->lock);
    /* The host owns the memory until an execute unmaps it. A USE_HOST_PTR
     * buffer maps at its host pointer. */
    void *mapped = cl->clEnqueueMapBuffer(dev->queue, buf, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                                          bytes, 0, NULL, NULL, &err);
    bool ok = err == CL_SUCCESS && mapped == host &&
              erg_grow_array(dev->alloc, (void **)&dev->regions, sizeof *dev->regions,
                             &dev->cap_regions, dev->n_regions + 1);
    if (ok) {
        size_t i = upper_bound(dev, host);
        memmove(&dev->regions[i + 1], &dev->regions[i],
                (dev->n_regions - i) * sizeof *dev->regions);
        dev->regions[i] = (erg_cl_region){host, bytes, buf, true};
        dev->n_regions++;
    } else if (err == CL_SUCCESS) {
        cl->clEnqueueUnmapMemObject(dev->queue, buf, mapped, 0, NULL, NULL);
        cl->clFinish(dev->queue);
    }
    pthread_mutex_unlock(&dev->lock);
    if (ok)
        return ERG_OK;
    cl->clReleaseMemObject(buf);
    return erg_fail(diag, err == CL_SUCCESS && mapped == host ? ERG_OUT_OF_MEMORY : ERG_DEVICE,
                    "%s: host memory of %zu bytes: %s", dev->info.name, bytes,
                    err != CL_SUCCESS ? erg_cl_error_name(err)
                    : mapped != host  ? "clEnqueueMapBuffer mapped it elsewhere"
                                      : "out of memory for the region table");
}

void *erg_cl_host_alloc(erg_backend_device *dev, size_t size) {
    size_t bytes = erg_align_up(size ? size : 1, HOST_GRANULE);
    if (bytes < size)
        return NULL;
    char *host = erg_aligned_alloc(dev->alloc, bytes, HOST_ALIGN);
    if (!host)
        return NULL;
    erg_diag diag;
    if (wrap_region(dev, host, bytes, &diag) != ERG_OK) {
        ERG_LOGE(dev->log, "%s", diag.msg);
        erg_free(dev->alloc, host);
        return NULL;
    }
    return host;
}

erg_status erg_cl_host_register(erg_backend_device *dev, void *ptr, size_t size, erg_diag *diag) {
    return wrap_region(dev, ptr, size ? size : 1, diag);
}

/* Forgets the region at ptr; the host memory is freed if owned. */
static void drop_region(erg_backend_device *dev, void *ptr, bool owned) {
    if (!ptr)
        return;
    const erg_cl_api *cl = dev->cl;
    pthread_mutex_lock(&dev->lock);
    size_t i = upper_bound(dev, ptr);
    if (i == 0 || dev->regions[i - 1].host != ptr) {
        pthread_mutex_unlock(&dev->lock);
        ERG_LOGE(dev->log, "%s: %s of %p, which %s did not return", dev->info.name,
                 owned ? "host_free" : "host_unregister", ptr,
                 owned ? "host_alloc" : "host_register");
        return;
    }
    erg_cl_region r = dev->regions[--i];
    memmove(&dev->regions[i], &dev->regions[i + 1], (dev->n_regions - i - 1) * sizeof r);
    dev->n_regions--;
    if (r.mapped)
        cl->clEnqueueUnmapMemObject(dev->queue, r.buf, r.host, 0, NULL, NULL);
    /* The buffer's commands finish before its host memory goes. */
    cl->clFinish(dev->queue);
    pthread_mutex_unlock(&dev->lock);
    cl->clReleaseMemObject(r.buf);
    if (owned)
        erg_free(dev->alloc, r.host);
}

void erg_cl_host_free(erg_backend_device *dev, void *ptr) { drop_region(dev, ptr, true); }

void erg_cl_host_unregister(erg_backend_device *dev, void *ptr) { drop_region(dev, ptr, false); }
