/* Node costs per device: recording calibration runs and looking them up. */
#include "scheduler/cost_model.h"

#include "hal/cache_dir.h"

#include <math.h>
#include <stdlib.h>

void erg_device_costs_free(erg_device_costs *c, const erg_allocator *a) {
    erg_free(a, c->rows);
    c->rows = NULL;
    c->n_rows = c->cap_rows = 0;
}

static uint64_t hash_tensor(const erg_graph *g, int32_t id, uint64_t h) {
    const erg_tensor *t = &g->tensors[id];
    int32_t dtype = (int32_t)t->dtype;
    h = erg_fnv1a64(&dtype, sizeof dtype, h);
    return erg_fnv1a64(t->ne, sizeof t->ne, h);
}

uint64_t erg_cost_node_key(const erg_graph *g, const erg_node *n) {
    int32_t op = (int32_t)n->op;
    uint64_t h = erg_fnv1a64(&op, sizeof op, ERG_FNV1A64_SEED);
    for (int32_t k = 0; k < n->n_src; k++)
        h = hash_tensor(g, n->src[k], h);
    return hash_tensor(g, n->dst, h);
}

static int by_key_phase(const void *pa, const void *pb) {
    const erg_cost_row *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (int)a->phase - (int)b->phase;
}

static erg_cost_row *find(const erg_device_costs *c, uint64_t key, erg_profile_phase phase) {
    erg_cost_row want = {.key = key, .phase = (uint8_t)phase};
    if (!c->n_rows)
        return NULL;
    return bsearch(&want, c->rows, c->n_rows, sizeof *c->rows, by_key_phase);
}

erg_status erg_cost_record(erg_device_costs *c, const erg_allocator *a, const erg_graph *g,
                           const double *seconds, erg_profile_phase phase, erg_diag *diag) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (erg_op_is_view(n->op))
            continue;
        uint64_t key = erg_cost_node_key(g, n);
        erg_cost_row *r = NULL;
        for (size_t k = 0; k < c->n_rows && !r; k++)
            if (c->rows[k].key == key && c->rows[k].phase == phase)
                r = &c->rows[k];
        if (r) {
            r->seconds = fmin(r->seconds, seconds[i]);
            continue;
        }
        if (!erg_grow_array(a, (void **)&c->rows, sizeof *c->rows, &c->cap_rows, c->n_rows + 1))
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "cost table of %s", c->device);
        r = &c->rows[c->n_rows++];
        *r = (erg_cost_row){.key = key, .phase = (uint8_t)phase, .op = n->op,
                            .seconds = seconds[i]};
        erg_profile_node_cost(g, n, &r->bytes, &r->flops);
    }
    return ERG_OK;
}

void erg_cost_finish(erg_device_costs *c) {
    if (c->n_rows)
        qsort(c->rows, c->n_rows, sizeof *c->rows, by_key_phase);
}

/* The measured rate of an op in a phase (all ops when op < 0): seconds per
 * FLOP in prefill, per byte in decode. */
static double rate(const erg_device_costs *c, int op, erg_profile_phase phase) {
    double s = 0, work = 0;
    for (size_t k = 0; k < c->n_rows; k++) {
        const erg_cost_row *r = &c->rows[k];
        if (r->phase != phase || (op >= 0 && (int)r->op != op))
            continue;
        s += r->seconds;
        work += phase == ERG_PROFILE_PREFILL && r->flops > 0 ? r->flops : r->bytes;
    }
    return work > 0 ? s / work : NAN;
}

bool erg_cost_knows_op(const erg_device_costs *c, erg_op op) {
    for (size_t k = 0; k < c->n_rows; k++)
        if (c->rows[k].op == op)
            return true;
    return false;
}

double erg_cost_node_seconds(const erg_device_costs *c, const erg_graph *g, const erg_node *n,
                             erg_profile_phase phase) {
    const erg_cost_row *r = find(c, erg_cost_node_key(g, n), phase);
    if (r)
        return r->seconds;
    double bytes, flops;
    erg_profile_node_cost(g, n, &bytes, &flops);
    double work = phase == ERG_PROFILE_PREFILL && flops > 0 ? flops : bytes;
    double per = rate(c, (int)n->op, phase);
    if (isnan(per))
        per = rate(c, -1, phase);
    return isnan(per) ? INFINITY : per * work;
}
