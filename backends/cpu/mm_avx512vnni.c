#include "backends/cpu/kernels.h"

void erg_cpu_mm_init_avx512vnni(erg_cpu_kernels *k) { (void)k; }
