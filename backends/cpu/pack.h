/*
 * pack.h: making the packed weight layouts (kernels.h describes them).
 * Packing only reorders bytes: a packed matrix holds the same values.
 */
#ifndef ERG_CPU_PACK_H
#define ERG_CPU_PACK_H

#include "backends/cpu/kernels.h"

/* The layout a [k, n_rows] matrix of dtype t gets, or ERG_CPU_PACK_NONE. */
erg_cpu_pack erg_cpu_pack_choose(erg_dtype t, int64_t k, int64_t n_rows);

/* Bytes of one group of ERG_CPU_PACK_ROWS packed rows of k elements. */
size_t erg_cpu_pack_group_bytes(erg_cpu_pack p, int64_t k);

/* Packs n_rows rows (a multiple of 8) of k elements, row r at src + r * ldw,
 * into dst (n_rows / 8 groups). */
void erg_cpu_pack_rows(erg_cpu_pack p, const void *src, size_t ldw, int64_t n_rows, int64_t k,
                       void *dst);

#endif
