/*
 * checked.h: overflow-safe arithmetic for sizes and offsets read from files.
 * Each returns false when the exact result does not fit.
 */
#ifndef ERG_BASE_CHECKED_H
#define ERG_BASE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool erg_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

static inline bool erg_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

static inline bool erg_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

static inline bool erg_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* Rounds x up to a multiple of align (a power of two). */
static inline bool erg_align_up_u64(uint64_t x, uint64_t align, uint64_t *out) {
    uint64_t t;
    if (!erg_add_u64(x, align - 1, &t))
        return false;
    *out = t & ~(align - 1);
    return true;
}

static inline size_t erg_align_up(size_t x, size_t align) {
    return (x + align - 1) & ~(align - 1);
}

#endif
