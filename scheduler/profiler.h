/*
 * profiler.h: per-op time and energy of real runs on one device.
 *
 * Time comes from the backend's own timers (node_times: the wall clock on
 * the calling thread, Vulkan timestamps, OpenCL profiling events), one
 * value per node per run; the profiler groups nodes by (op, dtype, shape)
 * and adds up calls, seconds, bytes moved and FLOPs. No sensor is read per
 * op: the whole run's joules come from the device's meter (or its
 * estimate), and each op's from its node time in each phase times that
 * phase's power, which calibration windows measure (profiler_energy.h).
 */
#ifndef ERG_SCHEDULER_PROFILER_H
#define ERG_SCHEDULER_PROFILER_H

#include "backends/backend.h"
#include "hal/energy/energy.h"

typedef enum erg_profile_phase {
    ERG_PROFILE_PREFILL = 0,
    ERG_PROFILE_DECODE = 1,
    ERG_PROFILE_PHASES
} erg_profile_phase;

const char *erg_profile_phase_name(erg_profile_phase phase);

/* One group of nodes: same op, source dtype and shapes. */
typedef struct erg_profile_row {
    erg_op op;
    erg_dtype src_dtype;  /* src0's: a matmul's weights */
    erg_dtype dst_dtype;
    int64_t src_ne[ERG_MAX_DIMS];
    int64_t dst_ne[ERG_MAX_DIMS];
    int64_t n_cols;       /* a matmul's activation columns (src1's ne[1]); else 0.
                             MATMUL_QKV's flat result needs it for its shape. */
    uint64_t calls;
    double seconds;
    double phase_seconds[ERG_PROFILE_PHASES]; /* the same, by phase */
    double bytes;         /* read and written, over every call */
    double flops;
    double joules;        /* phase_seconds x each phase's power */
} erg_profile_row;

/* One node run, kept for the trace. */
typedef struct erg_profile_event {
    uint32_t row;
    uint32_t step;
    erg_profile_phase phase;
    double start_s;       /* since the profile began */
    double seconds;
} erg_profile_event;

typedef struct erg_profiler {
    const erg_allocator *alloc;
    char device[32];
    char timer[48];          /* what the times are: "wall clock (calling thread)" */
    bool keep_events;        /* record events for the trace (may change between runs) */
    erg_profile_row *rows;
    size_t n_rows, cap_rows;
    erg_profile_event *events;
    size_t n_events, cap_events;
    double *scratch;         /* node times of one run */
    size_t cap_scratch;
    uint32_t n_steps;
    double node_seconds;     /* the sum of every node time */
    double phase_seconds[ERG_PROFILE_PHASES];
    double wall_seconds;     /* the sum of the runs' wall times */
    bool have_energy;
    erg_energy_reading energy;
    double phase_watts[ERG_PROFILE_PHASES]; /* joules per node second, above idle */
    char energy_label[48];   /* "measured (rapl)" or "estimate" */
    char energy_detail[256]; /* the domain or profile it came from */
    char energy_method[200]; /* how per-op joules were had */
} erg_profiler;

/* backend: the device's backend name, which says what its timers are. */
void erg_profiler_init(erg_profiler *p, const erg_allocator *alloc, const char *device,
                       const char *backend, bool keep_events);
void erg_profiler_free(erg_profiler *p);

/* Adds one run of g whose node times are seconds[0 .. g->n_nodes). start_s:
 * when the run began (since the profile began, for the trace); wall_s: its
 * wall time as the caller measured it. */
erg_status erg_profiler_add_times(erg_profiler *p, const erg_graph *g, const double *seconds,
                                  erg_profile_phase phase, double start_s, double wall_s,
                                  erg_diag *diag);

/* The same for the last execute of g on exec, timed by the backend.
 * ERG_UNSUPPORTED when the backend has no per-node timers. */
erg_status erg_profiler_add_run(erg_profiler *p, const erg_backend *b, const erg_backend_exec *exec,
                                const erg_graph *g, erg_profile_phase phase, double start_s,
                                double wall_s, erg_diag *diag);

/* The run's energy r, and each phase's power (joules per node second):
 * a row's joules are its node time in each phase times that phase's
 * power. detail says where r came from (shown next to every joule), method
 * how the phase powers were had. */
void erg_profiler_set_energy(erg_profiler *p, const erg_energy_reading *r,
                             const double phase_watts[ERG_PROFILE_PHASES], const char *detail,
                             const char *method);

/* Each phase's power (joules per node second) for set_energy, from the
 * run's reading and, when cal is not NULL, a calibration window of
 * prefills alone (cal_busy_s of node time): prefill power is the
 * calibration's, decode power what the run's joules leave after its
 * prefills. Without it (or with a calibration window too short to trust)
 * both are the run's joules over its node time. Says how in method. */
void erg_profiler_phase_watts(const erg_profiler *p, const erg_energy_reading *run,
                              const erg_energy_reading *cal, double cal_busy_s,
                              double watts[ERG_PROFILE_PHASES], char *method, size_t cap);

/* Rows by time, longest first (events keep pointing at the right rows). */
void erg_profiler_sort(erg_profiler *p);

/* The shape: "K=256 N=768 M=32" for the matmul family (fused ones too),
 * else the destination's dims ("256x32"). The dtype: the weights' for the
 * matmul family and GET_ROWS ("q4_0"), else "f32" or "f32>f16" (source >
 * destination where they differ). */
void erg_profile_row_shape(const erg_profile_row *r, char *buf, size_t cap);
void erg_profile_row_dtype(const erg_profile_row *r, char *buf, size_t cap);

/* Bytes a node reads and writes, and its floating-point operations
 * (profiler_cost.c: what each op counts is written there). */
void erg_profile_node_cost(const erg_graph *g, const erg_node *n, double *bytes, double *flops);

#endif
