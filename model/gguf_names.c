/*
 * gguf_names.c: the name → index hash the reader uses to reject duplicate
 * keys and tensor names in one pass and to look names up in O(1).
 */
#include "model/gguf_internal.h"

#include "base/checked.h"

#include <time.h>

/* FNV-1a, 64-bit, from a per-index seed, with a final mix so the seed
 * reaches the low bits the table uses. */
static uint64_t name_hash(uint64_t seed, const char *ptr, uint64_t len) {
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (uint64_t i = 0; i < len; i++) {
        h ^= (uint8_t)ptr[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

bool erg_gguf_names_init(gguf_name_index *ix, const erg_allocator *alloc, uint64_t n) {
    /* At most half full, so probes stay short. */
    uint64_t cap = 8;
    while (cap / 2 < n) {
        if (!erg_mul_u64(cap, 2, &cap) || cap > SIZE_MAX / sizeof(gguf_name_slot))
            return false;
    }
    ix->slots = erg_calloc(alloc, (size_t)cap, sizeof(gguf_name_slot));
    ix->mask = cap - 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ix->seed = (uint64_t)(uintptr_t)ix->slots * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_nsec;
    return ix->slots != NULL;
}

void erg_gguf_names_free(gguf_name_index *ix, const erg_allocator *alloc) {
    erg_free(alloc, ix->slots);
    ix->slots = NULL;
}

static bool same_name(const gguf_name_slot *s, const char *ptr, uint64_t len) {
    return s->len == len && memcmp(s->ptr, ptr, (size_t)len) == 0;
}

int64_t erg_gguf_names_add(gguf_name_index *ix, const char *ptr, uint64_t len, uint64_t index) {
    uint64_t i = name_hash(ix->seed, ptr, len) & ix->mask;
    while (ix->slots[i].ptr) {
        if (same_name(&ix->slots[i], ptr, len))
            return (int64_t)ix->slots[i].index;
        i = (i + 1) & ix->mask;
    }
    ix->slots[i] = (gguf_name_slot){ptr, len, index};
    return -1;
}

int64_t erg_gguf_names_find(const gguf_name_index *ix, const char *ptr, uint64_t len) {
    if (!ix->slots)
        return -1;
    uint64_t i = name_hash(ix->seed, ptr, len) & ix->mask;
    while (ix->slots[i].ptr) {
        if (same_name(&ix->slots[i], ptr, len))
            return (int64_t)ix->slots[i].index;
        i = (i + 1) & ix->mask;
    }
    return -1;
}
