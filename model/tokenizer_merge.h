/*
 * tokenizer_merge.h: the merge loop both tokenizer models share. The text
 * starts as one symbol per character; the adjacent pair with the best
 * priority is merged, ties going to the leftmost pair, until no pair has a
 * priority. SPM's priority is the merged piece's score, BPE's is the
 * merge's rank (lower first).
 */
#ifndef ERG_MODEL_TOKENIZER_MERGE_H
#define ERG_MODEL_TOKENIZER_MERGE_H

#include "base/alloc.h"

#include <stdbool.h>
#include <stddef.h>

/* The priority of merging a and b (higher first); false: they do not merge. */
typedef bool (*erg_merge_priority_fn)(const void *ctx, const char *a, size_t a_len, const char *b,
                                      size_t b_len, double *priority);

typedef struct erg_merge_symbol {
    size_t start, len;
    ptrdiff_t prev, next; /* -1: none */
} erg_merge_symbol;

/* Splits text into UTF-8 characters (text must be valid UTF-8) and merges
 * them. On success *syms holds *n_syms symbols (those with len 0 were
 * merged away), linked in order from index 0; the caller frees it. */
bool erg_merge_run(const erg_allocator *alloc, const char *text, size_t len,
                   erg_merge_priority_fn priority, const void *ctx, erg_merge_symbol **syms,
                   size_t *n_syms);

#endif
