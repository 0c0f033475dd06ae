#include "backends/backend.h"

erg_status erg_backend_enumerate(const erg_backend *b, const erg_backend_env *env,
                                 erg_device_info *infos, size_t cap, size_t *count,
                                 erg_diag *diag) {
    *count = 0;
    if (!b || !env || (cap && !infos))
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "enumerate: missing argument");
    for (size_t i = 0; i < cap; i++)
        infos[i].struct_size = sizeof infos[i];
    return b->enumerate(env, infos, cap, count, diag);
}

erg_status erg_backend_open(const erg_backend *b, const erg_backend_env *env, size_t index,
                            erg_backend_device **out, erg_diag *diag) {
    *out = NULL;
    if (!b || !env)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "open: missing argument");
    return b->open(env, index, out, diag);
}

erg_status erg_backend_check_graph(const erg_backend *b, const erg_backend_device *dev,
                                   const erg_graph *g, erg_diag *diag) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (erg_op_is_view(n->op))
            continue;
        erg_diag why = {{0}};
        if (!b->supports_node(dev, g, n, &why))
            return erg_fail(diag, ERG_UNSUPPORTED, "%s cannot run node %zu (%s -> '%s'): %s",
                            b->name, i, erg_op_name(n->op), g->tensors[n->dst].name, why.msg);
    }
    return ERG_OK;
}

erg_status erg_backend_run(const erg_backend *b, const erg_backend_device *dev,
                           erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                           erg_diag *diag) {
    erg_exec_stats ignored;
    if (!stats)
        stats = &ignored;
    *stats = (erg_exec_stats){0};
    if (!b || !exec || !g || !dev)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "run: missing argument");
    ERG_RETURN_IF_ERROR(erg_backend_check_graph(b, dev, g, diag));
    ERG_RETURN_IF_ERROR(b->compile(exec, g, diag));
    return b->execute(exec, g, stats, diag);
}
