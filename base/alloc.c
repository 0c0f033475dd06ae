#include "base/alloc.h"

#include "base/checked.h"

#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *user, size_t size, size_t alignment) {
    (void)user;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    void *p = NULL;
    if (posix_memalign(&p, alignment, size ? size : 1) != 0)
        return NULL;
    return p;
}

static void default_free(void *user, void *ptr) {
    (void)user;
    free(ptr);
}

static const erg_allocator default_allocator = {NULL, default_alloc, default_free};

const erg_allocator *erg_default_allocator(void) { return &default_allocator; }

void *erg_aligned_alloc(const erg_allocator *a, size_t size, size_t alignment) {
    a = erg_allocator_or_default(a);
    return a->alloc(a->user, size, alignment);
}

void *erg_malloc(const erg_allocator *a, size_t size) {
    return erg_aligned_alloc(a, size, ERG_DEFAULT_ALIGN);
}

void *erg_calloc(const erg_allocator *a, size_t n, size_t size) {
    size_t total;
    if (!erg_mul_size(n, size, &total))
        return NULL;
    void *p = erg_malloc(a, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void erg_free(const erg_allocator *a, void *ptr) {
    if (!ptr)
        return;
    a = erg_allocator_or_default(a);
    a->free(a->user, ptr);
}

char *erg_strdup(const erg_allocator *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *p = erg_malloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

bool erg_grow_array(const erg_allocator *a, void **array, size_t elem, size_t *capacity,
                    size_t need) {
    if (need <= *capacity)
        return true;
    size_t cap = *capacity ? *capacity : 16;
    while (cap < need) {
        if (!erg_mul_size(cap, 2, &cap))
            return false;
    }
    size_t bytes;
    if (!erg_mul_size(cap, elem, &bytes))
        return false;
    void *p = erg_malloc(a, bytes);
    if (!p)
        return false;
    if (*array) {
        memcpy(p, *array, *capacity * elem);
        erg_free(a, *array);
    }
    *array = p;
    *capacity = cap;
    return true;
}
