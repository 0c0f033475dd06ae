/*
 * unicode.h: what the tokenizers need from Unicode: UTF-8 decoding that
 * never fails (an invalid or truncated sequence becomes U+FFFD, one per
 * maximal subpart, as the WHATWG decoder and JavaScript's TextDecoder do),
 * encoding, the classes the pre-tokenizer regexes use (\p{L}, \p{N}, \s),
 * and GPT-2's byte <-> character table.
 */
#ifndef ERG_MODEL_UNICODE_H
#define ERG_MODEL_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ERG_UNICODE_REPLACEMENT 0xFFFDu

typedef struct erg_unicode_range {
    uint32_t lo, hi;
} erg_unicode_range;

/* Generated tables (model/unicode_tables.c), sorted and disjoint. */
extern const erg_unicode_range erg_unicode_letter[];
extern const size_t erg_unicode_letter_count;
extern const erg_unicode_range erg_unicode_number[];
extern const size_t erg_unicode_number_count;
extern const erg_unicode_range erg_unicode_space[];
extern const size_t erg_unicode_space_count;

/* Decodes the code point at s[0..len) (len > 0); *n is the bytes it used
 * (1..4). Invalid input gives U+FFFD for its maximal subpart. */
uint32_t erg_utf8_decode(const char *s, size_t len, size_t *n);
/* Writes cp's UTF-8 (1..4 bytes) to out; returns the length. */
size_t erg_utf8_encode(uint32_t cp, char out[4]);
/* Length of a UTF-8 sequence from its first byte; 0 for a byte that cannot start one. */
size_t erg_utf8_seq_len(unsigned char lead);
/* Bytes at the end of s[0..len) that begin a valid sequence not yet complete
 * (0..3): a streaming writer holds them back until the rest arrives. */
size_t erg_utf8_incomplete_tail(const char *s, size_t len);

bool erg_unicode_is_letter(uint32_t cp);
bool erg_unicode_is_number(uint32_t cp);
bool erg_unicode_is_space(uint32_t cp);

/* GPT-2 byte-level BPE: byte b stands for a printable character (itself if
 * printable, else U+0100 onwards); and back (-1 if cp stands for no byte). */
uint32_t erg_unicode_byte_to_cp(uint8_t b);
int erg_unicode_cp_to_byte(uint32_t cp);

#endif
