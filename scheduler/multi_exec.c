/* Running placed subgraphs in order. */
#include "scheduler/multi_exec.h"

#include "hal/timer.h"

#include <math.h>

erg_status erg_multi_run(const erg_graph *g, const uint8_t *assign, const erg_exec_target *targets,
                         erg_exec_stats *stats, double *node_seconds, uint32_t *n_subgraphs,
                         uint8_t *failed, erg_diag *diag) {
    *stats = (erg_exec_stats){0};
    *n_subgraphs = 0;
    double t_begin = erg_time_s(), simulating_s = 0;
    for (size_t start = 0; start < g->n_nodes;) {
        size_t end = start + 1;
        while (end < g->n_nodes && assign[end] == assign[start])
            end++;
        const erg_exec_target *t = &targets[assign[start]];
        /* The subgraph shares the graph's tensors; only its nodes differ. */
        erg_graph sub = *g;
        sub.nodes = g->nodes + start;
        sub.n_nodes = end - start;
        sub.cap_nodes = sub.n_nodes;
        erg_exec_stats es = {0};
        *failed = assign[start];
        double t0 = erg_time_s();
        ERG_RETURN_IF_ERROR(t->backend->compile(t->exec, &sub, diag));
        ERG_RETURN_IF_ERROR(t->backend->execute(t->exec, &sub, &es, diag));
        if (es.simulated_seconds > 0)
            simulating_s += erg_time_s() - t0;
        erg_diag why;
        if (node_seconds && (!t->backend->node_times ||
                             t->backend->node_times(t->exec, node_seconds + start, sub.n_nodes,
                                                    &why) != ERG_OK))
            for (size_t i = start; i < end; i++)
                node_seconds[i] = NAN;
        stats->n_dispatches += es.n_dispatches;
        stats->device_seconds += es.device_seconds;
        stats->bytes_copied += es.bytes_copied;
        stats->simulated_seconds += es.simulated_seconds;
        stats->simulated_joules += es.simulated_joules;
        (*n_subgraphs)++;
        start = end;
    }
    /* Partly simulated: the real parts' time is the host's wall time less
     * what simulating took (the simulator's speed is no device's). */
    if (simulating_s > 0)
        stats->device_seconds = fmax(0, erg_time_s() - t_begin - simulating_s);
    return ERG_OK;
}
