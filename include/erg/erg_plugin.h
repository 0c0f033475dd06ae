/*
 * erg_plugin.h: the versioned ABI a vendor backend (an NPU, DSP or GPU SDK
 * wrapped in a shared library) implements. docs/plugin-guide.md explains how
 * to write one; plugins/null/ is the skeleton to copy.
 *
 * A plugin is a shared library named liberg-plugin-<name>.so that exports one
 * symbol, ERG_PLUGIN_ENTRY_NAME:
 *
 *     const erg_plugin_api *erg_plugin_entry(uint32_t host_abi,
 *                                            const erg_plugin_host *host);
 *
 * It receives the host's ABI version and a table of host services, and
 * returns its function table, or NULL if it cannot serve that version.
 *
 * Versioning. ERG_PLUGIN_ABI(major, minor). A different major is a breaking
 * change: the host refuses the plugin (its message names both versions).
 * A minor release only appends fields to the end of structs and function
 * tables. Every struct that crosses the boundary starts with struct_size,
 * set by whoever fills it; neither side reads past the smaller of its own
 * size and struct_size. A NULL function means "not supported".
 *
 * Errors. Fallible functions return an erg_plugin_result and write one
 * sentence into err (ERG_PLUGIN_ERR_MAX bytes, NUL-terminated).
 *
 * Threads. The host calls one device from one thread at a time.
 */
#ifndef ERG_ERG_PLUGIN_H
#define ERG_ERG_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ERG_PLUGIN_ABI(major, minor) (((uint32_t)(major) << 16) | (uint32_t)(minor))
#define ERG_PLUGIN_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define ERG_PLUGIN_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)
#define ERG_PLUGIN_ABI_MAJOR 1
#define ERG_PLUGIN_ABI_MINOR 1 /* 1.1: op_times */
#define ERG_PLUGIN_ABI_VERSION ERG_PLUGIN_ABI(ERG_PLUGIN_ABI_MAJOR, ERG_PLUGIN_ABI_MINOR)

#define ERG_PLUGIN_ENTRY_NAME "erg_plugin_entry"
#define ERG_PLUGIN_ERR_MAX 256

#if defined(__GNUC__)
#define ERG_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define ERG_PLUGIN_EXPORT
#endif

typedef enum erg_plugin_result {
    ERG_PLUGIN_OK = 0,
    ERG_PLUGIN_E_UNSUPPORTED = 1, /* the request is valid but this plugin cannot do it */
    ERG_PLUGIN_E_INVALID = 2,     /* bad argument */
    ERG_PLUGIN_E_NO_MEMORY = 3,
    ERG_PLUGIN_E_DEVICE = 4       /* the device or its driver failed */
} erg_plugin_result;

/* ---- host services ------------------------------------------------------ */

typedef enum erg_plugin_log_level {
    ERG_PLUGIN_LOG_ERROR = 1,
    ERG_PLUGIN_LOG_WARN = 2,
    ERG_PLUGIN_LOG_INFO = 3,
    ERG_PLUGIN_LOG_DEBUG = 4
} erg_plugin_log_level;

/* What the host offers a plugin. Valid until the library is unloaded. */
typedef struct erg_plugin_host {
    size_t struct_size;
    uint32_t abi_version;   /* the host's ERG_PLUGIN_ABI_VERSION */
    void *user;             /* passed back to every service */
    void (*log)(void *user, erg_plugin_log_level level, const char *message);
    /* Host memory for the plugin's own bookkeeping (alignment: power of two). */
    void *(*alloc)(void *user, size_t size, size_t alignment);
    void (*free)(void *user, void *ptr);
    double (*now_seconds)(void *user); /* a monotonic clock */
    /* Root under which hardware files (/sys, /dev) are read: "" in
     * production, a fake tree in tests (ERG_SYSFS_ROOT). */
    const char *fs_root;
    /* The directory the plugin was loaded from (for its data files). */
    const char *plugin_dir;
    /* Converts n elements of a GGUF tensor row (ggml type id gguf_type) to
     * float, so a plugin can requantise weights into its own format.
     * Returns ERG_PLUGIN_E_UNSUPPORTED for a type the host cannot read. */
    erg_plugin_result (*dequantize_row)(void *user, uint32_t gguf_type, const void *src,
                                        float *dst, int64_t n);
} erg_plugin_host;

/* ---- devices ------------------------------------------------------------- */

typedef enum erg_plugin_device_type {
    ERG_PLUGIN_DEVICE_NPU = 0,
    ERG_PLUGIN_DEVICE_GPU = 1,
    ERG_PLUGIN_DEVICE_DSP = 2,
    ERG_PLUGIN_DEVICE_OTHER = 3
} erg_plugin_device_type;

/* Memory kinds (erg_plugin_device_info.memory_kinds, buffer_alloc). */
#define ERG_PLUGIN_MEM_DEVICE      (1u << 0) /* the device's own memory (DRAM/SRAM) */
#define ERG_PLUGIN_MEM_HOST_VISIBLE (1u << 1) /* the host can map it */
/* Abilities (erg_plugin_device_info.abilities). */
#define ERG_PLUGIN_CAN_IMPORT_HOST   (1u << 0) /* buffer_import_host */
#define ERG_PLUGIN_CAN_IMPORT_DMABUF (1u << 1) /* buffer_import_dmabuf */
#define ERG_PLUGIN_CAN_EXPORT_DMABUF (1u << 2) /* buffer_export_dmabuf */
#define ERG_PLUGIN_CAN_MAP           (1u << 3) /* buffer_map */
#define ERG_PLUGIN_SIMULATED         (1u << 4) /* times and energy come from a model */

typedef struct erg_plugin_device_info {
    size_t struct_size;
    char name[32];           /* short, e.g. "npu0" (erg names it <plugin>:N) */
    char description[128];
    char driver[32];         /* kernel driver that serves it ("ivpu", "amdxdna"), or "" */
    char bus_path[64];       /* stable identity, e.g. "pci-0000:00:0b.0", or "" */
    erg_plugin_device_type type;
    uint32_t memory_kinds;   /* ERG_PLUGIN_MEM_* */
    uint32_t abilities;      /* ERG_PLUGIN_CAN_* and ERG_PLUGIN_SIMULATED */
    uint64_t memory_bytes;
    uint32_t alignment;      /* buffer alignment the device needs (bytes) */
} erg_plugin_device_info;

typedef struct erg_plugin_device erg_plugin_device;     /* defined by the plugin */
typedef struct erg_plugin_buffer erg_plugin_buffer;     /* defined by the plugin */
typedef struct erg_plugin_compiled erg_plugin_compiled; /* defined by the plugin */
typedef struct erg_plugin_fence erg_plugin_fence;       /* defined by the plugin */

/* ---- graphs and ops -------------------------------------------------------- */

typedef enum erg_plugin_op_kind {
    ERG_PLUGIN_OP_MATMUL = 0,   /* dst[n, m] = sum_k src0[k, n] * src1[k, m] */
    ERG_PLUGIN_OP_ADD = 1,      /* dst = src0 + src1 (same shape) */
    ERG_PLUGIN_OP_MUL = 2,      /* dst = src0 * src1 (same shape) */
    ERG_PLUGIN_OP_SCALE = 3,    /* dst = src0 * fparams[0] */
    ERG_PLUGIN_OP_SILU = 4,
    ERG_PLUGIN_OP_GELU = 5,
    ERG_PLUGIN_OP_SWIGLU = 6,   /* dst = silu(src0) * src1 */
    ERG_PLUGIN_OP_RMS_NORM = 7, /* fparams[0] = eps */
    ERG_PLUGIN_OP_SOFTMAX = 8,  /* fparams[0] = scale; iparams[0] causal, [1] n_past */
    ERG_PLUGIN_OP_ROPE = 9,     /* iparams[0] n_dims, [1] mode; fparams[0] base, [1] scale */
    ERG_PLUGIN_OP_GET_ROWS = 10,
    ERG_PLUGIN_OP_CPY = 11,     /* dtype conversion */
    ERG_PLUGIN_OP_DEQUANT = 12  /* K-quant and block-format dequantisation */
} erg_plugin_op_kind;

typedef enum erg_plugin_dtype {
    ERG_PLUGIN_DT_F32 = 0,
    ERG_PLUGIN_DT_F16 = 1,
    ERG_PLUGIN_DT_I32 = 2,
    ERG_PLUGIN_DT_I16 = 3,
    ERG_PLUGIN_DT_I8 = 4,
    ERG_PLUGIN_DT_I4 = 5,
    ERG_PLUGIN_DT_GGUF = 6      /* a GGUF block format; erg_plugin_tensor.gguf_type says which */
} erg_plugin_dtype;

typedef enum erg_plugin_quant {
    ERG_PLUGIN_QUANT_NONE = 0,
    ERG_PLUGIN_QUANT_PER_TENSOR = 1,
    ERG_PLUGIN_QUANT_PER_CHANNEL = 2, /* one scale per output row */
    ERG_PLUGIN_QUANT_PER_TOKEN = 3,   /* one scale per activation row */
    ERG_PLUGIN_QUANT_PER_BLOCK = 4    /* GGUF blocks (32 or 256 elements) */
} erg_plugin_quant;

/* One tensor of a graph. Contiguous, row-major: ne[0] is the innermost
 * dimension; unused dims are 1. */
typedef struct erg_plugin_tensor {
    size_t struct_size;
    erg_plugin_dtype dtype;
    uint32_t gguf_type;       /* ggml type id when dtype is ERG_PLUGIN_DT_GGUF */
    erg_plugin_quant quant;
    int64_t ne[4];
    size_t nbytes;
    uint32_t is_static;       /* 1: the shape is fixed for this compiled graph */
    /* Constants (weights): the host data, readable during compile only.
     * NULL for tensors bound at execute. */
    const void *data;
} erg_plugin_tensor;

typedef struct erg_plugin_op {
    size_t struct_size;
    erg_plugin_op_kind kind;
    uint32_t n_src;
    uint32_t src[4];          /* tensor indices */
    uint32_t dst;
    int32_t iparams[4];
    float fparams[4];
} erg_plugin_op;

/* A subgraph: tensors and ops in execution order. Arrays are strided by
 * tensor_stride and op_stride (the host's sizeof of each struct); read each
 * element's struct_size before its fields. */
typedef struct erg_plugin_graph {
    size_t struct_size;
    uint32_t n_tensors, n_ops;
    const erg_plugin_tensor *tensors;
    size_t tensor_stride;
    const erg_plugin_op *ops;
    size_t op_stride;
} erg_plugin_graph;

typedef enum erg_plugin_verdict {
    ERG_PLUGIN_NO = 0,
    ERG_PLUGIN_YES = 1,
    ERG_PLUGIN_IF_STATIC = 2  /* only if every shape is static */
} erg_plugin_verdict;

typedef struct erg_plugin_support {
    size_t struct_size;
    erg_plugin_verdict verdict;
    char reason[128];         /* why not, or the limits that apply */
    int64_t min_batch;        /* activation rows the op needs to pay off; 0: none */
    int64_t max_batch;        /* most activation rows per execute; 0: no limit */
    int64_t batch_chunk;      /* activation rows are padded to a multiple; 0/1: none */
} erg_plugin_support;

/* What compiling cost: weights requantised into the device's format. */
typedef struct erg_plugin_compile_stats {
    size_t struct_size;
    double seconds;           /* host time the compile took */
    uint64_t weight_bytes;    /* bytes of the device's copy of the constants it converted */
    uint64_t weights_converted; /* constants converted by this compile (not cached) */
} erg_plugin_compile_stats;

/* Busy time and energy of a device since it was opened. */
typedef struct erg_plugin_counters {
    size_t struct_size;
    double busy_seconds;
    double energy_joules;
    uint32_t simulated;       /* 1: both come from a model, not a measurement */
} erg_plugin_counters;

/* ---- the plugin's function table ----------------------------------------- */

typedef struct erg_plugin_api {
    size_t struct_size;
    uint32_t abi_version;     /* the ABI the plugin was built against */
    const char *name;         /* the <name> of liberg-plugin-<name>.so */
    const char *version;      /* the plugin's own version */

    /* Cheap: opens nothing. 0 = unusable on this machine; higher = better. */
    uint32_t (*probe)(void);

    /* Devices. */
    erg_plugin_result (*device_count)(uint32_t *count, char *err);
    erg_plugin_result (*device_info)(uint32_t index, erg_plugin_device_info *info, char *err);
    erg_plugin_result (*device_open)(uint32_t index, erg_plugin_device **out, char *err);
    void (*device_close)(erg_plugin_device *dev);

    /* Whether the device can run the graph's one op (g->n_ops == 1). The
     * plugin says what is feasible; erg decides placement. */
    erg_plugin_result (*op_support)(erg_plugin_device *dev, const erg_plugin_graph *g,
                                    erg_plugin_support *out);

    /* Compiling. Constants are converted (requantised) here. */
    erg_plugin_result (*compile)(erg_plugin_device *dev, const erg_plugin_graph *g,
                                 erg_plugin_compiled **out, erg_plugin_compile_stats *stats,
                                 char *err);
    void (*compiled_free)(erg_plugin_compiled *c);
    /* Driver, firmware and compiler versions: a blob serialised under one
     * string is only deserialised under the same one. */
    erg_plugin_result (*compat_string)(erg_plugin_device *dev, char *buf, size_t size, char *err);
    /* Optional: *size gets the bytes needed; buf may be NULL to ask. */
    erg_plugin_result (*serialize)(const erg_plugin_compiled *c, void *buf, size_t cap,
                                   size_t *size, char *err);
    erg_plugin_result (*deserialize)(erg_plugin_device *dev, const void *buf, size_t size,
                                     erg_plugin_compiled **out, char *err);

    /* Memory. */
    erg_plugin_result (*buffer_alloc)(erg_plugin_device *dev, size_t size, uint32_t memory_kind,
                                      erg_plugin_buffer **out, char *err);
    void (*buffer_free)(erg_plugin_buffer *b);
    /* Optional: a buffer over host memory the caller keeps alive until freed. */
    erg_plugin_result (*buffer_import_host)(erg_plugin_device *dev, void *ptr, size_t size,
                                            erg_plugin_buffer **out, char *err);
    erg_plugin_result (*buffer_import_dmabuf)(erg_plugin_device *dev, int fd, size_t offset,
                                              size_t size, erg_plugin_buffer **out, char *err);
    erg_plugin_result (*buffer_export_dmabuf)(erg_plugin_buffer *b, int *fd, char *err);
    void *(*buffer_map)(erg_plugin_buffer *b, char *err);
    void (*buffer_unmap)(erg_plugin_buffer *b);
    erg_plugin_result (*copy_to_device)(erg_plugin_buffer *dst, size_t offset, const void *src,
                                        size_t size, char *err);
    erg_plugin_result (*copy_from_device)(erg_plugin_buffer *src, size_t offset, void *dst,
                                          size_t size, char *err);

    /* Execution. bindings[i] is the buffer of tensor i (NULL for
     * constants). Waits for `wait` (may be NULL) before starting and
     * signals `signal` (may be NULL) when done. */
    erg_plugin_result (*execute)(erg_plugin_compiled *c, erg_plugin_buffer *const *bindings,
                                 uint32_t n_bindings, erg_plugin_fence *wait,
                                 erg_plugin_fence *signal, char *err);
    erg_plugin_result (*fence_create)(erg_plugin_device *dev, erg_plugin_fence **out, char *err);
    erg_plugin_result (*fence_wait)(erg_plugin_fence *f, uint64_t timeout_ns, char *err);
    void (*fence_destroy)(erg_plugin_fence *f);

    /* Optional: busy time and energy (they feed erg's energy sources). */
    erg_plugin_result (*counters)(erg_plugin_device *dev, erg_plugin_counters *out, char *err);

    /* ---- ABI 1.1 (a 1.0 plugin's table ends before this) ---- */

    /* Optional: the device time of each op of c in its last execute:
     * seconds[i] for op i, n_ops = the compiled graph's op count, transfers
     * excluded (erg times those through counters). A device that reports
     * ERG_PLUGIN_SIMULATED gives its model's times. With it, erg's
     * scheduler calibrates the device node by node and can place work on it. */
    erg_plugin_result (*op_times)(const erg_plugin_compiled *c, double *seconds, uint32_t n_ops,
                                  char *err);
} erg_plugin_api;

/* The entry point's type. */
typedef const erg_plugin_api *(*erg_plugin_entry_fn)(uint32_t host_abi,
                                                     const erg_plugin_host *host);

#ifdef __cplusplus
}
#endif

#endif /* ERG_ERG_PLUGIN_H */
