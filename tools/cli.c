#include "tools/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const cli_args *a, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "erg %s: ", a->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

bool cli_flag(cli_args *a, const char *name, const char *alias, bool takes_value,
              const char **value, bool *bad) {
    const char *arg = a->argv[a->i];
    if (strcmp(arg, name) != 0 && !(alias && strcmp(arg, alias) == 0))
        return false;
    a->i++;
    if (!takes_value)
        return true;
    if (a->i >= a->argc) {
        cli_error(a, CLI_EXIT_USAGE, "%s needs a value", name);
        *bad = true;
        return true;
    }
    *value = a->argv[a->i++];
    return true;
}

static const char *const output_formats[] = {"table", "json", "md", "csv", "jsonl"};
#define N_OUTPUT_FORMATS (sizeof output_formats / sizeof output_formats[0])

/* "table or json", "table, json or md": the formats in the bit set. */
static void output_names(unsigned allowed, char *buf, size_t size) {
    unsigned n = 0, total = 0;
    for (unsigned i = 0; i < N_OUTPUT_FORMATS; i++)
        total += (allowed >> i) & 1u;
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < N_OUTPUT_FORMATS && len < size; i++) {
        if (!(allowed & (1u << i)))
            continue;
        const char *sep = n == 0 ? "" : n + 1 == total ? " or " : ", ";
        len += (size_t)snprintf(buf + len, size - len, "%s%s", sep, output_formats[i]);
        n++;
    }
}

bool cli_common_flag(cli_args *a, const cli_common *c, bool *bad) {
    const char *v = NULL;
    if (c->model && cli_flag(a, "-m", "--model", true, &v, bad)) {
        if (!*bad)
            *c->model = v;
    } else if (c->device && cli_flag(a, "--device", NULL, true, &v, bad)) {
        if (!*bad)
            *c->device = v;
    } else if (c->threads && cli_flag(a, "-t", "--threads", true, &v, bad)) {
        if (!*bad && !cli_parse_int(v, 1, 1024, c->threads)) {
            cli_error(a, CLI_EXIT_USAGE, "-t takes a thread count, not '%s'", v);
            *bad = true;
        }
    } else if (c->n_ctx && cli_flag(a, "-c", "--ctx", true, &v, bad)) {
        if (!*bad && !cli_parse_int(v, 1, 1 << 20, c->n_ctx)) {
            cli_error(a, CLI_EXIT_USAGE, "-c takes a context length, not '%s'", v);
            *bad = true;
        }
    } else if (c->out && cli_flag(a, "-o", "--output", true, &v, bad)) {
        if (!*bad && !cli_parse_output(v, c->outputs, c->out)) {
            char formats[64];
            output_names(c->outputs, formats, sizeof formats);
            cli_error(a, CLI_EXIT_USAGE, "-o takes %s, not '%s'", formats, v);
            *bad = true;
        }
    } else {
        return false;
    }
    return true;
}

bool cli_parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool cli_parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

bool cli_parse_int_list(const char *s, long long lo, long long hi, int64_t *out, size_t cap,
                        size_t *n) {
    *n = 0;
    const char *p = s;
    while (*p) {
        char buf[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof buf || *n >= cap)
            return false;
        memcpy(buf, p, len);
        buf[len] = '\0';
        long long v;
        if (!cli_parse_int(buf, lo, hi, &v))
            return false;
        out[(*n)++] = v;
        p += len;
        if (*p == ',' && *++p == '\0')
            return false;
    }
    return *n > 0;
}

bool cli_parse_output(const char *s, unsigned allowed, cli_output *out) {
    for (unsigned i = 0; i < N_OUTPUT_FORMATS; i++)
        if ((allowed & (1u << i)) && strcmp(s, output_formats[i]) == 0) {
            *out = (cli_output)i;
            return true;
        }
    return false;
}

/* Log lines go to stderr as usual; the runtime's error lines are kept too,
 * so a failed start is reported as the command's one error line. */
typedef struct log_capture {
    char last_error[512];
} log_capture;

static void cli_log(void *user, erg_log_level level, const char *message) {
    log_capture *c = user;
    if (level == ERG_LOG_ERROR && c) {
        snprintf(c->last_error, sizeof c->last_error, "%s", message);
        return;
    }
    static const char *const tags[] = {"", "error", "warn", "info", "debug", ""};
    fprintf(stderr, "erg: %s: %s\n", tags[level <= ERG_LOG_NONE ? level : 0], message);
}

int cli_runtime(const cli_args *a, int n_threads, erg_runtime **out) {
    static log_capture capture;
    erg_runtime_options o = ERG_RUNTIME_OPTIONS_INIT;
    o.n_threads = n_threads;
    o.log_fn = cli_log;
    o.log_user = &capture;
    capture.last_error[0] = '\0';
    erg_status st = erg_runtime_create(&o, out);
    if (st != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s",
                         capture.last_error[0] ? capture.last_error : erg_status_message(st));
    return 0;
}
