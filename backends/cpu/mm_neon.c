/*
 * mm_neon.c: the NEON matmul table: the float types (f32, f16, bf16) through
 * mm_neon_float.h, q4_0 and q8_0 through mm_neon.h, q4_1, q5_0 and q5_1
 * through mm_neon_legacy.h and the K-quants through mm_neon_kquants.h, the
 * quantized ones with widening multiplies. Every weight type the scalar
 * level has gets a NEON kernel.
 */
#define MM_NEON_DOTPROD 0
#include "backends/cpu/mm_neon.h"
#include "backends/cpu/mm_neon_float.h"
#include "backends/cpu/mm_neon_kquants.h"
#include "backends/cpu/mm_neon_legacy.h"

void erg_cpu_mm_init_neon(erg_cpu_kernels *k) {
    mm_neon_set_float_kernels(k);
    mm_neon_set_quant_kernels(k);
    mm_neon_set_legacy_kernels(k);
    mm_neon_set_kquant_kernels(k);
}
