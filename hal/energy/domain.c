/* Energy domains: counters with wrap-around, windows, baselines. */
#include "hal/energy/domain_impl.h"

#include "base/alloc.h"

#include <math.h>
#include <string.h>

const char *erg_energy_source_name(erg_energy_source s) {
    static const char *const names[] = {"rapl",   "perf",     "hwmon",    "nvml",
                                        "battery", "plugin", "estimate", "simulated"};
    return (unsigned)s < ERG_ENERGY_SOURCE_COUNT ? names[s] : "unknown";
}

bool erg_energy_source_measured(erg_energy_source s) { return s <= ERG_ENERGY_PLUGIN; }

const char *erg_energy_scope_name(erg_energy_scope s) {
    static const char *const names[] = {"cpu package", "cpu cores", "integrated gpu", "gpu",
                                        "dram",        "platform",  "other"};
    return (unsigned)s <= ERG_ENERGY_SCOPE_OTHER ? names[s] : "other";
}

void erg_energy_desc_init(erg_energy_desc *desc, erg_energy_source source,
                          erg_energy_method method, erg_energy_scope scope) {
    memset(desc, 0, sizeof *desc);
    desc->source = source;
    desc->method = method;
    desc->scope = scope;
    desc->usable = true;
}

erg_status erg_energy_domain_create(const erg_energy_ctx *ctx, const erg_energy_domain_ops *ops,
                                    const erg_energy_desc *desc, size_t impl_size,
                                    erg_energy_domain **out, void **impl_out, erg_diag *diag) {
    *out = NULL;
    if (impl_out)
        *impl_out = NULL;
    erg_energy_domain *d = erg_calloc(ctx->alloc, 1, sizeof *d);
    void *impl = impl_size ? erg_calloc(ctx->alloc, 1, impl_size) : NULL;
    if (!d || (impl_size && !impl)) {
        erg_free(ctx->alloc, d);
        erg_free(ctx->alloc, impl);
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "energy domain %s", desc->name);
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        erg_free(ctx->alloc, d);
        erg_free(ctx->alloc, impl);
        return erg_fail(diag, ERG_INTERNAL, "energy domain %s: could not create a mutex",
                        desc->name);
    }
    d->desc = *desc;
    d->ops = ops;
    d->ctx = ctx;
    d->impl = impl;
    if (!ops)
        d->desc.usable = false;
    *out = d;
    if (impl_out)
        *impl_out = impl;
    return ERG_OK;
}

void erg_energy_domain_close(erg_energy_domain *d) {
    if (!d)
        return;
    /* Windows left open keep the thread; it must stop before impl goes. */
    while (d->sampler_users > 0)
        erg_energy_sampler_release(d);
    if (d->ops && d->ops->close)
        d->ops->close(d);
    pthread_mutex_destroy(&d->lock);
    const erg_allocator *a = d->ctx->alloc;
    erg_free(a, d->impl);
    erg_free(a, d);
}

const erg_energy_desc *erg_energy_domain_desc(const erg_energy_domain *d) { return &d->desc; }

static erg_status not_readable(const erg_energy_domain *d, erg_diag *diag) {
    return erg_fail(diag, ERG_UNSUPPORTED, "energy domain %s is not usable: %s", d->desc.name,
                    d->desc.note[0] ? d->desc.note : "no reader");
}

erg_status erg_energy_domain_read_joules(erg_energy_domain *d, double *joules, erg_diag *diag) {
    *joules = 0;
    if (!d->ops)
        return not_readable(d, diag);
    if (d->desc.method == ERG_ENERGY_POWER) {
        pthread_mutex_lock(&d->lock);
        *joules = d->integrated_joules;
        pthread_mutex_unlock(&d->lock);
        return ERG_OK;
    }
    /* The read happens under the lock: two readers racing could otherwise
     * fold an older value after a newer one, which looks like a wrap. */
    pthread_mutex_lock(&d->lock);
    double raw;
    erg_status st = d->ops->read_counter(d, &raw, diag);
    if (st != ERG_OK) {
        pthread_mutex_unlock(&d->lock);
        return st;
    }
    if (d->have_raw) {
        double delta = raw - d->last_raw;
        /* A smaller value means the counter wrapped once (reads come within
         * a wrap period); without a wrap range it was reset, which gives
         * no energy for the interval rather than a negative one. */
        if (delta < 0)
            delta = d->desc.wrap_joules > 0 ? delta + d->desc.wrap_joules : 0;
        d->total_joules += delta;
    }
    d->have_raw = true;
    d->last_raw = raw;
    *joules = d->total_joules;
    pthread_mutex_unlock(&d->lock);
    return ERG_OK;
}

erg_energy_baseline erg_energy_baseline_from(const erg_energy_reading *idle) {
    erg_energy_baseline b = {0, 0};
    if (idle && idle->seconds > 0) {
        b.watts = idle->raw_joules / idle->seconds;
        b.seconds = idle->seconds;
    }
    return b;
}

erg_status erg_energy_window_begin(erg_energy_domain *d, erg_energy_window *w, erg_diag *diag) {
    memset(w, 0, sizeof *w);
    if (!d->ops)
        return not_readable(d, diag);
    if (d->desc.method == ERG_ENERGY_POWER) {
        ERG_RETURN_IF_ERROR(erg_energy_sampler_acquire(d, diag));
        erg_status st = erg_energy_domain_poll(d, diag);
        if (st != ERG_OK) {
            erg_energy_sampler_release(d);
            return st;
        }
        pthread_mutex_lock(&d->lock);
        w->t0 = d->last_t;
        w->joules0 = d->integrated_joules;
        w->samples0 = d->n_samples;
        d->n_errors = 0;
        pthread_mutex_unlock(&d->lock);
    } else {
        ERG_RETURN_IF_ERROR(erg_energy_domain_read_joules(d, &w->joules0, diag));
        w->t0 = erg_energy_ctx_now(d->ctx);
    }
    w->domain = d;
    return ERG_OK;
}

static erg_status end_power(erg_energy_domain *d, const erg_energy_window *w, double *joules,
                            double *t1, uint32_t *samples, erg_diag *diag) {
    erg_status st = erg_energy_domain_poll(d, diag);
    pthread_mutex_lock(&d->lock);
    *joules = d->integrated_joules - w->joules0;
    *t1 = d->last_t;
    *samples = d->n_samples - w->samples0 + 1; /* the first sample was at t0 */
    uint32_t errors = d->n_errors;
    erg_diag last = d->sample_error;
    pthread_mutex_unlock(&d->lock);
    erg_energy_sampler_release(d);
    if (st != ERG_OK)
        return st;
    /* A sample that failed mid-window (a battery that started charging)
     * leaves a hole the integral papered over: the window is not valid. */
    if (errors)
        return erg_fail(diag, ERG_DEVICE, "%s: %u sample(s) failed during the window: %s",
                        d->desc.name, errors, last.msg);
    return ERG_OK;
}

erg_status erg_energy_window_end(erg_energy_window *w, const erg_energy_baseline *baseline,
                                 erg_energy_reading *out, erg_diag *diag) {
    memset(out, 0, sizeof *out);
    erg_energy_domain *d = w->domain;
    if (!d)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "energy window was not begun");
    w->domain = NULL;
    double joules, t1;
    uint32_t samples = 0;
    if (d->desc.method == ERG_ENERGY_POWER) {
        ERG_RETURN_IF_ERROR(end_power(d, w, &joules, &t1, &samples, diag));
    } else {
        double j1;
        ERG_RETURN_IF_ERROR(erg_energy_domain_read_joules(d, &j1, diag));
        t1 = erg_energy_ctx_now(d->ctx);
        joules = j1 - w->joules0;
    }
    out->source = d->desc.source;
    out->seconds = t1 - w->t0;
    out->raw_joules = joules;
    out->joules = joules;
    out->n_samples = samples;
    double interval = d->desc.update_interval_s > 0 ? d->desc.update_interval_s : 0;
    /* A hair of slack so a window of exactly ten updates counts. */
    out->window_ok = out->seconds + 1e-9 >= ERG_ENERGY_MIN_UPDATES * interval &&
                     (d->desc.method != ERG_ENERGY_POWER || samples >= ERG_ENERGY_MIN_UPDATES);
    out->stalled = d->desc.method == ERG_ENERGY_COUNTER && out->window_ok && joules == 0;
    if (baseline) {
        out->baseline_watts = baseline->watts;
        out->baseline_subtracted = true;
        out->joules = fmax(0.0, joules - baseline->watts * out->seconds);
    }
    return ERG_OK;
}
