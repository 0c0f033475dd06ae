/*
 * Power domains: each sample is integrated with the trapezoid rule
 * (the mean of two successive samples times the time between them), and a
 * thread takes samples at the sensor's update interval while a window is
 * open. The clock comes from the context, so tests drive it by hand.
 */
#include "hal/energy/domain_impl.h"

#include <errno.h>
#include <time.h>

/* Sampling faster than this only burns CPU on a sensor that has not moved;
 * slower would blur the start and end of short runs. */
#define MIN_PERIOD_S 0.001
#define MAX_PERIOD_S 0.5

erg_status erg_energy_domain_poll(erg_energy_domain *d, erg_diag *diag) {
    if (!d->ops || d->desc.method != ERG_ENERGY_POWER)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "%s is not a power sensor", d->desc.name);
    double watts = 0;
    erg_diag why = {{0}};
    erg_status st = d->ops->read_power(d, &watts, &why);
    double t = erg_energy_ctx_now(d->ctx);
    pthread_mutex_lock(&d->lock);
    if (st != ERG_OK) {
        d->n_errors++;
        d->sample_error = why;
    } else if (!d->have_sample || t > d->last_t) {
        /* (A sample older than the last, from a concurrent poll, is dropped.) */
        if (d->have_sample)
            d->integrated_joules += (t - d->last_t) * 0.5 * (watts + d->last_watts);
        d->have_sample = true;
        d->last_t = t;
        d->last_watts = watts;
        d->n_samples++;
    }
    pthread_mutex_unlock(&d->lock);
    if (st != ERG_OK && diag)
        *diag = why;
    return st;
}

static double sample_period(const erg_energy_domain *d) {
    double p = d->desc.update_interval_s;
    return p < MIN_PERIOD_S ? MIN_PERIOD_S : p > MAX_PERIOD_S ? MAX_PERIOD_S : p;
}

static void *sampler_main(void *arg) {
    erg_energy_domain *d = arg;
    double period = sample_period(d);
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = until.tv_nsec + (long long)(period * 1e9);
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        int r = 0;
        while (!d->stop && r != ETIMEDOUT)
            r = pthread_cond_timedwait(&d->wake, &d->lock, &until);
        if (d->stop)
            break;
        pthread_mutex_unlock(&d->lock);
        erg_energy_domain_poll(d, NULL); /* failures are counted for the window */
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

erg_status erg_energy_sampler_acquire(erg_energy_domain *d, erg_diag *diag) {
    pthread_mutex_lock(&d->lock);
    bool start = d->sampler_users++ == 0 && !d->ctx->manual_sampling;
    pthread_mutex_unlock(&d->lock);
    if (!start)
        return ERG_OK;
    /* The wait measures its deadline on the monotonic clock, as timer.h does. */
    pthread_condattr_t attr;
    bool ok = pthread_condattr_init(&attr) == 0;
    ok = ok && pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_cond_init(&d->wake, &attr) == 0;
    pthread_condattr_destroy(&attr);
    d->stop = false;
    if (ok && pthread_create(&d->thread, NULL, sampler_main, d) == 0) {
        d->thread_running = true;
        return ERG_OK;
    }
    if (ok)
        pthread_cond_destroy(&d->wake);
    pthread_mutex_lock(&d->lock);
    d->sampler_users--;
    pthread_mutex_unlock(&d->lock);
    return erg_fail(diag, ERG_INTERNAL, "%s: could not start the sampling thread", d->desc.name);
}

void erg_energy_sampler_release(erg_energy_domain *d) {
    pthread_mutex_lock(&d->lock);
    bool stop = --d->sampler_users == 0 && d->thread_running;
    if (stop) {
        d->stop = true;
        pthread_cond_signal(&d->wake);
    }
    pthread_mutex_unlock(&d->lock);
    if (!stop)
        return;
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    d->thread_running = false;
}
