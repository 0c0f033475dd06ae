/*
 * cpu_info.h: what the host CPU is: model name, cores, SIMD features detected
 * at run time (cpuid / auxv), and memory.
 */
#ifndef ERG_HAL_CPU_INFO_H
#define ERG_HAL_CPU_INFO_H

#include <stdint.h>

typedef struct erg_cpu_info {
    char model_name[128];
    int n_physical_cores;  /* physical cores among the CPUs this process may use */
    int n_logical_cores;   /* logical CPUs this process may use (affinity) */
    uint32_t features;     /* ERG_CPU_FEATURE_* (erg.h) */
    uint64_t memory_bytes; /* physical memory */
} erg_cpu_info;

/* Probes the CPU. Never fails; unknown values are left as 0 / "" (cores >= 1). */
void erg_cpu_info_probe(erg_cpu_info *info);

/* Writes the feature names ("avx2 fma f16c …") into buf. */
void erg_cpu_features_format(uint32_t features, char *buf, unsigned long size);

#endif
