/*
 * placement.h: which device runs each node of a graph on an explicit
 * device: a node goes to the session's device if it supports it, else to
 * the fallback device (the CPU, which runs every op). Device "auto" places
 * by measured cost instead (auto_place.h).
 */
#ifndef ERG_SCHEDULER_PLACEMENT_H
#define ERG_SCHEDULER_PLACEMENT_H

#include "backends/backend.h"

enum { ERG_PLACE_DEVICE = 0, ERG_PLACE_FALLBACK = 1 };

typedef struct erg_placement_report {
    uint32_t n_fallback;     /* non-view nodes placed on the fallback device */
    int32_t first_fallback;  /* the first of them, or -1 */
    char first_reason[ERG_DIAG_MAX]; /* why the device cannot run it */
} erg_placement_report;

/* Fills assign[i] (g->n_nodes entries) with ERG_PLACE_*. A view goes with
 * the node before it, so it never splits a run of nodes on one device. */
void erg_place_nodes(const erg_graph *g, const erg_backend *b, const erg_backend_device *dev,
                     uint8_t *assign, erg_placement_report *report);

/* The ERG_UNSUPPORTED error naming the first fallback node (strict mode). */
/* How that error's message starts: callers that must tell it from other
 * ERG_UNSUPPORTED errors (auto's calibration) test for this prefix. */
#define ERG_PLACEMENT_STRICT_PREFIX "strict device: "

erg_status erg_placement_strict_error(const erg_graph *g, const erg_backend *b,
                                      const erg_placement_report *report, erg_diag *diag);

#endif
