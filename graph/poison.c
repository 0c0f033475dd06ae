#include "graph/poison.h"

#include "graph/builder.h"

#include <math.h>
#include <string.h>

static bool poisoned(const erg_graph *g, const erg_memory_plan *p, size_t t) {
    const erg_tensor *x = &g->tensors[t];
    return p->released_after[t] >= 0 && x->dtype == ERG_DT_F32 && erg_tensor_is_contiguous(x);
}

erg_status erg_plan_poison(erg_graph *g, const erg_memory_plan *p, erg_diag *diag) {
    size_t nn = g->n_nodes, nt = g->n_tensors;
    if (g->status != ERG_OK)
        return erg_fail(diag, g->status, "%s", g->diag.msg);
    if (p->n_nodes != nn || p->n_tensors != nt)
        return erg_fail(diag, ERG_INVALID_ARGUMENT,
                        "poisoning: the plan is of a graph of %zu nodes and %zu tensors, not "
                        "%zu and %zu",
                        p->n_nodes, p->n_tensors, nn, nt);
    /* Poisoned tensors bucketed by releasing node (a counting sort), so the
     * FILLs are appended in node order: ends[i] is the end of node i's. */
    size_t *ends = erg_calloc(g->alloc, nn + 1, sizeof *ends);
    if (!ends)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "poisoning: %zu nodes", nn);
    for (size_t t = 0; t < nt; t++)
        if (poisoned(g, p, t))
            ends[p->released_after[t] + 1]++;
    for (size_t i = 0; i < nn; i++)
        ends[i + 1] += ends[i];
    size_t n_fill = ends[nn];
    int32_t *who = erg_malloc(g->alloc, (n_fill + 1) * sizeof *who);
    erg_node *order = erg_malloc(g->alloc, (nn + n_fill + 1) * sizeof *order);
    if (!who || !order) {
        erg_free(g->alloc, ends);
        erg_free(g->alloc, who);
        erg_free(g->alloc, order);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "poisoning: %zu fills", n_fill);
    }
    for (size_t t = 0; t < nt; t++)
        if (poisoned(g, p, t))
            who[ends[p->released_after[t]]++] = (int32_t)t; /* ends[i] moves to its end */
    for (size_t k = 0; k < n_fill; k++) {
        int32_t v = erg_gb_fill(g, who[k], NAN); /* may move g->tensors */
        erg_gb_name(g, v, "poison.%s", g->tensors[who[k]].name);
    }
    erg_status st = g->status;
    if (st == ERG_OK) {
        /* Each node, then the FILLs of what it released (appended at nn...). */
        size_t j = 0, f = nn;
        for (size_t i = 0; i < nn; i++) {
            order[j++] = g->nodes[i];
            while (f - nn < ends[i])
                order[j++] = g->nodes[f++];
        }
        memcpy(g->nodes, order, j * sizeof *order);
        for (size_t i = 0; i < j; i++)
            g->tensors[g->nodes[i].dst].producer = (int32_t)i;
    } else {
        erg_fail(diag, st, "poisoning: %s", g->diag.msg);
    }
    erg_free(g->alloc, ends);
    erg_free(g->alloc, who);
    erg_free(g->alloc, order);
    return st;
}
