/* The one place backends are registered, each guarded by its build option. */
#include "backends/backend.h"

#include "backends/cpu/cpu_backend.h"

static const erg_backend *const registered[] = {
    &erg_cpu_backend,
};

const erg_backend *const *erg_backends(size_t *count) {
    *count = sizeof registered / sizeof registered[0];
    return registered;
}
