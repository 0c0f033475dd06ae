#include "backends/cpu/kernels.h"

#include "erg/erg.h"
#include "hal/cpu_info.h"

#include <pthread.h>
#include <strings.h>

static const char *const level_names[ERG_CPU_LEVEL_COUNT] = {
    "scalar", "avx2", "avx512", "avx512vnni", "neon", "dotprod",
};

/* The level each level builds on. */
static const erg_cpu_level level_parent[ERG_CPU_LEVEL_COUNT] = {
    ERG_CPU_SCALAR, ERG_CPU_SCALAR, ERG_CPU_AVX2, ERG_CPU_AVX512, ERG_CPU_SCALAR, ERG_CPU_NEON,
};

static const uint32_t level_needs[ERG_CPU_LEVEL_COUNT] = {
    0,
    ERG_CPU_FEATURE_AVX2 | ERG_CPU_FEATURE_FMA | ERG_CPU_FEATURE_F16C,
    ERG_CPU_FEATURE_AVX2 | ERG_CPU_FEATURE_FMA | ERG_CPU_FEATURE_F16C | ERG_CPU_FEATURE_AVX512F |
        ERG_CPU_FEATURE_AVX512BW | ERG_CPU_FEATURE_AVX512VL | ERG_CPU_FEATURE_AVX512DQ,
    ERG_CPU_FEATURE_AVX2 | ERG_CPU_FEATURE_FMA | ERG_CPU_FEATURE_F16C | ERG_CPU_FEATURE_AVX512F |
        ERG_CPU_FEATURE_AVX512BW | ERG_CPU_FEATURE_AVX512VL | ERG_CPU_FEATURE_AVX512DQ |
        ERG_CPU_FEATURE_AVX512VNNI,
    ERG_CPU_FEATURE_NEON,
    ERG_CPU_FEATURE_NEON | ERG_CPU_FEATURE_DOTPROD,
};

typedef void (*init_fn)(erg_cpu_kernels *k);

static const struct {
    init_fn vec, mm;
} level_inits[ERG_CPU_LEVEL_COUNT] = {
    [ERG_CPU_SCALAR] = {erg_cpu_vec_init_scalar, erg_cpu_mm_init_scalar},
#ifdef ERG_CPU_X86_LEVELS
    [ERG_CPU_AVX2] = {erg_cpu_vec_init_avx2, erg_cpu_mm_init_avx2},
    [ERG_CPU_AVX512] = {erg_cpu_vec_init_avx512, erg_cpu_mm_init_avx512},
    [ERG_CPU_AVX512VNNI] = {erg_cpu_vec_init_avx512vnni, erg_cpu_mm_init_avx512vnni},
#endif
#ifdef ERG_CPU_ARM_LEVELS
    [ERG_CPU_NEON] = {erg_cpu_vec_init_neon, erg_cpu_mm_init_neon},
    [ERG_CPU_DOTPROD] = {erg_cpu_vec_init_dotprod, erg_cpu_mm_init_dotprod},
#endif
};

static erg_cpu_kernels tables[ERG_CPU_LEVEL_COUNT];
static bool table_built[ERG_CPU_LEVEL_COUNT];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Builds the table of every level this CPU can run (an initialiser is
 * compiled with its level's flags and may use its instructions). Levels are
 * listed after their parents, so one pass in order builds them all. */
static void build_tables(void) {
    erg_cpu_info ci;
    erg_cpu_info_probe(&ci);
    for (int l = 0; l < ERG_CPU_LEVEL_COUNT; l++) {
        if (!erg_cpu_level_supported((erg_cpu_level)l, ci.features))
            continue;
        erg_cpu_level parent = level_parent[l];
        if (l != ERG_CPU_SCALAR) {
            if (!table_built[parent])
                continue;
            tables[l] = tables[parent];
        }
        tables[l].level = (erg_cpu_level)l;
        tables[l].name = level_names[l];
        level_inits[l].vec(&tables[l]);
        level_inits[l].mm(&tables[l]);
        table_built[l] = true;
    }
}

const erg_cpu_kernels *erg_cpu_kernels_for(erg_cpu_level level) {
    if ((unsigned)level >= ERG_CPU_LEVEL_COUNT)
        return NULL;
    pthread_once(&tables_once, build_tables);
    return table_built[level] ? &tables[level] : NULL;
}

bool erg_cpu_level_supported(erg_cpu_level level, uint32_t cpu_features) {
    if ((unsigned)level >= ERG_CPU_LEVEL_COUNT || !level_inits[level].vec)
        return false;
    return (cpu_features & level_needs[level]) == level_needs[level];
}

erg_cpu_level erg_cpu_level_best(uint32_t cpu_features) {
    static const erg_cpu_level order[] = {ERG_CPU_AVX512VNNI, ERG_CPU_AVX512, ERG_CPU_AVX2,
                                          ERG_CPU_DOTPROD, ERG_CPU_NEON};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (erg_cpu_level_supported(order[i], cpu_features))
            return order[i];
    return ERG_CPU_SCALAR;
}

const char *erg_cpu_level_name(erg_cpu_level level) {
    return (unsigned)level < ERG_CPU_LEVEL_COUNT ? level_names[level] : "unknown";
}

int erg_cpu_level_parse(const char *name) {
    for (int l = 0; l < ERG_CPU_LEVEL_COUNT; l++)
        if (name && strcasecmp(name, level_names[l]) == 0)
            return l;
    return -1;
}

size_t erg_cpu_act_row_size(erg_cpu_act_format f, int64_t k) {
    switch (f) {
    case ERG_ACT_F32:
        return (size_t)k * sizeof(float);
    case ERG_ACT_Q8A:
        return (size_t)(k / 32) * sizeof(erg_cpu_block_q8a);
    case ERG_ACT_Q8K:
        return (size_t)(k / ERG_QK_K) * sizeof(erg_block_q8_k);
    }
    return 0;
}
