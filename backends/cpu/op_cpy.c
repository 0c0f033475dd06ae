/* CPY: converts F32 rows (any strides) into F32/F16/BF16 rows. A source row
 * that is not contiguous is gathered into scratch first; a transposed 2-D
 * source (the V-cache write) is walked along its contiguous dim instead. */
#include "backends/cpu/cpu_ops.h"

#include <string.h>

static size_t work_size(const erg_cpu_op_args *a) {
    return (size_t)a->nth * (size_t)a->g->tensors[a->node->src[0]].ne[0] * sizeof(float);
}

static inline void put(char *d, erg_dtype dt, float x) {
    if (dt == ERG_DT_F16)
        *(erg_f16 *)d = erg_f32_to_f16(x);
    else if (dt == ERG_DT_BF16)
        *(erg_bf16 *)d = erg_f32_to_bf16(x);
    else
        memcpy(d, &x, sizeof x);
}

/* A 2-D source whose dim 1 is the contiguous one: read it in order, write
 * the destination with its strides. */
static void copy_transposed(const erg_cpu_op_args *a, const erg_tensor *ts, const erg_tensor *td,
                            const char *ds, char *dd) {
    int64_t i0s, i0e;
    erg_cpu_split(ts->ne[0], a->ith, a->nth, &i0s, &i0e);
    for (int64_t i0 = i0s; i0 < i0e; i0++) {
        const float *s = (const float *)(ds + i0 * (int64_t)ts->nb[0]);
        char *d = dd + i0 * (int64_t)td->nb[0];
        for (int64_t i1 = 0; i1 < ts->ne[1]; i1++)
            put(d + i1 * (int64_t)td->nb[1], td->dtype, s[i1]);
    }
}

static void run(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    const erg_graph *g = a->g;
    const erg_tensor *ts = &g->tensors[a->node->src[0]];
    const erg_tensor *td = &g->tensors[a->node->dst];
    char *ds = erg_tensor_host_data(g, a->node->src[0]);
    char *dd = erg_tensor_host_data(g, a->node->dst);
    bool src_rows = ts->nb[0] == sizeof(float);
    if (!src_rows && ts->nb[1] == sizeof(float) && ts->ne[2] * ts->ne[3] == 1) {
        copy_transposed(a, ts, td, ds, dd);
        return;
    }
    int64_t n = ts->ne[0], r0, r1;
    float *gather = (float *)a->work + (int64_t)a->ith * n;
    erg_cpu_split(erg_tensor_nrows(ts), a->ith, a->nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        erg_cpu_row_index(ts, r, &i1, &i2, &i3);
        const char *s = erg_cpu_row_ptr(ds, ts, i1, i2, i3);
        char *d = erg_cpu_row_ptr(dd, td, i1, i2, i3);
        const float *x = (const float *)s;
        if (!src_rows) {
            for (int64_t i = 0; i < n; i++)
                memcpy(&gather[i], s + i * (int64_t)ts->nb[0], sizeof(float));
            x = gather;
        }
        switch (td->dtype) {
        case ERG_DT_F16:
            a->k->f32_to_f16(x, (erg_f16 *)d, n);
            break;
        case ERG_DT_BF16:
            a->k->f32_to_bf16(x, (erg_bf16 *)d, n);
            break;
        default:
            memmove(d, x, (size_t)n * sizeof(float));
            break;
        }
    }
}

const erg_cpu_op erg_cpu_op_cpy = {run, 1, work_size, NULL, NULL};
