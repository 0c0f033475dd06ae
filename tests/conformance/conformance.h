/*
 * conformance.h: the op conformance suite, written once and run on every
 * backend. Each case builds a one-op graph with seeded inputs, runs it on
 * the backend under test and compares the result with a double-precision
 * reference by normalised error (||got - ref|| / ||ref||). Outputs live
 * between sentinel bytes, so an out-of-bounds write fails the case.
 */
#ifndef ERG_TESTS_CONFORMANCE_H
#define ERG_TESTS_CONFORMANCE_H

#include "backends/backend.h"

/* The device under test. Each case prepares its weights on it (so packed or
 * uploaded weight layouts are tested too) and runs on a fresh executor. */
typedef struct conf_target {
    const char *name;         /* for messages: "cpu/avx2" */
    const erg_backend *backend;
    erg_backend_device *dev;
    /* Capability tag: a device that quantises weights and activations to
     * int8 itself (an NPU plugin) is held to this normalised error on
     * matmuls instead of the per-element bounds of erg's kernels; 0 keeps
     * the bounds. */
    double int8_matmul_tol;
} conf_target;

typedef struct conf_stats {
    int cases, failed, skipped;
} conf_stats;

/* Runs every case on the target; a case whose node the backend declares
 * unsupported is counted as skipped and listed. */
void conf_run_all(conf_target *t, conf_stats *stats);

#endif
