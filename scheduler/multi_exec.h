/*
 * multi_exec.h: runs a graph placed on several devices: each run of
 * consecutive nodes on one device is a subgraph, compiled and executed on
 * that device's executor in order; an execute returns when its work is done,
 * so the next subgraph reads finished results. Tensors live in one
 * host-addressable memory that every device uses (its own host_alloc, or
 * registered with host_register); a device with memory of its own copies
 * what it reads and writes (and counts it).
 */
#ifndef ERG_SCHEDULER_MULTI_EXEC_H
#define ERG_SCHEDULER_MULTI_EXEC_H

#include "backends/backend.h"

typedef struct erg_exec_target {
    const erg_backend *backend;
    erg_backend_exec *exec;
} erg_exec_target;

/* targets[assign[i]] runs node i. Stats add up over the subgraphs;
 * *n_subgraphs counts them. Where some subgraphs ran on a simulated device
 * (simulated_seconds), device_seconds is instead the measured time of the
 * rest: the run's wall time less the host time spent simulating, so that
 * device_seconds + simulated_seconds is the run's time had the simulated
 * device been real. Where node_seconds is not NULL, node_seconds[i] is
 * node i's time from its device's timers (NAN where a device has none; 0
 * for views). On an error, *failed is the target whose compile or execute
 * failed. */
erg_status erg_multi_run(const erg_graph *g, const uint8_t *assign, const erg_exec_target *targets,
                         erg_exec_stats *stats, double *node_seconds, uint32_t *n_subgraphs,
                         uint8_t *failed, erg_diag *diag);

#endif
