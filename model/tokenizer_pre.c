/*
 * The pre-tokenizers of byte-level BPE vocabularies, hand-written from the
 * regular expressions their tokenizer.json files publish (no regex engine):
 *
 * gpt2:    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * llama3:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
 *          | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * qwen2:   llama3's with \p{N} (one digit a piece) for \p{N}{1,3}
 * smollm:  every ASCII digit alone first (the Digits pre-tokenizer with
 *          individual_digits; llama.cpp uses \p{N}), then gpt2's on the rest.
 *
 * Each function returns where the match starting at i ends; the
 * alternatives are tried in the regex's order, each as the regex engine
 * would match it (greedy, with the backtracking spelled out).
 */
#include "model/tokenizer.h"
#include "model/unicode.h"

static bool is_l(uint32_t c) { return erg_unicode_is_letter(c); }
static bool is_n(uint32_t c) { return erg_unicode_is_number(c); }
static bool is_s(uint32_t c) { return erg_unicode_is_space(c); }
static bool is_crlf(uint32_t c) { return c == '\r' || c == '\n'; }
static bool is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }

static size_t letters_end(const uint32_t *c, size_t n, size_t i) {
    while (i < n && is_l(c[i]))
        i++;
    return i;
}

/* 's 't 're 've 'm 'll 'd (ASCII case folded when fold): the end, or 0. */
static size_t contraction(const uint32_t *c, size_t n, size_t i, bool fold) {
    if (c[i] != '\'' || i + 1 >= n)
        return 0;
    uint32_t a = c[i + 1], b = i + 2 < n ? c[i + 2] : 0;
    if (fold) {
        a = a < 0x80 ? (a | 0x20) : a;
        b = b < 0x80 ? (b | 0x20) : b;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return i + 3;
    return 0;
}

/* \s+(?!\S) then \s+ : a whitespace run, leaving its last space to the
 * next piece when a non-space follows (unless the run is one space). */
static size_t space_run(const uint32_t *c, size_t n, size_t i) {
    size_t j = i;
    while (j < n && is_s(c[j]))
        j++;
    if (j < n && j - i >= 2)
        return j - 1;
    return j;
}

static size_t gpt2_next(const uint32_t *c, size_t n, size_t i) {
    size_t e = contraction(c, n, i, false);
    if (e)
        return e;
    size_t k = c[i] == ' ' && i + 1 < n ? i + 1 : i; /* the optional leading space */
    if (is_l(c[k]))
        return letters_end(c, n, k);
    if (is_n(c[k])) {
        while (k < n && is_n(c[k]))
            k++;
        return k;
    }
    if (!is_s(c[k])) {
        while (k < n && !is_s(c[k]) && !is_l(c[k]) && !is_n(c[k]))
            k++;
        return k;
    }
    return space_run(c, n, i);
}

static size_t llama3_next(const uint32_t *c, size_t n, size_t i, size_t max_digits) {
    size_t e = contraction(c, n, i, true);
    if (e)
        return e;
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    if (is_l(c[i]))
        return letters_end(c, n, i);
    if (!is_crlf(c[i]) && !is_n(c[i]) && i + 1 < n && is_l(c[i + 1]))
        return letters_end(c, n, i + 1);
    /* \p{N}{1,max} */
    if (is_n(c[i])) {
        size_t j = i;
        while (j < n && j - i < max_digits && is_n(c[j]))
            j++;
        return j;
    }
    /* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
    size_t k = c[i] == ' ' && i + 1 < n ? i + 1 : i;
    if (!is_s(c[k]) && !is_l(c[k]) && !is_n(c[k])) {
        while (k < n && !is_s(c[k]) && !is_l(c[k]) && !is_n(c[k]))
            k++;
        while (k < n && is_crlf(c[k]))
            k++;
        return k;
    }
    /* \s*[\r\n]+ : up to the run's last line break */
    size_t j = i, last_break = 0;
    bool has_break = false;
    for (; j < n && is_s(c[j]); j++)
        if (is_crlf(c[j])) {
            last_break = j;
            has_break = true;
        }
    if (has_break)
        return last_break + 1;
    return space_run(c, n, i);
}

size_t erg_pretok_next(erg_pretok pre, const uint32_t *c, size_t n, size_t i) {
    switch (pre) {
    case ERG_PRETOK_LLAMA3:
        return llama3_next(c, n, i, 3);
    case ERG_PRETOK_QWEN2:
        return llama3_next(c, n, i, 1);
    case ERG_PRETOK_SMOLLM: {
        if (is_ascii_digit(c[i]))
            return i + 1;
        /* GPT-2's rules on the run up to the next digit. */
        size_t end = i;
        while (end < n && !is_ascii_digit(c[end]))
            end++;
        return gpt2_next(c, end, i);
    }
    case ERG_PRETOK_GPT2:
    default:
        return gpt2_next(c, n, i);
    }
}
