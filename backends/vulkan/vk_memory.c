#include "backends/vulkan/vk_memory.h"

#include <string.h>

#define DEFAULT_BLOCK_BYTES (32u << 20)

int erg_vk_pick_memory_type(const VkPhysicalDeviceMemoryProperties *mp, VkMemoryPropertyFlags need,
                            VkMemoryPropertyFlags want) {
    int fallback = -1;
    for (uint32_t t = 0; t < mp->memoryTypeCount; t++) {
        VkMemoryPropertyFlags f = mp->memoryTypes[t].propertyFlags;
        if ((f & need) != need)
            continue;
        if ((f & want) == want)
            return (int)t;
        if (fallback < 0)
            fallback = (int)t;
    }
    return fallback;
}

void erg_vk_pool_init(erg_vk_pool *p, const erg_vk_fns *vk, VkDevice device,
                      const erg_allocator *alloc, uint32_t type_index, bool host_visible,
                      VkDeviceSize align) {
    memset(p, 0, sizeof *p);
    p->vk = vk;
    p->device = device;
    p->alloc = alloc;
    p->type_index = type_index;
    p->host_visible = host_visible;
    p->block_size = DEFAULT_BLOCK_BYTES;
    p->align = align;
}

static void block_destroy(erg_vk_pool *p, erg_vk_block *b) {
    if (b->mapped)
        p->vk->vkUnmapMemory(p->device, b->memory);
    if (b->buffer)
        p->vk->vkDestroyBuffer(p->device, b->buffer, NULL);
    if (b->memory)
        p->vk->vkFreeMemory(p->device, b->memory, NULL);
    erg_free(p->alloc, b->free);
    erg_free(p->alloc, b);
}

void erg_vk_pool_destroy(erg_vk_pool *p) {
    for (uint32_t i = 0; i < p->n_blocks; i++)
        block_destroy(p, p->blocks[i]);
    erg_free(p->alloc, p->blocks);
    p->blocks = NULL;
    p->n_blocks = p->cap_blocks = 0;
}

static erg_status block_create(erg_vk_pool *p, VkDeviceSize size, erg_vk_block **out,
                               erg_diag *diag) {
    const erg_vk_fns *vk = p->vk;
    erg_vk_block *b = erg_calloc(p->alloc, 1, sizeof *b);
    if (!b)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "Vulkan memory block record");
    b->size = size;
    erg_status st = ERG_OK;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = size,
                             .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vk->vkCreateBuffer(p->device, &bi, NULL, &b->buffer);
    VkMemoryRequirements req = {0};
    if (r == VK_SUCCESS) {
        vk->vkGetBufferMemoryRequirements(p->device, b->buffer, &req);
        if (!(req.memoryTypeBits & (1u << p->type_index)))
            r = VK_ERROR_FEATURE_NOT_PRESENT;
    }
    if (r == VK_SUCCESS) {
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                   .allocationSize = req.size,
                                   .memoryTypeIndex = p->type_index};
        r = vk->vkAllocateMemory(p->device, &ai, NULL, &b->memory);
    }
    if (r == VK_SUCCESS)
        r = vk->vkBindBufferMemory(p->device, b->buffer, b->memory, 0);
    if (r == VK_SUCCESS && p->host_visible)
        r = vk->vkMapMemory(p->device, b->memory, 0, VK_WHOLE_SIZE, 0, (void **)&b->mapped);
    if (r != VK_SUCCESS)
        st = erg_fail(diag, erg_vk_status(r), "device memory block of %.1f MiB: %s",
                      (double)size / 1048576.0, erg_vk_result_name(r));
    if (st == ERG_OK) {
        b->free = erg_malloc(p->alloc, 4 * sizeof *b->free);
        if (!b->free)
            st = erg_fail(diag, ERG_OUT_OF_MEMORY, "Vulkan free list");
        else {
            b->cap_free = 4;
            b->n_free = 1;
            b->free[0] = (erg_vk_range){0, size};
        }
    }
    if (st != ERG_OK) {
        block_destroy(p, b);
        return st;
    }
    *out = b;
    return ERG_OK;
}

static bool block_take(erg_vk_block *b, VkDeviceSize size, VkDeviceSize align,
                       VkDeviceSize *offset) {
    for (uint32_t i = 0; i < b->n_free; i++) {
        erg_vk_range *f = &b->free[i];
        VkDeviceSize start = (f->offset + align - 1) / align * align;
        if (start + size > f->offset + f->size)
            continue;
        /* Free ranges start aligned (every size is a multiple of align). */
        *offset = start;
        f->offset += size;
        f->size -= size;
        if (f->size == 0) {
            memmove(f, f + 1, (b->n_free - i - 1) * sizeof *f);
            b->n_free--;
        }
        return true;
    }
    return false;
}

static erg_status block_give_back(erg_vk_pool *p, erg_vk_block *b, VkDeviceSize off,
                                  VkDeviceSize size) {
    uint32_t i = 0;
    while (i < b->n_free && b->free[i].offset < off)
        i++;
    bool joins_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == off;
    bool joins_next = i < b->n_free && off + size == b->free[i].offset;
    if (joins_prev && joins_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
        b->n_free--;
    } else if (joins_prev) {
        b->free[i - 1].size += size;
    } else if (joins_next) {
        b->free[i].offset = off;
        b->free[i].size += size;
    } else {
        if (b->n_free == b->cap_free) {
            erg_vk_range *grown = erg_malloc(p->alloc, 2 * b->cap_free * sizeof *grown);
            if (!grown)
                return ERG_OUT_OF_MEMORY; /* the range stays lost until the block goes */
            memcpy(grown, b->free, b->n_free * sizeof *grown);
            erg_free(p->alloc, b->free);
            b->free = grown;
            b->cap_free *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
        b->free[i] = (erg_vk_range){off, size};
        b->n_free++;
    }
    return ERG_OK;
}

erg_status erg_vk_pool_alloc(erg_vk_pool *p, VkDeviceSize size, erg_vk_mem *out, erg_diag *diag) {
    memset(out, 0, sizeof *out);
    VkDeviceSize sz = (size ? size : 1);
    sz = (sz + p->align - 1) / p->align * p->align;
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        VkDeviceSize off;
        if (block_take(p->blocks[i], sz, p->align, &off)) {
            *out = (erg_vk_mem){p->blocks[i], off, sz};
            p->bytes_in_use += sz;
            return ERG_OK;
        }
    }
    if (p->n_blocks == p->cap_blocks) {
        uint32_t cap = p->cap_blocks ? 2 * p->cap_blocks : 8;
        erg_vk_block **grown = erg_calloc(p->alloc, cap, sizeof *grown);
        if (!grown)
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "Vulkan block list");
        if (p->blocks)
            memcpy(grown, p->blocks, p->n_blocks * sizeof *grown);
        erg_free(p->alloc, p->blocks);
        p->blocks = grown;
        p->cap_blocks = cap;
    }
    erg_vk_block *b = NULL;
    ERG_RETURN_IF_ERROR(block_create(p, sz > p->block_size ? sz : p->block_size, &b, diag));
    p->blocks[p->n_blocks++] = b;
    VkDeviceSize off = 0;
    block_take(b, sz, p->align, &off);
    *out = (erg_vk_mem){b, off, sz};
    p->bytes_in_use += sz;
    return ERG_OK;
}

void erg_vk_pool_free(erg_vk_pool *p, const erg_vk_mem *m) {
    if (!m->block)
        return;
    p->bytes_in_use -= m->size;
    block_give_back(p, m->block, m->offset, m->size);
    /* A block with nothing in use goes back to the driver. */
    erg_vk_block *b = m->block;
    if (b->n_free == 1 && b->free[0].size == b->size) {
        for (uint32_t i = 0; i < p->n_blocks; i++)
            if (p->blocks[i] == b) {
                p->blocks[i] = p->blocks[--p->n_blocks];
                break;
            }
        block_destroy(p, b);
    }
}

bool erg_vk_pool_find(const erg_vk_pool *p, const void *ptr, erg_vk_block **block,
                      VkDeviceSize *offset) {
    const char *c = ptr;
    for (uint32_t i = 0; i < p->n_blocks; i++) {
        erg_vk_block *b = p->blocks[i];
        if (b->mapped && c >= b->mapped && c < b->mapped + b->size) {
            *block = b;
            *offset = (VkDeviceSize)(c - b->mapped);
            return true;
        }
    }
    return false;
}
