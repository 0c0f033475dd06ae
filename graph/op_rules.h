/*
 * op_rules.h: the shape and dtype rules of every op, in one place. The
 * builder uses them to infer a new node's result; the validation pass uses
 * them to re-check graphs that passes have rewritten.
 */
#ifndef ERG_GRAPH_OP_RULES_H
#define ERG_GRAPH_OP_RULES_H

#include "graph/ir.h"

/*
 * Checks that op can take sources src[0..n_src-1] with the given params, and
 * gives the dtype and shape of its result. `dt_hint` is the requested result
 * dtype where the op lets the caller choose one (CPY into a new tensor), else
 * ignored. Views (RESHAPE, VIEW, PERMUTE) and CPY into an existing tensor
 * define their result from their arguments: for them only the sources are
 * checked and *dt / ne are the sources'. On error the sentence names the op
 * and the shapes.
 */
erg_status erg_op_infer(const erg_graph *g, erg_op op, int n_src, const int32_t *src,
                        const int32_t *iparams, erg_dtype dt_hint, erg_dtype *dt, int64_t ne[4],
                        erg_diag *diag);

#endif
