/*
 * byte_order.h: little-endian fields of erg's own file formats (cache
 * headers), written and read the same on any host.
 */
#ifndef ERG_BASE_BYTE_ORDER_H
#define ERG_BASE_BYTE_ORDER_H

#include <stdint.h>

/* Stores the low `bytes` bytes of v at p, least significant first. */
static inline void erg_put_le(unsigned char *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t erg_get_le(const unsigned char *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

#endif
