/*
 * vec_avx512vnni.c: VNNI adds integer dot-product instructions, which only
 * the matmul kernels (mm_avx512vnni.c) use; the vector kernels of this level
 * are the AVX-512 ones it inherits, so there is nothing to override here.
 */
#include "backends/cpu/kernels.h"
#include "backends/cpu/vec_math.h"

void erg_cpu_vec_init_avx512vnni(erg_cpu_kernels *k) { (void)k; }
