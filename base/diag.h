/*
 * diag.h: internal error reporting.
 *
 * Internal functions that can fail return erg_status and, when given an
 * erg_diag, write the sentence that explains the failure into it. The public
 * API copies that sentence into the handle's last-error buffer.
 *
 *     if (size > file_size)
 *         return erg_fail(diag, ERG_FORMAT, "tensor '%s': data ends at byte %llu, "
 *                         "past the end of the file (%llu bytes)", ...);
 */
#ifndef ERG_BASE_DIAG_H
#define ERG_BASE_DIAG_H

#include "erg/erg.h"

#define ERG_DIAG_MAX 512

typedef struct erg_diag {
    char msg[ERG_DIAG_MAX];
} erg_diag;

/* Formats the sentence into diag (if not NULL) and returns status. */
erg_status erg_fail(erg_diag *diag, erg_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the sentence already in diag with a context, "ctx: old". */
void erg_diag_prefix(erg_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void erg_diag_clear(erg_diag *diag) {
    if (diag)
        diag->msg[0] = '\0';
}

#define ERG_RETURN_IF_ERROR(expr)                                             \
    do {                                                                      \
        erg_status erg_status_tmp_ = (expr);                                  \
        if (erg_status_tmp_ != ERG_OK)                                        \
            return erg_status_tmp_;                                           \
    } while (0)

#endif
