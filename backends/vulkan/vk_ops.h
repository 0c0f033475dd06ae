/*
 * vk_ops.h: lowering IR nodes to Vulkan dispatches. Each op family says
 * whether a device can run a node, and turns the node into one dispatch:
 * which shader variant, its specialisation constants, its push constants
 * and its grid. Bindings are fixed by convention (shaders/vulkan/common.glsl):
 * sources 0-2 at bindings 0-2, the result at binding 3 and source 3 at
 * binding 4 (erg_vk_bound_tensors says which, for the ops that differ), so
 * the executor resolves them before lowering and passes their byte offsets in.
 */
#ifndef ERG_VK_OPS_H
#define ERG_VK_OPS_H

#include "backends/vulkan/vk_instance.h"
#include "graph/ir.h"

#define ERG_VK_PUSH_MAX 128
#define ERG_VK_MAX_SPEC 5
#define ERG_VK_MAX_GROUPS_X 65535u
#define ERG_VK_BINDINGS 6

/* One kernel launch. */
typedef struct erg_vk_dispatch {
    char shader[48];                 /* variant name, e.g. "matmul_vec_q4_0" */
    uint32_t spec[ERG_VK_MAX_SPEC];  /* specialisation constants 0 .. n_spec-1 */
    uint32_t n_spec;
    uint32_t push[ERG_VK_PUSH_MAX / 4];
    uint32_t push_size;
    uint32_t groups[3];
} erg_vk_dispatch;

typedef struct erg_vk_lower_in {
    const erg_graph *g;
    const erg_node *n;
    const erg_vk_caps *caps;
    uint32_t off[ERG_VK_BINDINGS]; /* byte offset of each binding's tensor within it */
} erg_vk_lower_in;

typedef struct erg_vk_op {
    /* NULL: every node of the op runs. */
    bool (*supports)(const erg_vk_caps *caps, const erg_graph *g, const erg_node *n,
                     erg_diag *why);
    void (*lower)(const erg_vk_lower_in *in, erg_vk_dispatch *d);
} erg_vk_op;

/* The lowering of op, or NULL if the backend has none. */
const erg_vk_op *erg_vk_op_for(erg_op op);

extern const erg_vk_op erg_vk_op_unary, erg_vk_op_binary, erg_vk_op_rms_norm, erg_vk_op_softmax,
    erg_vk_op_rope, erg_vk_op_cpy, erg_vk_op_fill, erg_vk_op_get_rows, erg_vk_op_matmul,
    erg_vk_op_attention;

/* The tensors of n bound at bindings 0-4, -1 where none: its sources 0-2,
 * its result and its source 3, except for ROPE_STORE (x, positions,
 * factors: its destination is the result's binding) and FILL (which reads
 * nothing). */
void erg_vk_bound_tensors(const erg_node *n, int32_t ids[ERG_VK_BINDINGS]);

/* Spreads n workgroups over x (at most ERG_VK_MAX_GROUPS_X) and y. */
void erg_vk_grid(uint32_t n, uint32_t groups[3]);

/* Copies a push-constant struct into d. */
void erg_vk_set_push(erg_vk_dispatch *d, const void *push, size_t size);

/* Short lowercase dtype name for shader variants ("q4_k"), or NULL when the
 * Vulkan kernels have no variant for it. */
const char *erg_vk_weight_variant(erg_dtype dt);

/* Whether node n's src0 (a weight) has a variant of `kernel`; the reason in
 * why if not. The supports check of the weight kernels. */
bool erg_vk_supports_weight(const erg_graph *g, const erg_node *n, const char *kernel,
                            erg_diag *why);

#endif
