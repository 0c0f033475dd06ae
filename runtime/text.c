/* The public text API (erg.h, "Text"): tokenizing, token pieces, the
 * streaming detokenizer and chat formats, on top of model/tokenizer*.c. */
#include "runtime/internal.h"

#include "model/chat.h"
#include "model/tokenizer.h"

#include <stdio.h>
#include <string.h>

erg_status erg_rt_model_vocab(erg_model *m, const erg_vocab **out, erg_diag *diag) {
    *out = NULL;
    erg_status st = ERG_OK;
    pthread_mutex_lock(&m->lock);
    if (!m->vocab)
        st = erg_vocab_load(&m->rt->alloc, m->data->gguf, &m->vocab, diag);
    *out = m->vocab;
    pthread_mutex_unlock(&m->lock);
    return st;
}

void erg_rt_model_free_vocab(erg_model *m) {
    erg_vocab_free(m->vocab);
    m->vocab = NULL;
}

/* The vocabulary, or the model's last error set. */
static erg_status model_vocab(erg_model *m, const erg_vocab **v) {
    erg_diag diag = {{0}};
    erg_status st = erg_rt_model_vocab(m, v, &diag);
    return st == ERG_OK ? ERG_OK : erg_rt_set_error(m->last_error, st, &diag);
}

erg_status erg_model_tokenize(erg_model *m, const char *text, size_t len, unsigned flags,
                              int32_t *tokens, size_t cap, size_t *n_out) {
    const erg_vocab *v;
    if (n_out)
        *n_out = 0;
    if (!m || !n_out || (!text && len) || (!tokens && cap))
        return ERG_INVALID_ARGUMENT;
    ERG_RETURN_IF_ERROR(model_vocab(m, &v));
    erg_token_list list = {.alloc = v->alloc};
    erg_diag diag = {{0}};
    erg_status st = erg_tokenize(v, text, len, flags & ERG_TOKENIZE_ADD_SPECIAL,
                                 flags & ERG_TOKENIZE_PARSE_SPECIAL, &list, &diag);
    if (st == ERG_OK) {
        *n_out = list.n;
        if (cap && list.n)
            memcpy(tokens, list.ids, (list.n < cap ? list.n : cap) * sizeof *tokens);
        if (list.n > cap)
            st = erg_fail(&diag, ERG_INVALID_ARGUMENT, "the text needs %zu tokens, room for %zu",
                          list.n, cap);
    }
    erg_token_list_free(&list);
    return st == ERG_OK ? ERG_OK : erg_rt_set_error(m->last_error, st, &diag);
}

/* Copies n bytes and a NUL into buf, or says how much room it needs. */
static erg_status copy_text(erg_model *m, const char *s, size_t n, char *buf, size_t size) {
    if (n < size) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        return ERG_OK;
    }
    if (size) {
        memcpy(buf, s, size - 1);
        buf[size - 1] = '\0';
    }
    erg_diag diag;
    erg_fail(&diag, ERG_INVALID_ARGUMENT, "the text is %zu bytes, room for %zu and a NUL", n,
             size ? size - 1 : 0);
    return erg_rt_set_error(m->last_error, ERG_INVALID_ARGUMENT, &diag);
}

erg_status erg_model_token_to_piece(erg_model *m, int32_t token, bool special, char *buf,
                                    size_t size, size_t *n_out) {
    const erg_vocab *v;
    if (n_out)
        *n_out = 0;
    if (!m || !n_out || (!buf && size))
        return ERG_INVALID_ARGUMENT;
    ERG_RETURN_IF_ERROR(model_vocab(m, &v));
    if (token < 0 || (uint32_t)token >= v->n_tokens) {
        erg_diag diag;
        erg_fail(&diag, ERG_INVALID_ARGUMENT, "token %d is not below the vocabulary's %u", token,
                 v->n_tokens);
        return erg_rt_set_error(m->last_error, ERG_INVALID_ARGUMENT, &diag);
    }
    char stack[256];
    *n_out = erg_token_bytes(v, token, special, stack, sizeof stack);
    if (*n_out <= sizeof stack)
        return copy_text(m, stack, *n_out, buf, size);
    char *big = erg_malloc(v->alloc, *n_out);
    if (!big)
        return ERG_OUT_OF_MEMORY;
    erg_token_bytes(v, token, special, big, *n_out);
    erg_status st = copy_text(m, big, *n_out, buf, size);
    erg_free(v->alloc, big);
    return st;
}

int32_t erg_model_special_token(erg_model *m, erg_special_token which) {
    const erg_vocab *v;
    if (!m || model_vocab(m, &v) != ERG_OK)
        return -1;
    switch (which) {
    case ERG_SPECIAL_BOS:
        return v->bos;
    case ERG_SPECIAL_EOS:
        return v->eos;
    case ERG_SPECIAL_EOT:
        return v->eot;
    case ERG_SPECIAL_PAD:
        return v->pad;
    }
    return -1;
}

struct erg_detokenizer {
    erg_detok d;
    char *text;
    size_t len, cap;
};

erg_status erg_detokenizer_create(erg_model *m, bool special, erg_detokenizer **out) {
    const erg_vocab *v;
    if (!out)
        return ERG_INVALID_ARGUMENT;
    *out = NULL;
    if (!m)
        return ERG_INVALID_ARGUMENT;
    ERG_RETURN_IF_ERROR(model_vocab(m, &v));
    erg_detokenizer *d = erg_calloc(v->alloc, 1, sizeof *d);
    if (!d)
        return ERG_OUT_OF_MEMORY;
    erg_detok_init(&d->d, v, special);
    *out = d;
    return ERG_OK;
}

erg_status erg_detokenizer_push(erg_detokenizer *d, int32_t token, const char **text, size_t *len) {
    if (!d || !text || !len)
        return ERG_INVALID_ARGUMENT;
    d->len = 0;
    if (!erg_detok_push(&d->d, token, &d->text, &d->len, &d->cap))
        return ERG_OUT_OF_MEMORY;
    *text = d->text ? d->text : "";
    *len = d->len;
    return ERG_OK;
}

erg_status erg_detokenizer_flush(erg_detokenizer *d, const char **text, size_t *len) {
    if (!d || !text || !len)
        return ERG_INVALID_ARGUMENT;
    d->len = 0;
    if (!erg_detok_flush(&d->d, &d->text, &d->len, &d->cap))
        return ERG_OUT_OF_MEMORY;
    *text = d->text ? d->text : "";
    *len = d->len;
    return ERG_OK;
}

void erg_detokenizer_destroy(erg_detokenizer *d) {
    if (!d)
        return;
    const erg_allocator *a = d->d.v->alloc;
    erg_free(a, d->text);
    erg_free(a, d);
}

erg_status erg_model_detokenize(erg_model *m, const int32_t *tokens, size_t n, bool special,
                                char *buf, size_t size, size_t *n_out) {
    const erg_vocab *v;
    if (n_out)
        *n_out = 0;
    if (!m || !n_out || (!tokens && n) || (!buf && size))
        return ERG_INVALID_ARGUMENT;
    ERG_RETURN_IF_ERROR(model_vocab(m, &v));
    erg_detok d;
    erg_detok_init(&d, v, special);
    char *text = NULL;
    size_t len = 0, cap = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++)
        ok = erg_detok_push(&d, tokens[i], &text, &len, &cap);
    ok = ok && erg_detok_flush(&d, &text, &len, &cap);
    erg_status st = ok ? copy_text(m, text ? text : "", len, buf, size) : ERG_OUT_OF_MEMORY;
    *n_out = len;
    erg_free(v->alloc, text);
    return st;
}

const char *erg_chat_format_list(void) { return "chatml, llama3, zephyr"; }

erg_status erg_model_chat_format(erg_model *m, const char *name, const erg_chat_message *messages,
                                 size_t n_messages, bool add_assistant, char *buf, size_t size,
                                 size_t *n_out) {
    if (n_out)
        *n_out = 0;
    if (!m || !n_out || (!messages && n_messages) || (!buf && size))
        return ERG_INVALID_ARGUMENT;
    erg_diag diag;
    int f;
    if (name) {
        if ((f = erg_chat_format_parse(name)) < 0) {
            erg_fail(&diag, ERG_INVALID_ARGUMENT, "unknown chat format '%s' (built in: %s)", name,
                     erg_chat_format_list());
            return erg_rt_set_error(m->last_error, ERG_INVALID_ARGUMENT, &diag);
        }
    } else {
        const erg_gguf *g = m->data->gguf;
        const erg_gguf_value *val = erg_gguf_get(g, "tokenizer.chat_template");
        erg_gguf_str tmpl = {"", 0};
        /* Searched in a copy: the reader's string has no NUL. The markers
         * of every family erg knows come early in their templates. */
        char head[8192];
        if (val)
            erg_gguf_get_str(g, val, &tmpl);
        int n = (int)(tmpl.len < sizeof head ? tmpl.len : sizeof head - 1);
        snprintf(head, sizeof head, "%.*s", n, tmpl.ptr);
        if ((f = erg_chat_format_detect(head)) < 0) {
            erg_fail(&diag, ERG_NOT_FOUND,
                     val ? "the model's chat template is not one erg recognises: name a "
                           "built-in format (%s)"
                         : "the model has no chat template: name a built-in format (%s)",
                     erg_chat_format_list());
            return erg_rt_set_error(m->last_error, ERG_NOT_FOUND, &diag);
        }
    }
    *n_out = erg_chat_apply((erg_chat_format)f, messages, n_messages, add_assistant, buf, size);
    if (*n_out < size)
        return ERG_OK;
    erg_fail(&diag, ERG_INVALID_ARGUMENT, "the prompt is %zu bytes, room for %zu and a NUL", *n_out,
             size ? size - 1 : 0);
    return erg_rt_set_error(m->last_error, ERG_INVALID_ARGUMENT, &diag);
}
