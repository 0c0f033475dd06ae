/*
 * log.h: the logger a runtime carries: the application's callback (or
 * stderr) and a level.
 */
#ifndef ERG_BASE_LOG_H
#define ERG_BASE_LOG_H

#include "erg/erg.h"

typedef struct erg_logger {
    erg_log_fn fn;   /* NULL: stderr */
    void *user;
    erg_log_level level;
} erg_logger;

/* Parses "error", "warn", "info", "debug", "none" (or 1-5); DEFAULT if unknown. */
erg_log_level erg_log_level_parse(const char *s);

void erg_log(const erg_logger *logger, erg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define ERG_LOGE(lg, ...) erg_log((lg), ERG_LOG_ERROR, __VA_ARGS__)
#define ERG_LOGW(lg, ...) erg_log((lg), ERG_LOG_WARN, __VA_ARGS__)
#define ERG_LOGI(lg, ...) erg_log((lg), ERG_LOG_INFO, __VA_ARGS__)
#define ERG_LOGD(lg, ...) erg_log((lg), ERG_LOG_DEBUG, __VA_ARGS__)

#endif
