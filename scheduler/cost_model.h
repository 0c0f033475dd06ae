/*
 * cost_model.h: what a node costs on a device, from calibration runs of the
 * model's own step graphs, and what handing over between devices costs.
 *
 * Per device: the seconds of each node shape measured (keyed by op and the
 * dtypes and shapes of its sources and result, per phase); for a shape not
 * measured, the same op's measured rate: per FLOP in prefill (compute-bound)
 * and per byte in decode (memory-bound). Energy is busy seconds x the
 * device's power above idle (an estimate from its power profile, or a
 * simulator's figure: never a measurement here).
 *
 * Each node also pays the device's launch overhead per node, measured.
 * Transfers: a subgraph on a device pays its handover (submit and wait,
 * measured), and bytes cross at copy_s_per_byte where a device has memory
 * of its own; devices that map host memory read it in place (zero).
 * Devices that run on the host's cores (the CPU, llvmpipe, PoCL) share
 * them: the executor runs subgraphs one after another, so time adds up and
 * using them together adds no capacity; shares_host records it.
 */
#ifndef ERG_SCHEDULER_COST_MODEL_H
#define ERG_SCHEDULER_COST_MODEL_H

#include "scheduler/profiler.h"

typedef struct erg_cost_row {
    uint64_t key;             /* erg_cost_node_key */
    uint8_t phase;            /* erg_profile_phase */
    erg_op op;
    double seconds;           /* one run of the node, the least measured */
    double bytes, flops;      /* what the node moves and computes */
} erg_cost_row;

typedef struct erg_device_costs {
    char device[32];          /* "cpu", "vulkan:0" */
    char identity[320];       /* backend, vendor, description, driver, erg version */
    double busy_watts;        /* power above idle while it works */
    bool simulated;           /* times and power from a simulator's model */
    bool shares_host;         /* runs on the host's CPU cores */
    /* Host time a node costs beyond its device time (recording and
     * launching its kernel), and a subgraph's fixed cost (submit and wait):
     * an eval's wall time less its node times, per node. */
    double node_overhead_s;
    double handover_s;
    double copy_s_per_byte;   /* 0 where the device reads host memory in place */
    /* Calibration cut short by its time budget: the rows are what it
     * measured in the partial_s seconds it had; measured again by a
     * session that has more time (runtime/calibration.c). */
    bool partial;
    double partial_s;
    erg_cost_row *rows;       /* sorted by (key, phase) once calibration ends */
    size_t n_rows, cap_rows;
} erg_device_costs;

void erg_device_costs_free(erg_device_costs *c, const erg_allocator *a);

/* A node's shape key: op, source and result dtypes and extents. */
uint64_t erg_cost_node_key(const erg_graph *g, const erg_node *n);

/* Records one run of g's non-view nodes (seconds[i] for node i), keeping
 * the least time per shape. */
erg_status erg_cost_record(erg_device_costs *c, const erg_allocator *a, const erg_graph *g,
                           const double *seconds, erg_profile_phase phase, erg_diag *diag);
/* The same for node n of g alone. */
erg_status erg_cost_record_node(erg_device_costs *c, const erg_allocator *a, const erg_graph *g,
                                const erg_node *n, double seconds, erg_profile_phase phase,
                                erg_diag *diag);

/* Sorts the rows for lookups. */
void erg_cost_finish(erg_device_costs *c);

/* Whether calibration ran op on the device (it never gets an op it did not). */
bool erg_cost_knows_op(const erg_device_costs *c, erg_op op);

/* The row of a shape key in the phase, or NULL where none was measured. */
erg_cost_row *erg_cost_find_row(const erg_device_costs *c, uint64_t key, erg_profile_phase phase);

/* Adds the row of a shape measured in a real run (rows stay sorted, so
 * earlier row pointers and indices are stale after it). A device's table
 * keeps at most ERG_COST_MAX_ROWS rows; past that, *added is false. */
#define ERG_COST_MAX_ROWS 4096
erg_status erg_cost_add_row(erg_device_costs *c, const erg_allocator *a, const erg_cost_row *row,
                            bool *added, erg_diag *diag);

/* Refinement from real runs: blends a time of a shape (the caller's
 * robust figure over recent runs) into its row of c (weight
 * ERG_COST_REFINE_WEIGHT for the new time). On a device with hardware of
 * its own (!shares_host), a time more than ERG_COST_REFINE_JUMP times off
 * is taken whole: the device changed (a throttled or shared link). A
 * device on the host's cores is only blended: whatever else the host runs
 * slows it at times, which is no change of the device. Calibration keeps
 * the least time it saw; real runs share the machine with everything else
 * on it, so placement follows what they take. */
#define ERG_COST_REFINE_WEIGHT 0.25
#define ERG_COST_REFINE_JUMP 2.0
void erg_cost_refine_row(const erg_device_costs *c, erg_cost_row *r, double seconds);

/* Seconds node n of g takes on the device in the phase; INFINITY when the
 * calibration has nothing to go by. */
double erg_cost_node_seconds(const erg_device_costs *c, const erg_graph *g, const erg_node *n,
                             erg_profile_phase phase);

#endif
