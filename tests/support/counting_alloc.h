/* counting_alloc.h: an erg_allocator that counts live allocations (a test
 * ends with none) and can fail the Nth allocation (out-of-memory paths). */
#ifndef ERG_TESTS_COUNTING_ALLOC_H
#define ERG_TESTS_COUNTING_ALLOC_H

#include "erg/erg.h"

typedef struct counting {
    long count;   /* allocations asked for */
    long live;    /* allocations not yet freed */
    long fail_at; /* this allocation (1-based) returns NULL; 0: none */
} counting;

/* An allocator over c (zero it first). */
erg_allocator counting_allocator(counting *c);

#endif
