/*
 * vocab.h: a model's vocabulary as the GGUF tokenizer section describes it
 * (tokenizer.ggml.*, laid out as llama.cpp's converter writes it): the
 * token strings, their scores and types, the BPE merges, the special ids
 * and flags. Loading validates every array against the token count and
 * refuses an unknown tokenizer model or pre-tokenizer by name.
 */
#ifndef ERG_MODEL_VOCAB_H
#define ERG_MODEL_VOCAB_H

#include "model/gguf.h"

/* Token types, as the GGUF stores them. */
enum {
    ERG_TOKEN_NORMAL = 1,
    ERG_TOKEN_UNKNOWN = 2,
    ERG_TOKEN_CONTROL = 3,
    ERG_TOKEN_USER_DEFINED = 4,
    ERG_TOKEN_UNUSED = 5,
    ERG_TOKEN_BYTE = 6
};

typedef enum erg_vocab_kind {
    ERG_VOCAB_SPM, /* "llama": SentencePiece-style merging by score, byte fallback */
    ERG_VOCAB_BPE  /* "gpt2": byte-level BPE with ranked merges */
} erg_vocab_kind;

/* The pre-tokenizer splits of tokenizer.ggml.pre (byte-level BPE only). */
typedef enum erg_pretok {
    ERG_PRETOK_GPT2,   /* "default", "gpt2" */
    ERG_PRETOK_LLAMA3, /* "llama-bpe", "llama3" */
    ERG_PRETOK_QWEN2,  /* "qwen2" */
    ERG_PRETOK_SMOLLM  /* "smollm": digits alone, then GPT-2's */
} erg_pretok;

/* An open-addressing table from byte strings to int32 values. */
typedef struct erg_strmap {
    uint32_t *slots; /* entry index + 1; 0 empty */
    size_t mask;
} erg_strmap;

typedef struct erg_vocab {
    const erg_allocator *alloc;
    erg_vocab_kind kind;
    erg_pretok pretok;
    uint32_t n_tokens;
    const char **text; /* NUL-terminated copies, in one pool */
    uint32_t *len;
    float *score;
    int32_t *type;
    char *pool;
    erg_strmap token_ids;
    /* Byte-level BPE: "left right" -> rank, and the merge strings. */
    uint32_t n_merges;
    const char **merge;
    uint32_t *merge_len;
    erg_strmap merge_ranks;
    char *merge_pool;
    /* Tokens matched whole in text, longest first: control, unknown and
     * user-defined ones (the first two only when asked to parse specials). */
    int32_t *specials;
    uint32_t n_specials;
    bool special_start[256];         /* bytes some special token starts with */
    int32_t bos, eos, eot, unk, pad; /* -1: none */
    int32_t byte_token[256];         /* SPM <0xNN> tokens; -1: none */
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
    char model_name[32], pre_name[64];
} erg_vocab;

/* The table for n entries; entry i's key is keys[i] (lens[i] bytes). Put
 * keeps the first entry of a key; get returns an entry index or -1. */
bool erg_strmap_init(const erg_allocator *a, erg_strmap *m, size_t n);
void erg_strmap_put(erg_strmap *m, const char *const *keys, const uint32_t *lens, uint32_t i);
int32_t erg_strmap_get(const erg_strmap *m, const char *const *keys, const uint32_t *lens,
                       const char *key, size_t len);

/* Loads the vocabulary of an opened GGUF. */
erg_status erg_vocab_load(const erg_allocator *alloc, const erg_gguf *g, erg_vocab **out,
                          erg_diag *diag);
void erg_vocab_free(erg_vocab *v);

/* Token id of a string, or -1. */
int32_t erg_vocab_find(const erg_vocab *v, const char *s, size_t len);
/* Rank of the BPE merge "left right", or -1. */
int32_t erg_vocab_merge_rank(const erg_vocab *v, const char *left, size_t left_len,
                             const char *right, size_t right_len);

/* Does token id end a generation (EOS, EOT, a known end-of-turn token)? */
bool erg_vocab_is_eog(const erg_vocab *v, int32_t id);

/* Parses a pre-tokenizer name; false if unknown. */
bool erg_pretok_parse(const char *name, erg_pretok *out);
/* "default, gpt2, llama-bpe, llama3, qwen2, smollm" */
const char *erg_pretok_supported_list(void);

#endif
