/*
 * mm_neon.c: the NEON matmul table: q4_0 and q8_0 through mm_neon.h and the
 * K-quants through mm_neon_kquants.h, with widening multiplies; the other
 * weight types keep their scalar kernels.
 */
#define MM_NEON_DOTPROD 0
#include "backends/cpu/mm_neon.h"
#include "backends/cpu/mm_neon_kquants.h"

void erg_cpu_mm_init_neon(erg_cpu_kernels *k) {
    mm_neon_set_quant_kernels(k);
    mm_neon_set_kquant_kernels(k);
}
