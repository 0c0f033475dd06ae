/* Requantising GGUF weights (any type the host can read) into npu-sim's
 * format: symmetric int8 (or int4) with one scale per output channel. This
 * is the conversion a real NPU SDK makes when it compiles a model. */
#include "sim.h"

#include <math.h>
#include <string.h>

/* The host's address alone does not identify weights (memory is reused
 * once freed), so the cache also keys on the bytes' hash. */
static uint64_t content_hash(const void *data, size_t n) {
    const unsigned char *b = data;
    uint64_t h = 0xCBF29CE484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        h = (h ^ v) * 0x100000001B3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ull;
    return h;
}

/* A matrix read back from a blob has no host source: its bytes' hash and
 * shape identify it. */
static bool same(const sim_weights *w, const erg_plugin_tensor *t, uint64_t hash) {
    return (w->source == t->data || !w->source) && w->hash == hash && w->k == t->ne[0] &&
           w->n == t->ne[1] && w->dtype == (uint32_t)t->dtype && w->gguf_type == t->gguf_type;
}

static uint32_t row_type(const erg_plugin_tensor *t) {
    /* GGUF/ggml type ids: F32 0, F16 1. */
    return t->dtype == ERG_PLUGIN_DT_GGUF ? t->gguf_type : t->dtype == ERG_PLUGIN_DT_F16 ? 1 : 0;
}

static erg_plugin_result convert(const erg_plugin_device *dev, const erg_plugin_tensor *t,
                                 sim_weights *w, char *err) {
    int64_t k = t->ne[0], n = t->ne[1];
    size_t row_bytes = t->nbytes / (size_t)n;
    float *row = sim_alloc((size_t)k * sizeof *row);
    if (!row) {
        sim_err(err, "out of memory converting weights");
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    int qmax = dev->prof.weight_bits == 4 ? 7 : 127;
    for (int64_t r = 0; r < n; r++) {
        erg_plugin_result res = sim_host->dequantize_row(
            sim_host->user, row_type(t), (const char *)t->data + (size_t)r * row_bytes, row, k);
        if (res != ERG_PLUGIN_OK) {
            sim_free(row);
            sim_err(err, "the host cannot read weights of ggml type %u", row_type(t));
            return res;
        }
        float amax = 0;
        for (int64_t i = 0; i < k; i++)
            amax = fmaxf(amax, fabsf(row[i]));
        float scale = amax / (float)qmax, inv = scale > 0 ? 1.0f / scale : 0.0f;
        w->scale[r] = scale;
        for (int64_t i = 0; i < k; i++) {
            long q = lrintf(row[i] * inv);
            w->q[r * k + i] = (int8_t)(q > qmax ? qmax : q < -qmax ? -qmax : q);
        }
    }
    sim_free(row);
    return ERG_PLUGIN_OK;
}

erg_plugin_result sim_weights_get(erg_plugin_device *dev, const erg_plugin_tensor *t,
                                  const sim_weights **out, bool *converted, char *err) {
    *converted = false;
    uint64_t hash = content_hash(t->data, t->nbytes);
    for (sim_weights *w = dev->weights; w; w = w->next)
        if (same(w, t, hash)) {
            *out = w;
            return ERG_PLUGIN_OK;
        }
    int64_t k = t->ne[0], n = t->ne[1];
    if (k <= 0 || n <= 0 || t->nbytes % (size_t)n != 0) {
        sim_err(err, "weights of %lld x %lld in %zu bytes", (long long)k, (long long)n,
                t->nbytes);
        return ERG_PLUGIN_E_INVALID;
    }
    sim_weights *w = sim_alloc(sizeof *w);
    if (w) {
        memset(w, 0, sizeof *w);
        w->q = sim_alloc((size_t)(k * n));
        w->scale = sim_alloc((size_t)n * sizeof *w->scale);
    }
    if (!w || !w->q || !w->scale) {
        if (w) {
            sim_free(w->q);
            sim_free(w->scale);
        }
        sim_free(w);
        sim_err(err, "out of memory for %lld x %lld weights", (long long)k, (long long)n);
        return ERG_PLUGIN_E_NO_MEMORY;
    }
    w->source = t->data;
    w->hash = hash;
    w->k = k;
    w->n = n;
    w->dtype = (uint32_t)t->dtype;
    w->gguf_type = t->gguf_type;
    w->bytes = (double)k * (double)n * dev->prof.weight_bits / 8.0 + (double)n * 4.0;
    erg_plugin_result r = convert(dev, t, w, err);
    if (r != ERG_PLUGIN_OK) {
        sim_free(w->q);
        sim_free(w->scale);
        sim_free(w);
        return r;
    }
    w->next = dev->weights;
    dev->weights = w;
    dev->weight_bytes += w->bytes;
    *converted = true;
    *out = w;
    return ERG_PLUGIN_OK;
}

void sim_weights_free_all(erg_plugin_device *dev) {
    for (sim_weights *w = dev->weights, *next; w; w = next) {
        next = w->next;
        sim_free(w->q);
        sim_free(w->scale);
        sim_free(w);
    }
    dev->weights = NULL;
    dev->weight_bytes = 0;
}
