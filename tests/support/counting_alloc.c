#include "tests/support/counting_alloc.h"

#include <stdlib.h>

static void *counting_alloc(void *user, size_t size, size_t alignment) {
    counting *c = user;
    if (++c->count == c->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, alignment < sizeof(void *) ? sizeof(void *) : alignment, size ? size : 1))
        return NULL;
    c->live++;
    return p;
}

static void counting_free(void *user, void *ptr) {
    counting *c = user;
    if (ptr) {
        c->live--;
        free(ptr);
    }
}

erg_allocator counting_allocator(counting *c) {
    erg_allocator a = {c, counting_alloc, counting_free};
    return a;
}
