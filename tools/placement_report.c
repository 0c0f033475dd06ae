/* The placement report printed by erg eval (and erg bench with --strict's
 * counterpart): what ran where, what it copied, what was simulated. */
#include "tools/cli.h"

void cli_print_placement(const char *device, const erg_session_stats *st) {
    printf("placement: %u nodes, %u fell back to cpu, %u subgraphs, %.1f KiB copied between "
           "devices\n",
           st->n_nodes, st->n_nodes_fallback, st->n_subgraphs, (double)st->bytes_copied / 1024.0);
    if (st->simulated_seconds > 0)
        printf("simulated: %s device time %.3f ms, energy %.3f mJ (simulated, not measured)%s\n",
               device, st->simulated_seconds * 1e3, st->simulated_joules * 1e3,
               st->partly_simulated ? "; the eval is partly simulated: cpu time is measured" : "");
}

void cli_print_placement_json(const erg_session_stats *st) {
    printf("\"placement\": {\"n_nodes\": %u, \"n_nodes_fallback\": %u, \"n_subgraphs\": %u, "
           "\"bytes_copied\": %llu, \"simulated_seconds\": %.9g, \"simulated_joules\": %.9g, "
           "\"energy_source\": \"%s\", \"partly_simulated\": %s}",
           st->n_nodes, st->n_nodes_fallback, st->n_subgraphs,
           (unsigned long long)st->bytes_copied, st->simulated_seconds, st->simulated_joules,
           st->simulated_seconds > 0 ? "simulated" : "none", st->partly_simulated ? "true" : "false");
}
