/*
 * backend.h: the interface every backend implements, and the one wrapper per
 * call the rest of erg uses (arguments are checked and optional methods get
 * their defaults here, not in each backend).
 *
 * A backend enumerates its devices and opens one. An opened device creates
 * executors; an executor belongs to one session and runs graphs whose
 * tensors are bound: compile (pick kernels, size scratch memory) once per
 * graph build, then execute.
 */
#ifndef ERG_BACKENDS_BACKEND_H
#define ERG_BACKENDS_BACKEND_H

#include "base/log.h"
#include "graph/ir.h"

typedef struct erg_backend_env {
    const erg_allocator *alloc;
    const erg_logger *log;
    int n_threads;            /* CPU threads (> 0) */
    const char *cpu_features; /* forced CPU kernel level, or NULL */
    bool cpu_no_repack;       /* keep weights in the file's layout */
} erg_backend_env;

typedef struct erg_backend_device erg_backend_device;   /* defined by each backend */
typedef struct erg_backend_exec erg_backend_exec;       /* defined by each backend */
typedef struct erg_backend_weights erg_backend_weights; /* a device's copy of a model's weights */

/* One weight tensor of a model, as the graph refers to it (ext_id = index). */
typedef struct erg_weight_desc {
    erg_dtype dtype;
    int64_t ne[4];
    const void *data;  /* host address (the mapped file) */
    size_t row_bytes;  /* bytes between rows */
    bool matmul;       /* used as a matmul's weight matrix */
    bool lookup;       /* rows looked up (GET_ROWS: the token embedding) */
} erg_weight_desc;

typedef struct erg_exec_options {
    bool reference_math;                /* exact dequantisation, F32 activations */
    const erg_backend_weights *weights; /* the model's weights on this device, or NULL */
} erg_exec_options;

typedef struct erg_exec_stats {
    uint32_t n_dispatches;  /* kernels launched by the last execute */
    double device_seconds;  /* sum of the dispatches' device times; 0 without timers */
    uint64_t bytes_copied;  /* host <-> device-memory copies the execute made */
    double simulated_seconds; /* device time from a simulator's model (not measured) */
    double simulated_joules;  /* energy from a simulator's model */
} erg_exec_stats;

typedef struct erg_backend {
    const char *name;
    /* Devices this backend can use here; fills at most cap infos, sets *count
     * to the number found. A backend with no usable device returns ERG_OK
     * with *count = 0 and the reason in diag. */
    erg_status (*enumerate)(const erg_backend_env *env, erg_device_info *infos, size_t cap,
                            size_t *count, erg_diag *diag);
    erg_status (*open)(const erg_backend_env *env, size_t index, erg_backend_device **out,
                       erg_diag *diag);
    void (*close)(erg_backend_device *dev);
    /* Whether the device can run node n of g; the reason in why if not. */
    bool (*supports_node)(const erg_backend_device *dev, const erg_graph *g, const erg_node *n,
                          erg_diag *why);
    /* Optional: the device's own copy of the weights where it gains from one
     * (a faster layout, device memory), made once per model; executors read
     * it through erg_exec_options.weights. NULL: weights are read in place.
     * *bytes is the memory the copy holds. */
    erg_status (*weights_prepare)(erg_backend_device *dev, const erg_weight_desc *weights,
                                  size_t n, erg_backend_weights **out, size_t *bytes,
                                  erg_diag *diag);
    void (*weights_free)(erg_backend_weights *weights);
    /* Memory both the host and the device address, for KV caches,
     * activations, inputs and outputs (on a GPU: a mapped device buffer,
     * zero-copy where memory is unified). Non-weight tensors of a graph
     * that a GPU device runs must live in memory from its host_alloc; the
     * host may read and write it between executes. Weights are read from
     * the prepared copy (weights_prepare), found by the tensor's ext_id. */
    void *(*host_alloc)(erg_backend_device *dev, size_t size);
    void (*host_free)(erg_backend_device *dev, void *ptr);
    /* Makes host memory that another device's host_alloc returned usable by
     * this device's executors, as if its own host_alloc had returned it,
     * until host_unregister: so one arena serves a graph placed on several
     * devices. ERG_UNSUPPORTED, with the reason, where the device cannot
     * (the memory must then come from its own host_alloc). */
    erg_status (*host_register)(erg_backend_device *dev, void *ptr, size_t size, erg_diag *diag);
    void (*host_unregister)(erg_backend_device *dev, void *ptr);
    erg_status (*exec_create)(erg_backend_device *dev, const erg_exec_options *opts,
                              erg_backend_exec **out, erg_diag *diag);
    void (*exec_free)(erg_backend_exec *exec);
    erg_status (*compile)(erg_backend_exec *exec, const erg_graph *g, erg_diag *diag);
    erg_status (*execute)(erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                          erg_diag *diag);
    /* Optional: device time of each node in the last execute, from the
     * device's timers (seconds[i] for node i; 0 for views and nodes that
     * launched nothing). ERG_UNSUPPORTED without timers. */
    erg_status (*node_times)(const erg_backend_exec *exec, double *seconds, size_t n_nodes,
                             erg_diag *diag);
} erg_backend;

/* The backends built into this library, in registration order. */
const erg_backend *const *erg_backends(size_t *count);

/* Wrappers: check arguments, then dispatch. */
erg_status erg_backend_enumerate(const erg_backend *b, const erg_backend_env *env,
                                 erg_device_info *infos, size_t cap, size_t *count,
                                 erg_diag *diag);
erg_status erg_backend_open(const erg_backend *b, const erg_backend_env *env, size_t index,
                            erg_backend_device **out, erg_diag *diag);
/* Checks every non-view node of g against the device. */
erg_status erg_backend_check_graph(const erg_backend *b, const erg_backend_device *dev,
                                   const erg_graph *g, erg_diag *diag);
/* Checks that dev supports every node of g (ERG_UNSUPPORTED naming the node
 * otherwise), compiles and executes it on exec (an executor of dev). */
erg_status erg_backend_run(const erg_backend *b, const erg_backend_device *dev,
                           erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                           erg_diag *diag);

#endif
