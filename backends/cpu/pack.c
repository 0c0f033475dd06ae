#include "backends/cpu/pack.h"

#include <string.h>

erg_cpu_pack erg_cpu_pack_choose(erg_dtype t, int64_t k, int64_t n_rows) {
    if (t == ERG_DT_Q4_0 && k % ERG_QK == 0 && n_rows % ERG_CPU_PACK_ROWS == 0)
        return ERG_CPU_PACK_Q4_0X8;
    return ERG_CPU_PACK_NONE;
}

size_t erg_cpu_pack_group_bytes(erg_cpu_pack p, int64_t k) {
    return p == ERG_CPU_PACK_Q4_0X8 ? (size_t)(k / ERG_QK) * sizeof(erg_cpu_block_q4_0x8) : 0;
}

static void pack_q4_0x8(const void *src, size_t ldw, int64_t n_rows, int64_t k, void *dst) {
    int64_t nb = k / ERG_QK;
    erg_cpu_block_q4_0x8 *out = dst;
    for (int64_t g = 0; g < n_rows / ERG_CPU_PACK_ROWS; g++) {
        for (int64_t b = 0; b < nb; b++, out++) {
            for (int r = 0; r < ERG_CPU_PACK_ROWS; r++) {
                const erg_block_q4_0 *in =
                    (const erg_block_q4_0 *)((const char *)src +
                                             (size_t)(g * ERG_CPU_PACK_ROWS + r) * ldw) + b;
                out->d[r] = in->d;
                for (int c = 0; c < 4; c++)
                    memcpy(out->qs[c][r], in->qs + 4 * c, 4);
            }
        }
    }
}

void erg_cpu_pack_rows(erg_cpu_pack p, const void *src, size_t ldw, int64_t n_rows, int64_t k,
                       void *dst) {
    if (p == ERG_CPU_PACK_Q4_0X8)
        pack_q4_0x8(src, ldw, n_rows, k, dst);
}
