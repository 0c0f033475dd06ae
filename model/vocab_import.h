/*
 * vocab_import.h: a Hugging Face tokenizer.json (and the tokenizer_config.json
 * beside it, when there is one) written as a GGUF tokenizer section, laid
 * out as llama.cpp's converter lays it out. `erg mkmodel --tokenizer` uses
 * it to make test models whose tokenizers are real ones.
 *
 * - A BPE model with byte_fallback and a U+2581 (Prepend/Metaspace)
 *   normaliser becomes tokenizer.ggml.model "llama": tokens, token types
 *   (<0xNN> byte tokens, control and user-defined added tokens) and scores.
 *   Each token's score is minus the rank of the first merge that makes it,
 *   so merging by score reproduces the BPE merge order.
 * - A byte-level BPE model becomes "gpt2" with its merges, and
 *   tokenizer.ggml.pre is named from the pre-tokenizer's regex: Llama-3's
 *   ("llama-bpe"), Qwen2's ("qwen2"), GPT-2's ByteLevel ("gpt2"), or
 *   individual digits then ByteLevel ("smollm"). Any other is an error
 *   that names what it found.
 * Special ids and add_bos/add_eos come from tokenizer_config.json, else
 * from the post-processor; tokenizer.chat_template from its chat_template.
 */
#ifndef ERG_MODEL_VOCAB_IMPORT_H
#define ERG_MODEL_VOCAB_IMPORT_H

#include "model/gguf.h"

/* Adds the tokenizer.* keys of json_path to w; *n_tokens: the vocabulary size. */
erg_status erg_vocab_import_json(const erg_allocator *alloc, const char *json_path,
                                 erg_gguf_writer *w, uint32_t *n_tokens, erg_diag *diag);

/* The vocabulary size of json_path (the highest id + 1), to size a model. */
erg_status erg_vocab_json_size(const erg_allocator *alloc, const char *json_path,
                               uint32_t *n_tokens, erg_diag *diag);

/* Rewrites the GGUF at path with its tokenizer.* keys replaced by json_path's. */
erg_status erg_vocab_embed_json(const erg_allocator *alloc, const char *path, const char *json_path,
                                erg_diag *diag);

#endif
