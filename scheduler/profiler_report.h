/*
 * profiler_report.h: a profile as a table, as JSON (documented in
 * docs/energy.md) and as a Chrome/Perfetto trace.
 */
#ifndef ERG_SCHEDULER_PROFILER_REPORT_H
#define ERG_SCHEDULER_PROFILER_REPORT_H

#include "scheduler/profiler.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* The op table, its total line and the lines that say where times and
 * joules come from. Every joule is printed with its source. max_rows > 0
 * prints that many rows (the rows are sorted) and one line for the rest. */
void erg_profile_print_table(FILE *f, const erg_profiler *p, size_t max_rows);

/* The profile as a JSON object (NULL if out of memory); the caller owns it. */
cJSON *erg_profile_to_json(const erg_profiler *p);

/* Writes a Chrome trace (chrome://tracing, ui.perfetto.dev) of the kept
 * events: one complete ("X") event per node run, ts and dur in µs, one
 * thread per device. */
erg_status erg_profile_write_trace(const char *path, const erg_profiler *const *profiles,
                                   size_t n, erg_diag *diag);

#endif
