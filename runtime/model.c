/* erg_model: loading, info, metadata and tensor listing. */
#include "runtime/internal.h"

#include "model/gguf_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

erg_status erg_model_load(erg_runtime *rt, const char *path, const erg_model_options *options,
                          erg_model **out) {
    if (!out)
        return ERG_INVALID_ARGUMENT;
    *out = NULL;
    if (!rt)
        return ERG_INVALID_ARGUMENT;
    erg_diag diag = {{0}};
    if (!path)
        return erg_rt_set_error(rt->last_error,
                                erg_fail(&diag, ERG_INVALID_ARGUMENT, "model path is NULL"), &diag);
    erg_model_options o;
    erg_status st = erg_rt_read_options(options, &o, sizeof o, "erg_model_options", &diag);
    if (st != ERG_OK)
        return erg_rt_set_error(rt->last_error, st, &diag);
    erg_model *m = erg_calloc(&rt->alloc, 1, sizeof *m);
    if (!m)
        return erg_rt_set_error(rt->last_error,
                                erg_fail(&diag, ERG_OUT_OF_MEMORY, "model handle"), &diag);
    m->rt = rt;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        erg_free(&rt->alloc, m);
        return erg_rt_set_error(rt->last_error,
                                erg_fail(&diag, ERG_INTERNAL, "could not create a mutex"), &diag);
    }
    st = erg_model_data_open(&rt->alloc, path, o.no_mmap, &m->data, &diag);
    if (st == ERG_OK)
        st = erg_rt_model_describe_weights(m, &diag);
    if (st != ERG_OK) {
        erg_model_destroy(m);
        return erg_rt_set_error(rt->last_error, st, &diag);
    }
    const erg_hparams *hp = &m->data->hp;
    ERG_LOGI(&rt->log, "loaded %s: %s, %u layers, %u embd, %u vocab, %.1f MiB of weights", path,
             erg_arch_name(hp->arch), hp->n_layer, hp->n_embd, hp->n_vocab,
             (double)m->data->weight_bytes / (1024.0 * 1024.0));
    rt->last_error[0] = '\0';
    *out = m;
    return ERG_OK;
}

void erg_model_destroy(erg_model *m) {
    if (!m)
        return;
    erg_rt_model_free_weights(m);
    erg_rt_model_free_vocab(m);
    erg_model_data_free(m->data);
    pthread_mutex_destroy(&m->lock);
    erg_free(&m->rt->alloc, m);
}

const char *erg_model_last_error(const erg_model *m) { return m ? m->last_error : ""; }

/* Reads the string in place: get_info must not touch the reader's caches,
 * which other threads' sessions may read. */
static void copy_gguf_str(char *dst, size_t cap, const erg_gguf *g, const char *key) {
    const erg_gguf_value *v = erg_gguf_get(g, key);
    erg_gguf_str str = {"", 0};
    if (v && !erg_gguf_get_str(g, v, &str))
        str.len = 0;
    snprintf(dst, cap, "%.*s", (int)(str.len < cap ? str.len : cap - 1), str.ptr);
}

erg_status erg_model_get_info(const erg_model *m, erg_model_info *info) {
    if (!m || !info || info->struct_size < sizeof(size_t))
        return ERG_INVALID_ARGUMENT;
    const erg_model_data *d = m->data;
    const erg_hparams *hp = &d->hp;
    erg_model_info full;
    memset(&full, 0, sizeof full);
    snprintf(full.architecture, sizeof full.architecture, "%s", erg_arch_name(hp->arch));
    copy_gguf_str(full.name, sizeof full.name, d->gguf, "general.name");
    full.n_vocab = hp->n_vocab;
    full.n_embd = hp->n_embd;
    full.n_layer = hp->n_layer;
    full.n_head = hp->n_head;
    full.n_head_kv = hp->n_head_kv;
    full.head_dim = hp->head_dim;
    full.n_ff = hp->n_ff;
    full.n_ctx_train = hp->n_ctx_train;
    full.n_params = d->n_params;
    full.weight_bytes = d->weight_bytes;
    full.gguf_version = erg_gguf_version(d->gguf);
    int64_t ft = 0;
    const erg_gguf_value *v = erg_gguf_get(d->gguf, "general.file_type");
    if (v && erg_gguf_get_int(d->gguf, v, &ft) && ft >= 0 && ft <= UINT32_MAX)
        full.file_type = (uint32_t)ft;
    full.tied_output = d->output < 0;
    erg_rt_copy_out(info, info->struct_size, &full, sizeof full);
    return ERG_OK;
}

size_t erg_model_meta_count(const erg_model *m) {
    return m ? (size_t)erg_gguf_kv_count(m->data->gguf) : 0;
}

const char *erg_model_meta_key(const erg_model *m, size_t index) {
    if (!m || index >= erg_gguf_kv_count(m->data->gguf))
        return NULL;
    return erg_gguf_kv_key(m->data->gguf, index);
}

/* The value of key, or NULL with the model's last error set. */
static const erg_gguf_value *meta_value(const erg_model *m, const char *key) {
    erg_model *mm = (erg_model *)m;
    const erg_gguf_value *v = key ? erg_gguf_get(m->data->gguf, key) : NULL;
    if (!v)
        snprintf(mm->last_error, ERG_DIAG_MAX, "no metadata key '%s'", key ? key : "(null)");
    return v;
}

static erg_status meta_type_error(const erg_model *m, const char *key, const char *want,
                                  const erg_gguf_value *v) {
    snprintf(((erg_model *)m)->last_error, ERG_DIAG_MAX, "metadata key '%s' is %s, not %s", key,
             erg_gguf_type_name(v->type), want);
    return ERG_INVALID_ARGUMENT;
}

erg_status erg_model_meta_type(const erg_model *m, const char *key, erg_meta_type *type,
                               erg_meta_type *elem_type, uint64_t *count) {
    if (type)
        *type = ERG_META_UINT8;
    if (elem_type)
        *elem_type = ERG_META_UINT8;
    if (count)
        *count = 0;
    if (!m)
        return ERG_INVALID_ARGUMENT;
    const erg_gguf_value *v = meta_value(m, key);
    if (!v)
        return ERG_NOT_FOUND;
    if (type)
        *type = (erg_meta_type)v->type;
    if (elem_type)
        *elem_type = (erg_meta_type)(v->type == ERG_GGUF_ARRAY ? v->elem_type : v->type);
    if (count)
        *count = v->type == ERG_GGUF_ARRAY ? v->count : 1;
    return ERG_OK;
}

erg_status erg_model_meta_int(const erg_model *m, const char *key, int64_t *out) {
    if (!m || !out)
        return ERG_INVALID_ARGUMENT;
    *out = 0;
    const erg_gguf_value *v = meta_value(m, key);
    if (!v)
        return ERG_NOT_FOUND;
    if (!erg_gguf_get_int(m->data->gguf, v, out))
        return meta_type_error(m, key, "an integer that fits in int64", v);
    return ERG_OK;
}

erg_status erg_model_meta_float(const erg_model *m, const char *key, double *out) {
    if (!m || !out)
        return ERG_INVALID_ARGUMENT;
    *out = 0;
    const erg_gguf_value *v = meta_value(m, key);
    if (!v)
        return ERG_NOT_FOUND;
    if (!erg_gguf_get_float(m->data->gguf, v, out))
        return meta_type_error(m, key, "a number", v);
    return ERG_OK;
}

erg_status erg_model_meta_string(const erg_model *m, const char *key, const char **out) {
    if (!m || !out)
        return ERG_INVALID_ARGUMENT;
    *out = NULL;
    const erg_gguf_value *v = meta_value(m, key);
    if (!v)
        return ERG_NOT_FOUND;
    if (v->type != ERG_GGUF_STRING)
        return meta_type_error(m, key, "a string", v);
    *out = erg_gguf_get_cstr(m->data->gguf, v);
    if (!*out) {
        snprintf(((erg_model *)m)->last_error, ERG_DIAG_MAX, "out of memory reading '%s'", key);
        return ERG_OUT_OF_MEMORY;
    }
    return ERG_OK;
}

erg_status erg_model_meta_format(const erg_model *m, const char *key, char *buf, size_t size) {
    if (!m || !buf || size == 0)
        return ERG_INVALID_ARGUMENT;
    buf[0] = '\0';
    const erg_gguf_value *v = meta_value(m, key);
    if (!v)
        return ERG_NOT_FOUND;
    return erg_gguf_format_value(m->data->gguf, v, buf, size) ? ERG_OK : ERG_INTERNAL;
}

size_t erg_model_tensor_count(const erg_model *m) {
    return m ? (size_t)erg_gguf_tensor_count(m->data->gguf) : 0;
}

erg_status erg_model_tensor_get_info(const erg_model *m, size_t index, erg_tensor_info *info) {
    if (!m || !info || info->struct_size < sizeof(size_t))
        return ERG_INVALID_ARGUMENT;
    if (index >= erg_gguf_tensor_count(m->data->gguf))
        return ERG_NOT_FOUND;
    const erg_gguf_tensor *t = erg_gguf_tensor_at(m->data->gguf, index);
    erg_tensor_info full;
    memset(&full, 0, sizeof full);
    size_t n = t->name.len < sizeof full.name - 1 ? t->name.len : sizeof full.name - 1;
    memcpy(full.name, t->name.ptr, n);
    snprintf(full.type, sizeof full.type, "%s", erg_dtype_name(t->dtype));
    full.n_dims = t->n_dims;
    for (int i = 0; i < 4; i++)
        full.dims[i] = (uint64_t)t->ne[i];
    full.n_bytes = t->size;
    full.file_offset = t->data_offset;
    erg_rt_copy_out(info, info->struct_size, &full, sizeof full);
    return ERG_OK;
}
