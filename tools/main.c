/* erg: the command-line tool. One grammar for every command: results on
 * stdout, diagnostics on stderr, one clear line and a non-zero exit on error. */
#include "tools/cli.h"

#include <string.h>

static const struct {
    const char *name;
    int (*run)(cli_args *a);
    const char *help;
} commands[] = {
    {"devices", cmd_devices, "list the devices erg can use"},
    {"run", cmd_run, "generate text after a prompt, streamed"},
    {"tokenize", cmd_tokenize, "the token ids of a text and their pieces"},
    {"eval", cmd_eval, "evaluate tokens, write logits"},
    {"calibrate", cmd_calibrate, "measure each device's costs for device auto (cached)"},
    {"bench", cmd_bench, "prefill and decode speed on every device"},
    {"graph", cmd_graph, "show a model's compute graph"},
    {"profile", cmd_profile, "per-op time and energy of a model on one device"},
    {"mkmodel", cmd_mkmodel, "write a GGUF model with random weights"},
    {"quantize", cmd_quantize, "convert an F32/F16 GGUF to a quantized type"},
#ifdef ERG_HAVE_PLUGINS
    {"plugin-check", cmd_plugin_check, "run the conformance suite on a plugin .so"},
#endif
};

static void usage(FILE *f) {
    fprintf(f, "usage: erg <command> [options]   (erg <command> --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nerg %s\n", erg_version());
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("erg %s\n", erg_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            cli_args a = {argc, argv, 2, commands[i].name};
            return commands[i].run(&a);
        }
    }
    fprintf(stderr, "erg: unknown command '%s' (try erg --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
