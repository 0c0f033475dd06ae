/* Reading the tokenizer test corpus (see corpus.h). */
#include "tests/text/corpus.h"

#include "model/unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t unescape(const char *line, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (line[i] != '\\' || i + 1 >= n) {
            out[k++] = line[i];
            continue;
        }
        char c = line[++i];
        if (c == 'n')
            out[k++] = '\n';
        else if (c == 'r')
            out[k++] = '\r';
        else if (c == 't')
            out[k++] = '\t';
        else if (c == 'x' && i + 2 < n) {
            char hex[3] = {line[i + 1], line[i + 2], 0};
            out[k++] = (char)strtoul(hex, NULL, 16);
            i += 2;
        } else
            out[k++] = c;
    }
    return k;
}

bool corpus_read(const char *path, corpus_entry **entries, size_t *n) {
    FILE *f = fopen(path, "rb");
    *entries = NULL;
    *n = 0;
    if (!f) {
        printf("cannot open %s\n", path);
        return false;
    }
    char line[8192];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\n");
        if (len == 0 || line[0] == '#')
            continue;
        if (*n == cap) {
            cap = cap * 2 + 64;
            *entries = realloc(*entries, cap * sizeof **entries);
        }
        corpus_entry *e = &(*entries)[(*n)++];
        e->bytes = malloc(len + 1);
        e->len = unescape(line, len, e->bytes);
        e->bytes[e->len] = '\0';
    }
    fclose(f);
    return true;
}

void corpus_free(corpus_entry *entries, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(entries[i].bytes);
    free(entries);
}

char *corpus_sanitized(const char *s, size_t len, size_t *out_len) {
    char *out = malloc(len * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t used;
        uint32_t cp = erg_utf8_decode(s + i, len - i, &used);
        k += erg_utf8_encode(cp, out + k);
        i += used;
    }
    out[k] = '\0';
    *out_len = k;
    return out;
}
