/* Refinement of auto's node costs from real runs: each step's node times,
 * from the devices' own timers, are averaged into the cost rows of their
 * shapes (a shape calibration never measured, such as a 128-token
 * prefill's matmul, gets its row from the first run); when the placed
 * nodes' predicted time has drifted by more than ERG_AUTO_DRIFT since they
 * were placed, the phase is placed again (and its fusion decided again)
 * with the refined costs, at most once per ERG_AUTO_REPLACE_RATIO times
 * what placing took. The refined rows go back to the calibration cache
 * when the session ends, so the next session starts from them (for a
 * device on the host's cores, only the rows of shapes calibration never
 * measured: host_rows). */
#include "runtime/internal.h"

#include <math.h>
#include <string.h>

/* Attention's shape grows with the context, so its node in a later step is
 * not the shape it was placed as: left to calibration (its rows and the
 * rate fit over them). */
static bool refinable(const erg_node *n) {
    return !erg_op_is_view(n->op) && n->op != ERG_OP_ATTENTION;
}

erg_status erg_auto_refine_map(erg_session *s, erg_auto_phase *ph, const erg_graph *g,
                               erg_profile_phase phase, erg_diag *diag) {
    const erg_allocator *al = &s->model->rt->alloc;
    erg_session_auto *a = s->sched;
    ph->n_slots = 0;
    ph->placed_node_s = 0;
    if (!erg_grow_array(al, (void **)&ph->slot_of, sizeof *ph->slot_of, &ph->cap_slot_of,
                        g->n_nodes + 1))
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "refinement map of %zu nodes", g->n_nodes);
    for (size_t i = 0; i < g->n_nodes; i++) {
        ph->slot_of[i] = -1;
        const erg_node *n = &g->nodes[i];
        if (!refinable(n))
            continue;
        uint8_t t = ph->assign[i];
        const erg_device_costs *c = &a->costs[t];
        uint64_t key = erg_cost_node_key(g, n);
        /* A few dozen shapes per graph: a linear search finds its slot. */
        size_t k = 0;
        while (k < ph->n_slots && (ph->slots[k].target != t || ph->slots[k].key != key))
            k++;
        if (k == ph->n_slots) {
            if (!erg_grow_array(al, (void **)&ph->slots, sizeof *ph->slots, &ph->cap_slots,
                                ph->n_slots + 1))
                return erg_fail(diag, ERG_OUT_OF_MEMORY, "refinement map of %zu nodes",
                                g->n_nodes);
            erg_auto_refine_slot *sl = &ph->slots[ph->n_slots++];
            const erg_cost_row *r = erg_cost_find_row(c, key, phase);
            *sl = (erg_auto_refine_slot){.target = t,
                                         .op = n->op,
                                         .key = key,
                                         .row = r ? (uint32_t)(r - c->rows) : UINT32_MAX,
                                         .placed_s = erg_cost_node_seconds(c, g, n, phase)};
            erg_profile_node_cost(g, n, &sl->bytes, &sl->flops);
        }
        ph->slots[k].n_nodes++;
        ph->slot_of[i] = (int32_t)k;
        ph->placed_node_s += ph->slots[k].placed_s;
    }
    return ERG_OK;
}

/* Forgets the fusion decided for steps of nt tokens, so the next one
 * decides it again with the refined costs. */
static void forget_fusion(erg_session_auto *a, uint32_t nt) {
    for (size_t i = 0; i < a->n_fusion; i++)
        if (a->fusion[i].n_tokens == nt)
            a->fusion[i].n_tokens = 0;
}

/* The slot's row in its target's table, found again where rows moved;
 * NULL where there is none. */
static erg_cost_row *slot_row(erg_device_costs *c, erg_auto_refine_slot *sl,
                              erg_profile_phase phase) {
    if (sl->row < c->n_rows && c->rows[sl->row].key == sl->key && c->rows[sl->row].phase == phase)
        return &c->rows[sl->row];
    erg_cost_row *r = erg_cost_find_row(c, sl->key, phase);
    sl->row = r ? (uint32_t)(r - c->rows) : UINT32_MAX;
    return r;
}

static double median3(const double *v) {
    double lo = fmin(v[0], v[1]), hi = fmax(v[0], v[1]);
    return fmax(lo, fmin(hi, v[2]));
}

/* Refines the slot's row with the median of its last three runs' means
 * (a run the host preempted moves nothing), or makes the row from the
 * first run where calibration never measured the shape. */
static void refine_slot(erg_session *s, erg_auto_refine_slot *sl, erg_profile_phase phase) {
    erg_device_costs *c = &s->sched->costs[sl->target];
    double mean = sl->sum / sl->n_timed;
    sl->recent[sl->n_recent++ % 3] = mean;
    erg_cost_row *r = slot_row(c, sl, phase);
    if (r) {
        if (sl->n_recent < 3)
            return;
        erg_cost_refine_row(c, r, median3(sl->recent));
        if (c->shares_host)
            return; /* its cached rows stay as they were (host_rows): nothing to write */
    } else {
        erg_cost_row row = {.key = sl->key, .phase = (uint8_t)phase, .op = sl->op,
                            .seconds = mean, .bytes = sl->bytes, .flops = sl->flops};
        bool added = false;
        erg_diag why;
        if (erg_cost_add_row(c, &s->model->rt->alloc, &row, &added, &why) != ERG_OK || !added)
            return; /* out of memory or rows: the shape stays priced by its op's rate */
    }
    s->sched->refined[sl->target] = true;
}

void erg_auto_refine(erg_session *s, const erg_graph *g, uint32_t nt, const double *node_seconds,
                     double wall_s) {
    erg_session_auto *a = s->sched;
    erg_profile_phase phase = nt > 1 ? ERG_PROFILE_PREFILL : ERG_PROFILE_DECODE;
    erg_auto_phase *ph = &a->phase[phase];
    if (!ph->structure || !ph->n_slots)
        return;
    ph->run_s += wall_s;
    for (size_t k = 0; k < ph->n_slots; k++) {
        ph->slots[k].sum = 0;
        ph->slots[k].n_timed = 0;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        int32_t k = ph->slot_of[i];
        /* 0 is a node that launched nothing; NAN a device without timers. */
        if (k < 0 || !(node_seconds[i] > 0) || !isfinite(node_seconds[i]))
            continue;
        ph->slots[k].sum += node_seconds[i];
        ph->slots[k].n_timed++;
    }
    for (size_t k = 0; k < ph->n_slots; k++)
        if (ph->slots[k].n_timed)
            refine_slot(s, &ph->slots[k], phase);
    double now = 0;
    for (size_t k = 0; k < ph->n_slots; k++) {
        erg_auto_refine_slot *sl = &ph->slots[k];
        const erg_cost_row *r = slot_row(&a->costs[sl->target], sl, phase);
        now += (r ? r->seconds : sl->placed_s) * sl->n_nodes;
    }
    /* With one target there is nowhere else to go. */
    if (s->n_targets < 2 || fabs(now - ph->placed_node_s) <= ERG_AUTO_DRIFT * ph->placed_node_s ||
        ph->run_s < ERG_AUTO_REPLACE_RATIO * ph->place_cost_s)
        return;
    ERG_LOGI(&s->model->rt->log,
             "auto: the placed %s nodes now take %.3f ms by their refined costs (%.3f ms when "
             "placed); placing again",
             erg_profile_phase_name(phase), now * 1e3, ph->placed_node_s * 1e3);
    ph->structure = 0;
    forget_fusion(a, nt);
}

erg_status erg_auto_refine_begin(erg_session *s, erg_diag *diag) {
    erg_session_auto *a = s->sched;
    for (size_t i = 0; i < a->n_costs; i++) {
        const erg_device_costs *c = &a->costs[i];
        if (!c->shares_host || !c->n_rows)
            continue;
        a->calibrated[i] = erg_malloc(&s->model->rt->alloc, c->n_rows * sizeof *c->rows);
        if (!a->calibrated[i])
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "cost table of %s", c->device);
        memcpy(a->calibrated[i], c->rows, c->n_rows * sizeof *c->rows);
        a->n_calibrated[i] = c->n_rows;
    }
    return ERG_OK;
}

/* What goes back to the cache for a target on the host's cores: its
 * calibrated rows, and the rows of shapes calibration never measured as
 * this session refined them. Its refined times of calibrated shapes stay
 * with the session: they followed this session's load on the host, which
 * the next one does not share, and a shape the placement then left is
 * never run again to correct them. ERG_OUT_OF_MEMORY: nothing kept. */
static erg_status host_rows(const erg_session_auto *a, size_t i, const erg_allocator *al,
                            erg_device_costs *out) {
    const erg_device_costs *c = &a->costs[i];
    const erg_device_costs calibrated = {.rows = a->calibrated[i],
                                         .n_rows = a->n_calibrated[i]};
    *out = *c;
    out->cap_rows = c->n_rows + 1;
    out->rows = erg_malloc(al, out->cap_rows * sizeof *c->rows);
    if (!out->rows)
        return ERG_OUT_OF_MEMORY;
    for (size_t k = 0; k < c->n_rows; k++) {
        const erg_cost_row *was = erg_cost_find_row(&calibrated, c->rows[k].key, c->rows[k].phase);
        out->rows[k] = was ? *was : c->rows[k];
    }
    return ERG_OK;
}

void erg_auto_refine_store(erg_session *s) {
    erg_session_auto *a = s->sched;
    const erg_allocator *al = &s->model->rt->alloc;
    erg_device_costs refined[ERG_PART_MAX_DEVICES];
    bool owned[ERG_PART_MAX_DEVICES] = {false};
    size_t n = 0;
    for (size_t i = 0; i < a->n_costs; i++) {
        if (!a->refined[i] || a->failed[i])
            continue;
        if (!a->calibrated[i])
            refined[n++] = a->costs[i];
        else if (host_rows(a, i, al, &refined[n]) == ERG_OK)
            owned[n++] = true;
    }
    if (n)
        erg_rt_calibration_update(s->model, refined, n);
    for (size_t k = 0; k < n; k++)
        if (owned[k])
            erg_device_costs_free(&refined[k], al);
    for (size_t i = 0; i < ERG_PART_MAX_DEVICES; i++)
        erg_free(al, a->calibrated[i]);
}
