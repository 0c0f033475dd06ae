/* npu-sim's use of the host's services. */
#include "sim.h"

#include <stdarg.h>
#include <stdio.h>

const erg_plugin_host *sim_host;

void *sim_alloc(size_t size) { return sim_host->alloc(sim_host->user, size ? size : 1, 64); }

void sim_free(void *p) {
    if (p)
        sim_host->free(sim_host->user, p);
}

void sim_err(char *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, ERG_PLUGIN_ERR_MAX, fmt, ap);
    va_end(ap);
}
