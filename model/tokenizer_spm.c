/* SentencePiece-style tokenization of one piece of text: merge by the score
 * of the merged piece, then byte fallback for characters no token covers. */
#include "model/tokenizer.h"
#include "model/tokenizer_merge.h"

#include <string.h>

static bool spm_priority(const void *ctx, const char *a, size_t a_len, const char *b, size_t b_len,
                         double *priority) {
    const erg_vocab *v = ctx;
    char stack[256];
    size_t n = a_len + b_len;
    if (n > sizeof stack)
        return false; /* no vocabulary holds pieces this long */
    memcpy(stack, a, a_len);
    memcpy(stack + a_len, b, b_len);
    int32_t id = erg_vocab_find(v, stack, n);
    if (id < 0)
        return false;
    *priority = v->score[id];
    return true;
}

bool erg_tokenize_spm(const erg_vocab *v, const char *text, size_t len, erg_token_list *out) {
    erg_merge_symbol *s;
    size_t n;
    if (!erg_merge_run(v->alloc, text, len, spm_priority, v, &s, &n))
        return false;
    bool ok = true;
    for (ptrdiff_t i = n ? 0 : -1; ok && i >= 0; i = s[i].next) {
        int32_t id = erg_vocab_find(v, text + s[i].start, s[i].len);
        if (id >= 0) {
            ok = erg_token_list_push(out, id);
            continue;
        }
        for (size_t b = 0; ok && b < s[i].len; b++) {
            int32_t byte = v->byte_token[(unsigned char)text[s[i].start + b]];
            if (byte < 0)
                byte = v->unk;
            if (byte >= 0)
                ok = erg_token_list_push(out, byte);
        }
    }
    erg_free(v->alloc, s);
    return ok;
}
