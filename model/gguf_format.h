/* gguf_format.h: a short human-readable rendering of a GGUF value. */
#ifndef ERG_MODEL_GGUF_FORMAT_H
#define ERG_MODEL_GGUF_FORMAT_H

#include "model/gguf.h"

/* Writes the value into buf (always NUL-terminated; arrays show their type,
 * length and first few elements). False if size is 0. */
bool erg_gguf_format_value(erg_gguf *g, const erg_gguf_value *v, char *buf, size_t size);

#endif
