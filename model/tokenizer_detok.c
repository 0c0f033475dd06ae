/* Token ids back to text (see tokenizer.h): the bytes of each token, and a
 * streaming detokenizer that only ever emits whole UTF-8 characters. */
#include "model/tokenizer.h"
#include "model/unicode.h"

#include <string.h>

static size_t put(char *out, size_t cap, size_t at, const char *s, size_t n) {
    if (at < cap)
        memcpy(out + at, s, at + n <= cap ? n : cap - at);
    return at + n;
}

size_t erg_token_bytes(const erg_vocab *v, int32_t id, bool special, char *out, size_t cap) {
    if (id < 0 || (uint32_t)id >= v->n_tokens)
        return 0;
    const char *t = v->text[id];
    size_t len = v->len[id], n = 0;
    switch (v->type[id]) {
    case ERG_TOKEN_CONTROL:
    case ERG_TOKEN_UNKNOWN:
        return special ? put(out, cap, 0, t, len) : 0;
    case ERG_TOKEN_USER_DEFINED:
        return put(out, cap, 0, t, len);
    case ERG_TOKEN_UNUSED:
        return 0;
    case ERG_TOKEN_BYTE:
        if (v->kind == ERG_VOCAB_SPM) {
            for (int b = 0; b < 256; b++)
                if (v->byte_token[b] == id) {
                    char c = (char)b;
                    return put(out, cap, 0, &c, 1);
                }
        }
        break;
    default:
        break;
    }
    for (size_t i = 0; i < len;) {
        size_t used;
        uint32_t cp = erg_utf8_decode(t + i, len - i, &used);
        char enc[4];
        int byte = v->kind == ERG_VOCAB_BPE ? erg_unicode_cp_to_byte(cp) : -1;
        if (byte >= 0) {
            char c = (char)byte;
            n = put(out, cap, n, &c, 1);
        } else if (v->kind == ERG_VOCAB_SPM && cp == 0x2581) {
            n = put(out, cap, n, " ", 1);
        } else {
            n = put(out, cap, n, enc, erg_utf8_encode(cp, enc));
        }
        i += used;
    }
    return n;
}

void erg_detok_init(erg_detok *d, const erg_vocab *v, bool special) {
    *d = (erg_detok){.v = v, .special = special, .strip_space = v->add_space_prefix};
}

static bool append(const erg_allocator *a, char **out, size_t *len, size_t *cap, const char *s,
                   size_t n) {
    if (*len + n + 1 > *cap && !erg_grow_array(a, (void **)out, 1, cap, *len + n + 1))
        return false;
    memcpy(*out + *len, s, n);
    *len += n;
    (*out)[*len] = '\0';
    return true;
}

/* Appends s[0..n) as valid UTF-8: invalid sequences become U+FFFD. */
static bool append_valid(const erg_allocator *a, char **out, size_t *len, size_t *cap,
                         const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t used;
        uint32_t cp = erg_utf8_decode(s + i, n - i, &used);
        char enc[4];
        if (!append(a, out, len, cap, enc, erg_utf8_encode(cp, enc)))
            return false;
        i += used;
    }
    return true;
}

bool erg_detok_push(erg_detok *d, int32_t id, char **out, size_t *out_len, size_t *out_cap) {
    const erg_allocator *a = d->v->alloc;
    char stack[256];
    size_t n = erg_token_bytes(d->v, id, d->special, NULL, 0);
    char *buf =
        n + sizeof d->pending <= sizeof stack ? stack : erg_malloc(a, n + sizeof d->pending);
    if (!buf)
        return false;
    memcpy(buf, d->pending, d->n_pending);
    erg_token_bytes(d->v, id, d->special, buf + d->n_pending, n);
    /* buf holds the pending bytes, then the token's: start..start+n. */
    const char *start = buf;
    if (n && d->strip_space) {
        d->strip_space = false;
        if (buf[d->n_pending] == ' ') {
            memmove(buf + 1, buf, d->n_pending);
            start = buf + 1;
            n--;
        }
    }
    n += d->n_pending;
    const char *p = start;
    size_t tail = erg_utf8_incomplete_tail(p, n);
    bool ok = append_valid(a, out, out_len, out_cap, p, n - tail);
    memcpy(d->pending, p + n - tail, tail);
    d->n_pending = tail;
    if (buf != stack)
        erg_free(a, buf);
    return ok;
}

bool erg_detok_flush(erg_detok *d, char **out, size_t *out_len, size_t *out_cap) {
    bool ok = append_valid(d->v->alloc, out, out_len, out_cap, d->pending, d->n_pending);
    d->n_pending = 0;
    return ok;
}
