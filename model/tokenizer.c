/* Text to token ids (see tokenizer.h): special tokens first, then the
 * vocabulary's own model on the text between them. */
#include "model/tokenizer.h"
#include "model/unicode.h"

#include <string.h>

bool erg_token_list_push(erg_token_list *l, int32_t id) {
    if (l->n == l->cap &&
        !erg_grow_array(l->alloc, (void **)&l->ids, sizeof *l->ids, &l->cap, l->n + 1))
        return false;
    l->ids[l->n++] = id;
    return true;
}

void erg_token_list_free(erg_token_list *l) {
    erg_free(l->alloc, l->ids);
    l->ids = NULL;
    l->n = l->cap = 0;
}

/* The special token that starts at text[i], longest first; -1 if none. */
static int32_t special_at(const erg_vocab *v, const char *text, size_t len, size_t i,
                          bool parse_special) {
    if (!v->special_start[(unsigned char)text[i]])
        return -1;
    for (uint32_t k = 0; k < v->n_specials; k++) {
        int32_t id = v->specials[k];
        if (!parse_special && v->type[id] != ERG_TOKEN_USER_DEFINED)
            continue;
        if (v->len[id] <= len - i && memcmp(text + i, v->text[id], v->len[id]) == 0)
            return id;
    }
    return -1;
}

/* Valid UTF-8 of the fragment (invalid sequences as U+FFFD) and its code
 * points with the byte offset of each (offs has n + 1 entries). */
typedef struct fragment {
    char *utf8;
    uint32_t *cps;
    size_t *offs;
    size_t n, len;
} fragment;

static bool fragment_make(const erg_allocator *a, const char *text, size_t len, bool spm,
                          bool prefix, fragment *f) {
    /* U+FFFD and U+2581 take 3 bytes: at most 3 output bytes per input byte. */
    size_t cap = len * 3 + 4;
    f->utf8 = erg_malloc(a, cap);
    f->cps = erg_malloc(a, (len + 2) * sizeof *f->cps);
    f->offs = erg_malloc(a, (len + 2) * sizeof *f->offs);
    if (!f->utf8 || !f->cps || !f->offs)
        return false;
    f->n = f->len = 0;
    if (prefix)
        f->len += erg_utf8_encode(0x2581, f->utf8);
    for (size_t i = 0; i < len;) {
        size_t used;
        uint32_t cp = erg_utf8_decode(text + i, len - i, &used);
        /* SentencePiece marks spaces with U+2581. */
        if (cp == ' ' && spm)
            cp = 0x2581;
        i += used;
        f->cps[f->n] = cp;
        f->offs[f->n++] = f->len;
        f->len += erg_utf8_encode(cp, f->utf8 + f->len);
    }
    f->offs[f->n] = f->len;
    return true;
}

static void fragment_free(const erg_allocator *a, fragment *f) {
    erg_free(a, f->utf8);
    erg_free(a, f->cps);
    erg_free(a, f->offs);
}

static bool tokenize_text(const erg_vocab *v, const char *text, size_t len, erg_token_list *out) {
    fragment f = {0};
    bool spm = v->kind == ERG_VOCAB_SPM;
    bool ok = fragment_make(v->alloc, text, len, spm, spm && v->add_space_prefix, &f);
    if (ok && spm) {
        ok = erg_tokenize_spm(v, f.utf8, f.len, out);
    } else if (ok) {
        for (size_t i = 0; ok && i < f.n;) {
            size_t end = erg_pretok_next(v->pretok, f.cps, f.n, i);
            ok = erg_tokenize_bpe_piece(v, f.utf8 + f.offs[i], f.offs[end] - f.offs[i], out);
            i = end;
        }
    }
    fragment_free(v->alloc, &f);
    return ok;
}

erg_status erg_tokenize(const erg_vocab *v, const char *text, size_t len, bool add_special,
                        bool parse_special, erg_token_list *out, erg_diag *diag) {
    out->alloc = v->alloc;
    bool ok = true;
    if (add_special && v->add_bos)
        ok = erg_token_list_push(out, v->bos);
    size_t start = 0;
    for (size_t i = 0; ok && i <= len;) {
        int32_t sp = i < len ? special_at(v, text, len, i, parse_special) : -1;
        if (sp < 0 && i < len) {
            i++;
            continue;
        }
        /* The text before a special token (or the end) is tokenized alone. */
        if (i > start)
            ok = tokenize_text(v, text + start, i - start, out);
        if (ok && sp >= 0)
            ok = erg_token_list_push(out, sp);
        if (sp < 0)
            break;
        i += v->len[sp];
        start = i;
    }
    if (ok && add_special && v->add_eos)
        ok = erg_token_list_push(out, v->eos);
    if (!ok)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "tokenizing %zu bytes of text", len);
    return ERG_OK;
}
