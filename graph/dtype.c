#include "graph/dtype.h"

#include <strings.h>

static const erg_dtype_traits traits[ERG_DT_COUNT] = {
    [ERG_DT_F32] = {"f32", 1, 4, false, true},
    [ERG_DT_F16] = {"f16", 1, 2, false, true},
    [ERG_DT_BF16] = {"bf16", 1, 2, false, true},
    [ERG_DT_Q4_0] = {"q4_0", ERG_QK, sizeof(erg_block_q4_0), true, true},
    [ERG_DT_Q4_1] = {"q4_1", ERG_QK, sizeof(erg_block_q4_1), true, true},
    [ERG_DT_Q5_0] = {"q5_0", ERG_QK, sizeof(erg_block_q5_0), true, true},
    [ERG_DT_Q5_1] = {"q5_1", ERG_QK, sizeof(erg_block_q5_1), true, true},
    [ERG_DT_Q8_0] = {"q8_0", ERG_QK, sizeof(erg_block_q8_0), true, true},
    [ERG_DT_Q8_1] = {"q8_1", ERG_QK, sizeof(erg_block_q8_1), true, false},
    [ERG_DT_Q2_K] = {"q2_k", ERG_QK_K, sizeof(erg_block_q2_k), true, false},
    [ERG_DT_Q3_K] = {"q3_k", ERG_QK_K, sizeof(erg_block_q3_k), true, false},
    [ERG_DT_Q4_K] = {"q4_k", ERG_QK_K, sizeof(erg_block_q4_k), true, true},
    [ERG_DT_Q5_K] = {"q5_k", ERG_QK_K, sizeof(erg_block_q5_k), true, true},
    [ERG_DT_Q6_K] = {"q6_k", ERG_QK_K, sizeof(erg_block_q6_k), true, true},
    [ERG_DT_Q8_K] = {"q8_k", ERG_QK_K, sizeof(erg_block_q8_k), true, false},
    [ERG_DT_I8] = {"i8", 1, 1, false, false},
    [ERG_DT_I16] = {"i16", 1, 2, false, false},
    [ERG_DT_I32] = {"i32", 1, 4, false, false},
    [ERG_DT_I64] = {"i64", 1, 8, false, false},
    [ERG_DT_F64] = {"f64", 1, 8, false, false},
};

const erg_dtype_traits *erg_dtype_get(int t) {
    if (t < 0 || t >= ERG_DT_COUNT || !traits[t].name)
        return NULL;
    return &traits[t];
}

const char *erg_dtype_name(erg_dtype t) {
    const erg_dtype_traits *tr = erg_dtype_get((int)t);
    return tr ? tr->name : "invalid";
}

int erg_dtype_from_name(const char *name) {
    for (int t = 0; t < ERG_DT_COUNT; t++)
        if (traits[t].name && name && strcasecmp(name, traits[t].name) == 0)
            return t;
    return -1;
}

size_t erg_dtype_row_size(erg_dtype t, int64_t n) {
    const erg_dtype_traits *tr = erg_dtype_get((int)t);
    if (!tr || n < 0 || n % tr->block_size != 0)
        return 0;
    return (size_t)(n / tr->block_size) * tr->type_size;
}
