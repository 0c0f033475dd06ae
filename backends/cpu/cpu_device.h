/* cpu_device.h: the CPU device the backend opens (internal to backends/cpu). */
#ifndef ERG_CPU_DEVICE_H
#define ERG_CPU_DEVICE_H

#include "backends/backend.h"
#include "backends/cpu/kernels.h"
#include "hal/cpu_info.h"

struct erg_backend_device {
    const erg_allocator *alloc;
    const erg_logger *log;
    int n_threads;
    bool no_repack; /* keep weights in the file's layout */
    erg_cpu_info info;
    const erg_cpu_kernels *kernels;
};

erg_status erg_cpu_exec_create(erg_backend_device *dev, const erg_exec_options *opts,
                               erg_backend_exec **out, erg_diag *diag);
void erg_cpu_exec_free(erg_backend_exec *exec);
erg_status erg_cpu_exec_compile(erg_backend_exec *exec, const erg_graph *g, erg_diag *diag);
erg_status erg_cpu_exec_execute(erg_backend_exec *exec, const erg_graph *g, erg_exec_stats *stats,
                                erg_diag *diag);
/* Thread 0's wall time per node of the last execute (cpu_exec.c). */
erg_status erg_cpu_exec_node_times(const erg_backend_exec *exec, double *seconds, size_t n_nodes,
                                   erg_diag *diag);

#endif
