/*
 * vk_memory.h: device memory in large blocks, suballocated. A pool holds
 * blocks of one memory type; each block is one VkBuffer over one
 * VkDeviceMemory (mapped for the whole block lifetime when host-visible), and
 * a suballocation is a byte range of a block. Descriptors bind ranges of the
 * block's buffer, so a tensor costs no Vulkan object of its own.
 */
#ifndef ERG_VK_MEMORY_H
#define ERG_VK_MEMORY_H

#include "backends/vulkan/vk_loader.h"
#include "base/alloc.h"

#include <stdbool.h>

typedef struct erg_vk_range {
    VkDeviceSize offset, size;
} erg_vk_range;

typedef struct erg_vk_block {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    char *mapped;            /* host address of byte 0, or NULL */
    erg_vk_range *free;      /* free ranges, sorted by offset, never adjacent */
    uint32_t n_free, cap_free;
} erg_vk_block;

/* A suballocation. */
typedef struct erg_vk_mem {
    erg_vk_block *block;
    VkDeviceSize offset, size;
} erg_vk_mem;

typedef struct erg_vk_pool {
    const erg_vk_fns *vk;
    VkDevice device;
    const erg_allocator *alloc;
    uint32_t type_index;
    bool host_visible;
    VkDeviceSize block_size, align;
    erg_vk_block **blocks;
    uint32_t n_blocks, cap_blocks;
    VkDeviceSize bytes_in_use;
} erg_vk_pool;

/* The memory type to use: the first type in the device's mask with all the
 * `need` flags, preferring one that also has the `want` flags; -1 if none. */
int erg_vk_pick_memory_type(const VkPhysicalDeviceMemoryProperties *mp, VkMemoryPropertyFlags need,
                            VkMemoryPropertyFlags want);

void erg_vk_pool_init(erg_vk_pool *p, const erg_vk_fns *vk, VkDevice device,
                      const erg_allocator *alloc, uint32_t type_index, bool host_visible,
                      VkDeviceSize align);
void erg_vk_pool_destroy(erg_vk_pool *p);

/* size bytes aligned to the pool's alignment; a request larger than a block
 * gets a block of its own. */
erg_status erg_vk_pool_alloc(erg_vk_pool *p, VkDeviceSize size, erg_vk_mem *out, erg_diag *diag);
void erg_vk_pool_free(erg_vk_pool *p, const erg_vk_mem *m);

/* The suballocation a host address of this (host-visible) pool lies in:
 * its block and the address's byte offset in it. False if none. */
bool erg_vk_pool_find(const erg_vk_pool *p, const void *ptr, erg_vk_block **block,
                      VkDeviceSize *offset);

#endif
