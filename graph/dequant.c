#include "graph/dtype.h"

void erg_dequantize_row(erg_dtype t, const void *src, float *dst, int64_t n) {
    (void)t; (void)src; (void)dst; (void)n;
}
void erg_dequantize_row_f64(erg_dtype t, const void *src, double *dst, int64_t n) {
    (void)t; (void)src; (void)dst; (void)n;
}
