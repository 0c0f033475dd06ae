/*
 * sim.h: npu-sim, the reference NPU plugin. It computes exactly what an
 * int8 NPU computes (per-channel int8/int4 weights, per-token int8
 * activations, int32 accumulation, requantisation) and reports time and
 * energy from a parameterised model read from a JSON profile. Every number
 * it reports is simulated, and says so.
 */
#ifndef ERG_NPU_SIM_H
#define ERG_NPU_SIM_H

#include "erg/erg_plugin.h"

#include <stdbool.h>

#define SIM_MAX_PROFILES 8

typedef struct sim_profile {
    char name[64];
    char description[128];
    double mac_units;       /* int8 MACs per cycle */
    double clock_hz;
    double sram_bytes;
    double sram_bw;         /* bytes/s */
    double dram_bw;         /* bytes/s: weights that do not fit in SRAM, host transfers */
    double dma_latency_s;   /* per transfer and per op launch */
    double active_w, idle_w;
    int weight_bits;        /* 8 or 4 */
    int prefill_chunk;      /* activation rows are padded to a multiple */
    double memory_bytes;
} sim_profile;

/* A weight matrix in the device's format: N rows of K int8 values (int4
 * values are kept one per byte, counted as half a byte), one scale per row. */
typedef struct sim_weights {
    struct sim_weights *next;
    const void *source;     /* the host data it was made from; NULL if read from a blob */
    uint64_t hash;          /* of those bytes */
    int64_t k, n;
    uint32_t gguf_type, dtype;
    int8_t *q;
    float *scale;
    double bytes;           /* as the device stores it */
} sim_weights;

struct erg_plugin_device {
    sim_profile prof;
    sim_weights *weights;
    double weight_bytes;
    double busy_s, active_j;
    double opened_at;
    /* Host time spent inside execute and copies: the simulator computing,
     * which stands for busy_s of device time, so it is no idle time. */
    double in_calls_s;
};

struct erg_plugin_buffer {
    erg_plugin_device *dev;
    unsigned char *bytes;
    size_t size;
    bool imported;          /* host memory the caller owns */
};

typedef struct sim_op {
    erg_plugin_op_kind kind;
    uint32_t n_src, src[4], dst;
    float f0;
    const sim_weights *w;   /* MATMUL: src0 */
    double seconds;         /* modelled time */
} sim_op;

typedef struct sim_tensor {
    int64_t ne[4];
    size_t nbytes;
    bool constant;
} sim_tensor;

struct erg_plugin_compiled {
    erg_plugin_device *dev;
    uint32_t n_tensors, n_ops;
    sim_tensor *tensors;
    sim_op *ops;
    double seconds;         /* modelled time of one execute */
};

struct erg_plugin_fence {
    bool signaled;
};

/* The host's services (set by the entry point). */
extern const erg_plugin_host *sim_host;

void *sim_alloc(size_t size);
void sim_free(void *p);
void sim_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Profiles: every *.json in ERG_NPU_SIM_PROFILES, else <plugin_dir>/npu-sim. */
erg_plugin_result sim_profiles(const sim_profile **out, uint32_t *count, char *err);
/* Parses one profile (JSON text). */
erg_plugin_result sim_profile_parse(const char *text, sim_profile *p, char *err);

/* Op support. */
erg_plugin_result sim_op_support(erg_plugin_device *dev, const erg_plugin_graph *g,
                                 erg_plugin_support *out);

/* The device's copy of a weight matrix, made on first use. */
erg_plugin_result sim_weights_get(erg_plugin_device *dev, const erg_plugin_tensor *t,
                                  const sim_weights **out, bool *converted, char *err);
void sim_weights_free_all(erg_plugin_device *dev);

erg_plugin_result sim_compile(erg_plugin_device *dev, const erg_plugin_graph *g,
                              erg_plugin_compiled **out, erg_plugin_compile_stats *stats,
                              char *err);
void sim_compiled_free(erg_plugin_compiled *c);
/* Compiled graphs as bytes (erg caches them) and back. */
erg_plugin_result sim_serialize(const erg_plugin_compiled *c, void *buf, size_t cap,
                                size_t *size, char *err);
erg_plugin_result sim_deserialize(erg_plugin_device *dev, const void *buf, size_t size,
                                  erg_plugin_compiled **out, char *err);

/* The performance model. */
double sim_matmul_seconds(const sim_profile *p, const erg_plugin_device *dev, int64_t k,
                          int64_t n, int64_t m);
double sim_elementwise_seconds(const sim_profile *p, int64_t elements, uint32_t n_operands);
double sim_transfer_seconds(const sim_profile *p, size_t bytes);
/* Adds modelled busy time (and its active energy) to the device. */
void sim_account(erg_plugin_device *dev, double seconds);
/* Adds the host time since t0 (sim_host's clock) to the device's in-call time. */
void sim_in_call(erg_plugin_device *dev, double t0);

/* Memory and fences. */
erg_plugin_result sim_buffer_alloc(erg_plugin_device *dev, size_t size, uint32_t kind,
                                   erg_plugin_buffer **out, char *err);
erg_plugin_result sim_buffer_import_host(erg_plugin_device *dev, void *ptr, size_t size,
                                         erg_plugin_buffer **out, char *err);
void sim_buffer_free(erg_plugin_buffer *b);
erg_plugin_result sim_copy_to_device(erg_plugin_buffer *dst, size_t offset, const void *src,
                                     size_t size, char *err);
erg_plugin_result sim_copy_from_device(erg_plugin_buffer *src, size_t offset, void *dst,
                                       size_t size, char *err);
erg_plugin_result sim_fence_create(erg_plugin_device *dev, erg_plugin_fence **out, char *err);
erg_plugin_result sim_fence_wait(erg_plugin_fence *f, uint64_t timeout_ns, char *err);
void sim_fence_destroy(erg_plugin_fence *f);

/* The integer arithmetic. */
void sim_matmul(const sim_weights *w, const float *x, float *y, int64_t m);
erg_plugin_result sim_execute(erg_plugin_compiled *c, erg_plugin_buffer *const *bindings,
                              uint32_t n_bindings, erg_plugin_fence *wait,
                              erg_plugin_fence *signal, char *err);
/* Each op's modelled seconds (ABI 1.1 op_times). */
erg_plugin_result sim_op_times(const erg_plugin_compiled *c, double *seconds, uint32_t n_ops,
                               char *err);

#endif
