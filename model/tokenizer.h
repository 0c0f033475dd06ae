/*
 * tokenizer.h: text to token ids and back, for the two tokenizer models of
 * GGUF files (see vocab.h).
 *
 * Encoding: the text is first cut at special tokens (control and unknown
 * tokens when parse_special, user-defined ones always), which are matched whole,
 * longest first, and never split. Each piece of text between them is
 * decoded as UTF-8 (an invalid sequence becomes U+FFFD) and then
 * - SPM ("llama"): spaces become U+2581, one is prepended when
 *   add_space_prefix, and adjacent symbols are merged by the score of the
 *   merged piece (ties: leftmost); a character that no token covers becomes
 *   its <0xNN> byte tokens;
 * - BPE ("gpt2"): the pre-tokenizer of tokenizer.ggml.pre splits the text
 *   (tokenizer_pre.c), each piece's bytes become GPT-2's byte characters and
 *   the ranked merges apply, lowest rank first.
 * add_special adds BOS/EOS as the vocabulary's add_bos/add_eos say.
 *
 * Decoding is a streaming detokenizer: pieces of token text go in, valid
 * UTF-8 comes out, a partial character held back until it is complete.
 */
#ifndef ERG_MODEL_TOKENIZER_H
#define ERG_MODEL_TOKENIZER_H

#include "model/vocab.h"

/* A growable list of token ids. */
typedef struct erg_token_list {
    const erg_allocator *alloc;
    int32_t *ids;
    size_t n, cap;
} erg_token_list;

bool erg_token_list_push(erg_token_list *l, int32_t id);
void erg_token_list_free(erg_token_list *l);

erg_status erg_tokenize(const erg_vocab *v, const char *text, size_t len, bool add_special,
                        bool parse_special, erg_token_list *out, erg_diag *diag);

/* The model-specific halves (one piece of text, already valid UTF-8). */
bool erg_tokenize_spm(const erg_vocab *v, const char *text, size_t len, erg_token_list *out);
bool erg_tokenize_bpe_piece(const erg_vocab *v, const char *text, size_t len, erg_token_list *out);

/* Pre-tokenizer: the end (in code points) of the piece that starts at
 * cps[i], i < n, under the splitting rules of `pre`. */
size_t erg_pretok_next(erg_pretok pre, const uint32_t *cps, size_t n, size_t i);

/* The bytes token id stands for: SPM's U+2581 become spaces and <0xNN> its
 * byte; BPE's byte characters their bytes. Control (and unknown) tokens
 * give their text only when `special`, else nothing. Writes at most cap
 * bytes to out and returns the full length (as snprintf does, no NUL). */
size_t erg_token_bytes(const erg_vocab *v, int32_t id, bool special, char *out, size_t cap);

/* Streaming detokenizer: push token ids, read back text that is always
 * whole UTF-8 characters. */
typedef struct erg_detok {
    const erg_vocab *v;
    bool special;     /* show control tokens */
    bool strip_space; /* SPM: drop the space the encoder prepended, once */
    char pending[8];  /* the start of a character not yet complete */
    size_t n_pending;
} erg_detok;

void erg_detok_init(erg_detok *d, const erg_vocab *v, bool special);
/* Appends the text token id completes to out (grown with the vocab's
 * allocator; *out_len updated). False when out of memory. */
bool erg_detok_push(erg_detok *d, int32_t id, char **out, size_t *out_len, size_t *out_cap);
/* Ends the stream: a partial character left becomes U+FFFD. */
bool erg_detok_flush(erg_detok *d, char **out, size_t *out_len, size_t *out_cap);

#endif
