#include "model/gguf_format.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARRAY_PREVIEW 4

typedef struct {
    char *buf;
    size_t size, used;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_buf *o, const char *fmt, ...) {
    if (o->used >= o->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->buf + o->used, o->size - o->used, fmt, ap);
    va_end(ap);
    if (w > 0)
        o->used += (size_t)w < o->size - o->used ? (size_t)w : o->size - o->used;
}

static void put_str(out_buf *o, erg_gguf_str s) {
    size_t n = s.len > 80 ? 80 : (size_t)s.len;
    put(o, "\"%.*s%s\"", (int)n, s.ptr, s.len > n ? "…" : "");
}

static void put_value(out_buf *o, erg_gguf *g, const erg_gguf_value *v, int depth) {
    int64_t i;
    double d;
    bool b;
    erg_gguf_str s;
    switch (v->type) {
    case ERG_GGUF_BOOL:
        if (erg_gguf_get_bool(g, v, &b))
            put(o, "%s", b ? "true" : "false");
        return;
    case ERG_GGUF_FLOAT32:
    case ERG_GGUF_FLOAT64:
        if (erg_gguf_get_float(g, v, &d))
            put(o, "%g", d);
        return;
    case ERG_GGUF_STRING:
        if (erg_gguf_get_str(g, v, &s))
            put_str(o, s);
        return;
    case ERG_GGUF_ARRAY:
        put(o, "[%s × %" PRIu64 "]", erg_gguf_type_name(v->elem_type), v->count);
        if (depth > 1 || v->count == 0)
            return;
        put(o, " {");
        for (uint64_t j = 0; j < v->count && j < ARRAY_PREVIEW; j++) {
            put(o, "%s", j ? ", " : "");
            erg_gguf_value e;
            if (v->elem_type == ERG_GGUF_STRING && erg_gguf_arr_str(g, v, j, &s))
                put_str(o, s);
            else if (v->elem_type == ERG_GGUF_ARRAY && erg_gguf_arr_value(g, v, j, &e))
                put_value(o, g, &e, depth + 1);
            else if ((v->elem_type == ERG_GGUF_FLOAT32 || v->elem_type == ERG_GGUF_FLOAT64) &&
                     erg_gguf_arr_float(g, v, j, &d))
                put(o, "%g", d);
            else if (erg_gguf_arr_int(g, v, j, &i))
                put(o, "%" PRId64, i);
        }
        put(o, "%s}", v->count > ARRAY_PREVIEW ? ", …" : "");
        return;
    default:
        if (erg_gguf_get_int(g, v, &i))
            put(o, "%" PRId64, i);
        else if (v->type == ERG_GGUF_UINT64) {
            uint64_t u;
            if (erg_gguf_get_uint(g, v, &u))
                put(o, "%" PRIu64, u);
        }
        return;
    }
}

bool erg_gguf_format_value(erg_gguf *g, const erg_gguf_value *v, char *buf, size_t size) {
    if (size == 0)
        return false;
    buf[0] = '\0';
    out_buf o = {buf, size, 0};
    put_value(&o, g, v, 0);
    return true;
}
