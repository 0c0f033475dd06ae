#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

erg_log_level erg_log_level_parse(const char *s) {
    static const struct {
        const char *name;
        erg_log_level level;
    } names[] = {{"error", ERG_LOG_ERROR}, {"warn", ERG_LOG_WARN},   {"warning", ERG_LOG_WARN},
                 {"info", ERG_LOG_INFO},   {"debug", ERG_LOG_DEBUG}, {"none", ERG_LOG_NONE}};
    if (!s || !*s)
        return ERG_LOG_DEFAULT;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0)
            return names[i].level;
    if (s[0] >= '1' && s[0] <= '5' && s[1] == '\0')
        return (erg_log_level)(s[0] - '0');
    return ERG_LOG_DEFAULT;
}

void erg_log(const erg_logger *logger, erg_log_level level, const char *fmt, ...) {
    erg_log_level threshold = logger ? logger->level : ERG_LOG_WARN;
    if (threshold == ERG_LOG_DEFAULT)
        threshold = ERG_LOG_WARN;
    if (level > threshold || threshold == ERG_LOG_NONE)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (logger && logger->fn) {
        logger->fn(logger->user, level, line);
        return;
    }
    static const char *const tags[] = {"", "error", "warn", "info", "debug", ""};
    fprintf(stderr, "erg: %s: %s\n", tags[level], line);
}
