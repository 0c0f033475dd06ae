/* A model's weights on each device: described once at load, prepared by a
 * device's backend the first time a session runs there (a packed CPU copy,
 * later GPU uploads), and freed with the model. */
#include "runtime/internal.h"

#include "hal/timer.h"

#include <string.h>

/* Marks the weights used as matmul matrices, and the table rows are looked up in. */
static void mark_matmuls(const erg_model_data *d, erg_weight_desc *w) {
    for (uint32_t l = 0; l < d->hp.n_layer; l++) {
        const erg_layer_weights *lw = &d->layers[l];
        const int32_t mats[] = {lw->wq, lw->wk, lw->wv, lw->wo, lw->ffn_gate, lw->ffn_up,
                                lw->ffn_down};
        for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
            w[mats[i]].matmul = true;
    }
    w[d->output >= 0 ? d->output : d->tok_embd].matmul = true;
    w[d->tok_embd].lookup = true;
}

erg_status erg_rt_model_describe_weights(erg_model *m, erg_diag *diag) {
    const erg_allocator *a = &m->rt->alloc;
    uint64_t n = erg_gguf_tensor_count(m->data->gguf);
    m->weight_descs = erg_calloc(a, n ? n : 1, sizeof *m->weight_descs);
    m->per_device = erg_calloc(a, m->rt->n_devices, sizeof *m->per_device);
    if (!m->weight_descs || !m->per_device)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "weight table of %llu tensors",
                        (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        const erg_gguf_tensor *t = erg_gguf_tensor_at(m->data->gguf, i);
        erg_weight_desc *w = &m->weight_descs[i];
        w->dtype = t->dtype;
        memcpy(w->ne, t->ne, sizeof w->ne);
        w->data = t->data;
        w->row_bytes = erg_dtype_row_size(t->dtype, t->ne[0]);
    }
    mark_matmuls(m->data, m->weight_descs);
    return ERG_OK;
}

void erg_rt_model_free_weights(erg_model *m) {
    for (size_t i = 0; m->per_device && i < m->rt->n_devices; i++)
        if (m->per_device[i].weights)
            m->rt->devices[i].backend->weights_free(m->per_device[i].weights);
    erg_free(&m->rt->alloc, m->per_device);
    erg_free(&m->rt->alloc, m->weight_descs);
}

erg_status erg_rt_model_weights(erg_model *m, erg_rt_device *dev, const erg_model_weights **out,
                                erg_diag *diag) {
    erg_model_weights *mw = &m->per_device[dev - m->rt->devices];
    erg_status st = ERG_OK;
    pthread_mutex_lock(&m->lock);
    if (!mw->prepared && dev->backend->weights_prepare) {
        double t0 = erg_time_s();
        st = dev->backend->weights_prepare(dev->open, m->weight_descs,
                                           (size_t)erg_gguf_tensor_count(m->data->gguf),
                                           &mw->weights, &mw->bytes, diag);
        mw->seconds = erg_time_s() - t0;
        if (st == ERG_OK)
            ERG_LOGI(&m->rt->log, "weights prepared for %s: %.1f MiB in %.3f s", dev->info.name,
                     (double)mw->bytes / 1048576.0, mw->seconds);
    }
    mw->prepared = st == ERG_OK;
    pthread_mutex_unlock(&m->lock);
    *out = mw;
    return st;
}
