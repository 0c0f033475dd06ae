/*
 * domain_impl.h: the inside of an energy domain, for the source files that
 * make one (rapl.c, hwmon.c …) and the generic code in domain.c and
 * sampler.c. A source supplies one read function; wrap-around, integration,
 * windows and baselines are done once, here.
 */
#ifndef ERG_HAL_ENERGY_DOMAIN_IMPL_H
#define ERG_HAL_ENERGY_DOMAIN_IMPL_H

#include "base/alloc.h"
#include "hal/energy/energy_io.h"

#include <pthread.h>

typedef struct erg_energy_domain_ops {
    /* COUNTER: cumulative joules as the sensor shows them (they may wrap at
     * desc.wrap_joules). */
    erg_status (*read_counter)(erg_energy_domain *d, double *joules, erg_diag *diag);
    /* POWER: watts now. */
    erg_status (*read_power)(erg_energy_domain *d, double *watts, erg_diag *diag);
    /* Releases what impl holds (not impl itself, which the domain frees). */
    void (*close)(erg_energy_domain *d);
} erg_energy_domain_ops;

struct erg_energy_domain {
    erg_energy_desc desc;
    const erg_energy_domain_ops *ops; /* NULL: listed only, never read */
    const erg_energy_ctx *ctx;
    void *impl;                       /* the source's state */
    /* A package counter summed with its siblings (package_sum.c): read
     * through the sum, never chosen for a device alone. */
    const erg_energy_domain *summed_into;
    pthread_mutex_t lock;             /* guards everything below */
    /* counters */
    bool have_raw;
    double last_raw, total_joules;
    /* power sensors: trapezoidal integral of the samples so far */
    bool have_sample;
    double last_t, last_watts, integrated_joules;
    uint32_t n_samples, n_errors;
    erg_diag sample_error;            /* the last failed sample's sentence */
    /* the sampling thread, running while windows are open */
    int sampler_users;
    bool thread_running, stop;
    pthread_t thread;
    pthread_cond_t wake;
};

/* Makes a domain from desc. impl (impl_size bytes, zeroed) is allocated with
 * it and given to the source through *impl_out. ops NULL: listed only. */
erg_status erg_energy_domain_create(const erg_energy_ctx *ctx, const erg_energy_domain_ops *ops,
                                    const erg_energy_desc *desc, size_t impl_size,
                                    erg_energy_domain **out, void **impl_out, erg_diag *diag);

/* sampler.c: start (first user) and stop (last user) the sampling thread. */
erg_status erg_energy_sampler_acquire(erg_energy_domain *d, erg_diag *diag);
void erg_energy_sampler_release(erg_energy_domain *d);

/* Fills the fields every desc needs; the source sets the rest. */
void erg_energy_desc_init(erg_energy_desc *desc, erg_energy_source source,
                          erg_energy_method method, erg_energy_scope scope);

#endif
