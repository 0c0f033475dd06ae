#include "base/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[] = {
#define ERG_STATUS_NAME_(name, msg) "ERG_" #name,
    ERG_STATUS_MAP(ERG_STATUS_NAME_)
#undef ERG_STATUS_NAME_
};

static const char *const status_messages[] = {
#define ERG_STATUS_MSG_(name, msg) msg,
    ERG_STATUS_MAP(ERG_STATUS_MSG_)
#undef ERG_STATUS_MSG_
};

const char *erg_status_str(erg_status status) {
    if ((unsigned)status >= (unsigned)ERG_STATUS_COUNT_)
        return "ERG_UNKNOWN";
    return status_names[status];
}

const char *erg_status_message(erg_status status) {
    if ((unsigned)status >= (unsigned)ERG_STATUS_COUNT_)
        return "unknown status";
    return status_messages[status];
}

erg_status erg_fail(erg_diag *diag, erg_status status, const char *fmt, ...) {
    if (diag) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(diag->msg, sizeof diag->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

void erg_diag_prefix(erg_diag *diag, const char *fmt, ...) {
    if (!diag)
        return;
    char prefix[ERG_DIAG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: old" in place: move the old sentence right, then copy the
     * prefix in front (both truncated to fit). */
    size_t plen = strlen(prefix);
    if (plen > ERG_DIAG_MAX - 3)
        plen = ERG_DIAG_MAX - 3;
    size_t olen = strnlen(diag->msg, ERG_DIAG_MAX - 1);
    if (plen + 2 + olen > ERG_DIAG_MAX - 1)
        olen = ERG_DIAG_MAX - 1 - plen - 2;
    memmove(diag->msg + plen + 2, diag->msg, olen);
    memcpy(diag->msg, prefix, plen);
    diag->msg[plen] = ':';
    diag->msg[plen + 1] = ' ';
    diag->msg[plen + 2 + olen] = '\0';
}
