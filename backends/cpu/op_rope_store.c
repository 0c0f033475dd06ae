/* ROPE_STORE: ROPE of src0 written straight into the destination view src2
 * (a KV-cache slice, F32/F16/BF16), in one pass: phase 0 fills ROPE's
 * cos/sin table, phase 1 rotates each row into the destination, through a
 * row of scratch (in L1) when the row must be converted. */
#include "backends/cpu/cpu_ops.h"

#include "base/checked.h"

static size_t table_bytes(const erg_cpu_op_args *a) {
    return erg_align_up(erg_cpu_rope_table_size(a), 64);
}

static size_t work_size(const erg_cpu_op_args *a) {
    size_t row = (size_t)a->g->tensors[a->node->src[0]].ne[0] * sizeof(float);
    return table_bytes(a) + (size_t)a->nth * row;
}

static void store_rows(const erg_cpu_op_args *a) {
    const erg_graph *g = a->g;
    const erg_tensor *ts = &g->tensors[a->node->src[0]];
    const erg_tensor *td = &g->tensors[a->node->dst];
    void *ds = erg_tensor_host_data(g, a->node->src[0]);
    void *dd = erg_tensor_host_data(g, a->node->dst);
    int64_t n = ts->ne[0], r0, r1;
    float *row = (float *)((char *)a->work + table_bytes(a)) + (int64_t)a->ith * n;
    erg_cpu_split(erg_tensor_nrows(ts), a->ith, a->nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        erg_cpu_row_index(ts, r, &i1, &i2, &i3);
        const float *x = (const float *)erg_cpu_row_ptr(ds, ts, i1, i2, i3);
        char *d = erg_cpu_row_ptr(dd, td, i1, i2, i3);
        if (td->dtype == ERG_DT_F32) {
            erg_cpu_rope_row(a, n, (float *)d, x, i2);
            continue;
        }
        erg_cpu_rope_row(a, n, row, x, i2);
        if (td->dtype == ERG_DT_F16)
            a->k->f32_to_f16(row, (erg_f16 *)d, n);
        else
            a->k->f32_to_bf16(row, (erg_bf16 *)d, n);
    }
}

static void run(const erg_cpu_op_args *a, int phase) {
    if (phase == 0)
        erg_cpu_rope_table(a);
    else
        store_rows(a);
}

const erg_cpu_op erg_cpu_op_rope_store = {run, 2, work_size, NULL, NULL};
