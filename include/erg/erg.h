/*
 * erg.h: the public C API of erg, a runtime for small language models.
 *
 * This is the only header an application needs.
 *
 * Overview
 * --------
 *   erg_runtime  owns the devices erg found on this machine, the allocator
 *                and the logger. Create one per application.
 *   erg_model    a GGUF file, memory-mapped and validated. Weights are read in
 *                place (zero copy) where the device can use host memory.
 *   erg_session  one conversation: a KV cache of a fixed context length on a
 *                device. It evaluates batches of tokens into logits.
 *
 * Conventions (they hold for every function below)
 * ------------------------------------------------
 * - Every fallible call returns erg_status; ERG_OK is 0. Results come back
 *   through out parameters, which come last. An out pointer is set to NULL (or
 *   zero) on entry, so it is never left dangling on failure.
 * - erg_status_str() names a status. The sentence that explains a failure
 *   (which file, which tensor, which byte offset, which device) is kept by the
 *   handle the call was made on: erg_runtime_last_error(),
 *   erg_model_last_error(), erg_session_last_error(). A failed create reports
 *   through the handle it was created from (erg_model_load -> the runtime).
 * - Ownership: whoever creates destroys. Every *_destroy(NULL) is a no-op.
 *   A model must outlive its sessions, and a runtime its models.
 * - Options structs start with struct_size. Set it to sizeof(the struct) (the
 *   *_OPTIONS_INIT macros do: `erg_session_options o = ERG_SESSION_OPTIONS_INIT;`)
 *   and leave every other field zero for the defaults. The library reads only struct_size bytes, so a program built
 *   against an older header keeps working with a newer library. Passing NULL
 *   for options means all defaults.
 * - Thread safety: separate runtimes, and separate sessions of one model, may
 *   be used from separate threads at the same time, and sessions of one model
 *   may be created from several threads. Otherwise a single handle must not
 *   be used from two threads at once.
 * - The library never aborts or exits on bad input: a corrupt file, an
 *   unsupported architecture or a failing device gives an error status.
 *
 * Environment variables (options passed through this API override them):
 *   ERG_LOG            log level: error, warn, info, debug (default warn)
 *   ERG_DEVICE         default device for sessions (default "auto")
 *   ERG_POLICY         the scheduler's objective for "auto": edp, latency,
 *                      energy (default edp)
 *   ERG_CALIB_BUDGET_MS  the most an "auto" session's create spends
 *                      calibrating devices not yet cached, in whole ms
 *                      (default 20000; 0: no limit); other values fail the
 *                      create with ERG_INVALID_ARGUMENT
 *   ERG_CPU_FEATURES   force a CPU kernel level: scalar, avx2, avx512,
 *                      avx512vnni (default: the best this CPU runs)
 *   ERG_CPU_REPACK     0: keep weights in the file's layout on the CPU
 */
#ifndef ERG_ERG_H
#define ERG_ERG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ERG_SHARED_BUILD)
#define ERG_API __attribute__((visibility("default")))
#else
#define ERG_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define ERG_VERSION_MAJOR 0
#define ERG_VERSION_MINOR 1
#define ERG_VERSION_PATCH 0

/** The library's version as "MAJOR.MINOR.PATCH". */
ERG_API const char *erg_version(void);

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

/* X(name, short description). The list is the single source of the codes,
 * their names (erg_status_str) and their default messages. New codes are
 * appended only. */
#define ERG_STATUS_MAP(X)                                                     \
    X(OK, "success")                                                          \
    X(INVALID_ARGUMENT, "invalid argument")                                   \
    X(OUT_OF_MEMORY, "out of memory")                                         \
    X(IO, "input/output error")                                               \
    X(FORMAT, "malformed or unsupported file format")                         \
    X(UNSUPPORTED, "not supported")                                           \
    X(NOT_FOUND, "not found")                                                 \
    X(DEVICE, "device failure")                                               \
    X(CONTEXT_FULL, "context is full")                                        \
    X(INTERNAL, "internal error")

typedef enum erg_status {
#define ERG_STATUS_ENUM_(name, msg) ERG_##name,
    ERG_STATUS_MAP(ERG_STATUS_ENUM_)
#undef ERG_STATUS_ENUM_
    ERG_STATUS_COUNT_
} erg_status;

/** The status's name, e.g. "ERG_FORMAT". Unknown values give "ERG_UNKNOWN". */
ERG_API const char *erg_status_str(erg_status status);
/** A short description of the status, e.g. "malformed or unsupported file format". */
ERG_API const char *erg_status_message(erg_status status);

/* ------------------------------------------------------------------------ */
/* Logging and allocation hooks                                             */
/* ------------------------------------------------------------------------ */

typedef enum erg_log_level {
    ERG_LOG_DEFAULT = 0, /* ERG_LOG from the environment, else WARN */
    ERG_LOG_ERROR = 1,
    ERG_LOG_WARN = 2,
    ERG_LOG_INFO = 3,
    ERG_LOG_DEBUG = 4,
    ERG_LOG_NONE = 5     /* log nothing */
} erg_log_level;

/** Receives one log line (no trailing newline). Called from any thread that
 *  uses the runtime; it must be thread-safe. */
typedef void (*erg_log_fn)(void *user, erg_log_level level, const char *message);

/** Redirects every allocation the library makes for a runtime and the objects
 *  created from it. alloc returns memory aligned to `alignment` (a power of
 *  two, at most 4096) or NULL; free accepts NULL. Large weight and cache
 *  buffers also come from here. Called from any thread that uses the
 *  runtime, and from its worker threads: it must be thread-safe. */
typedef struct erg_allocator {
    void *user;
    void *(*alloc)(void *user, size_t size, size_t alignment);
    void (*free)(void *user, void *ptr);
} erg_allocator;

/* ------------------------------------------------------------------------ */
/* Runtime and devices                                                      */
/* ------------------------------------------------------------------------ */

typedef struct erg_runtime erg_runtime;
typedef struct erg_model erg_model;
typedef struct erg_session erg_session;

typedef struct erg_runtime_options {
    size_t struct_size;          /* sizeof(erg_runtime_options) */
    erg_log_fn log_fn;           /* NULL: lines go to stderr */
    void *log_user;
    erg_log_level log_level;     /* ERG_LOG_DEFAULT: from ERG_LOG */
    const erg_allocator *allocator; /* NULL: the C library's; copied */
    int n_threads;               /* CPU threads; 0: one per physical core */
    const char *cpu_features;    /* NULL: ERG_CPU_FEATURES, else detected */
    /* Keep weights in the file's layout on the CPU instead of repacking the
     * matrices its kernels read faster (also ERG_CPU_REPACK=0). Repacking
     * costs one pass over the weights when a model's first session starts;
     * the packed copy is then read instead of the file's pages, which the
     * system may drop from memory. */
    bool cpu_no_repack;
} erg_runtime_options;

/* Defaults: every field zero, struct_size set. Works in C and C++. */
static inline erg_runtime_options erg_runtime_options_default(void) {
    erg_runtime_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}
#define ERG_RUNTIME_OPTIONS_INIT erg_runtime_options_default()

typedef enum erg_device_kind {
    ERG_DEVICE_CPU = 0,
    ERG_DEVICE_GPU = 1,
    ERG_DEVICE_NPU = 2,
    ERG_DEVICE_OTHER = 3
} erg_device_kind;

/* CPU SIMD features detected at run time (erg_device_info.cpu_features). */
#define ERG_CPU_FEATURE_SSE42      (1u << 0)
#define ERG_CPU_FEATURE_AVX        (1u << 1)
#define ERG_CPU_FEATURE_AVX2       (1u << 2)
#define ERG_CPU_FEATURE_FMA        (1u << 3)
#define ERG_CPU_FEATURE_F16C       (1u << 4)
#define ERG_CPU_FEATURE_AVX512F    (1u << 5)
#define ERG_CPU_FEATURE_AVX512BW   (1u << 6)
#define ERG_CPU_FEATURE_AVX512VL   (1u << 7)
#define ERG_CPU_FEATURE_AVX512DQ   (1u << 8)
#define ERG_CPU_FEATURE_AVX512VNNI (1u << 9)
#define ERG_CPU_FEATURE_AVXVNNI    (1u << 10)
#define ERG_CPU_FEATURE_NEON       (1u << 11)
#define ERG_CPU_FEATURE_DOTPROD    (1u << 12)

/** What a device is and can do. Filled by erg_runtime_device_info(); set
 *  struct_size first. Strings are NUL-terminated. */
typedef struct erg_device_info {
    size_t struct_size;          /* sizeof(erg_device_info) */
    char name[32];               /* the device's name in erg: "cpu", "vulkan:0" */
    char backend[16];            /* "cpu", "vulkan", "opencl", or a plugin's name */
    char description[128];       /* e.g. the CPU model string */
    erg_device_kind kind;
    uint64_t memory_bytes;       /* memory the device can use */
    bool unified_memory;         /* shares memory with the host (zero copy) */
    /* CPU devices */
    int n_physical_cores;
    int n_logical_cores;
    uint32_t cpu_features;       /* ERG_CPU_FEATURE_* bits detected */
    char kernel_level[16];       /* the kernel level in use: "avx2", "scalar" … */
    int n_threads;               /* threads this runtime uses on the device */
    /* GPU and accelerator devices (zero elsewhere) */
    char vendor[32];             /* "AMD", "Mesa", "NVIDIA", "Portable Computing Language" … */
    char driver_version[64];
    char api_version[16];        /* "1.3.230" (Vulkan), "3.0" (OpenCL) */
    uint32_t compute_units;      /* OpenCL compute units; 0 where the API does not say */
    uint32_t subgroup_size;      /* 0: no subgroup operations */
    uint32_t gpu_features;       /* ERG_GPU_FEATURE_* bits */
    uint64_t local_memory_bytes; /* shared memory per workgroup */
    uint64_t max_buffer_bytes;   /* the largest single buffer a kernel can address */
    double timer_period_ns;      /* resolution of the device's timestamps; 0: none */
    uint32_t n_memory_heaps;
    struct {
        uint64_t bytes;
        bool device_local;       /* fast memory of the device */
        bool host_visible;       /* the host can map it */
    } memory_heaps[4];
    /* A simulated device (a plugin such as npu-sim): its times and energy
     * come from a model, and every report labels them "simulated". */
    bool simulated;
} erg_device_info;

/* GPU features (erg_device_info.gpu_features). */
#define ERG_GPU_FEATURE_FP16_STORAGE (1u << 0) /* 16-bit floats in buffers */
#define ERG_GPU_FEATURE_FP16_MATH    (1u << 1) /* 16-bit float arithmetic */
#define ERG_GPU_FEATURE_INT8_STORAGE (1u << 2) /* 8-bit integers in buffers */
#define ERG_GPU_FEATURE_INT8_MATH    (1u << 3) /* 8-bit integer arithmetic */
#define ERG_GPU_FEATURE_INT_DOT      (1u << 4) /* packed 8-bit integer dot product */
#define ERG_GPU_FEATURE_SUBGROUPS    (1u << 5) /* subgroup reductions in compute */
#define ERG_GPU_FEATURE_TIMESTAMPS   (1u << 6) /* per-dispatch device timers */
#define ERG_GPU_FEATURE_FP64         (1u << 7)

/** Creates a runtime: detects devices and reads the environment.
 *  options may be NULL. On failure *out is NULL and the status tells why;
 *  there is no handle to ask for the sentence, so it is also logged. */
ERG_API erg_status erg_runtime_create(const erg_runtime_options *options,
                                      erg_runtime **out);
ERG_API void erg_runtime_destroy(erg_runtime *runtime);

/** The sentence that explains the last failure of a call on this runtime
 *  (including erg_model_load). Empty if none. Valid until the next call. */
ERG_API const char *erg_runtime_last_error(const erg_runtime *runtime);

/** Number of devices found. */
ERG_API size_t erg_runtime_device_count(const erg_runtime *runtime);

/** Describes device `index` (0 .. count-1). info->struct_size must be set. */
ERG_API erg_status erg_runtime_device_info(const erg_runtime *runtime, size_t index,
                                           erg_device_info *info);

/** Number of backends built into the library ("cpu", "vulkan", "opencl" …),
 *  whether or not they found a device. */
ERG_API size_t erg_runtime_backend_count(const erg_runtime *runtime);

/** Backend `index`: its name, how many devices it found, and when it found
 *  none, why (e.g. "libvulkan.so.1 not found"); "" otherwise. The strings
 *  live as long as the runtime. */
ERG_API erg_status erg_runtime_backend_info(const erg_runtime *runtime, size_t index,
                                            const char **name, size_t *n_devices,
                                            const char **note);

/** An accelerator the kernel exposes, found whether or not erg can use it:
 *  a DRM render node (listed through libdrm, when present) or a compute
 *  accelerator of the accel class (/dev/accel/accelN). Filled by
 *  erg_runtime_accelerator_info(); set struct_size first. Strings are
 *  NUL-terminated. docs/discovery.md says how each field is found. */
typedef struct erg_accelerator_info {
    size_t struct_size;          /* sizeof(erg_accelerator_info) */
    char source[8];              /* "drm" or "accel" */
    char node[256];              /* "/dev/accel/accel0", "/dev/dri/renderD128"; "" if none */
    char driver[32];             /* kernel driver: "ivpu", "amdxdna", "amdgpu"; "" if unknown */
    char bus_path[96];           /* the stable identity: "pci-0000:00:0b.0",
                                    "platform-fdab0000.npu" */
    uint32_t vendor_id;          /* PCI vendor and device ids; 0 off PCI */
    uint32_t device_id;
    char claimed_by[32];         /* the erg device whose plugin drives it ("vendor:0"),
                                    or "" when no loaded plugin claims it */
} erg_accelerator_info;

/** Number of accelerators found when the runtime was created. */
ERG_API size_t erg_runtime_accelerator_count(const erg_runtime *runtime);

/** Describes accelerator `index` (0 .. count-1). info->struct_size must be set. */
ERG_API erg_status erg_runtime_accelerator_info(const erg_runtime *runtime, size_t index,
                                                erg_accelerator_info *info);

/** What discovery could not look at, and each entry it skipped, one sentence
 *  a line (e.g. "DRM: libdrm.so.2 absent (…)", "accel2 skipped: its device
 *  link dangles"); "" if none. Lives as long as the runtime. */
ERG_API const char *erg_runtime_accelerator_notes(const erg_runtime *runtime);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct erg_model_options {
    size_t struct_size;          /* sizeof(erg_model_options) */
    bool no_mmap;                /* read the file into memory instead of mapping it */
} erg_model_options;

/* Defaults: every field zero, struct_size set. Works in C and C++. */
static inline erg_model_options erg_model_options_default(void) {
    erg_model_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}
#define ERG_MODEL_OPTIONS_INIT erg_model_options_default()

/** Hyperparameters and sizes of a loaded model. Set struct_size first. */
typedef struct erg_model_info {
    size_t struct_size;          /* sizeof(erg_model_info) */
    char architecture[32];       /* "llama", "qwen2", "qwen3" */
    char name[64];               /* general.name, or "" */
    uint32_t n_vocab;
    uint32_t n_embd;
    uint32_t n_layer;
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t head_dim;
    uint32_t n_ff;
    uint32_t n_ctx_train;
    uint64_t n_params;           /* number of weights */
    uint64_t weight_bytes;       /* bytes of all weight tensors */
    uint32_t gguf_version;
    uint32_t file_type;          /* general.file_type (llama.cpp's ftype), or 0 */
    bool tied_output;            /* output projection is the token embedding */
} erg_model_info;

/** Loads and validates a GGUF file. Errors (ERG_IO, ERG_FORMAT,
 *  ERG_UNSUPPORTED for an unknown architecture) are explained by
 *  erg_runtime_last_error(runtime). options may be NULL. */
ERG_API erg_status erg_model_load(erg_runtime *runtime, const char *path,
                                  const erg_model_options *options, erg_model **out);
ERG_API void erg_model_destroy(erg_model *model);
ERG_API const char *erg_model_last_error(const erg_model *model);

ERG_API erg_status erg_model_get_info(const erg_model *model, erg_model_info *info);

/* Metadata: every key/value of the GGUF header. */
typedef enum erg_meta_type {
    ERG_META_UINT8 = 0, ERG_META_INT8 = 1, ERG_META_UINT16 = 2, ERG_META_INT16 = 3,
    ERG_META_UINT32 = 4, ERG_META_INT32 = 5, ERG_META_FLOAT32 = 6, ERG_META_BOOL = 7,
    ERG_META_STRING = 8, ERG_META_ARRAY = 9, ERG_META_UINT64 = 10, ERG_META_INT64 = 11,
    ERG_META_FLOAT64 = 12
} erg_meta_type;

ERG_API size_t erg_model_meta_count(const erg_model *model);
/** Key of entry `index`, or NULL if out of range. */
ERG_API const char *erg_model_meta_key(const erg_model *model, size_t index);
/** Type of `key`; ERG_NOT_FOUND if absent. For arrays, *elem_type and *count
 *  (either may be NULL) describe the elements. */
ERG_API erg_status erg_model_meta_type(const erg_model *model, const char *key,
                                       erg_meta_type *type, erg_meta_type *elem_type,
                                       uint64_t *count);
/** Integer value of `key` (any integer or bool type). */
ERG_API erg_status erg_model_meta_int(const erg_model *model, const char *key, int64_t *out);
/** Floating value of `key` (float or integer types). */
ERG_API erg_status erg_model_meta_float(const erg_model *model, const char *key, double *out);
/** String value of `key`; the pointer stays valid for the model's life. */
ERG_API erg_status erg_model_meta_string(const erg_model *model, const char *key,
                                         const char **out);
/** Writes a short human-readable rendering of any value (arrays are
 *  abbreviated) into buf; always NUL-terminated. */
ERG_API erg_status erg_model_meta_format(const erg_model *model, const char *key,
                                         char *buf, size_t buf_size);

/* Tensors stored in the file. */
typedef struct erg_tensor_info {
    size_t struct_size;          /* sizeof(erg_tensor_info) */
    char name[64];
    char type[16];               /* "f32", "q4_0", "q6_k" … */
    uint32_t n_dims;
    uint64_t dims[4];            /* dims[0] is the row length */
    uint64_t n_bytes;
    uint64_t file_offset;        /* absolute offset of the data in the file */
} erg_tensor_info;

ERG_API size_t erg_model_tensor_count(const erg_model *model);
ERG_API erg_status erg_model_tensor_get_info(const erg_model *model, size_t index,
                                             erg_tensor_info *info);

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */
/* ------------------------------------------------------------------------ */

typedef enum erg_kv_type {
    ERG_KV_DEFAULT = 0,          /* F16 */
    ERG_KV_F16 = 1,
    ERG_KV_F32 = 2
} erg_kv_type;

/* The objective of the scheduler's placement (device "auto"). EDP is energy
 * x critical-path time. */
typedef enum erg_policy {
    ERG_POLICY_DEFAULT = 0,      /* ERG_POLICY, else edp */
    ERG_POLICY_EDP = 1,
    ERG_POLICY_LATENCY = 2,
    ERG_POLICY_ENERGY = 3
} erg_policy;

typedef struct erg_session_options {
    size_t struct_size;          /* sizeof(erg_session_options) */
    uint32_t n_ctx;              /* context length; 0: min(model's, 4096) */
    uint32_t n_batch;            /* most tokens per graph run; 0: 512 */
    const char *device;          /* "cpu", "auto" …; NULL: ERG_DEVICE, else "auto" */
    erg_kv_type kv_type;
    /* Exact reference math: weights dequantised exactly and activations kept
     * in F32 (no activation quantisation). Slower; used as the accuracy
     * reference by tests and `erg bench`. */
    bool reference_math;
    /* Fail (ERG_UNSUPPORTED, naming the first node) instead of running on
     * the CPU the nodes the session's device cannot run. */
    bool strict_device;
    /* Run the graph as the model builds it, without the fusion passes (for
     * comparison: `--no-fusion` on the CLI). */
    bool no_fusion;
    /* Debugging: fill memory the planner frees with NaN after its last
     * reader, so a tensor read after its memory was reused shows up as NaN
     * in the logits. Also set by ERG_DEBUG_POISON=1. */
    bool poison_freed;
    /* What the scheduler minimises when the device is "auto" (see
     * erg_policy), and optional limits on its choice: an average power cap in
     * watts and a latency limit per eval in milliseconds (0: none). */
    erg_policy policy;
    double power_cap_w;
    double latency_limit_ms;
} erg_session_options;

/* Defaults: every field zero, struct_size set. Works in C and C++. */
static inline erg_session_options erg_session_options_default(void) {
    erg_session_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}
#define ERG_SESSION_OPTIONS_INIT erg_session_options_default()

/* Which logits erg_session_eval writes. */
typedef enum erg_logits_mode {
    ERG_LOGITS_NONE = 0,         /* only fill the KV cache */
    ERG_LOGITS_LAST = 1,         /* n_vocab floats: the last position */
    ERG_LOGITS_ALL = 2           /* n_tokens * n_vocab floats, row-major */
} erg_logits_mode;

/** Creates a session with an empty KV cache. Errors are explained by
 *  erg_model_last_error(model). options may be NULL. */
ERG_API erg_status erg_session_create(erg_model *model, const erg_session_options *options,
                                      erg_session **out);
ERG_API void erg_session_destroy(erg_session *session);
ERG_API const char *erg_session_last_error(const erg_session *session);

/** Appends n_tokens tokens to the context and evaluates them (prefill when
 *  n_tokens > 1, decode when 1). Writes the logits `mode` asks for into
 *  logits, which holds logits_len floats. ERG_CONTEXT_FULL if the tokens do
 *  not fit; the session is then unchanged. Token ids must be < n_vocab. */
ERG_API erg_status erg_session_eval(erg_session *session, const int32_t *tokens,
                                    size_t n_tokens, erg_logits_mode mode,
                                    float *logits, size_t logits_len);

/** Empties the KV cache. */
ERG_API void erg_session_reset(erg_session *session);
/** Keeps the first n_keep positions of the KV cache and drops the rest. */
ERG_API erg_status erg_session_truncate(erg_session *session, uint32_t n_keep);

ERG_API uint32_t erg_session_n_ctx(const erg_session *session);
/** Number of positions currently in the KV cache. */
ERG_API uint32_t erg_session_n_past(const erg_session *session);
/** Name of the device the session runs on ("cpu"), or "auto" when the
 *  scheduler places its nodes (erg_session_placement says where). */
ERG_API const char *erg_session_device(const erg_session *session);

/** Counters of the last erg_session_eval. Set struct_size first. */
typedef struct erg_session_stats {
    size_t struct_size;          /* sizeof(erg_session_stats) */
    uint32_t n_nodes;            /* graph nodes in the last run */
    uint32_t n_dispatches;       /* kernels launched in the last run */
    uint64_t activation_bytes;   /* activation memory planned for the last run */
    uint64_t kv_bytes;           /* KV cache size */
    double eval_seconds;         /* wall time of the last eval */
    uint64_t weight_copy_bytes;  /* the device's own copy of the weights (packed, uploaded) */
    double weight_prepare_seconds; /* the one-time cost of making that copy */
    double device_seconds;       /* kernel time of the last eval by the device's timers;
                                    0 where the device has none (the CPU); when
                                    partly_simulated, the measured time of the eval's
                                    real parts (host wall less time spent simulating) */
    /* Placement report of the last eval: nodes the session's device could
     * not run went to the CPU (fallback), in n_subgraphs runs of nodes on
     * one device, with bytes_copied between the devices' memories. */
    uint32_t n_nodes_fallback;   /* non-view nodes run on the CPU instead */
    uint32_t n_subgraphs;        /* runs of consecutive nodes on one device */
    uint64_t bytes_copied;       /* copies between host and device memory */
    /* Time and energy a simulated device (npu-sim) reports from its model:
     * never measured. partly_simulated: the eval's device time mixes
     * measured time (real devices) and simulated time. */
    double simulated_seconds;
    double simulated_joules;
    bool partly_simulated;
    /* Activation memory of the last run's plan, next to what one buffer per
     * tensor would need and the liveness lower bound (the most bytes alive
     * at one step); and the fusion passes' rewrites (0 with no_fusion). */
    uint64_t activation_naive_bytes;
    uint64_t activation_lower_bound_bytes;
    uint32_t n_fused;
    /* The scheduler's prediction for the last eval from its cost model
     * (device "auto"): time and energy; 0 when there was no prediction. */
    double predicted_seconds;
    double predicted_joules;
    /* Devices that failed during the session (auto): their work was placed
     * on the remaining devices and the eval run again. */
    uint32_t n_devices_failed;
    /* Device "auto": what choosing the placement took in the create:
     * loading the calibration (or measuring it, when calibrated is true)
     * and placing the step graphs; opening the chosen devices is not in it. */
    double selection_seconds;
    bool selection_calibrated;
} erg_session_stats;

ERG_API erg_status erg_session_get_stats(const erg_session *session, erg_session_stats *stats);

/** Where the last eval's non-view nodes ran: one line of `device=count`
 *  pairs in the runtime's device order, e.g. "cpu=212,vulkan:0=36". Empty
 *  before the first eval. ERG_INVALID_ARGUMENT if buf cannot hold it. */
ERG_API erg_status erg_session_placement(const erg_session *session, char *buf, size_t size);

/* ------------------------------------------------------------------------ */
/* Text: tokenizer, sampling, generation (docs/text.md)                     */
/* ------------------------------------------------------------------------ */

/* Flags of erg_model_tokenize. */
#define ERG_TOKENIZE_ADD_SPECIAL 1u   /* add BOS/EOS where the model's tokenizer says */
#define ERG_TOKENIZE_PARSE_SPECIAL 2u /* match control tokens ("<|im_start|>") in the text */

/** Turns len bytes of UTF-8 text into token ids with the tokenizer the GGUF
 *  describes (tokenizer.ggml.*). Invalid UTF-8 is read as U+FFFD.
 *  *n_out is the number of tokens the text needs; when that is more than
 *  cap, the first cap are written and ERG_INVALID_ARGUMENT is returned.
 *  An unknown tokenizer model or pre-tokenizer gives ERG_UNSUPPORTED, named
 *  in erg_model_last_error(). */
ERG_API erg_status erg_model_tokenize(erg_model *model, const char *text, size_t len,
                                      unsigned flags, int32_t *tokens, size_t cap,
                                      size_t *n_out);

/** The bytes of one token (possibly part of a UTF-8 character). Control
 *  tokens give their text only when `special`. *n_out is the length; the
 *  bytes are NUL-terminated when size > *n_out, else ERG_INVALID_ARGUMENT. */
ERG_API erg_status erg_model_token_to_piece(erg_model *model, int32_t token, bool special,
                                            char *buf, size_t size, size_t *n_out);

/** The text of a list of tokens, as a detokenizer streams it (see below). */
ERG_API erg_status erg_model_detokenize(erg_model *model, const int32_t *tokens, size_t n,
                                        bool special, char *buf, size_t size, size_t *n_out);

typedef enum erg_special_token {
    ERG_SPECIAL_BOS = 0,
    ERG_SPECIAL_EOS = 1,
    ERG_SPECIAL_EOT = 2,         /* end of turn, where the vocabulary names one */
    ERG_SPECIAL_PAD = 3
} erg_special_token;

/** A special token's id, or -1 if the vocabulary has none (or cannot load). */
ERG_API int32_t erg_model_special_token(erg_model *model, erg_special_token which);

/** Streaming detokenizer: feed ids one at a time, get back text that is
 *  always whole UTF-8 characters (a partial character is held back until the
 *  tokens that complete it arrive). Control tokens are hidden unless
 *  `special`. *text stays valid until the next call on d. */
typedef struct erg_detokenizer erg_detokenizer;
ERG_API erg_status erg_detokenizer_create(erg_model *model, bool special, erg_detokenizer **out);
ERG_API erg_status erg_detokenizer_push(erg_detokenizer *d, int32_t token, const char **text,
                                        size_t *len);
/** Ends the stream: an incomplete character left over comes out as U+FFFD. */
ERG_API erg_status erg_detokenizer_flush(erg_detokenizer *d, const char **text, size_t *len);
ERG_API void erg_detokenizer_destroy(erg_detokenizer *d);

/** Why erg_generate stopped. */
typedef enum erg_stop_reason {
    ERG_STOP_NONE = 0,
    ERG_STOP_EOS = 1,            /* an end-of-generation token (EOS, EOT) */
    ERG_STOP_STRING = 2,         /* one of the stop strings */
    ERG_STOP_LIMIT = 3,          /* n_predict tokens */
    ERG_STOP_CONTEXT_FULL = 4,   /* the session's context is full */
    ERG_STOP_ABORTED = 5         /* should_abort or on_text asked to stop */
} erg_stop_reason;

/** Generation options. Zero-initialised (with struct_size) means greedy
 *  decoding until an end-of-generation token or a full context. Sampling
 *  applies, in order: repetition and presence penalties over the last
 *  penalty_last_n tokens, temperature, top-k, top-p, min-p; then draws
 *  from what is left with a generator seeded by `seed`. */
typedef struct erg_generate_options {
    size_t struct_size;          /* sizeof(erg_generate_options) */
    uint32_t n_predict;          /* most tokens to generate; 0: no limit */
    float temperature;           /* 0: greedy (argmax) */
    uint32_t top_k;              /* keep the k most likely; 0: off */
    float top_p;                 /* keep the smallest set of mass >= p; 0 or 1: off */
    float min_p;                 /* keep p >= min_p * max p; 0: off */
    float repeat_penalty;        /* divide (multiply if negative) recent logits; 0 or 1: off */
    float presence_penalty;      /* subtract from recent tokens' logits; 0: off */
    uint32_t penalty_last_n;     /* window of the penalties; 0: 64 */
    uint64_t seed;               /* same seed, same options, same model: same text */
    const char *const *stop;     /* stop strings: generation ends before them */
    size_t n_stop;
    bool ignore_eos;             /* keep going past end-of-generation tokens */
    bool show_special;           /* stream control tokens' text too */
    /* Called with text as soon as it is safe to show: whole UTF-8
     * characters, never the start of a stop string. token is the last
     * token the text came from (-1 for text let out when generation ends).
     * Return false to stop (ERG_STOP_ABORTED). */
    bool (*on_text)(void *user, const char *text, size_t len, int32_t token);
    /* Polled before each token; true stops generation (ERG_STOP_ABORTED). */
    bool (*should_abort)(void *user);
    void *user;
} erg_generate_options;

static inline erg_generate_options erg_generate_options_default(void) {
    erg_generate_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}
#define ERG_GENERATE_OPTIONS_INIT erg_generate_options_default()

/** What erg_generate did. Set struct_size first. */
typedef struct erg_generate_result {
    size_t struct_size;          /* sizeof(erg_generate_result) */
    uint32_t n_prompt;           /* prompt tokens evaluated */
    uint32_t n_generated;        /* tokens sampled (the stop token included) */
    erg_stop_reason stop_reason;
    double prompt_seconds;       /* prefill wall time */
    double generate_seconds;     /* wall time of the tokens after the prompt */
} erg_generate_result;

/** Evaluates the prompt tokens (appended to the session's context) and
 *  generates tokens after them, streaming text through options->on_text.
 *  result may be NULL. Errors are explained by erg_session_last_error(). */
ERG_API erg_status erg_generate(erg_session *session, const int32_t *prompt, size_t n_prompt,
                                const erg_generate_options *options,
                                erg_generate_result *result);

/** One chat message: role is "system", "user" or "assistant". */
typedef struct erg_chat_message {
    const char *role;
    const char *content;
} erg_chat_message;

/** Formats messages with a built-in chat format: "chatml" (Qwen),
 *  "llama3", "zephyr" (TinyLlama). name NULL: the format recognised from the
 *  model's tokenizer.chat_template (ERG_NOT_FOUND if none is recognised).
 *  add_assistant ends with the assistant's turn opened. Writes the prompt
 *  (to be tokenized with ERG_TOKENIZE_PARSE_SPECIAL) into buf like
 *  erg_model_token_to_piece; *n_out is its length. */
ERG_API erg_status erg_model_chat_format(erg_model *model, const char *name,
                                         const erg_chat_message *messages, size_t n_messages,
                                         bool add_assistant, char *buf, size_t size,
                                         size_t *n_out);

/** "chatml, llama3, zephyr" */
ERG_API const char *erg_chat_format_list(void);

#ifdef __cplusplus
}
#endif

#endif /* ERG_ERG_H */
