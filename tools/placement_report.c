/* The placement report printed by erg eval (and erg bench with --strict's
 * counterpart): what ran where, what it copied, what was simulated. */
#include "tools/cli.h"

#include <string.h>

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

bool cli_parse_policy(const char *s, erg_policy *out) {
    static const char *const names[] = {"edp", "latency", "energy"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (erg_policy)(ERG_POLICY_EDP + i);
            return true;
        }
    return false;
}

void cli_print_auto(const erg_session *s, const erg_session_stats *st) {
    char where[512];
    if (erg_session_placement(s, where, sizeof where) == ERG_OK)
        printf("nodes on: %s\n", where);
    if (st->predicted_seconds > 0)
        printf("auto: predicted %.3f ms, %.3f mJ (estimate: busy time x power profile); "
               "measured %.3f ms\n",
               st->predicted_seconds * 1e3, st->predicted_joules * 1e3, st->eval_seconds * 1e3);
}

void cli_print_auto_json(const erg_session *s, const erg_session_stats *st) {
    char where[512];
    if (erg_session_placement(s, where, sizeof where) != ERG_OK)
        where[0] = '\0';
    printf(", \"nodes_on\": \"%s\", \"predicted_seconds\": %.9g, \"predicted_joules\": %.9g, "
           "\"predicted_energy_source\": \"estimate\", \"measured_seconds\": %.9g",
           where, st->predicted_seconds, st->predicted_joules, st->eval_seconds);
}
