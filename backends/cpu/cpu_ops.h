/*
 * cpu_ops.h: how the CPU backend runs each op. An op runs on every thread of
 * the pool in one or more phases (threads meet at a barrier after each
 * phase); it splits its work by thread index, or takes chunks from a shared
 * counter where the work is uneven.
 */
#ifndef ERG_CPU_OPS_H
#define ERG_CPU_OPS_H

#include "backends/cpu/cpu_weights.h"
#include "graph/ir.h"

#include <stdatomic.h>

typedef struct erg_cpu_op_args {
    const erg_cpu_kernels *k;
    const erg_graph *g;
    const erg_node *node;
    int ith, nth;
    void *work;         /* the node's scratch memory, shared by its threads */
    atomic_int *chunk;  /* chunk counter of the current phase, starts at 0 */
    bool reference_math;
    const erg_backend_weights *weights; /* the model's packed weights, or NULL */
} erg_cpu_op_args;

typedef struct erg_cpu_op {
    void (*run)(const erg_cpu_op_args *a, int phase);
    int n_phases;
    /* Scratch bytes the node needs (NULL: none); a's ith and work unused. */
    size_t (*work_size)(const erg_cpu_op_args *a);
    /* Whether the threads must meet between phases (NULL: yes). */
    bool (*phase_barrier)(const erg_cpu_op_args *a);
    /* Whether the kernels can run the node (NULL: always); why if not. */
    bool (*supports)(const erg_graph *g, const erg_node *n, const erg_cpu_kernels *k,
                     erg_diag *why);
} erg_cpu_op;

#define ERG_CPU_MAX_PHASES 2

/* The op's implementation, or NULL for views (nothing to run). */
const erg_cpu_op *erg_cpu_op_for(erg_op op);

/* Implementations, one file each. */
extern const erg_cpu_op erg_cpu_op_matmul;
extern const erg_cpu_op erg_cpu_op_get_rows;
extern const erg_cpu_op erg_cpu_op_add;
extern const erg_cpu_op erg_cpu_op_mul;
extern const erg_cpu_op erg_cpu_op_scale;
extern const erg_cpu_op erg_cpu_op_silu;
extern const erg_cpu_op erg_cpu_op_gelu;
extern const erg_cpu_op erg_cpu_op_swiglu;
extern const erg_cpu_op erg_cpu_op_rms_norm;
extern const erg_cpu_op erg_cpu_op_rope;
extern const erg_cpu_op erg_cpu_op_softmax;
extern const erg_cpu_op erg_cpu_op_cpy;
extern const erg_cpu_op erg_cpu_op_rms_norm_mul;
extern const erg_cpu_op erg_cpu_op_matmul_add;    /* op_matmul.c */
extern const erg_cpu_op erg_cpu_op_matmul_swiglu; /* op_matmul.c */
extern const erg_cpu_op erg_cpu_op_rope_store;
extern const erg_cpu_op erg_cpu_op_attention;
extern const erg_cpu_op erg_cpu_op_fill;

/* ROPE's pieces (op_rope.c), shared with ROPE_STORE and ATTENTION's rope of
 * q: the bytes of the cos/sin table of every token, filling it into the
 * start of the node's scratch (this thread's share), and rotating one row
 * of n values of token `token` with it (y may be x). */
size_t erg_cpu_rope_table_size(const erg_cpu_op_args *a);
void erg_cpu_rope_table(const erg_cpu_op_args *a);
void erg_cpu_rope_row(const erg_cpu_op_args *a, int64_t n, float *y, const float *x,
                      int64_t token);

/* Rows of a tensor: row r of [ne0, ne1, ne2, ne3] is (i1, i2, i3). */
static inline void erg_cpu_row_index(const erg_tensor *t, int64_t r, int64_t *i1, int64_t *i2,
                                     int64_t *i3) {
    *i1 = r % t->ne[1];
    *i2 = (r / t->ne[1]) % t->ne[2];
    *i3 = r / (t->ne[1] * t->ne[2]);
}

static inline char *erg_cpu_row_ptr(void *base, const erg_tensor *t, int64_t i1, int64_t i2,
                                    int64_t i3) {
    return (char *)base + i1 * (int64_t)t->nb[1] + i2 * (int64_t)t->nb[2] +
           i3 * (int64_t)t->nb[3];
}

/* Calls fn for this thread's share of the rows of the node's result, with
 * the same row of src0 (ops whose result has src0's shape). */
typedef void (*erg_cpu_row_fn)(const erg_cpu_op_args *a, int64_t n, float *y, const float *x,
                               int64_t i1, int64_t i2, int64_t i3);
void erg_cpu_for_rows(const erg_cpu_op_args *a, erg_cpu_row_fn fn);

/* This thread's share [*r0, *r1) of n items split evenly. */
static inline void erg_cpu_split(int64_t n, int ith, int nth, int64_t *r0, int64_t *r1) {
    *r0 = n * ith / nth;
    *r1 = n * (ith + 1) / nth;
}

#endif
