/* corpus.h: reading tests/text/tokref/corpus.txt (one entry a line, '#'
 * comments, escapes \n \r \t \\ \xHH), shared by the text tests. */
#ifndef ERG_TESTS_TEXT_CORPUS_H
#define ERG_TESTS_TEXT_CORPUS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct corpus_entry {
    char *bytes;
    size_t len;
} corpus_entry;

/* Reads the corpus; false (printed) if the file cannot be read. */
bool corpus_read(const char *path, corpus_entry **entries, size_t *n);
void corpus_free(corpus_entry *entries, size_t n);

/* The text with each invalid UTF-8 sequence replaced by U+FFFD, as the
 * tokenizers read it (malloc'd, NUL-terminated). */
char *corpus_sanitized(const char *s, size_t len, size_t *out_len);

#endif
