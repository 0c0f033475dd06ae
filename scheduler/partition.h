/*
 * partition.h: the exact placement of a graph's nodes on devices for an
 * objective (EDP, latency or energy), optionally under a power cap or a
 * latency limit.
 *
 * The problem is a DAG in schedule order: node i has a time and an energy on
 * each device that can run it, and reads the outputs of earlier nodes
 * (edges). An edge whose two ends run on different devices pays a transfer
 * (latency + bytes / bandwidth, and its energy). The executor runs the placed
 * subgraphs one after another, so the critical-path time of a placement is
 * the sum of its node and transfer times; its energy is the sum of their
 * energies.
 *
 * The solver is a dynamic program over the schedule: its state after node i
 * is the device of every node whose output a later node still reads (the
 * live frontier; on a chain, just the current node), and per state it keeps
 * the Pareto front of (time, energy) — plus (energy - cap x time) under a
 * power cap, so that no label that could still meet the cap is dropped.
 * Every objective is monotone in time and energy, so the optimum survives
 * the pruning. Scalar passes (one label per state: least latency, least
 * energy, least energy + lambda x time) run first; they are exact for latency
 * and energy and give an incumbent for EDP that, with a lower bound of what
 * the remaining nodes add, cuts labels that cannot win. Cost: O(n * D^(w+1))
 * per scalar pass and O(n * D^(w+1) * P) for the front pass, for n nodes, D
 * devices, a frontier of at most w nodes and fronts of at most P labels; the
 * front pass has a label budget (erg_part_result.exact says whether it was
 * enough). docs/scheduler.md has measured figures.
 */
#ifndef ERG_SCHEDULER_PARTITION_H
#define ERG_SCHEDULER_PARTITION_H

#include "base/alloc.h"
#include "base/diag.h"

#include <stdbool.h>
#include <stdint.h>

/* The most devices one partition places on. */
#define ERG_PART_MAX_DEVICES 8

typedef struct erg_part_edge {
    uint32_t from;   /* the producing node, < the consumer */
    uint64_t bytes;  /* what crosses if the two run on different devices */
} erg_part_edge;

typedef struct erg_part_problem {
    size_t n_nodes;
    size_t n_devices;          /* 1 .. ERG_PART_MAX_DEVICES */
    const double *seconds;     /* [i * n_devices + d]: node i on device d */
    const double *joules;      /* [i * n_devices + d] */
    const bool *runs;          /* [i * n_devices + d]: d can run node i */
    const uint32_t *edge_start; /* n_nodes + 1: node i reads edges[edge_start[i] .. [i+1]) */
    const erg_part_edge *edges;
    /* Transfers from device a to device b, [a * n_devices + b] (the
     * diagonal is never charged). */
    const double *xfer_latency_s;
    const double *xfer_s_per_byte;
    const double *xfer_watts;  /* power drawn while a transfer runs */
} erg_part_problem;

typedef struct erg_part_goal {
    erg_policy policy;         /* ERG_POLICY_DEFAULT means EDP */
    double power_cap_w;        /* average power (energy / time) at most this; 0: none */
    double latency_limit_s;    /* time at most this; 0: none */
} erg_part_goal;

typedef struct erg_part_result {
    double seconds;            /* the chosen placement's predicted time */
    double joules;             /* and energy */
    size_t max_states;         /* the most frontier states at one step */
    size_t n_labels;           /* labels kept over all steps */
    /* Whether the placement is proven optimal. The exact pass keeps at most
     * a budget of labels; past it the best of the scalar passes stands
     * (optimal among the placements on the convex hull of (time, energy)),
     * and lower_bound bounds its gap: objective / lower_bound - 1. */
    bool exact;
    double lower_bound;        /* of the objective over all placements */
} erg_part_result;

/* Fills assign[i] with the device of node i that minimises the goal.
 * ERG_UNSUPPORTED (naming the node) when no device runs a node, or when no
 * placement meets the cap or the limit (naming the closest one). */
erg_status erg_partition(const erg_part_problem *p, const erg_part_goal *goal,
                         const erg_allocator *alloc, uint8_t *assign, erg_part_result *result,
                         erg_diag *diag);

/* Time and energy of a given placement under the same model. */
void erg_partition_cost(const erg_part_problem *p, const uint8_t *assign, double *seconds,
                        double *joules);

/* The value the policy minimises for (time, energy). */
double erg_partition_objective(erg_policy policy, double seconds, double joules);

#endif
