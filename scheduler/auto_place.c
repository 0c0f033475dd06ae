/* A step's graph as a partition problem over calibrated devices. */
#include "scheduler/auto_place.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct problem_mem {
    double *sec, *jou, *lat, *spb, *watts;
    bool *runs;
    uint32_t *edge_start, *part_of; /* part_of: per graph node, its problem node */
    erg_part_edge *edges;
    int32_t *nodes;                 /* per problem node, its graph node */
} problem_mem;

static void mem_free(problem_mem *m, const erg_allocator *a) {
    erg_free(a, m->sec);
    erg_free(a, m->jou);
    erg_free(a, m->lat);
    erg_free(a, m->spb);
    erg_free(a, m->watts);
    erg_free(a, m->runs);
    erg_free(a, m->edge_start);
    erg_free(a, m->part_of);
    erg_free(a, m->edges);
    erg_free(a, m->nodes);
}

static bool is_matmul(erg_op op) {
    return op == ERG_OP_MATMUL || op == ERG_OP_MATMUL_ADD || op == ERG_OP_MATMUL_SWIGLU ||
           op == ERG_OP_MATMUL_QKV;
}

/* The problem node that produced tensor id (through a view), or -1. */
static int64_t producer_of(const erg_graph *g, const problem_mem *m, int32_t id) {
    const erg_tensor *t = &g->tensors[id];
    if (t->kind == ERG_TENSOR_VIEW)
        t = &g->tensors[t->view_src];
    if (t->producer < 0 || erg_op_is_view(g->nodes[t->producer].op))
        return -1;
    return m->part_of[t->producer];
}

static void fill_node(const erg_graph *g, const erg_node *n, size_t i, erg_profile_phase phase,
                      const erg_auto_device *devs, size_t nd, uint64_t weight_bytes,
                      problem_mem *m) {
    for (size_t d = 0; d < nd; d++) {
        const erg_auto_device *ad = &devs[d];
        erg_diag why;
        bool runs = ad->usable && erg_cost_knows_op(ad->costs, n->op) &&
                    (!ad->open || ad->backend->supports_node(ad->open, g, n, &why));
        double s = runs ? erg_cost_node_seconds(ad->costs, g, n, phase) + ad->costs->node_overhead_s
                        : INFINITY;
        /* A device that runs a matmul holds the model's weights. */
        if (is_matmul(n->op) && ad->memory_bytes && weight_bytes > ad->memory_bytes)
            s = INFINITY;
        m->runs[i * nd + d] = isfinite(s);
        m->sec[i * nd + d] = isfinite(s) ? s : 0;
        m->jou[i * nd + d] = isfinite(s) ? s * ad->costs->busy_watts : 0;
    }
}

static erg_status build(const erg_graph *g, erg_profile_phase phase, const erg_auto_device *devs,
                        size_t nd, uint64_t weight_bytes, const erg_allocator *a, problem_mem *m,
                        erg_part_problem *p, erg_diag *diag) {
    size_t nn = g->n_nodes ? g->n_nodes : 1;
    m->sec = erg_malloc(a, nn * nd * sizeof *m->sec);
    m->jou = erg_malloc(a, nn * nd * sizeof *m->jou);
    m->runs = erg_malloc(a, nn * nd * sizeof *m->runs);
    m->lat = erg_malloc(a, nd * nd * sizeof *m->lat);
    m->spb = erg_malloc(a, nd * nd * sizeof *m->spb);
    m->watts = erg_malloc(a, nd * nd * sizeof *m->watts);
    m->edge_start = erg_malloc(a, (nn + 1) * sizeof *m->edge_start);
    m->part_of = erg_malloc(a, nn * sizeof *m->part_of);
    m->edges = erg_malloc(a, nn * ERG_MAX_SRC * sizeof *m->edges);
    m->nodes = erg_malloc(a, nn * sizeof *m->nodes);
    if (!m->sec || !m->jou || !m->runs || !m->lat || !m->spb || !m->watts || !m->edge_start ||
        !m->part_of || !m->edges || !m->nodes)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "placement problem of %zu nodes", g->n_nodes);
    size_t n = 0, ne = 0;
    for (size_t gi = 0; gi < g->n_nodes; gi++) {
        const erg_node *node = &g->nodes[gi];
        m->part_of[gi] = (uint32_t)(n ? n - 1 : 0);
        if (erg_op_is_view(node->op))
            continue;
        m->part_of[gi] = (uint32_t)n;
        m->nodes[n] = (int32_t)gi;
        m->edge_start[n] = (uint32_t)ne;
        for (int32_t k = 0; k < node->n_src; k++) {
            int64_t from = producer_of(g, m, node->src[k]);
            if (from >= 0 && (size_t)from < n)
                m->edges[ne++] = (erg_part_edge){(uint32_t)from,
                                                 erg_tensor_nbytes(&g->tensors[node->src[k]])};
        }
        fill_node(g, node, n, phase, devs, nd, weight_bytes, m);
        n++;
    }
    m->edge_start[n] = (uint32_t)ne;
    for (size_t x = 0; x < nd; x++)
        for (size_t y = 0; y < nd; y++) {
            const erg_device_costs *cx = devs[x].costs, *cy = devs[y].costs;
            /* Starting a subgraph on y after x: y's handover; bytes cross at
             * the slower side's copy rate, on the host's power. */
            m->lat[x * nd + y] = cy->handover_s + devs[y].extra_handover_s;
            m->spb[x * nd + y] = fmax(cx->copy_s_per_byte, cy->copy_s_per_byte);
            m->watts[x * nd + y] = fmax(cx->shares_host ? cx->busy_watts : 0,
                                        cy->shares_host ? cy->busy_watts : 0);
        }
    *p = (erg_part_problem){n,       nd,     m->sec, m->jou, m->runs, m->edge_start,
                            m->edges, m->lat, m->spb, m->watts};
    return ERG_OK;
}

erg_status erg_auto_place(const erg_graph *g, erg_profile_phase phase,
                          const erg_auto_device *devices, size_t n, uint64_t weight_bytes,
                          const erg_part_goal *goal, const erg_allocator *alloc, uint8_t *assign,
                          erg_part_result *result, erg_diag *diag) {
    const erg_allocator *a = erg_allocator_or_default(alloc);
    problem_mem m;
    memset(&m, 0, sizeof m);
    erg_part_problem p;
    erg_status st = build(g, phase, devices, n, weight_bytes, a, &m, &p, diag);
    uint8_t *part = st == ERG_OK ? erg_malloc(a, p.n_nodes + 1) : NULL;
    if (st == ERG_OK && !part)
        st = erg_fail(diag, ERG_OUT_OF_MEMORY, "placement of %zu nodes", p.n_nodes);
    if (st == ERG_OK)
        st = erg_partition(&p, goal, a, part, result, diag);
    if (st == ERG_UNSUPPORTED && strncmp(diag->msg, "no device can run node ", 23) == 0) {
        size_t k = (size_t)strtoull(diag->msg + 23, NULL, 10);
        const erg_node *node = &g->nodes[m.nodes[k]];
        st = erg_fail(diag, ERG_UNSUPPORTED, "no usable device can run node %d (%s -> '%s')",
                      m.nodes[k], erg_op_name(node->op), g->tensors[node->dst].name);
    }
    if (st == ERG_OK) {
        uint8_t prev = p.n_nodes ? part[0] : 0;
        for (size_t gi = 0; gi < g->n_nodes; gi++) {
            if (!erg_op_is_view(g->nodes[gi].op))
                prev = part[m.part_of[gi]];
            assign[gi] = prev;
        }
    }
    erg_free(a, part);
    mem_free(&m, a);
    return st;
}
