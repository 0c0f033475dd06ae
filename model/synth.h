/*
 * synth.h: the model maker behind `erg mkmodel`. It writes a GGUF file laid
 * out as llama.cpp writes one (same keys, tensor names and types, a valid
 * tokenizer section) with seeded random weights: matrices N(0, 0.02), norms
 * close to 1. Tests and benchmarks make their models with it.
 */
#ifndef ERG_MODEL_SYNTH_H
#define ERG_MODEL_SYNTH_H

#include "model/model.h"
#include "model/quantize.h"

typedef struct erg_synth_spec {
    erg_arch arch;
    uint32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx;
    float rope_freq_base, rms_eps;
    bool tied_output;  /* no output.weight: the embedding is reused */
    bool rope_freqs;   /* write Llama-3 style rope_freqs.weight factors */
    erg_ftype ftype;
    uint64_t seed;
    char preset[32];
} erg_synth_spec;

/* Fills spec from a preset (tiny, small, qwen3-0.6b, tinyllama-1.1b) for
 * arch (-1: the preset's own architecture). */
erg_status erg_synth_preset(const char *preset, int arch, erg_synth_spec *spec, erg_diag *diag);
/* "tiny, small, qwen3-0.6b, tinyllama-1.1b" */
const char *erg_synth_preset_list(void);

/* Checks the spec's dimensions (e.g. head counts dividing, K-quant rows). */
erg_status erg_synth_check(const erg_synth_spec *spec, erg_diag *diag);

/* Writes the model to path using n_threads threads (0: 1). */
erg_status erg_synth_write(const erg_allocator *alloc, const erg_synth_spec *spec,
                           const char *path, int n_threads, erg_diag *diag);

/* Adds a tokenizer section of n_vocab tokens to w: SentencePiece-style
 * ("llama") for llama, byte-level BPE ("gpt2", pre "qwen2") for qwen. */
erg_status erg_synth_add_tokenizer(const erg_allocator *alloc, erg_gguf_writer *w, erg_arch arch,
                                   uint32_t n_vocab, erg_diag *diag);

#endif
