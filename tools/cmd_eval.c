/* erg eval -m MODEL --tokens 1,2,3: evaluates the tokens as one prompt,
 * writes the float32 logits of every position, prints the last argmax. */
#include "tools/cli.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 65536

static void usage(void) {
    printf("usage: erg eval -m MODEL --tokens 1,2,3 [--device D] [-t N] [-c N_CTX]\n"
           "                [--kv-type f16|f32] [--reference] [--strict] [--no-fusion]\n"
           "                [--policy edp|latency|energy] [--power-cap W] [--latency-limit MS]\n"
           "                [--logits-out FILE] [-o table|json]\n"
           "  --device auto (the default) places each node by measured cost; --policy, --power-cap\n"
           "                and --latency-limit say what it minimises and within what\n"
           "  --strict      fail if the device cannot run every node (no CPU fallback)\n"
           "  --no-fusion   run the graph as built, without the fusion passes\n"
           "  --logits-out  float32 logits of every position (n_tokens x n_vocab, row-major, LE)\n"
           "  --reference   exact dequantisation and F32 activations (the accuracy reference)\n");
}

typedef struct eval_opts {
    const char *model, *device, *logits_out;
    int64_t tokens[MAX_TOKENS];
    size_t n_tokens;
    long long threads, n_ctx;
    erg_kv_type kv;
    bool reference, strict, no_fusion;
    erg_policy policy;
    double power_cap_w, latency_limit_ms;
    cli_output out;
} eval_opts;

static int parse(cli_args *a, eval_opts *o) {
    const cli_common common = {.model = &o->model, .device = &o->device, .threads = &o->threads,
                               .n_ctx = &o->n_ctx, .out = &o->out,
                               .outputs = CLI_OUTPUTS_TABLE_JSON};
    while (a->i < a->argc) {
        const char *v = NULL;
        bool bad = false;
        if (cli_flag(a, "--help", "-h", false, &v, &bad)) {
            usage();
            return -1;
        } else if (cli_common_flag(a, &common, &bad)) {
            /* stored in *o */
        } else if (cli_flag(a, "--tokens", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_int_list(v, 0, INT32_MAX, o->tokens, MAX_TOKENS, &o->n_tokens))
                return cli_error(a, CLI_EXIT_USAGE, "--tokens takes ids like 1,2,3, not '%s'", v);
        } else if (cli_flag(a, "--kv-type", NULL, true, &v, &bad)) {
            if (!bad && strcmp(v, "f16") != 0 && strcmp(v, "f32") != 0)
                return cli_error(a, CLI_EXIT_USAGE, "--kv-type takes f16 or f32, not '%s'", v);
            if (!bad)
                o->kv = strcmp(v, "f32") == 0 ? ERG_KV_F32 : ERG_KV_F16;
        } else if (cli_flag(a, "--reference", NULL, false, &v, &bad)) {
            o->reference = true;
        } else if (cli_flag(a, "--strict", NULL, false, &v, &bad)) {
            o->strict = true;
        } else if (cli_flag(a, "--no-fusion", NULL, false, &v, &bad)) {
            o->no_fusion = true;
        } else if (cli_flag(a, "--policy", NULL, true, &v, &bad)) {
            if (!bad && !cli_parse_policy(v, &o->policy))
                return cli_error(a, CLI_EXIT_USAGE, "--policy takes edp, latency or energy, not '%s'",
                                 v);
        } else if (cli_flag(a, "--power-cap", NULL, true, &v, &bad)) {
            if (!bad && (!cli_parse_double(v, &o->power_cap_w) || !(o->power_cap_w > 0)))
                return cli_error(a, CLI_EXIT_USAGE, "--power-cap takes watts above 0, not '%s'", v);
        } else if (cli_flag(a, "--latency-limit", NULL, true, &v, &bad)) {
            if (!bad && (!cli_parse_double(v, &o->latency_limit_ms) || !(o->latency_limit_ms > 0)))
                return cli_error(a, CLI_EXIT_USAGE,
                                 "--latency-limit takes milliseconds above 0, not '%s'", v);
        } else if (cli_flag(a, "--logits-out", NULL, true, &v, &bad)) {
            o->logits_out = v;
        } else {
            return cli_error(a, CLI_EXIT_USAGE, "unknown option '%s'", a->argv[a->i]);
        }
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (!o->model)
        return cli_error(a, CLI_EXIT_USAGE, "-m MODEL is required");
    if (!o->n_tokens)
        return cli_error(a, CLI_EXIT_USAGE, "--tokens is required");
    return 0;
}

static int write_logits(cli_args *a, const char *path, const float *logits, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_error(a, CLI_EXIT_FAIL, "cannot write %s", path);
    /* float32 little-endian: the host order on every target erg builds for. */
    size_t w = fwrite(logits, sizeof *logits, n, f);
    int closed = fclose(f);
    if (w != n || closed != 0) {
        remove(path);
        return cli_error(a, CLI_EXIT_FAIL, "writing %s failed (disk full?)", path);
    }
    return 0;
}

static int run(cli_args *a, const eval_opts *o, erg_runtime *rt) {
    erg_model *model = NULL;
    erg_session *s = NULL;
    float *logits = NULL;
    int32_t *tokens = NULL;
    int rc = 0;
    if (erg_model_load(rt, o->model, NULL, &model) != ERG_OK) {
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_runtime_last_error(rt));
        goto done;
    }
    erg_model_info mi = {.struct_size = sizeof mi};
    erg_model_get_info(model, &mi);
    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = o->device;
    so.kv_type = o->kv;
    so.reference_math = o->reference;
    so.strict_device = o->strict;
    so.no_fusion = o->no_fusion;
    so.policy = o->policy;
    so.power_cap_w = o->power_cap_w;
    so.latency_limit_ms = o->latency_limit_ms;
    /* Room for the tokens (the library's default is min(model's, 4096)). */
    so.n_ctx = o->n_ctx ? (uint32_t)o->n_ctx : (uint32_t)o->n_tokens;
    if (erg_session_create(model, &so, &s) != ERG_OK) {
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_model_last_error(model));
        goto done;
    }
    size_t n = o->n_tokens * mi.n_vocab;
    logits = malloc(n * sizeof *logits);
    tokens = malloc(o->n_tokens * sizeof *tokens);
    if (!logits || !tokens) {
        rc = cli_error(a, CLI_EXIT_FAIL, "out of memory for %zu logits", n);
        goto done;
    }
    for (size_t i = 0; i < o->n_tokens; i++)
        tokens[i] = (int32_t)o->tokens[i];
    if (erg_session_eval(s, tokens, o->n_tokens, ERG_LOGITS_ALL, logits, n) != ERG_OK) {
        rc = cli_error(a, CLI_EXIT_FAIL, "%s", erg_session_last_error(s));
        goto done;
    }
    if (o->logits_out && (rc = write_logits(a, o->logits_out, logits, n)) != 0)
        goto done;
    const float *last = logits + (o->n_tokens - 1) * mi.n_vocab;
    uint32_t best = 0;
    for (uint32_t i = 1; i < mi.n_vocab; i++)
        if (last[i] > last[best])
            best = i;
    erg_session_stats st = {.struct_size = sizeof st};
    erg_session_get_stats(s, &st);
    if (o->out == CLI_OUT_JSON) {
        printf("{\"device\": \"%s\", \"n_tokens\": %zu, \"n_vocab\": %u, \"argmax\": %u, "
               "\"logit\": %.9g, ",
               erg_session_device(s), o->n_tokens, mi.n_vocab, best, (double)last[best]);
        cli_print_placement_json(&st);
        cli_print_auto_json(s, &st);
        printf("}\n");
    } else {
        printf("argmax %u (logit %.6f) after %zu tokens on %s\n", best, (double)last[best],
               o->n_tokens, erg_session_device(s));
        cli_print_placement(erg_session_device(s), &st);
        cli_print_auto(s, &st);
    }
done:
    free(tokens);
    free(logits);
    erg_session_destroy(s);
    erg_model_destroy(model);
    return rc;
}

int cmd_eval(cli_args *a) {
    eval_opts *o = calloc(1, sizeof *o);
    if (!o)
        return cli_error(a, CLI_EXIT_FAIL, "out of memory");
    int rc = parse(a, o);
    if (rc == 0) {
        erg_runtime *rt;
        rc = cli_runtime(a, (int)o->threads, &rt);
        if (rc == 0) {
            rc = run(a, o, rt);
            erg_runtime_destroy(rt);
        }
    }
    free(o);
    return rc < 0 ? 0 : rc;
}
