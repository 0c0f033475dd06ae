/*
 * A plugin executor: compiles a graph (all of whose nodes the plugin
 * supports) through the plugin, caching compiled graphs by what they depend
 * on (in memory, and on disk for plugins that serialise them), and executes
 * it: the graph's inputs are copied from host memory into the plugin's
 * buffers, its results copied back. The copies are real; their bytes are
 * counted, and their device time (the plugin's counters) is charged to the
 * node that reads or writes them, so that node_times, with the plugin's
 * op_times (ABI 1.1), says what each node cost the device.
 */
#include "backends/plugin/plugin_blob.h"

#include "hal/timer.h"

#include <string.h>

#define CACHE_SLOTS 256

typedef struct cached {
    uint64_t hash;
    erg_plugin_compiled *compiled;
} cached;

struct erg_backend_exec {
    erg_backend_device *dev;
    erg_pgraph pg;               /* the compiled graph's translation */
    erg_plugin_compiled *current;
    cached cache[CACHE_SLOTS];
    size_t n_cached, next_evict;
    erg_plugin_buffer **buffers; /* per plugin tensor slot, reused across executes */
    erg_plugin_buffer **bindings; /* what execute gets: NULL for constants */
    size_t *buffer_bytes;
    size_t n_buffers;
    erg_plugin_fence *fence;     /* NULL where the plugin has no fences */
    /* Per op of the current graph: its node's index in the compiled graph,
     * and the device time of the copies charged to it in the last execute;
     * per plugin tensor, the first op that reads it (its copy's op). */
    size_t *op_node;
    double *op_copy_s;
    size_t *first_reader;
    size_t cap_op_node, cap_op_copy, cap_reader;
};

erg_status erg_plugin_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                                  erg_backend_exec **out, erg_diag *diag) {
    (void)opts;
    *out = NULL;
    erg_backend_exec *e = erg_calloc(dev->alloc, 1, sizeof *e);
    if (!e)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin executor");
    e->dev = dev;
    erg_pgraph_init(&e->pg, dev->alloc);
    char err[ERG_PLUGIN_ERR_MAX] = "";
    if (dev->api->fence_create && dev->api->fence_wait && dev->api->fence_destroy &&
        dev->api->fence_create(dev->pdev, &e->fence, err) != ERG_PLUGIN_OK) {
        erg_plugin_exec_free(e);
        return erg_fail(diag, ERG_DEVICE, "plugin %s: fence_create: %s", dev->slot->name,
                        erg_plugin_err(err));
    }
    *out = e;
    return ERG_OK;
}

void erg_plugin_exec_free(erg_backend_exec *e) {
    if (!e)
        return;
    const erg_plugin_api *api = e->dev->api;
    for (size_t i = 0; i < e->n_cached; i++)
        api->compiled_free(e->cache[i].compiled);
    for (size_t i = 0; i < e->n_buffers; i++)
        if (e->buffers[i])
            api->buffer_free(e->buffers[i]);
    if (e->fence)
        api->fence_destroy(e->fence);
    erg_free(e->dev->alloc, e->buffers);
    erg_free(e->dev->alloc, e->bindings);
    erg_free(e->dev->alloc, e->buffer_bytes);
    erg_free(e->dev->alloc, e->op_node);
    erg_free(e->dev->alloc, e->op_copy_s);
    erg_free(e->dev->alloc, e->first_reader);
    erg_pgraph_free(&e->pg);
    erg_free(e->dev->alloc, e);
}

/* Which node of g each plugin op came from (erg_pgraph_build's order), and
 * which op first reads each plugin tensor. */
static erg_status map_ops(erg_backend_exec *e, const erg_graph *g, erg_diag *diag) {
    const erg_allocator *a = e->dev->alloc;
    size_t n = e->pg.n_ops + 1, nt = e->pg.n_tensors + 1;
    if (!erg_grow_array(a, (void **)&e->op_node, sizeof *e->op_node, &e->cap_op_node, n) ||
        !erg_grow_array(a, (void **)&e->op_copy_s, sizeof *e->op_copy_s, &e->cap_op_copy, n) ||
        !erg_grow_array(a, (void **)&e->first_reader, sizeof *e->first_reader, &e->cap_reader,
                        nt))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin op map");
    size_t k = 0;
    for (size_t i = 0; i < g->n_nodes && k < e->pg.n_ops; i++)
        if (!erg_op_is_view(g->nodes[i].op))
            e->op_node[k++] = i;
    memset(e->op_copy_s, 0, n * sizeof *e->op_copy_s);
    for (size_t t = 0; t < nt; t++)
        e->first_reader[t] = SIZE_MAX;
    for (size_t o = e->pg.n_ops; o-- > 0;)
        for (uint32_t j = 0; j < e->pg.ops[o].n_src; j++)
            e->first_reader[e->pg.ops[o].src[j]] = o;
    return ERG_OK;
}

erg_status erg_plugin_compile(erg_backend_exec *e, const erg_graph *g, erg_diag *diag) {
    erg_backend_device *d = e->dev;
    e->current = NULL;
    ERG_RETURN_IF_ERROR(erg_pgraph_build(&e->pg, g, diag));
    ERG_RETURN_IF_ERROR(map_ops(e, g, diag));
    for (size_t i = 0; i < e->n_cached; i++)
        if (e->cache[i].hash == e->pg.hash) {
            e->current = e->cache[i].compiled;
            return ERG_OK;
        }
    erg_plugin_blob_ref ref;
    bool cacheable = erg_plugin_blob_ref_make(d, &e->pg, &ref);
    erg_plugin_compiled *c = cacheable ? erg_plugin_blob_load(d, &ref) : NULL;
    if (!c) {
        erg_plugin_graph v = erg_pgraph_view(&e->pg);
        erg_plugin_compile_stats cs;
        memset(&cs, 0, sizeof cs);
        cs.struct_size = sizeof cs;
        char err[ERG_PLUGIN_ERR_MAX] = "";
        if (d->api->compile(d->pdev, &v, &c, &cs, err) != ERG_PLUGIN_OK || !c)
            return erg_fail(diag, ERG_DEVICE,
                            "plugin %s could not compile a subgraph of %zu ops it said it "
                            "supports: %s",
                            d->slot->name, e->pg.n_ops, erg_plugin_err(err));
        if (cs.weights_converted)
            ERG_LOGI(&d->log, "plugin %s: converted %llu weights (%.1f MiB) in %.3f s",
                     d->slot->name, (unsigned long long)cs.weights_converted,
                     (double)cs.weight_bytes / 1048576.0, cs.seconds);
        if (cacheable)
            erg_plugin_blob_store(d, &ref, c);
        if (d->slot->checking)
            ERG_RETURN_IF_ERROR(erg_plugin_blob_round_trip(d, &c, diag));
    }
    if (e->n_cached == CACHE_SLOTS) {
        cached *victim = &e->cache[e->next_evict];
        e->next_evict = (e->next_evict + 1) % CACHE_SLOTS;
        d->api->compiled_free(victim->compiled);
        *victim = (cached){e->pg.hash, c};
    } else {
        e->cache[e->n_cached++] = (cached){e->pg.hash, c};
    }
    e->current = c;
    return ERG_OK;
}

/* The buffer of plugin tensor i, of at least bytes, reused when big enough. */
static erg_status buffer_for(erg_backend_exec *e, size_t i, size_t bytes, erg_diag *diag) {
    erg_backend_device *d = e->dev;
    if (i >= e->n_buffers) {
        size_t cap = e->n_buffers, cap2 = e->n_buffers, cap3 = e->n_buffers;
        if (!erg_grow_array(d->alloc, (void **)&e->buffers, sizeof *e->buffers, &cap, i + 1) ||
            !erg_grow_array(d->alloc, (void **)&e->bindings, sizeof *e->bindings, &cap2, i + 1) ||
            !erg_grow_array(d->alloc, (void **)&e->buffer_bytes, sizeof *e->buffer_bytes, &cap3,
                            i + 1))
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin buffers");
        size_t n = cap < cap2 ? cap : cap2;
        n = n < cap3 ? n : cap3;
        memset(e->buffers + e->n_buffers, 0, (n - e->n_buffers) * sizeof *e->buffers);
        memset(e->bindings + e->n_buffers, 0, (n - e->n_buffers) * sizeof *e->bindings);
        memset(e->buffer_bytes + e->n_buffers, 0, (n - e->n_buffers) * sizeof *e->buffer_bytes);
        e->n_buffers = n;
    }
    if (e->buffers[i] && e->buffer_bytes[i] >= bytes)
        return ERG_OK;
    if (e->buffers[i])
        d->api->buffer_free(e->buffers[i]);
    e->buffers[i] = NULL;
    e->buffer_bytes[i] = 0;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    if (d->api->buffer_alloc(d->pdev, bytes, ERG_PLUGIN_MEM_DEVICE, &e->buffers[i], err) !=
            ERG_PLUGIN_OK ||
        !e->buffers[i])
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin %s: buffer of %zu bytes: %s",
                        d->slot->name, bytes, erg_plugin_err(err));
    e->buffer_bytes[i] = bytes;
    return ERG_OK;
}

static void read_counters(erg_backend_device *d, erg_plugin_counters *c) {
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    char err[ERG_PLUGIN_ERR_MAX] = "";
    if (d->api->counters && d->api->counters(d->pdev, c, err) != ERG_PLUGIN_OK)
        memset(c, 0, sizeof *c);
}

/* The device's busy seconds so far (0 without counters). */
/* The device's busy time, read around each copy to price it per node; only
 * where node times exist (op_times): counters may read a power sensor. */
static double busy_now(erg_backend_device *d) {
    if (!d->api->op_times)
        return 0;
    erg_plugin_counters c;
    read_counters(d, &c);
    return c.busy_seconds;
}

static erg_status copy_in(erg_backend_exec *e, const erg_graph *g, uint64_t *bytes,
                          erg_diag *diag) {
    erg_backend_device *d = e->dev;
    for (size_t i = 0; i < e->pg.n_tensors; i++) {
        const erg_plugin_tensor *t = &e->pg.tensors[i];
        ERG_RETURN_IF_ERROR(buffer_for(e, i, t->nbytes, diag));
        e->bindings[i] = t->data ? NULL : e->buffers[i];
        if (t->data)
            continue;
        if (e->pg.produced[i])
            continue;
        char err[ERG_PLUGIN_ERR_MAX] = "";
        const void *src = erg_tensor_host_data(g, e->pg.ids[i]);
        double t0 = busy_now(d);
        if (d->api->copy_to_device(e->buffers[i], 0, src, t->nbytes, err) != ERG_PLUGIN_OK)
            return erg_fail(diag, ERG_DEVICE, "plugin %s: copy of %s to the device: %s",
                            d->slot->name, g->tensors[e->pg.ids[i]].name, erg_plugin_err(err));
        /* An input's copy is the cost of the first op that reads it. */
        size_t o = e->first_reader[i];
        e->op_copy_s[o == SIZE_MAX ? 0 : o] += busy_now(d) - t0;
        *bytes += t->nbytes;
    }
    return ERG_OK;
}

/* Results back in op order, so that of two tensors sharing host memory the
 * later one is what stays. */
static erg_status copy_out(erg_backend_exec *e, const erg_graph *g, uint64_t *bytes,
                           erg_diag *diag) {
    erg_backend_device *d = e->dev;
    for (size_t k = 0; k < e->pg.n_ops; k++) {
        uint32_t i = e->pg.ops[k].dst;
        char err[ERG_PLUGIN_ERR_MAX] = "";
        void *dst = erg_tensor_host_data(g, e->pg.ids[i]);
        double t0 = busy_now(d);
        if (d->api->copy_from_device(e->buffers[i], 0, dst, e->pg.tensors[i].nbytes, err) !=
            ERG_PLUGIN_OK)
            return erg_fail(diag, ERG_DEVICE, "plugin %s: copy of %s from the device: %s",
                            d->slot->name, g->tensors[e->pg.ids[i]].name, erg_plugin_err(err));
        e->op_copy_s[k] += busy_now(d) - t0;
        *bytes += e->pg.tensors[i].nbytes;
    }
    return ERG_OK;
}

erg_status erg_plugin_execute(erg_backend_exec *e, const erg_graph *g, erg_exec_stats *stats,
                              erg_diag *diag) {
    erg_backend_device *d = e->dev;
    *stats = (erg_exec_stats){0};
    if (!e->current)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "plugin %s: execute before compile",
                        d->slot->name);
    if (e->pg.n_ops == 0)
        return ERG_OK;
    erg_plugin_counters before, after;
    read_counters(d, &before);
    memset(e->op_copy_s, 0, e->pg.n_ops * sizeof *e->op_copy_s);
    ERG_RETURN_IF_ERROR(copy_in(e, g, &stats->bytes_copied, diag));
    char err[ERG_PLUGIN_ERR_MAX] = "";
    erg_plugin_result r = d->api->execute(e->current, e->bindings, (uint32_t)e->pg.n_tensors, NULL,
                                          e->fence, err);
    if (r == ERG_PLUGIN_OK && e->fence)
        r = d->api->fence_wait(e->fence, UINT64_MAX, err);
    if (r != ERG_PLUGIN_OK)
        return erg_fail(diag, ERG_DEVICE, "plugin %s failed to execute %zu ops (first: %s): %s",
                        d->slot->name, e->pg.n_ops, g->tensors[e->pg.ids[e->pg.ops[0].dst]].name,
                        erg_plugin_err(err));
    ERG_RETURN_IF_ERROR(copy_out(e, g, &stats->bytes_copied, diag));
    read_counters(d, &after);
    double busy = after.busy_seconds - before.busy_seconds;
    if (after.simulated) {
        stats->simulated_seconds = busy;
        stats->simulated_joules = after.energy_joules - before.energy_joules;
    } else {
        stats->device_seconds = busy;
    }
    stats->n_dispatches = (uint32_t)e->pg.n_ops;
    return ERG_OK;
}

erg_status erg_plugin_node_times(const erg_backend_exec *e, double *seconds, size_t n_nodes,
                                 erg_diag *diag) {
    erg_backend_device *d = e->dev;
    if (!d->api->op_times)
        return erg_fail(diag, ERG_UNSUPPORTED,
                        "plugin %s has no per-op times (op_times, plugin ABI 1.1)", d->slot->name);
    if (!e->current)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "plugin %s: node times before an execute",
                        d->slot->name);
    for (size_t i = 0; i < n_nodes; i++)
        seconds[i] = 0;
    double *op = erg_calloc(d->alloc, e->pg.n_ops + 1, sizeof *op);
    if (!op)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "plugin op times");
    char err[ERG_PLUGIN_ERR_MAX] = "";
    erg_status st = ERG_OK;
    if (d->api->op_times(e->current, op, (uint32_t)e->pg.n_ops, err) != ERG_PLUGIN_OK)
        st = erg_fail(diag, ERG_DEVICE, "plugin %s: op_times: %s", d->slot->name,
                      erg_plugin_err(err));
    for (size_t k = 0; st == ERG_OK && k < e->pg.n_ops; k++)
        if (e->op_node[k] < n_nodes)
            seconds[e->op_node[k]] = op[k] + e->op_copy_s[k];
    erg_free(d->alloc, op);
    return st;
}
