/*
 * ir.h: erg's compute-graph IR.
 *
 * A graph holds tensors and nodes. A tensor has a dtype, a shape ne[] with
 * ne[0] the innermost (contiguous) dimension, byte strides nb[] and a
 * storage kind. A node applies an op to source tensors (src[]) and defines
 * one destination tensor (dst). Nodes are kept in a valid execution order:
 * every node comes after the nodes that define its sources.
 *
 * Shapes follow ggml's convention, so a GGUF weight of dims [K, N] is a
 * matrix of N rows of K elements, and MATMUL(W[K,N], X[K,M]) = Y[N,M].
 *
 * Views (RESHAPE, VIEW, PERMUTE) define a tensor that aliases the storage of
 * their source; they cost nothing at run time. Their src[1], when set, is an
 * ordering dependency only (for example the KV-cache write that must happen
 * before the cache is read).
 */
#ifndef ERG_GRAPH_IR_H
#define ERG_GRAPH_IR_H

#include "base/alloc.h"
#include "base/diag.h"
#include "graph/dtype.h"

#include <stdbool.h>
#include <stdint.h>

#define ERG_MAX_DIMS 4
#define ERG_MAX_SRC 5
#define ERG_MAX_IPARAMS 8
#define ERG_MAX_FPARAMS 4
#define ERG_NAME_MAX 64

/* X(name, number of sources (-1: 1 to ERG_MAX_SRC), what it computes) */
#define ERG_OP_MAP(X)                                                                        \
    X(GET_ROWS, 2, "dst[:, i] = dequant(src0[:, src1[i]]); src1 I32 row ids")                \
    X(MATMUL, 2, "dst[n, m] = sum_k src0[k, n] * src1[k, m]; src0 broadcast over dims 2,3") \
    X(ADD, 2, "dst = src0 + src1; src1 broadcast (src0.ne % src1.ne == 0)")                  \
    X(MUL, 2, "dst = src0 * src1; src1 broadcast")                                           \
    X(SCALE, 1, "dst = src0 * f[0]")                                                          \
    X(RMS_NORM, 1, "dst = src0 / sqrt(mean(src0^2 over ne0) + f[0])")                        \
    X(ROPE, -1, "rotary embedding; src1 I32 positions, src2 optional freq factors")          \
    X(SOFTMAX, 1, "softmax over ne0 of src0 * f[0], causal mask when i[0]")                  \
    X(SILU, 1, "dst = x * sigmoid(x)")                                                        \
    X(GELU, 1, "dst = gelu(x), tanh approximation")                                          \
    X(SWIGLU, 2, "dst = silu(src0) * src1")                                                  \
    X(CPY, -1, "copies src0 (converting dtype) into src1 if given (dst aliases it), else new") \
    X(RESHAPE, -1, "view of contiguous src0 with a new shape")                               \
    X(VIEW, -1, "strided view of src0 at a byte offset")                                     \
    X(PERMUTE, -1, "view of src0 with dims reordered")                                       \
    /* Fused ops (graph/fuse_*.c make them; each is one kernel on a backend). */              \
    X(RMS_NORM_MUL, 2, "dst = rms_norm(src0, f[0]) * src1; src1 broadcast as MUL's")          \
    X(MATMUL_ADD, 3, "dst = matmul(src0, src1) + src2; src2 broadcast to the product")        \
    X(MATMUL_SWIGLU, 3, "dst = silu(matmul(src0, src1)) * matmul(src2, src1)")                \
    X(MATMUL_QKV, 4, "matmul(src0, src1), (src2, src1), (src3, src1) one after another")      \
    X(ROPE_STORE, -1, "ROPE of src0 (positions src1, factors src3) written into src2")        \
    X(ATTENTION, -1, "softmax(K.q * f[0], causal) . V per head; q, K, V, [rope of q: pos, f]") \
    /* Debugging: the memory planner's poisoning of freed memory. */                          \
    X(FILL, 1, "every element of src0 (dst aliases it) = f[0]")

typedef enum erg_op {
#define ERG_OP_ENUM_(name, nsrc, doc) ERG_OP_##name,
    ERG_OP_MAP(ERG_OP_ENUM_)
#undef ERG_OP_ENUM_
    ERG_OP_COUNT
} erg_op;

/* Parameters (iparams / fparams) of the ops that take them. */
enum {
    /* ROPE */
    ERG_ROPE_I_N_DIMS = 0, /* rotated dims (<= ne0, even) */
    ERG_ROPE_I_MODE = 1,   /* ERG_ROPE_NORMAL or ERG_ROPE_NEOX */
    ERG_ROPE_F_FREQ_BASE = 0,
    ERG_ROPE_F_FREQ_SCALE = 1,
    /* SOFTMAX */
    ERG_SOFTMAX_I_CAUSAL = 0, /* 1: mask kv column j > i_n_past + row i1 */
    ERG_SOFTMAX_I_N_PAST = 1,
    ERG_SOFTMAX_F_SCALE = 0,
    /* RMS_NORM */
    ERG_RMS_NORM_F_EPS = 0,
    /* SCALE */
    ERG_SCALE_F_SCALE = 0,
    /* PERMUTE: iparams[0..3] = axis of dst each src axis goes to (ggml's convention) */
    /* RMS_NORM_MUL: fparams as RMS_NORM. ROPE_STORE: params as ROPE. */
    /* MATMUL_QKV: no params; dst is F32 [(Nq + Nk + Nv) * M]: the products
     * with src0 [K, Nq], src2 [K, Nk] and src3 [K, Nv] of x [K, M], each
     * contiguous ([N, M]) and stored one after another (graph/fuse_qkv.c). */
    /* ATTENTION: params as SOFTMAX (scale, causal, n_past). With src3 (I32
     * positions, one per query row) and optional src4 (freq factors), q is
     * rotated as ROPE would before its scores (graph/fuse_attention_rope.c),
     * with ROPE's params in the slots below. */
    ERG_ATTENTION_I_CAUSAL = 0,
    ERG_ATTENTION_I_N_PAST = 1,
    ERG_ATTENTION_I_ROPE_N_DIMS = 2,
    ERG_ATTENTION_I_ROPE_MODE = 3,
    ERG_ATTENTION_F_SCALE = 0,
    ERG_ATTENTION_F_ROPE_FREQ_BASE = 1,
    ERG_ATTENTION_F_ROPE_FREQ_SCALE = 2,
    /* FILL */
    ERG_FILL_F_VALUE = 0,
};

typedef enum erg_rope_mode {
    ERG_ROPE_NORMAL = 0, /* rotates adjacent pairs (x[2i], x[2i+1]) */
    ERG_ROPE_NEOX = 2    /* rotates (x[i], x[i + n_dims/2]) */
} erg_rope_mode;

typedef enum erg_tensor_kind {
    ERG_TENSOR_ACTIVATION = 0, /* defined by a node; storage planned per run */
    ERG_TENSOR_INPUT,          /* written by the caller before each run (tokens, positions) */
    ERG_TENSOR_WEIGHT,         /* constant model data */
    ERG_TENSOR_STATE,          /* persistent across runs (KV cache) */
    ERG_TENSOR_VIEW,           /* aliases view_src's storage */
    ERG_TENSOR_UNUSED          /* a pass removed the node that defined it; nothing reads it */
} erg_tensor_kind;

#define ERG_TENSOR_FLAG_OUTPUT 1u /* read back after the run: keep alive to the end */

typedef struct erg_tensor {
    erg_dtype dtype;
    int64_t ne[ERG_MAX_DIMS];  /* elements per dim; unused dims are 1 */
    size_t nb[ERG_MAX_DIMS];   /* byte strides; nb[0] = type size (block size for quants) */
    erg_tensor_kind kind;
    uint32_t flags;
    int32_t producer;          /* node that defines it, -1 for weights/inputs/state */
    int32_t view_src;          /* VIEW: the tensor aliased (never itself a view), else -1 */
    size_t view_offset;        /* VIEW: byte offset into view_src */
    int32_t ext_id;            /* WEIGHT: model tensor index; STATE: state slot; else -1 */
    void *data;                /* host address once bound (weights, state, planned) */
    char name[ERG_NAME_MAX];
} erg_tensor;

typedef struct erg_node {
    erg_op op;
    int32_t n_src;
    int32_t src[ERG_MAX_SRC];
    int32_t dst;
    int32_t iparams[ERG_MAX_IPARAMS];
    float fparams[ERG_MAX_FPARAMS];
} erg_node;

typedef struct erg_graph {
    const erg_allocator *alloc;
    erg_tensor *tensors;
    size_t n_tensors, cap_tensors;
    erg_node *nodes;
    size_t n_nodes, cap_nodes;
    /* The first builder error, sticky: later builder calls return -1 and do
     * nothing, so a graph builder checks once at the end. */
    erg_status status;
    erg_diag diag;
} erg_graph;

const char *erg_op_name(erg_op op);
/* Number of sources the op takes, -1 if variable. */
int erg_op_n_src(erg_op op);
bool erg_op_is_view(erg_op op);
/* The source whose storage node n's result aliases (views; CPY, ROPE_STORE
 * and FILL write into an existing tensor), or -1 for a new activation. */
int erg_node_alias_src(const erg_node *n);

void erg_graph_init(erg_graph *g, const erg_allocator *alloc);
void erg_graph_free(erg_graph *g);
/* Empties the graph, keeping its memory for the next build. */
void erg_graph_clear(erg_graph *g);

static inline erg_tensor *erg_graph_tensor(erg_graph *g, int32_t id) { return &g->tensors[id]; }
static inline const erg_tensor *erg_graph_ctensor(const erg_graph *g, int32_t id) {
    return &g->tensors[id];
}

/* Tensor helpers */
int64_t erg_tensor_nelements(const erg_tensor *t);
int64_t erg_tensor_nrows(const erg_tensor *t); /* ne1 * ne2 * ne3 */
size_t erg_tensor_nbytes(const erg_tensor *t);  /* span of the storage it addresses */
bool erg_tensor_is_contiguous(const erg_tensor *t);
/* Same elements per dim (dtype and strides aside). */
bool erg_tensor_same_shape(const erg_tensor *a, const erg_tensor *b);
/* Rows are contiguous inside (nb[0] is the element/block size). */
bool erg_tensor_rows_contiguous(const erg_tensor *t);
/* The tensor whose storage t uses (t itself unless it is a view). */
int32_t erg_tensor_storage_root(const erg_graph *g, int32_t id);
/* Host address of the tensor's first element (data of the root + offset). */
void *erg_tensor_host_data(const erg_graph *g, int32_t id);

#endif
