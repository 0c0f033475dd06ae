/* vk_shaders.h: the SPIR-V of every shader variant, compiled from
 * shaders/vulkan at build time and embedded (generated vk_shaders_gen.c). */
#ifndef ERG_VK_SHADERS_H
#define ERG_VK_SHADERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct erg_vk_shader {
    const char *name;
    const uint32_t *code;
    size_t size; /* bytes */
} erg_vk_shader;

extern const erg_vk_shader erg_vk_shaders[];
extern const size_t erg_vk_n_shaders;

/* The variant called name, or NULL. */
const erg_vk_shader *erg_vk_shader_find(const char *name);

#endif
