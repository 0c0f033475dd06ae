/*
 * chat.h: the built-in chat formats, and recognising which one a GGUF's
 * tokenizer.chat_template (a Jinja template) writes, by the markers it uses.
 * erg does not run Jinja: a template that matches no format is refused.
 */
#ifndef ERG_MODEL_CHAT_H
#define ERG_MODEL_CHAT_H

#include "erg/erg.h"

typedef enum erg_chat_format {
    ERG_CHAT_CHATML, /* Qwen: <|im_start|>role\n…<|im_end|>\n */
    ERG_CHAT_LLAMA3, /* <|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|> */
    ERG_CHAT_ZEPHYR  /* TinyLlama: <|role|>\n…</s>\n */
} erg_chat_format;

/* A format by name; -1 if unknown. */
int erg_chat_format_parse(const char *name);
const char *erg_chat_format_name(erg_chat_format f);
/* The format a chat template writes; -1 if none is recognised. */
int erg_chat_format_detect(const char *tmpl);

/* Writes the prompt into buf (size bytes, NUL-terminated when it fits);
 * returns its length, which may exceed size - 1 (as snprintf). */
size_t erg_chat_apply(erg_chat_format f, const erg_chat_message *msgs, size_t n, bool add_assistant,
                      char *buf, size_t size);

#endif
