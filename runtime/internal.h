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
    pthread_mutex_t lock;          /* guards per_device */
    char last_error[ERG_DIAG_MAX];
};

struct erg_session {
    erg_model *model;
    erg_rt_device *device;
    erg_backend_exec *exec;
    /* Nodes the device cannot run go to the CPU (made on first need). */
    erg_rt_device *fallback;
    erg_backend_exec *fallback_exec;
    uint8_t *assign;            /* the placement of each node of the step */
    size_t assign_cap;
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

/* The model's weights on dev, prepared by the device's backend on first use. */
erg_status erg_rt_model_weights(erg_model *m, erg_rt_device *dev, const erg_model_weights **out,
                                erg_diag *diag);

#endif
