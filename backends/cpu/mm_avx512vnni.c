/*
 * mm_avx512vnni.c: the AVX-512 VNNI matmul table: the quantized kernels of
 * mm_avx512.h with vpdpbusd / vpdpwssd (q4_0, q8_0, q4_k, q6_k); the float
 * types keep their AVX-512 kernels, the other types their AVX2 ones.
 */
#define MM_AVX512_VNNI 1
#include "backends/cpu/mm_avx512.h"

void erg_cpu_mm_init_avx512vnni(erg_cpu_kernels *k) { mm_avx512_set_quant_kernels(k); }
