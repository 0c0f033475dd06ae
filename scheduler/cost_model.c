/* Node costs per device: recording calibration runs and looking them up. */
#include "scheduler/cost_model.h"

#include "hal/cache_dir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

erg_cost_row *erg_cost_find_row(const erg_device_costs *c, uint64_t key, erg_profile_phase phase) {
    return find(c, key, phase);
}

erg_status erg_cost_add_row(erg_device_costs *c, const erg_allocator *a, const erg_cost_row *row,
                            bool *added, erg_diag *diag) {
    *added = false;
    if (c->n_rows >= ERG_COST_MAX_ROWS)
        return ERG_OK;
    if (!erg_grow_array(a, (void **)&c->rows, sizeof *c->rows, &c->cap_rows, c->n_rows + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "cost table of %s", c->device);
    /* Insertion keeps the order bsearch needs. */
    size_t at = c->n_rows;
    while (at > 0 && by_key_phase(&c->rows[at - 1], row) > 0)
        at--;
    memmove(&c->rows[at + 1], &c->rows[at], (c->n_rows - at) * sizeof *c->rows);
    c->rows[at] = *row;
    c->n_rows++;
    *added = true;
    return ERG_OK;
}

void erg_cost_refine_row(const erg_device_costs *c, erg_cost_row *r, double seconds) {
    if (!c->shares_host && (seconds > ERG_COST_REFINE_JUMP * r->seconds ||
                            seconds * ERG_COST_REFINE_JUMP < r->seconds))
        r->seconds = seconds;
    else
        r->seconds += ERG_COST_REFINE_WEIGHT * (seconds - r->seconds);
}

erg_status erg_cost_record_node(erg_device_costs *c, const erg_allocator *a, const erg_graph *g,
                                const erg_node *n, double seconds, erg_profile_phase phase,
                                erg_diag *diag) {
    uint64_t key = erg_cost_node_key(g, n);
    for (size_t k = 0; k < c->n_rows; k++)
        if (c->rows[k].key == key && c->rows[k].phase == phase) {
            c->rows[k].seconds = fmin(c->rows[k].seconds, seconds);
            return ERG_OK;
        }
    if (!erg_grow_array(a, (void **)&c->rows, sizeof *c->rows, &c->cap_rows, c->n_rows + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "cost table of %s", c->device);
    erg_cost_row *r = &c->rows[c->n_rows++];
    *r = (erg_cost_row){.key = key, .phase = (uint8_t)phase, .op = n->op, .seconds = seconds};
    erg_profile_node_cost(g, n, &r->bytes, &r->flops);
    return ERG_OK;
}

erg_status erg_cost_record(erg_device_costs *c, const erg_allocator *a, const erg_graph *g,
                           const double *seconds, erg_profile_phase phase, erg_diag *diag) {
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!erg_op_is_view(g->nodes[i].op))
            ERG_RETURN_IF_ERROR(
                erg_cost_record_node(c, a, g, &g->nodes[i], seconds[i], phase, diag));
    return ERG_OK;
}

void erg_cost_finish(erg_device_costs *c) {
    if (c->n_rows)
        qsort(c->rows, c->n_rows, sizeof *c->rows, by_key_phase);
}

/* Seconds per byte and per FLOP of an op in a phase (all ops when op < 0),
 * fit to its measured shapes: seconds ~ per_byte x bytes + per_flop x
 * FLOPs, least squares on relative error. Both terms matter where a
 * device pays its weights once per call, however many rows (an NPU that
 * streams them), and its compute and copies per row. Where the rows do not
 * tell the two apart (one kind of shape), or a term comes out negative,
 * one term alone: FLOPs in prefill (compute-bound), bytes in decode. */
static bool rate(const erg_device_costs *c, int op, erg_profile_phase phase, double *per_byte,
                 double *per_flop) {
    double bb = 0, bf = 0, ff = 0, bs = 0, fs = 0, s = 0, work = 0;
    bool prefill = phase == ERG_PROFILE_PREFILL;
    for (size_t k = 0; k < c->n_rows; k++) {
        const erg_cost_row *r = &c->rows[k];
        if (r->phase != phase || (op >= 0 && (int)r->op != op) || !(r->seconds > 0))
            continue;
        double w = 1.0 / (r->seconds * r->seconds);
        bb += w * r->bytes * r->bytes;
        bf += w * r->bytes * r->flops;
        ff += w * r->flops * r->flops;
        bs += w * r->bytes * r->seconds;
        fs += w * r->flops * r->seconds;
        s += r->seconds;
        work += prefill && r->flops > 0 ? r->flops : r->bytes;
    }
    /* Shapes whose bytes and FLOPs are nearly proportional do not tell the
     * terms apart: the fit needs them at least 1 - 1e-3 from collinear. */
    double det = bb * ff - bf * bf;
    if (det > 1e-3 * bb * ff) {
        *per_byte = (bs * ff - fs * bf) / det;
        *per_flop = (fs * bb - bs * bf) / det;
        if (*per_byte >= 0 && *per_flop >= 0)
            return true;
    }
    if (!(work > 0))
        return false;
    bool by_flops = prefill && ff > 0;
    *per_byte = by_flops ? 0 : s / work;
    *per_flop = by_flops ? s / work : 0;
    return true;
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
    double bytes, flops, per_byte, per_flop;
    erg_profile_node_cost(g, n, &bytes, &flops);
    if (!rate(c, (int)n->op, phase, &per_byte, &per_flop) &&
        !rate(c, -1, phase, &per_byte, &per_flop))
        return INFINITY;
    return per_byte * bytes + per_flop * flops;
}
