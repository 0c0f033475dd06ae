/*
 * quantize.c: erg_quantize_rows, which converts F32 rows into every type erg
 * writes. The plain types round to nearest even (base/fp16.h) as ggml's
 * row converters do; the quantized types use the reference quantisers in
 * quantize_legacy.c and quantize_kquants.c.
 */
#include "model/quantize.h"

#include <string.h>

typedef void (*row_quantizer)(const float *x, void *dst, int64_t k);

static row_quantizer quantizer_for(erg_dtype t) {
    switch (t) {
    case ERG_DT_Q4_0: return erg_quantize_row_q4_0;
    case ERG_DT_Q4_1: return erg_quantize_row_q4_1;
    case ERG_DT_Q5_0: return erg_quantize_row_q5_0;
    case ERG_DT_Q5_1: return erg_quantize_row_q5_1;
    case ERG_DT_Q8_0: return erg_quantize_row_q8_0;
    case ERG_DT_Q4_K: return erg_quantize_row_q4_k;
    case ERG_DT_Q5_K: return erg_quantize_row_q5_k;
    case ERG_DT_Q6_K: return erg_quantize_row_q6_k;
    default: return NULL;
    }
}

bool erg_quantize_supported(erg_dtype t) {
    return t == ERG_DT_F32 || t == ERG_DT_F16 || t == ERG_DT_BF16 || quantizer_for(t) != NULL;
}

/* Unsupported types, and rows that are not a whole number of blocks, write
 * nothing and return 0. */
size_t erg_quantize_rows(erg_dtype t, const float *src, void *dst, int64_t n_rows,
                         int64_t n_per_row) {
    size_t row_size = erg_dtype_row_size(t, n_per_row);
    if (!erg_quantize_supported(t) || row_size == 0 || n_rows <= 0)
        return 0;
    int64_t n = n_rows * n_per_row;
    uint8_t *out = dst;
    row_quantizer q = quantizer_for(t);
    if (q) {
        /* blocks never straddle rows, so the whole run is one long row */
        q(src, dst, n);
    } else if (t == ERG_DT_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
    } else {
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = t == ERG_DT_F16 ? erg_f32_to_f16(src[i]) : erg_f32_to_bf16(src[i]);
            memcpy(out + 2 * i, &h, 2);
        }
    }
    return (size_t)n_rows * row_size;
}
