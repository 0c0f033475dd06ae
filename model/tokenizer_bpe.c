/* Byte-level BPE of one pre-tokenized piece: bytes become GPT-2's byte
 * characters, then the ranked merges apply. */
#include "model/tokenizer.h"
#include "model/tokenizer_merge.h"
#include "model/unicode.h"

static bool bpe_priority(const void *ctx, const char *a, size_t a_len, const char *b, size_t b_len,
                         double *priority) {
    int32_t rank = erg_vocab_merge_rank(ctx, a, a_len, b, b_len);
    *priority = -(double)rank;
    return rank >= 0;
}

bool erg_tokenize_bpe_piece(const erg_vocab *v, const char *text, size_t len, erg_token_list *out) {
    /* Each byte becomes a character of one or two UTF-8 bytes. */
    char *mapped = erg_malloc(v->alloc, len * 2 + 1);
    if (!mapped)
        return false;
    size_t m = 0;
    for (size_t i = 0; i < len; i++)
        m += erg_utf8_encode(erg_unicode_byte_to_cp((uint8_t)text[i]), mapped + m);
    int32_t whole = v->ignore_merges ? erg_vocab_find(v, mapped, m) : -1;
    if (whole >= 0) {
        erg_free(v->alloc, mapped);
        return erg_token_list_push(out, whole);
    }
    erg_merge_symbol *s = NULL;
    size_t n;
    bool ok = erg_merge_run(v->alloc, mapped, m, bpe_priority, v, &s, &n);
    for (ptrdiff_t i = ok && n ? 0 : -1; ok && i >= 0; i = s[i].next) {
        int32_t id = erg_vocab_find(v, mapped + s[i].start, s[i].len);
        /* Only a vocabulary without some byte character lacks a symbol. */
        if (id < 0)
            id = v->unk;
        if (id >= 0)
            ok = erg_token_list_push(out, id);
    }
    erg_free(v->alloc, s);
    erg_free(v->alloc, mapped);
    return ok;
}
