/* Executing a compiled subgraph with the arithmetic npu-sim models:
 * activations quantised to int8 per token on the device, int32 dot products
 * with the int8/int4 weights, requantised to F32 by both scales. The
 * elementwise ops run in F32 on its vector unit. */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sim_matmul(const sim_weights *w, const float *x, float *y, int64_t m) {
    int64_t k = w->k, n = w->n;
    int8_t *xq = sim_alloc((size_t)k);
    if (!xq)
        return;
    for (int64_t j = 0; j < m; j++) {
        const float *xr = x + j * k;
        float amax = 0;
        for (int64_t i = 0; i < k; i++)
            amax = fmaxf(amax, fabsf(xr[i]));
        float xs = amax / 127.0f, inv = xs > 0 ? 1.0f / xs : 0.0f;
        for (int64_t i = 0; i < k; i++) {
            long q = lrintf(xr[i] * inv);
            xq[i] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        for (int64_t r = 0; r < n; r++) {
            const int8_t *wr = w->q + r * k;
            int32_t acc = 0;
            for (int64_t i = 0; i < k; i++)
                acc += (int32_t)wr[i] * (int32_t)xq[i];
            y[j * n + r] = (float)acc * w->scale[r] * xs;
        }
    }
    sim_free(xq);
}

static float silu(float v) { return v / (1.0f + expf(-v)); }

static void elementwise(const sim_op *op, const float *a, const float *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        switch (op->kind) {
        case ERG_PLUGIN_OP_ADD: y[i] = a[i] + b[i]; break;
        case ERG_PLUGIN_OP_MUL: y[i] = a[i] * b[i]; break;
        case ERG_PLUGIN_OP_SWIGLU: y[i] = silu(a[i]) * b[i]; break;
        case ERG_PLUGIN_OP_SCALE: y[i] = a[i] * op->f0; break;
        case ERG_PLUGIN_OP_SILU: y[i] = silu(a[i]); break;
        default: break;
        }
    }
}

static erg_plugin_result check_bindings(const erg_plugin_compiled *c,
                                        erg_plugin_buffer *const *bindings, uint32_t n,
                                        char *err) {
    if (n != c->n_tensors) {
        sim_err(err, "execute got %u bindings for %u tensors", n, c->n_tensors);
        return ERG_PLUGIN_E_INVALID;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (c->tensors[i].constant)
            continue;
        if (!bindings[i] || bindings[i]->size < c->tensors[i].nbytes) {
            sim_err(err, "tensor %u needs a buffer of %zu bytes", i, c->tensors[i].nbytes);
            return ERG_PLUGIN_E_INVALID;
        }
    }
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_execute(erg_plugin_compiled *c, erg_plugin_buffer *const *bindings,
                              uint32_t n_bindings, erg_plugin_fence *wait,
                              erg_plugin_fence *signal, char *err) {
    if (!c || (!bindings && n_bindings)) {
        sim_err(err, "execute: bad arguments");
        return ERG_PLUGIN_E_INVALID;
    }
    if (wait && !wait->signaled) {
        sim_err(err, "execute waits on a fence nothing will signal");
        return ERG_PLUGIN_E_INVALID;
    }
    erg_plugin_result r = check_bindings(c, bindings, n_bindings, err);
    if (r != ERG_PLUGIN_OK)
        return r;
    if (signal)
        signal->signaled = false;
    double t0 = sim_host->now_seconds(sim_host->user);
    for (uint32_t i = 0; i < c->n_ops; i++) {
        const sim_op *op = &c->ops[i];
        float *y = (float *)bindings[op->dst]->bytes;
        const sim_tensor *yt = &c->tensors[op->dst];
        const float *a = op->kind == ERG_PLUGIN_OP_MATMUL || c->tensors[op->src[0]].constant
                             ? NULL
                             : (const float *)bindings[op->src[0]]->bytes;
        const float *b = op->n_src > 1 ? (const float *)bindings[op->src[1]]->bytes : NULL;
        if (op->kind == ERG_PLUGIN_OP_MATMUL)
            sim_matmul(op->w, b, y, yt->ne[1]);
        else
            elementwise(op, a, b, y, yt->ne[0] * yt->ne[1] * yt->ne[2] * yt->ne[3]);
    }
    sim_account(c->dev, c->seconds);
    sim_in_call(c->dev, t0);
    if (signal)
        signal->signaled = true;
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_op_times(const erg_plugin_compiled *c, double *seconds, uint32_t n_ops,
                               char *err) {
    if (!c || !seconds || n_ops != c->n_ops) {
        sim_err(err, "op_times: bad arguments (%u ops asked, %u compiled)", n_ops,
                c ? c->n_ops : 0);
        return ERG_PLUGIN_E_INVALID;
    }
    /* The model's time does not vary between executes: the last one's is
     * the compiled one's. */
    for (uint32_t i = 0; i < n_ops; i++)
        seconds[i] = c->ops[i].seconds;
    return ERG_PLUGIN_OK;
}
