#include "backends/vulkan/vk_device.h"

#include "backends/vulkan/vk_ops.h"
#include "backends/vulkan/vk_pipeline_cache.h"
#include "backends/vulkan/vk_shaders.h"

#include <string.h>

/* The push-constant structs must fit the 128 bytes every device offers. */
#include "shaders/vulkan/push.h"
_Static_assert(sizeof(struct erg_vk_push_unary) <= ERG_VK_PUSH_MAX, "push constants too large");
_Static_assert(sizeof(struct erg_vk_push_binary) <= ERG_VK_PUSH_MAX, "push constants too large");
_Static_assert(sizeof(struct erg_vk_push_rope) <= ERG_VK_PUSH_MAX, "push constants too large");
_Static_assert(sizeof(struct erg_vk_push_get_rows) <= ERG_VK_PUSH_MAX, "push constants too large");
_Static_assert(sizeof(struct erg_vk_push_matmul) <= ERG_VK_PUSH_MAX, "push constants too large");
_Static_assert(sizeof(struct erg_vk_push_norm) <= ERG_VK_PUSH_MAX, "push constants too large");
_Static_assert(sizeof(struct erg_vk_push_attention) <= ERG_VK_PUSH_MAX, "push constants too large");

const erg_vk_shader *erg_vk_shader_find(const char *name) {
    for (size_t i = 0; i < erg_vk_n_shaders; i++)
        if (strcmp(erg_vk_shaders[i].name, name) == 0)
            return &erg_vk_shaders[i];
    return NULL;
}

erg_status erg_vk_pipelines_init(erg_backend_device *dev, erg_diag *diag) {
    const erg_vk_fns *vk = dev->vk;
    VkDescriptorSetLayoutBinding b[ERG_VK_BINDINGS];
    for (uint32_t i = 0; i < ERG_VK_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo lci = {.sType =
                                               VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                           .bindingCount = ERG_VK_BINDINGS,
                                           .pBindings = b};
    ERG_VK_CHECK(diag, vk->vkCreateDescriptorSetLayout(dev->device, &lci, NULL, &dev->set_layout),
                 "vkCreateDescriptorSetLayout");
    VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, ERG_VK_PUSH_MAX};
    VkPipelineLayoutCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                      .setLayoutCount = 1,
                                      .pSetLayouts = &dev->set_layout,
                                      .pushConstantRangeCount = 1,
                                      .pPushConstantRanges = &range};
    ERG_VK_CHECK(diag, vk->vkCreatePipelineLayout(dev->device, &pci, NULL, &dev->pipe_layout),
                 "vkCreatePipelineLayout");
    return erg_vk_pipeline_cache_load(dev, diag);
}

void erg_vk_pipelines_free(erg_backend_device *dev) {
    const erg_vk_fns *vk = dev->vk;
    for (uint32_t i = 0; i < dev->n_pipelines; i++)
        vk->vkDestroyPipeline(dev->device, dev->pipelines[i].pipeline, NULL);
    erg_free(dev->alloc, dev->pipelines);
    dev->pipelines = NULL;
    dev->n_pipelines = dev->cap_pipelines = 0;
    if (dev->pipe_cache) {
        erg_vk_pipeline_cache_save(dev);
        vk->vkDestroyPipelineCache(dev->device, dev->pipe_cache, NULL);
    }
    if (dev->pipe_layout)
        vk->vkDestroyPipelineLayout(dev->device, dev->pipe_layout, NULL);
    if (dev->set_layout)
        vk->vkDestroyDescriptorSetLayout(dev->device, dev->set_layout, NULL);
}

static erg_status create_pipeline(erg_backend_device *dev, const erg_vk_shader *sh,
                                  const uint32_t *spec, uint32_t n_spec, VkPipeline *out,
                                  erg_diag *diag) {
    const erg_vk_fns *vk = dev->vk;
    VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                    .codeSize = sh->size,
                                    .pCode = sh->code};
    VkShaderModule module;
    ERG_VK_CHECK(diag, vk->vkCreateShaderModule(dev->device, &mci, NULL, &module),
                 "vkCreateShaderModule");
    VkSpecializationMapEntry entries[ERG_VK_MAX_SPEC];
    for (uint32_t i = 0; i < n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {n_spec, entries, n_spec * 4, spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module,
                  .pName = "main",
                  .pSpecializationInfo = n_spec ? &si : NULL},
        .layout = dev->pipe_layout};
    VkResult r = vk->vkCreateComputePipelines(dev->device, dev->pipe_cache, 1, &ci, NULL, out);
    vk->vkDestroyShaderModule(dev->device, module, NULL);
    if (r != VK_SUCCESS)
        return erg_fail(diag, erg_vk_status(r), "pipeline for shader %s: %s", sh->name,
                        erg_vk_result_name(r));
    return ERG_OK;
}

erg_status erg_vk_pipeline_get(erg_backend_device *dev, const char *shader, const uint32_t *spec,
                               uint32_t n_spec, VkPipeline *out, erg_diag *diag) {
    const erg_vk_shader *sh = erg_vk_shader_find(shader);
    if (!sh)
        return erg_fail(diag, ERG_INTERNAL, "no Vulkan shader variant '%s' in this build", shader);
    erg_status st = ERG_OK;
    pthread_mutex_lock(&dev->lock);
    for (uint32_t i = 0; i < dev->n_pipelines; i++) {
        const erg_vk_pipeline *p = &dev->pipelines[i];
        if (p->shader == sh->name && p->n_spec == n_spec &&
            memcmp(p->spec, spec, n_spec * sizeof *spec) == 0) {
            *out = p->pipeline;
            pthread_mutex_unlock(&dev->lock);
            return ERG_OK;
        }
    }
    if (dev->n_pipelines == dev->cap_pipelines) {
        uint32_t cap = dev->cap_pipelines ? 2 * dev->cap_pipelines : 32;
        erg_vk_pipeline *grown = erg_calloc(dev->alloc, cap, sizeof *grown);
        if (!grown)
            st = erg_fail(diag, ERG_OUT_OF_MEMORY, "pipeline table");
        else {
            if (dev->pipelines)
                memcpy(grown, dev->pipelines, dev->n_pipelines * sizeof *grown);
            erg_free(dev->alloc, dev->pipelines);
            dev->pipelines = grown;
            dev->cap_pipelines = cap;
        }
    }
    if (st == ERG_OK)
        st = create_pipeline(dev, sh, spec, n_spec, out, diag);
    if (st == ERG_OK) {
        erg_vk_pipeline *p = &dev->pipelines[dev->n_pipelines++];
        p->shader = sh->name;
        p->n_spec = n_spec;
        memcpy(p->spec, spec, n_spec * sizeof *spec);
        p->pipeline = *out;
    }
    pthread_mutex_unlock(&dev->lock);
    return st;
}
