/*
 * alloc.h: every allocation the library makes goes through an erg_allocator
 * (the application's, or the default one below), so tests can fail the Nth
 * allocation and prove nothing leaks or crashes.
 */
#ifndef ERG_BASE_ALLOC_H
#define ERG_BASE_ALLOC_H

#include "erg/erg.h"

#include <stddef.h>

#define ERG_DEFAULT_ALIGN 64

/* The C library's allocator, as an erg_allocator. */
const erg_allocator *erg_default_allocator(void);

/* Returns `a`, or the default allocator when `a` is NULL. */
static inline const erg_allocator *erg_allocator_or_default(const erg_allocator *a) {
    return a ? a : erg_default_allocator();
}

void *erg_malloc(const erg_allocator *a, size_t size);       /* ERG_DEFAULT_ALIGN */
void *erg_calloc(const erg_allocator *a, size_t n, size_t size);
void *erg_aligned_alloc(const erg_allocator *a, size_t size, size_t alignment);
void erg_free(const erg_allocator *a, void *ptr);
char *erg_strdup(const erg_allocator *a, const char *s);

/* Grows *array (element size elem) to hold at least need elements, doubling.
 * Returns false (leaving the array as it was) if out of memory. */
bool erg_grow_array(const erg_allocator *a, void **array, size_t elem, size_t *capacity,
                    size_t need);

#endif
