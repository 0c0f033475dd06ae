/*
 * internal.h: the objects behind the public handles. Thin glue: the runtime
 * owns the allocator, logger and devices; a model owns its loaded data; a
 * session owns a KV cache, an executor on one device and the per-step graph.
 */
#ifndef ERG_RUNTIME_INTERNAL_H
#define ERG_RUNTIME_INTERNAL_H

#include "backends/backend.h"
#include "base/log.h"
#include "graph/plan_memory.h"
#include "hal/discover/discover.h"
#include "model/build_graph.h"
#include "scheduler/cost_model.h"
#include "scheduler/partition.h"

#include "erg/erg.h"

#include <pthread.h>

typedef struct erg_rt_device {
    const erg_backend *backend;
    size_t backend_index;     /* device index within its backend */
    erg_device_info info;
    erg_backend_device *open; /* opened on first use, NULL before */
} erg_rt_device;

/* The accelerators the kernel exposes, and the erg device driving each. */
typedef struct erg_rt_accels {
    erg_accel_list list;
    char claimed_by[ERG_ACCEL_MAX][32]; /* an erg device name, or "" */
    char notes[ERG_ACCEL_NOTE_MAX * ERG_ACCEL_NOTE_LEN]; /* list.notes, a line each */
} erg_rt_accels;

/* What one backend found when the runtime enumerated devices. */
typedef struct erg_rt_backend_note {
    const char *name;
    size_t n_devices;
    char note[ERG_DIAG_MAX]; /* why it found no device, or "" */
} erg_rt_backend_note;

struct erg_runtime {
    erg_allocator alloc;
    erg_logger log;
    int n_threads;
    bool cpu_no_repack;
    char cpu_features[16];
    char default_device[32];
    erg_rt_device *devices;
    size_t n_devices;
    erg_rt_backend_note *backend_notes; /* one per registered backend */
    size_t n_backends;
    erg_rt_accels *accels;       /* found at create */
    pthread_mutex_t device_lock; /* guards opening devices */
    char last_error[ERG_DIAG_MAX];
};

/* A model's weights as one device holds them (made on first use). */
typedef struct erg_model_weights {
    erg_backend_weights *weights; /* NULL: the device reads the mapped file */
    bool prepared;
    size_t bytes;
    double seconds;
} erg_model_weights;

struct erg_model {
    erg_runtime *rt;
    erg_model_data *data;
    erg_weight_desc *weight_descs; /* per GGUF tensor: what backends prepare from */
    erg_model_weights *per_device; /* per runtime device */
    pthread_mutex_t lock;          /* guards per_device, vocab, auto_extra_handover_s and
                                    * the calibration cache's refined writes */
    /* What auto sessions of this model learned about handovers (see
     * erg_session_auto.extra_handover_s), so the next one starts there. */
    double auto_extra_handover_s;
    struct erg_vocab *vocab;       /* the tokenizer, loaded on first use (runtime/text.c) */
    char last_error[ERG_DIAG_MAX];
};

/* A device a session places nodes on, with its executor. */
typedef struct erg_session_target {
    erg_rt_device *device;
    erg_backend_exec *exec;
} erg_session_target;

/* Device "auto": each device's calibrated costs and the goal; a step's
 * placement is kept per phase while the graph's structure stays the same. */
/* A node shape of a phase's placed graph on its target (auto_refine.c):
 * a real run's times of its nodes are averaged into the target's cost row
 * for it, made where calibration never measured the shape. */
typedef struct erg_auto_refine_slot {
    uint8_t target;
    erg_op op;
    uint64_t key;               /* erg_cost_node_key */
    uint32_t row;               /* the row's index when last seen (rows may move) */
    double bytes, flops;        /* what one node moves and computes */
    double placed_s;            /* one node's predicted seconds when placed */
    uint32_t n_nodes;           /* nodes of the graph with this shape */
    double sum;                 /* this run's times of them */
    uint32_t n_timed;
    /* The means of its last three runs (a ring): the row
     * takes their median, so one run the host preempted moves nothing. */
    double recent[3];
    uint32_t n_recent;
} erg_auto_refine_slot;

typedef struct erg_auto_phase {
    uint64_t structure;         /* hash of the graph's ops, 0: none yet */
    uint8_t *assign;
    size_t cap;
    erg_part_result result;
    /* Per node, its slot (-1: not refined), and the slots. */
    int32_t *slot_of;
    size_t cap_slot_of;
    erg_auto_refine_slot *slots;
    size_t n_slots, cap_slots;
    double placed_node_s;       /* the slots' nodes' seconds when placed */
    /* What placing it took (with its fusion decision), and the wall time
     * its steps have run since: placing again waits until the second is
     * ERG_AUTO_REPLACE_RATIO times the first. */
    double place_cost_s, run_s;
} erg_auto_phase;

/* Refinement (auto_refine.c): the relative change of the placed nodes'
 * time that places a phase again, and how much longer than a placement
 * took its steps must have run before it is placed again (placing again
 * then costs at most 1/ERG_AUTO_REPLACE_RATIO of the run time). */
#define ERG_AUTO_DRIFT 0.10
#define ERG_AUTO_REPLACE_RATIO 20
/* A fusion variant whose objective is within this of the chosen one's
 * opens its devices at create too: calibration's minima and rate fits miss
 * real runs by 20-30% on this machine (bench/RESULTS.md), enough to turn
 * such a choice. */
#define ERG_AUTO_NEAR_TIE 0.5

typedef struct erg_session_auto {
    erg_device_costs costs[ERG_PART_MAX_DEVICES]; /* per target (per device while planning) */
    size_t n_costs;
    erg_part_goal goal;
    uint64_t weight_bytes;      /* the model's matmul weights */
    erg_auto_phase phase[ERG_PROFILE_PHASES];
    bool failed[ERG_PART_MAX_DEVICES]; /* per target: failed during the session */
    /* Refinement from real runs: a handover's cost beyond calibration (the
     * switch between devices that share cores), and the value the current
     * placements were made with. */
    double extra_handover_s, placed_with_s;
    /* Refinement of node costs from real runs: each step's node times
     * (from the devices' timers), and per target whether a run changed
     * what the calibration cache keeps of it (auto_refine.c), which the
     * session then writes back. */
    double *node_s;
    size_t cap_node_s;
    double fusion_cost_s;       /* fusion decisions since the last placement */
    bool refined[ERG_PART_MAX_DEVICES];
    /* Per target on the host's cores: its rows as calibrated (or cached),
     * which is what goes back to the cache for them, with the rows of new
     * shapes added (erg_auto_refine_store). */
    erg_cost_row *calibrated[ERG_PART_MAX_DEVICES];
    size_t n_calibrated[ERG_PART_MAX_DEVICES];
    char inject_device[32];     /* ERG_SCHED_FAIL's device, or "" */
    long inject_countdown;      /* uses left before it fails */
    /* Per step size (tokens): whether its matmuls stay unfused, so that a
     * device without fused kernels (an NPU) can take them; decided on the
     * size's first step by placing its graph both ways. */
    struct {
        uint32_t n_tokens;
        bool unfused;
    } fusion[8];
    size_t n_fusion, next_fusion;
    int forced_fusion;          /* while deciding: 0 fused, 1 unfused; -1 none */
    erg_dtype kv_dtype;
} erg_session_auto;

struct erg_session {
    erg_model *model;
    /* The session's device (auto: the one whose memory holds the KV cache
     * and activations) and its executor: targets[0]. */
    erg_rt_device *device;
    erg_backend_exec *exec;
    /* Explicit device: [0] and the CPU for what it cannot run (made on
     * first need). Auto: the devices the placement uses. */
    erg_session_target targets[ERG_PART_MAX_DEVICES];
    size_t n_targets;
    erg_session_auto *sched;    /* NULL for an explicit device */
    uint8_t *assign;            /* the placement of each node of the step */
    size_t assign_cap;
    uint32_t *placed_nodes;     /* per runtime device: non-view nodes of the last eval */
    bool strict_device;         /* fallback is an error instead */
    bool no_fusion;             /* run the graph as built */
    bool poison_freed;          /* NaN into memory the planner frees (debugging) */
    bool reference_math;
    uint32_t n_ctx, n_batch, n_past;
    erg_kv_cache kv;
    void *kv_buffer;
    size_t kv_bytes;
    erg_graph graph;
    erg_memory_plan plan;
    void *arena;
    size_t arena_bytes;
    erg_session_stats stats;
    char last_error[ERG_DIAG_MAX];
};

/* Reads the caller's options struct `in` (whose first field is struct_size)
 * into `out` (out_size bytes, zeroed first), so callers built against older
 * or newer headers both work. NULL in means all defaults. */
erg_status erg_rt_read_options(const void *in, void *out, size_t out_size, const char *type_name,
                               erg_diag *diag);

/* Writes an info struct back to a caller whose struct is out_size bytes:
 * the fields both know, zeros past ours, and the caller's struct_size. */
void erg_rt_copy_out(void *out, size_t out_size, const void *in, size_t in_size);

/* Copies a diag's sentence into a handle's last-error buffer and returns st. */
erg_status erg_rt_set_error(char *last_error, erg_status st, const erg_diag *diag);

/* Finds a device by name ("cpu", "auto", "vulkan:1" …) and opens it. */
erg_status erg_rt_device_acquire(erg_runtime *rt, const char *name, erg_rt_device **out,
                                 erg_diag *diag);

erg_backend_env erg_rt_backend_env(const erg_runtime *rt);

/* Describes the model's weights for the backends (at load) and frees every
 * device's copy (at destroy). */
erg_status erg_rt_model_describe_weights(erg_model *m, erg_diag *diag);
void erg_rt_model_free_weights(erg_model *m);

/* The model's tokenizer, loaded on first use; freed at destroy. */
erg_status erg_rt_model_vocab(erg_model *m, const struct erg_vocab **out, erg_diag *diag);
void erg_rt_model_free_vocab(erg_model *m);

/* Calibration (session_auto.c): each runtime device's costs for the model,
 * from the cache or measured now (and cached). */
typedef enum erg_calib_outcome {
    ERG_CALIB_CACHED,
    ERG_CALIB_MEASURED,
    ERG_CALIB_LEFT_OUT,      /* the device cannot run the whole graph, or has no timers */
    ERG_CALIB_OVER_BUDGET,   /* nothing measured: the time budget ran out (not cached) */
    ERG_CALIB_PARTIAL        /* measured in part: the budget ran out (cached flagged so) */
} erg_calib_outcome;

typedef struct erg_calib_request {
    const bool *recalibrate; /* per device: measure even if cached; NULL: none */
    double budget_s;         /* 0: none; devices are not started past it */
    /* The budget also stops a started device between its runs, keeping
     * what it measured (flagged partial), and a partial entry in the cache
     * is measured again when 1.5 times the seconds it had are left. */
    bool cut_short;
    void (*progress)(void *user, size_t done, size_t total, const char *device);
    void *user;
} erg_calib_request;

/* The calibration budget of an auto session's create: ERG_CALIB_BUDGET_MS
 * (0: no limit), else ERG_CALIB_BUDGET_DEFAULT_MS; ERG_INVALID_ARGUMENT
 * naming the value when it is not whole milliseconds. */
#define ERG_CALIB_BUDGET_DEFAULT_MS 20000
erg_status erg_rt_calib_budget(double *budget_s, erg_diag *diag);

/* Fills costs[0 .. n) for rt->devices[0 .. n) (n <= ERG_PART_MAX_DEVICES);
 * req may be NULL. */
erg_status erg_rt_calibration(erg_model *m, bool reference_math, const erg_calib_request *req,
                              erg_device_costs *costs, erg_calib_outcome *outcome, size_t n,
                              erg_diag *diag);

/* Device "auto" (session_auto.c): loads or makes each device's calibration,
 * places the step graphs, opens the devices the placement uses as the
 * session's targets and puts the KV cache in memory they all use. */
erg_status erg_session_auto_create(erg_session *s, const erg_session_options *o,
                                   erg_dtype kv_dtype, erg_diag *diag);
void erg_session_auto_free(erg_session *s);
/* The placement of a step's graph of nt tokens (kept while its structure
 * stays the same); adds the prediction to the session's stats. */
erg_status erg_session_auto_assign(erg_session *s, const erg_graph *g, uint32_t nt,
                                   const uint8_t **assign, erg_diag *diag);
/* Test hook (ERG_SCHED_FAIL=DEVICE[:N]): the named device fails its Nth
 * use (default 1) with ERG_DEVICE, *failed naming its target. */
erg_status erg_session_auto_injected_failure(erg_session *s, const erg_graph *g,
                                             const uint8_t *assign, uint8_t *failed,
                                             erg_diag *diag);
/* Refines the handover cost from a step (g placed by assign) that ran in
 * wall_s over n_subgraphs, with es its stats and node_seconds its node
 * times: the host time beyond the nodes' own that calibration did not
 * predict; a change of more than a fifth that matters to a phase (more
 * than ERG_AUTO_DRIFT of its time) places it again, paced as refinement
 * is. */
void erg_session_auto_observe(erg_session *s, const erg_graph *g, const uint8_t *assign,
                              const double *node_seconds, double wall_s,
                              const erg_exec_stats *es, uint32_t n_subgraphs);
/* Refinement of node costs (auto_refine.c). At create, once the targets
 * are set: keeps the calibrated rows of those on the host's cores. */
erg_status erg_auto_refine_begin(erg_session *s, erg_diag *diag);
/* After a step is placed: maps
 * its nodes to the cost rows that priced them. */
erg_status erg_auto_refine_map(erg_session *s, erg_auto_phase *ph, const erg_graph *g,
                               erg_profile_phase phase, erg_diag *diag);
/* After a step ran (in wall_s) with node_seconds from the devices'
 * timers: averages them into the rows; nodes that together take
 * ERG_AUTO_DRIFT longer or shorter than when placed place the next steps
 * of the phase again, once they have run long enough to pay for it. */
void erg_auto_refine(erg_session *s, const erg_graph *g, uint32_t nt, const double *node_seconds,
                     double wall_s);
/* Writes refined costs back to the calibration cache (at session free);
 * frees the calibrated rows. */
void erg_auto_refine_store(erg_session *s);
/* Replaces the calibration cache's entries for costs[0 .. n) (same
 * identity) with them; a cache that cannot be read or written is left as
 * it is, with a warning. */
void erg_rt_calibration_update(erg_model *m, const erg_device_costs *costs, size_t n);
/* Drops a failed target: logs it, counts it, places its work elsewhere;
 * ERG_DEVICE when no device is left. */
erg_status erg_session_auto_drop(erg_session *s, uint8_t target, erg_diag *diag);
/* Fusion legality under auto: some target ran the fused op in calibration. */
bool erg_session_auto_runs(void *session, const erg_graph *g, const erg_node *n);
/* The KV cache in memory of the session's device. */
erg_status erg_session_alloc_kv(erg_session *s, erg_dtype dtype, erg_diag *diag);
/* Opens an executor on dev (with the model's weights there) as a target. */
erg_status erg_session_add_target(erg_session *s, erg_rt_device *dev, erg_diag *diag);
/* Makes memory of the session's device usable by its other targets. */
erg_status erg_session_register(erg_session *s, void *ptr, size_t size, erg_diag *diag);
void erg_session_unregister(erg_session *s, void *ptr);

/* The model's weights on dev, prepared by the device's backend on first use. */
erg_status erg_rt_model_weights(erg_model *m, erg_rt_device *dev, const erg_model_weights **out,
                                erg_diag *diag);

#endif
