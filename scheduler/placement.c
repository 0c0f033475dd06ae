/* The placement rule: supported -> the session's device, else the fallback. */
#include "scheduler/placement.h"

#include <stdio.h>

void erg_place_nodes(const erg_graph *g, const erg_backend *b, const erg_backend_device *dev,
                     uint8_t *assign, erg_placement_report *report) {
    report->n_fallback = 0;
    report->first_fallback = -1;
    report->first_reason[0] = '\0';
    uint8_t prev = ERG_PLACE_DEVICE;
    for (size_t i = 0; i < g->n_nodes; i++) {
        const erg_node *n = &g->nodes[i];
        if (erg_op_is_view(n->op)) {
            assign[i] = prev;
            continue;
        }
        erg_diag why = {{0}};
        assign[i] = b->supports_node(dev, g, n, &why) ? ERG_PLACE_DEVICE : ERG_PLACE_FALLBACK;
        if (assign[i] == ERG_PLACE_FALLBACK && report->n_fallback++ == 0) {
            report->first_fallback = (int32_t)i;
            snprintf(report->first_reason, sizeof report->first_reason, "%s", why.msg);
        }
        prev = assign[i];
    }
}

erg_status erg_placement_strict_error(const erg_graph *g, const erg_backend *b,
                                      const erg_placement_report *report, erg_diag *diag) {
    const erg_node *n = &g->nodes[report->first_fallback];
    return erg_fail(diag, ERG_UNSUPPORTED,
                    ERG_PLACEMENT_STRICT_PREFIX
                    "%s cannot run node %d (%s -> '%s'): %s; %u nodes would "
                    "fall back to the CPU",
                    b->name, report->first_fallback, erg_op_name(n->op),
                    g->tensors[n->dst].name, report->first_reason, report->n_fallback);
}
