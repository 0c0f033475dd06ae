/*
 * mm_neon_dotprod.c: the dotprod level (ARMv8.2 SDOT, detected at run time
 * through HWCAP_ASIMDDP): q4_0 and q8_0 through mm_neon.h, q4_1, q5_0 and
 * q5_1 through mm_neon_legacy.h and the K-quants through mm_neon_kquants.h,
 * with sdot. This file alone is compiled with +dotprod. The level's vector
 * kernels and float matmuls are the NEON ones it inherits (sdot has nothing
 * for floats), so its vec initialiser has nothing to override.
 */
#define MM_NEON_DOTPROD 1
#include "backends/cpu/mm_neon.h"
#include "backends/cpu/mm_neon_kquants.h"
#include "backends/cpu/mm_neon_legacy.h"

void erg_cpu_vec_init_dotprod(erg_cpu_kernels *k) { (void)k; }

void erg_cpu_mm_init_dotprod(erg_cpu_kernels *k) {
    mm_neon_set_quant_kernels(k);
    mm_neon_set_legacy_kernels(k);
    mm_neon_set_kquant_kernels(k);
}
