/* erg mkmodel: writes a GGUF with seeded random weights of any shape and type. */
#include "tools/cli.h"

#include "model/synth.h"
#include "model/vocab_import.h"

#include <string.h>

static void usage(void) {
    printf("usage: erg mkmodel [--arch llama|qwen2|qwen3] [--preset %s]\n"
           "                  --type T [--seed N] --out FILE [-t THREADS]\n"
           "                  [--n-vocab N] [--n-embd N] [--n-layer N] [--n-head N]\n"
           "                  [--n-head-kv N] [--n-ff N] [--head-dim N] [--n-ctx N]\n"
           "                  [--tied | --untied] [--rope-freqs] [--tokenizer tokenizer.json]\n"
           "  T: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_s q4_k_m q5_k_s q5_k_m\n"
           "  --tokenizer  embed a Hugging Face tokenizer.json (and the tokenizer_config.json\n"
           "               beside it) as llama.cpp's converter does; sets --n-vocab\n",
           erg_synth_preset_list());
}

int cmd_mkmodel(cli_args *a) {
    const char *arch = NULL, *preset = "tiny", *type = NULL, *out = NULL, *tokenizer = NULL;
    long long seed = 1, threads = 0;
    /* Explicit dimensions override the preset's, in this order. */
    struct {
        const char *flag;
        long long value;
        bool set;
    } dims[] = {{"--n-vocab", 0, false},  {"--n-embd", 0, false}, {"--n-layer", 0, false},
                {"--n-head", 0, false},   {"--n-head-kv", 0, false}, {"--n-ff", 0, false},
                {"--head-dim", 0, false}, {"--n-ctx", 0, false}};
    enum { TIED_PRESET, TIED_YES, TIED_NO } tied = TIED_PRESET;
    bool rope_freqs = false;
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false, matched = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return 0;
        } else if (cli_flag(a, "--arch", NULL, true, &v, &bad)) {
            arch = v;
        } else if (cli_flag(a, "--preset", NULL, true, &v, &bad)) {
            preset = v;
        } else if (cli_flag(a, "--type", NULL, true, &v, &bad)) {
            type = v;
        } else if (cli_flag(a, "--out", NULL, true, &v, &bad)) {
            out = v;
        } else if (cli_flag(a, "--seed", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 0, INT64_MAX, &seed))
                return cli_error(a, CLI_EXIT_USAGE, "--seed takes a number, not '%s'", v);
        } else if (cli_flag(a, "-t", "--threads", true, &v, &bad)) {
            if (!bad && !cli_parse_int(v, 1, 32, &threads))
                return cli_error(a, CLI_EXIT_USAGE, "-t takes 1..32 threads, not '%s'", v);
        } else if (cli_flag(a, "--tied", NULL, false, &v, &bad)) {
            tied = TIED_YES;
        } else if (cli_flag(a, "--untied", NULL, false, &v, &bad)) {
            tied = TIED_NO;
        } else if (cli_flag(a, "--rope-freqs", NULL, false, &v, &bad)) {
            rope_freqs = true;
        } else if (cli_flag(a, "--tokenizer", NULL, true, &v, &bad)) {
            tokenizer = v;
        } else {
            for (size_t d = 0; d < sizeof dims / sizeof dims[0] && !matched; d++) {
                if (!cli_flag(a, dims[d].flag, NULL, true, &v, &bad))
                    continue;
                matched = true;
                if (!bad && !cli_parse_int(v, 1, 1 << 24, &dims[d].value))
                    return cli_error(a, CLI_EXIT_USAGE, "%s takes a positive number, not '%s'",
                                     dims[d].flag, v);
                dims[d].set = true;
            }
            if (!matched)
                return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!type || !out)
        return cli_error(a, CLI_EXIT_USAGE, "--type and --out are required");
    int arch_id = -1;
    if (arch && (arch_id = erg_arch_parse(arch)) < 0)
        return cli_error(a, CLI_EXIT_USAGE, "unknown architecture '%s' (supported: %s)", arch,
                         erg_arch_supported_list());
    erg_synth_spec spec;
    erg_diag diag = {{0}};
    if (erg_synth_preset(preset, arch_id, &spec, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_USAGE, "%s", diag.msg);
    int ftype = erg_ftype_parse(type);
    if (ftype < 0)
        return cli_error(a, CLI_EXIT_USAGE, "unknown type '%s' (erg mkmodel --help lists them)",
                         type);
    spec.ftype = (erg_ftype)ftype;
    spec.seed = (uint64_t)seed;
    uint32_t *fields[] = {&spec.n_vocab, &spec.n_embd,    &spec.n_layer, &spec.n_head,
                          &spec.n_head_kv, &spec.n_ff, &spec.head_dim, &spec.n_ctx};
    bool custom = false;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        if (dims[d].set) {
            *fields[d] = (uint32_t)dims[d].value;
            custom = true;
        }
    if (custom)
        snprintf(spec.preset, sizeof spec.preset, "custom");
    if (tied != TIED_PRESET)
        spec.tied_output = tied == TIED_YES;
    spec.rope_freqs = rope_freqs;
    if (tokenizer && erg_vocab_json_size(NULL, tokenizer, &spec.n_vocab, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    if (erg_synth_write(NULL, &spec, out, threads ? (int)threads : 2, &diag) != ERG_OK)
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    /* The synthetic vocabulary is written first, then replaced. */
    if (tokenizer && erg_vocab_embed_json(NULL, out, tokenizer, &diag) != ERG_OK) {
        remove(out);
        return cli_error(a, CLI_EXIT_FAIL, "%s", diag.msg);
    }
    printf("wrote %s: %s, %s, %u layers, embd %u, vocab %u\n", out, erg_arch_name(spec.arch),
           erg_ftype_name(spec.ftype), spec.n_layer, spec.n_embd, spec.n_vocab);
    return 0;
}
