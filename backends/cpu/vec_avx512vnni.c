#include "backends/cpu/kernels.h"

void erg_cpu_vec_init_avx512vnni(erg_cpu_kernels *k) { (void)k; }
