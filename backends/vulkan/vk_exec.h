/*
 * vk_exec.h: running graphs on a Vulkan device. compile lowers every node
 * to a dispatch, binds its tensors and records the whole graph into one
 * command buffer, with a barrier only where a node touches memory an
 * earlier node since the last barrier wrote (or writes what one read);
 * execute submits it once and waits, then reads the per-dispatch timestamps.
 */
#ifndef ERG_VK_EXEC_H
#define ERG_VK_EXEC_H

#include "backends/backend.h"

erg_status erg_vk_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                              erg_backend_exec **out, erg_diag *diag);
void erg_vk_exec_free(erg_backend_exec *exec);
erg_status erg_vk_exec_compile(erg_backend_exec *exec, const erg_graph *g, erg_diag *diag);
erg_status erg_vk_exec_execute(erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                               erg_diag *diag);
erg_status erg_vk_exec_node_times(const erg_backend_exec *exec, double *seconds, size_t n_nodes,
                                  erg_diag *diag);

#endif
