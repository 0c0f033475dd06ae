/*
 * auto_place.h: the placement of a step's graph by cost: the graph's
 * non-view nodes become a partition problem (partition.h) whose costs come
 * from each device's calibration (cost_model.h); views go with the node
 * before them, as in placement.h.
 */
#ifndef ERG_SCHEDULER_AUTO_PLACE_H
#define ERG_SCHEDULER_AUTO_PLACE_H

#include "backends/backend.h"
#include "scheduler/cost_model.h"
#include "scheduler/partition.h"

typedef struct erg_auto_device {
    const erg_device_costs *costs;
    bool usable;              /* false: never placed on (failed, or left out) */
    uint64_t memory_bytes;    /* 0: no limit known */
    double extra_handover_s;  /* learned from real runs, added to its handover */
    /* Where set, asked about each node: a device whose op set is partial
     * (an NPU) runs only some shapes of an op it was calibrated on. */
    const erg_backend *backend;
    const erg_backend_device *open;
} erg_auto_device;

/* Places g's nodes on devices[0 .. n) for the goal: assign[i] indexes
 * devices. weight_bytes: the model's matmul weights, which a device that
 * runs matmuls must hold. result: predicted time and energy. */
erg_status erg_auto_place(const erg_graph *g, erg_profile_phase phase,
                          const erg_auto_device *devices, size_t n, uint64_t weight_bytes,
                          const erg_part_goal *goal, const erg_allocator *alloc, uint8_t *assign,
                          erg_part_result *result, erg_diag *diag);

#endif
