#include "backends/vulkan/vk_exec.h"

#include "backends/vulkan/vk_device.h"
#include "backends/vulkan/vk_ops.h"
#include "backends/vulkan/vk_weights.h"

#include <string.h>

#define WAIT_TIMEOUT_NS (120ull * 1000000000ull)

/* Where a tensor lives: a block, the byte offset of its first element and
 * the bytes it spans. */
typedef struct vk_span {
    erg_vk_block *block;
    VkDeviceSize offset, size;
} vk_span;

/* Byte ranges touched since the last barrier. */
typedef struct hazard_set {
    vk_span *reads, *writes;
    uint32_t n_reads, n_writes;
} hazard_set;

struct erg_backend_exec {
    erg_backend_device *dev;
    const erg_backend_weights *weights;
    VkCommandBuffer cb;
    VkFence fence;
    VkDescriptorPool dpool;
    uint32_t dpool_sets;
    VkQueryPool qpool;
    uint32_t qpool_size;
    const erg_graph *g;        /* the graph compiled, NULL before */
    uint32_t n_dispatches;
    int32_t *node_query;       /* per node: first of its two timestamps, -1 if none */
    double *node_seconds;      /* per node, after execute */
    size_t cap_nodes;
    hazard_set hz;
    uint32_t hz_cap;
    bool timed;                /* the last execute read timestamps */
};

erg_status erg_vk_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                              erg_backend_exec **out, erg_diag *diag) {
    *out = NULL;
    erg_backend_exec *e = erg_calloc(dev->alloc, 1, sizeof *e);
    if (!e)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "Vulkan executor");
    e->dev = dev;
    e->weights = opts->weights;
    const erg_vk_fns *vk = dev->vk;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = dev->cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    pthread_mutex_lock(&dev->lock); /* the command pool is shared */
    VkResult r = vk->vkAllocateCommandBuffers(dev->device, &ai, &e->cb);
    pthread_mutex_unlock(&dev->lock);
    if (r == VK_SUCCESS)
        r = vk->vkCreateFence(dev->device, &fci, NULL, &e->fence);
    if (r != VK_SUCCESS) {
        erg_vk_exec_free(e);
        return erg_fail(diag, erg_vk_status(r), "Vulkan executor: %s", erg_vk_result_name(r));
    }
    *out = e;
    return ERG_OK;
}

void erg_vk_exec_free(erg_backend_exec *e) {
    if (!e)
        return;
    erg_backend_device *dev = e->dev;
    const erg_vk_fns *vk = dev->vk;
    if (e->fence)
        vk->vkDestroyFence(dev->device, e->fence, NULL);
    if (e->cb) {
        pthread_mutex_lock(&dev->lock);
        vk->vkFreeCommandBuffers(dev->device, dev->cmd_pool, 1, &e->cb);
        pthread_mutex_unlock(&dev->lock);
    }
    if (e->dpool)
        vk->vkDestroyDescriptorPool(dev->device, e->dpool, NULL);
    if (e->qpool)
        vk->vkDestroyQueryPool(dev->device, e->qpool, NULL);
    erg_free(dev->alloc, e->node_query);
    erg_free(dev->alloc, e->node_seconds);
    erg_free(dev->alloc, e->hz.reads);
    erg_free(dev->alloc, e->hz.writes);
    erg_free(dev->alloc, e);
}

/* ---- resources sized per graph ------------------------------------------- */

static erg_status ensure_capacity(erg_backend_exec *e, const erg_graph *g, uint32_t n_disp,
                                  erg_diag *diag) {
    erg_backend_device *dev = e->dev;
    const erg_vk_fns *vk = dev->vk;
    if (g->n_nodes > e->cap_nodes) {
        erg_free(dev->alloc, e->node_query);
        erg_free(dev->alloc, e->node_seconds);
        e->node_query = erg_malloc(dev->alloc, g->n_nodes * sizeof *e->node_query);
        e->node_seconds = erg_calloc(dev->alloc, g->n_nodes, sizeof *e->node_seconds);
        e->cap_nodes = e->node_query && e->node_seconds ? g->n_nodes : 0;
        if (!e->cap_nodes)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "per-node tables");
    }
    /* Each node reads at most ERG_MAX_SRC spans and writes one. */
    if (n_disp * ERG_MAX_SRC > e->hz_cap) {
        uint32_t cap = n_disp * ERG_MAX_SRC;
        erg_free(dev->alloc, e->hz.reads);
        erg_free(dev->alloc, e->hz.writes);
        e->hz.reads = erg_malloc(dev->alloc, cap * sizeof *e->hz.reads);
        e->hz.writes = erg_malloc(dev->alloc, cap * sizeof *e->hz.writes);
        e->hz_cap = e->hz.reads && e->hz.writes ? cap : 0;
        if (!e->hz_cap)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "hazard tables");
    }
    if (n_disp > e->dpool_sets || !e->dpool) {
        if (e->dpool)
            vk->vkDestroyDescriptorPool(dev->device, e->dpool, NULL);
        e->dpool = VK_NULL_HANDLE;
        uint32_t sets = n_disp > 64 ? n_disp : 64;
        VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, ERG_VK_BINDINGS * sets};
        VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = sets,
                                         .poolSizeCount = 1,
                                         .pPoolSizes = &size};
        ERG_VK_CHECK(diag, vk->vkCreateDescriptorPool(dev->device, &ci, NULL, &e->dpool),
                     "vkCreateDescriptorPool");
        e->dpool_sets = sets;
    } else {
        ERG_VK_CHECK(diag, vk->vkResetDescriptorPool(dev->device, e->dpool, 0),
                     "vkResetDescriptorPool");
    }
    uint32_t queries = 2 * n_disp;
    if (dev->caps.timestamps && queries > e->qpool_size) {
        if (e->qpool)
            vk->vkDestroyQueryPool(dev->device, e->qpool, NULL);
        e->qpool = VK_NULL_HANDLE;
        uint32_t size = queries > 128 ? queries : 128;
        VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                    .queryCount = size};
        ERG_VK_CHECK(diag, vk->vkCreateQueryPool(dev->device, &qi, NULL, &e->qpool),
                     "vkCreateQueryPool");
        e->qpool_size = size;
    }
    return ERG_OK;
}

/* ---- binding tensors ------------------------------------------------------ */

static erg_status locate(const erg_backend_exec *e, const erg_graph *g, int32_t id, vk_span *out,
                         erg_diag *diag) {
    const erg_tensor *t = &g->tensors[id];
    int32_t root_id = erg_tensor_storage_root(g, id);
    const erg_tensor *root = &g->tensors[root_id];
    out->size = erg_tensor_nbytes(t);
    if (root->kind == ERG_TENSOR_WEIGHT) {
        const erg_backend_weights *w = e->weights;
        if (!w || root->ext_id < 0 || (size_t)root->ext_id >= w->n || !w->mem[root->ext_id].block)
            return erg_fail(diag, ERG_INVALID_ARGUMENT,
                            "weight '%s' was not uploaded to %s", root->name, e->dev->info.name);
        size_t in_root = (size_t)((const char *)erg_tensor_host_data(g, id) - (const char *)root->data);
        out->block = w->mem[root->ext_id].block;
        out->offset = w->mem[root->ext_id].offset + in_root;
        return ERG_OK;
    }
    const void *host = erg_tensor_host_data(g, id);
    if (!host || !erg_vk_pool_find(&e->dev->host_pool, host, &out->block, &out->offset))
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "tensor '%s' is not in memory of %s (allocate it with the device's "
                        "host_alloc)",
                        t->name, e->dev->info.name);
    if (out->offset + out->size > out->block->size)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "tensor '%s' runs past its allocation",
                        t->name);
    return ERG_OK;
}

/* A descriptor for span s: from the aligned offset at or below it to the
 * end of the span, rounded up to whole 32-bit words (the shaders' unit);
 * *delta is where s starts inside the binding. Binding no more than the
 * span keeps the validation layer's hazard tracking as exact as ours. */
static erg_status describe_binding(const erg_backend_exec *e, const erg_graph *g, int32_t id,
                                   const vk_span *s, VkDescriptorBufferInfo *bi, uint32_t *delta,
                                   erg_diag *diag) {
    const erg_vk_caps *caps = &e->dev->caps;
    VkDeviceSize align = caps->min_storage_align ? caps->min_storage_align : 1;
    VkDeviceSize base = s->offset / align * align;
    VkDeviceSize range = (s->offset - base + s->size + 3) / 4 * 4;
    if (base + range > s->block->size)
        range = s->block->size - base;
    if (range > caps->max_storage_range)
        return erg_fail(diag, ERG_UNSUPPORTED, "tensor '%s' does not fit one binding of %s",
                        g->tensors[id].name, e->dev->info.name);
    *bi = (VkDescriptorBufferInfo){s->block->buffer, base, range};
    *delta = (uint32_t)(s->offset - base);
    return ERG_OK;
}

/* ---- barriers ---------------------------------------------------------------- */

static bool overlaps(const vk_span *a, const vk_span *list, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (list[i].block == a->block && a->offset < list[i].offset + list[i].size &&
            list[i].offset < a->offset + a->size)
            return true;
    return false;
}

static void barrier(const erg_vk_fns *vk, VkCommandBuffer cb, VkAccessFlags src_access,
                    VkPipelineStageFlags src_stage, VkAccessFlags dst_access,
                    VkPipelineStageFlags dst_stage) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = src_access,
                          .dstAccessMask = dst_access};
    vk->vkCmdPipelineBarrier(cb, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

/* Orders node after earlier ones where they share memory (read after
 * write, write after read or write); returns whether it placed a barrier. */
static bool order_node(erg_backend_exec *e, const vk_span *reads, int n_reads, const vk_span *write) {
    hazard_set *h = &e->hz;
    bool need = overlaps(write, h->writes, h->n_writes) || overlaps(write, h->reads, h->n_reads);
    for (int i = 0; i < n_reads && !need; i++)
        need = overlaps(&reads[i], h->writes, h->n_writes);
    if (need) {
        barrier(e->dev->vk, e->cb, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
        h->n_reads = h->n_writes = 0;
    }
    for (int i = 0; i < n_reads; i++)
        h->reads[h->n_reads++] = reads[i];
    h->writes[h->n_writes++] = *write;
    return need;
}

/* ---- compile: lower, bind, record ---------------------------------------- */

static uint32_t count_dispatches(const erg_graph *g) {
    uint32_t n = 0;
    for (size_t i = 0; i < g->n_nodes; i++)
        n += !erg_op_is_view(g->nodes[i].op);
    return n;
}

static erg_status record_node(erg_backend_exec *e, const erg_graph *g, size_t i, uint32_t *query,
                              erg_diag *diag) {
    erg_backend_device *dev = e->dev;
    const erg_vk_fns *vk = dev->vk;
    const erg_node *n = &g->nodes[i];
    const erg_vk_op *op = erg_vk_op_for(n->op);
    if (!op)
        return erg_fail(diag, ERG_UNSUPPORTED, "no Vulkan kernel for %s", erg_op_name(n->op));
    /* Bindings 0-2, 4 and 5: the sources; 3: the result. An unused binding
     * repeats the result's, so every descriptor is valid. */
    int32_t ids[ERG_VK_BINDINGS];
    erg_vk_bound_tensors(n, ids);
    vk_span spans[ERG_VK_BINDINGS];
    VkDescriptorBufferInfo infos[ERG_VK_BINDINGS];
    erg_vk_lower_in in = {.g = g, .n = n, .caps = &dev->caps};
    static const int result_first[ERG_VK_BINDINGS] = {3, 0, 1, 2, 4, 5};
    for (int k = 0; k < ERG_VK_BINDINGS; k++) {
        int b = result_first[k];
        if (ids[b] < 0) {
            infos[b] = infos[3];
            continue;
        }
        ERG_RETURN_IF_ERROR(locate(e, g, ids[b], &spans[b], diag));
        ERG_RETURN_IF_ERROR(describe_binding(e, g, ids[b], &spans[b], &infos[b], &in.off[b], diag));
    }
    erg_vk_dispatch d;
    memset(&d, 0, sizeof d);
    op->lower(&in, &d);
    VkPipeline pipeline;
    ERG_RETURN_IF_ERROR(erg_vk_pipeline_get(dev, d.shader, d.spec, d.n_spec, &pipeline, diag));

    VkDescriptorSet set;
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = e->dpool,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &dev->set_layout};
    ERG_VK_CHECK(diag, vk->vkAllocateDescriptorSets(dev->device, &ai, &set),
                 "vkAllocateDescriptorSets");
    VkWriteDescriptorSet w = {.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                              .dstSet = set,
                              .dstBinding = 0,
                              .descriptorCount = ERG_VK_BINDINGS,
                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                              .pBufferInfo = infos};
    vk->vkUpdateDescriptorSets(dev->device, 1, &w, 0, NULL);

    vk_span reads[ERG_VK_BINDINGS - 1];
    int n_reads = 0;
    for (int b = 0; b < ERG_VK_BINDINGS; b++)
        if (b != 3 && ids[b] >= 0)
            reads[n_reads++] = spans[b];
    order_node(e, reads, n_reads, &spans[3]);
    vk->vkCmdBindPipeline(e->cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
    vk->vkCmdBindDescriptorSets(e->cb, VK_PIPELINE_BIND_POINT_COMPUTE, dev->pipe_layout, 0, 1,
                                &set, 0, NULL);
    if (d.push_size)
        vk->vkCmdPushConstants(e->cb, dev->pipe_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                               d.push_size, d.push);
    if (e->qpool) {
        e->node_query[i] = (int32_t)*query;
        vk->vkCmdWriteTimestamp(e->cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, e->qpool, (*query)++);
    }
    vk->vkCmdDispatch(e->cb, d.groups[0], d.groups[1], d.groups[2]);
    if (e->qpool)
        vk->vkCmdWriteTimestamp(e->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, e->qpool, (*query)++);
    return ERG_OK;
}

erg_status erg_vk_exec_compile(erg_backend_exec *e, const erg_graph *g, erg_diag *diag) {
    const erg_vk_fns *vk = e->dev->vk;
    e->g = NULL;
    uint32_t n_disp = count_dispatches(g);
    ERG_RETURN_IF_ERROR(ensure_capacity(e, g, n_disp, diag));
    ERG_VK_CHECK(diag, vk->vkResetCommandBuffer(e->cb, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    ERG_VK_CHECK(diag, vk->vkBeginCommandBuffer(e->cb, &bi), "vkBeginCommandBuffer");
    if (e->qpool)
        vk->vkCmdResetQueryPool(e->cb, e->qpool, 0, 2 * n_disp);
    e->hz.n_reads = e->hz.n_writes = 0;
    uint32_t query = 0;
    erg_status st = ERG_OK;
    for (size_t i = 0; i < g->n_nodes && st == ERG_OK; i++) {
        e->node_query[i] = -1;
        if (!erg_op_is_view(g->nodes[i].op))
            st = record_node(e, g, i, &query, diag);
    }
    /* What the last nodes wrote is read by the host after the fence. */
    barrier(vk, e->cb, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_HOST_READ_BIT, VK_PIPELINE_STAGE_HOST_BIT);
    VkResult r = vk->vkEndCommandBuffer(e->cb);
    if (st != ERG_OK)
        return st;
    ERG_VK_CHECK(diag, r, "vkEndCommandBuffer");
    e->n_dispatches = n_disp;
    e->g = g;
    return ERG_OK;
}

/* ---- execute -------------------------------------------------------------- */

static void read_times(erg_backend_exec *e, const erg_graph *g, double *total) {
    const erg_vk_fns *vk = e->dev->vk;
    *total = 0;
    e->timed = false;
    memset(e->node_seconds, 0, g->n_nodes * sizeof *e->node_seconds);
    if (!e->qpool || e->n_dispatches == 0)
        return;
    uint64_t stamps[2];
    double period = e->dev->caps.timestamp_period_ns * 1e-9;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (e->node_query[i] < 0)
            continue;
        if (vk->vkGetQueryPoolResults(e->dev->device, e->qpool, (uint32_t)e->node_query[i], 2,
                                      sizeof stamps, stamps, sizeof stamps[0],
                                      VK_QUERY_RESULT_64_BIT) != VK_SUCCESS)
            return;
        e->node_seconds[i] = stamps[1] >= stamps[0] ? (double)(stamps[1] - stamps[0]) * period : 0;
        *total += e->node_seconds[i];
    }
    e->timed = true;
}

erg_status erg_vk_exec_execute(erg_backend_exec *e, const erg_graph *g, erg_exec_stats *stats,
                               erg_diag *diag) {
    if (e->g != g)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "execute: graph was not compiled");
    erg_backend_device *dev = e->dev;
    const erg_vk_fns *vk = dev->vk;
    ERG_VK_CHECK(diag, vk->vkResetFences(dev->device, 1, &e->fence), "vkResetFences");
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &e->cb};
    pthread_mutex_lock(&dev->lock);
    VkResult r = vk->vkQueueSubmit(dev->queue, 1, &si, e->fence);
    pthread_mutex_unlock(&dev->lock);
    ERG_VK_CHECK(diag, r, "vkQueueSubmit");
    r = vk->vkWaitForFences(dev->device, 1, &e->fence, VK_TRUE, WAIT_TIMEOUT_NS);
    if (r == VK_TIMEOUT)
        return erg_fail(diag, ERG_DEVICE, "%s did not finish the graph within %llu s",
                        dev->info.name, WAIT_TIMEOUT_NS / 1000000000ull);
    ERG_VK_CHECK(diag, r, "vkWaitForFences");
    read_times(e, g, &stats->device_seconds);
    stats->n_dispatches = e->n_dispatches;
    return ERG_OK;
}

erg_status erg_vk_exec_node_times(const erg_backend_exec *e, double *seconds, size_t n_nodes,
                                  erg_diag *diag) {
    if (!e->timed || !e->g)
        return erg_fail(diag, ERG_UNSUPPORTED, "%s has no timings for the last run",
                        e->dev->info.name);
    for (size_t i = 0; i < n_nodes; i++)
        seconds[i] = i < e->g->n_nodes ? e->node_seconds[i] : 0;
    return ERG_OK;
}
