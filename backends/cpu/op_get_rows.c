/* GET_ROWS: dst[:, i] = src0 row src1[i], converted to F32 (the embedding
 * lookup). Callers check ids (the session checks tokens); an id out of range
 * still never reads outside the table: its row comes out as zeros. */
#include "backends/cpu/cpu_ops.h"

#include <string.h>


static void run(const erg_cpu_op_args *a, int phase) {
    (void)phase;
    const erg_graph *g = a->g;
    const erg_tensor *tw = &g->tensors[a->node->src[0]];
    const erg_tensor *td = &g->tensors[a->node->dst];
    const char *w = erg_tensor_host_data(g, a->node->src[0]);
    const int32_t *ids = erg_tensor_host_data(g, a->node->src[1]);
    char *dd = erg_tensor_host_data(g, a->node->dst);
    int64_t r0, r1;
    erg_cpu_split(td->ne[1], a->ith, a->nth, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        float *y = (float *)(dd + r * (int64_t)td->nb[1]);
        if (ids[r] < 0 || ids[r] >= tw->ne[1])
            memset(y, 0, (size_t)tw->ne[0] * sizeof *y);
        else
            a->k->to_f32[tw->dtype](w + (int64_t)ids[r] * (int64_t)tw->nb[1], y, tw->ne[0]);
    }
}

static bool supports(const erg_graph *g, const erg_node *n, const erg_cpu_kernels *k,
                     erg_diag *why) {
    erg_dtype dt = g->tensors[n->src[0]].dtype;
    if (k->to_f32[dt])
        return true;
    erg_fail(why, ERG_UNSUPPORTED, "no %s row conversion", erg_dtype_name(dt));
    return false;
}

const erg_cpu_op erg_cpu_op_get_rows = {run, 1, NULL, NULL, supports};
