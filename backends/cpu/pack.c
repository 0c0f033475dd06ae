#include "backends/cpu/pack.h"

#include <string.h>

erg_cpu_pack erg_cpu_pack_choose(erg_dtype t, int64_t k, int64_t n_rows) {
    if (n_rows % ERG_CPU_PACK_ROWS != 0)
        return ERG_CPU_PACK_NONE;
    if (t == ERG_DT_Q4_K)
        return k % ERG_QK_K == 0 ? ERG_CPU_PACK_Q4_KX8 : ERG_CPU_PACK_NONE;
    if (k % ERG_QK != 0)
        return ERG_CPU_PACK_NONE;
    if (t == ERG_DT_Q4_0)
        return ERG_CPU_PACK_Q4_0X8;
    if (t == ERG_DT_Q8_0)
        return ERG_CPU_PACK_Q8_0X8;
    return ERG_CPU_PACK_NONE;
}

size_t erg_cpu_pack_group_bytes(erg_cpu_pack p, int64_t k) {
    switch (p) {
    case ERG_CPU_PACK_Q4_0X8:
        return (size_t)(k / ERG_QK) * sizeof(erg_cpu_block_q4_0x8);
    case ERG_CPU_PACK_Q8_0X8:
        return (size_t)(k / ERG_QK) * sizeof(erg_cpu_block_q8_0x8);
    case ERG_CPU_PACK_Q4_KX8:
        return (size_t)(k / ERG_QK_K) * sizeof(erg_cpu_block_q4_kx8);
    default:
        return 0;
    }
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

static void pack_q8_0x8(const void *src, size_t ldw, int64_t n_rows, int64_t k, void *dst) {
    int64_t nb = k / ERG_QK;
    erg_cpu_block_q8_0x8 *out = dst;
    for (int64_t g = 0; g < n_rows / ERG_CPU_PACK_ROWS; g++) {
        for (int64_t b = 0; b < nb; b++, out++) {
            for (int r = 0; r < ERG_CPU_PACK_ROWS; r++) {
                const erg_block_q8_0 *in =
                    (const erg_block_q8_0 *)((const char *)src +
                                             (size_t)(g * ERG_CPU_PACK_ROWS + r) * ldw) + b;
                out->d[r] = in->d;
                for (int c = 0; c < 8; c++)
                    memcpy(out->qs[c][r], in->qs + 4 * c, 4);
            }
        }
    }
}

static void pack_q4_kx8(const void *src, size_t ldw, int64_t n_rows, int64_t k, void *dst) {
    int64_t nb = k / ERG_QK_K;
    erg_cpu_block_q4_kx8 *out = dst;
    for (int64_t g = 0; g < n_rows / ERG_CPU_PACK_ROWS; g++) {
        for (int64_t b = 0; b < nb; b++, out++) {
            for (int r = 0; r < ERG_CPU_PACK_ROWS; r++) {
                const erg_block_q4_k *in =
                    (const erg_block_q4_k *)((const char *)src +
                                             (size_t)(g * ERG_CPU_PACK_ROWS + r) * ldw) + b;
                out->d[r] = in->d;
                out->dmin[r] = in->dmin;
                for (int j = 0; j < 8; j++)
                    erg_k_scale_min(j, in->scales, &out->scales[j][r],
                                    &out->mins[j / 2][r][j % 2]);
                for (int p = 0; p < 4; p++)
                    for (int c = 0; c < 8; c++)
                        memcpy(out->qs[p][c][r], in->qs + 32 * p + 4 * c, 4);
            }
        }
    }
}

void erg_cpu_pack_rows(erg_cpu_pack p, const void *src, size_t ldw, int64_t n_rows, int64_t k,
                       void *dst) {
    if (p == ERG_CPU_PACK_Q4_0X8)
        pack_q4_0x8(src, ldw, n_rows, k, dst);
    else if (p == ERG_CPU_PACK_Q8_0X8)
        pack_q8_0x8(src, ldw, n_rows, k, dst);
    else if (p == ERG_CPU_PACK_Q4_KX8)
        pack_q4_kx8(src, ldw, n_rows, k, dst);
}
