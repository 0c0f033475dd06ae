/*
 * cli.h: what every erg command shares: argument parsing, the one-line error
 * convention (stderr, non-zero exit), creating a runtime from the common
 * options.
 */
#ifndef ERG_TOOLS_CLI_H
#define ERG_TOOLS_CLI_H

#include "erg/erg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes: 0 success, 1 runtime failure, 2 bad command line. */
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

typedef struct cli_args {
    int argc;
    char **argv;
    int i; /* next argument */
    const char *cmd;
} cli_args;

/* Prints "erg <cmd>: <message>" on stderr; returns code. */
int cli_error(const cli_args *a, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True if argv[i] is `name` (or `alias`); then *value is the next argument
 * when `takes_value` (an error is printed and *bad set if it is missing). */
bool cli_flag(cli_args *a, const char *name, const char *alias, bool takes_value,
              const char **value, bool *bad);

typedef enum { CLI_OUT_TABLE, CLI_OUT_JSON, CLI_OUT_MD, CLI_OUT_CSV, CLI_OUT_JSONL } cli_output;
#define CLI_OUTPUTS_TABLE_JSON (1u << CLI_OUT_TABLE | 1u << CLI_OUT_JSON)

/* Where a command keeps the flags most commands share: -m/--model, --device,
 * -t/--threads, -c/--ctx and -o/--output (one of the formats in `outputs`, a
 * bit set of 1 << cli_output). A NULL member: the command does not take
 * that flag. */
typedef struct cli_common {
    const char **model;
    const char **device;
    long long *threads;
    long long *n_ctx;
    cli_output *out;
    unsigned outputs;
} cli_common;

/* True if argv[i] is one of the shared flags the command takes; then its
 * value is stored (or an error printed and *bad set). */
bool cli_common_flag(cli_args *a, const cli_common *c, bool *bad);

bool cli_parse_int(const char *s, long long lo, long long hi, long long *out);
bool cli_parse_double(const char *s, double *out);
/* Parses "1,2,3" into up to cap ints; false if malformed. */
bool cli_parse_int_list(const char *s, long long lo, long long hi, int64_t *out, size_t cap,
                        size_t *n);

/* Parses -o's value from the formats allowed (a bit set of 1 << cli_output). */
bool cli_parse_output(const char *s, unsigned allowed, cli_output *out);

/* Creates a runtime with n_threads (0: default), logging to stderr. On
 * failure prints the one error line and returns the exit code, else 0. */
int cli_runtime(const cli_args *a, int n_threads, erg_runtime **out);

/* The placement report of a session's last eval: nodes that fell back to
 * the CPU, subgraphs, copies, and simulated time labelled as such. */
void cli_print_placement(const char *device, const erg_session_stats *st);
/* The same as JSON members ("placement": {...}), without braces around. */
void cli_print_placement_json(const erg_session_stats *st);
/* Where the nodes ran (erg_session_placement) and, under device auto, the
 * scheduler's predicted time and energy beside the measured time; the JSON
 * form adds members (", \"nodes_on\": …") after the placement's. */
void cli_print_auto(const erg_session *s, const erg_session_stats *st);
void cli_print_auto_json(const erg_session *s, const erg_session_stats *st);
/* "edp", "latency" or "energy". */
bool cli_parse_policy(const char *s, erg_policy *out);

/* Commands */
int cmd_devices(cli_args *a);
int cmd_eval(cli_args *a);
int cmd_calibrate(cli_args *a);
int cmd_graph(cli_args *a);
int cmd_mkmodel(cli_args *a);
int cmd_quantize(cli_args *a);
int cmd_bench(cli_args *a);
int cmd_profile(cli_args *a);
int cmd_plugin_check(cli_args *a);
int cmd_tokenize(cli_args *a);
int cmd_run(cli_args *a);

#endif
