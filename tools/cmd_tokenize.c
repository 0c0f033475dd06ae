/* erg tokenize -m MODEL "text": the token ids of a text and their pieces. */
#include "tools/cli.h"

#include "model/unicode.h"

#include <stdlib.h>
#include <string.h>

static void usage(void) {
    printf("usage: erg tokenize -m MODEL [--no-bos] [--no-parse-special] [--ids] [-o table|json]\n"
           "                    TEXT | -f FILE\n"
           "  --no-bos            do not add BOS/EOS where the tokenizer would\n"
           "  --no-parse-special  read control tokens in the text as plain text\n"
           "  --ids               print only the ids, comma-separated\n");
}

typedef struct tok_opts {
    const char *model, *text, *file;
    bool no_special, no_parse, ids_only;
    cli_output out;
} tok_opts;

static int parse(cli_args *a, tok_opts *o) {
    const cli_common common = {.model = &o->model, .out = &o->out,
                               .outputs = CLI_OUTPUTS_TABLE_JSON};
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_common_flag(a, &common, &bad)) {
            /* stored in *o */
        } else if (cli_flag(a, "-f", "--file", true, &v, &bad)) {
            o->file = v;
        } else if (cli_flag(a, "--no-bos", NULL, false, &v, &bad)) {
            o->no_special = true;
        } else if (cli_flag(a, "--no-parse-special", NULL, false, &v, &bad)) {
            o->no_parse = true;
        } else if (cli_flag(a, "--ids", NULL, false, &v, &bad)) {
            o->ids_only = true;
        } else if (a->argv[a->i][0] == '-' && a->argv[a->i][1] != '\0') {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        } else if (o->text) {
            return cli_error(a, CLI_EXIT_USAGE, "one text only (quote it), not also '%s'",
                             a->argv[a->i]);
        } else {
            o->text = a->argv[a->i++];
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!o->model)
        return cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
    if (!o->text == !o->file)
        return cli_error(a, CLI_EXIT_USAGE, "give the text, or -f FILE (one of them)");
    return 0;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (*len + 4096 > cap) {
            char *nb = realloc(buf, cap = cap * 2 + 4096);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0) {
            fclose(f);
            return buf;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}

/* Bytes s[i..) that form one whole UTF-8 character; 0 if they do not. */
static size_t utf8_char(const char *s, size_t n, size_t i) {
    size_t used;
    uint32_t cp = erg_utf8_decode(s + i, n - i, &used);
    bool real_fffd = used == 3 && memcmp(s + i, "\xEF\xBF\xBD", 3) == 0;
    return cp != ERG_UNICODE_REPLACEMENT || real_fffd ? used : 0;
}

/* A piece as readable text: control bytes and bytes that are not whole
 * UTF-8 characters (a token may hold part of one) escaped, and quotes and
 * backslashes too. */
static void print_escaped(const char *s, size_t n, bool json) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c >= 0x80 ? utf8_char(s, n, i) : 1;
        if (len > 1) {
            fwrite(s + i, 1, len, stdout);
            i += len - 1;
        } else if (len == 0)
            printf(json ? "\\u%04x" : "\\x%02x", c); /* JSON: the byte as a code point */
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            printf("\\n");
        else if (c == '\t')
            printf("\\t");
        else if (c == '\r')
            printf("\\r");
        else if (c < 0x20 || c == 0x7F)
            printf(json ? "\\u%04x" : "\\x%02x", c);
        else
            putchar(c);
    }
}

static int print_tokens(cli_args *a, const tok_opts *o, erg_model *m, const int32_t *ids,
                        size_t n) {
    if (o->ids_only) {
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", ids[i]);
        printf("\n");
        return 0;
    }
    if (o->out == CLI_OUT_JSON)
        printf("{\"n_tokens\": %zu, \"tokens\": [", n);
    for (size_t i = 0; i < n; i++) {
        char piece[1024];
        size_t len;
        if (erg_model_token_to_piece(m, ids[i], true, piece, sizeof piece, &len) != ERG_OK &&
            len < sizeof piece)
            return cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
        len = len < sizeof piece ? len : sizeof piece - 1;
        if (o->out == CLI_OUT_JSON) {
            printf("%s{\"id\": %d, \"piece\": \"", i ? ", " : "", ids[i]);
            print_escaped(piece, len, true);
            printf("\"}");
        } else {
            printf("%8d  '", ids[i]);
            print_escaped(piece, len, false);
            printf("'\n");
        }
    }
    if (o->out == CLI_OUT_JSON)
        printf("]}\n");
    return 0;
}

static int run(cli_args *a, const tok_opts *o, erg_runtime *rt, const char *text, size_t len) {
    erg_model *m = NULL;
    int32_t *ids = NULL;
    int rc = 0;
    unsigned flags = (o->no_special ? 0 : ERG_TOKENIZE_ADD_SPECIAL) |
                     (o->no_parse ? 0 : ERG_TOKENIZE_PARSE_SPECIAL);
    size_t n = 0;
    if (erg_model_load(rt, o->model, NULL, &m) != ERG_OK) {
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_runtime_last_error(rt));
    } else if (erg_model_tokenize(m, text, len, flags, NULL, 0, &n) != ERG_OK && n == 0) {
        /* Counting fails for want of room (n > 0), or for a real reason. */
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
    } else if (!(ids = malloc((n ? n : 1) * sizeof *ids))) {
        rc = cli_error(a, CLI_EXIT_FAIL, "out of memory for %zu tokens", n);
    } else if (erg_model_tokenize(m, text, len, flags, ids, n, &n) != ERG_OK) {
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(m));
    } else {
        rc = print_tokens(a, o, m, ids, n);
    }
    free(ids);
    erg_model_destroy(m);
    return rc;
}

int cmd_tokenize(cli_args *a) {
    tok_opts o = {0};
    int rc = parse(a, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    size_t len = o.text ? strlen(o.text) : 0;
    char *file_text = NULL;
    if (o.file && !(file_text = read_file(o.file, &len)))
        return cli_error(a, CLI_EXIT_FAIL, "cannot read %s", o.file);
    erg_runtime *rt;
    rc = cli_runtime(a, 1, &rt);
    if (rc == 0) {
        rc = run(a, &o, rt, o.file ? file_text : o.text, len);
        erg_runtime_destroy(rt);
    }
    free(file_text);
    return rc;
}
