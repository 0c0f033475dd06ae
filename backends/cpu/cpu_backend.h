/*
 * cpu_backend.h: the CPU backend, always built: the fastest path on CPUs and
 * the reference every other backend is tested against.
 */
#ifndef ERG_CPU_BACKEND_H
#define ERG_CPU_BACKEND_H

#include "backends/backend.h"

extern const erg_backend erg_cpu_backend;

#endif
