/* The built-in chat formats (see chat.h). */
#include "model/chat.h"

#include <string.h>

static const char *const names[] = {"chatml", "llama3", "zephyr"};

int erg_chat_format_parse(const char *name) {
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

const char *erg_chat_format_name(erg_chat_format f) { return names[f]; }

int erg_chat_format_detect(const char *tmpl) {
    if (strstr(tmpl, "<|im_start|>"))
        return ERG_CHAT_CHATML;
    if (strstr(tmpl, "<|start_header_id|>"))
        return ERG_CHAT_LLAMA3;
    if (strstr(tmpl, "<|user|>") || strstr(tmpl, "<|assistant|>"))
        return ERG_CHAT_ZEPHYR;
    return -1;
}

typedef struct writer {
    char *buf;
    size_t size, len;
} writer;

static void put(writer *w, const char *s, size_t n) {
    if (w->len < w->size) {
        size_t room = w->size - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    w->len += n;
}

static void puts_(writer *w, const char *s) { put(w, s, strlen(s)); }

/* Llama-3's template trims each message's content. */
static void put_trimmed(writer *w, const char *s) {
    const char *end = s + strlen(s);
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    put(w, s, (size_t)(end - s));
}

static void turn(writer *w, erg_chat_format f, const char *role, const char *content) {
    switch (f) {
    case ERG_CHAT_CHATML:
        puts_(w, "<|im_start|>");
        puts_(w, role);
        puts_(w, "\n");
        if (content) {
            puts_(w, content);
            puts_(w, "<|im_end|>\n");
        }
        break;
    case ERG_CHAT_LLAMA3:
        puts_(w, "<|start_header_id|>");
        puts_(w, role);
        puts_(w, "<|end_header_id|>\n\n");
        if (content) {
            put_trimmed(w, content);
            puts_(w, "<|eot_id|>");
        }
        break;
    case ERG_CHAT_ZEPHYR:
        puts_(w, "<|");
        puts_(w, role);
        puts_(w, "|>\n");
        if (content) {
            puts_(w, content);
            puts_(w, "</s>\n");
        }
        break;
    }
}

size_t erg_chat_apply(erg_chat_format f, const erg_chat_message *msgs, size_t n, bool add_assistant,
                      char *buf, size_t size) {
    writer w = {buf, size, 0};
    for (size_t i = 0; i < n; i++)
        turn(&w, f, msgs[i].role ? msgs[i].role : "user", msgs[i].content ? msgs[i].content : "");
    if (add_assistant)
        turn(&w, f, "assistant", NULL);
    if (size)
        buf[w.len < size ? w.len : size - 1] = '\0';
    return w.len;
}
