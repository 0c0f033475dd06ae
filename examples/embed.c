/*
 * embed.c: erg embedded in an application, in one page.
 *
 * Opens a runtime (every device erg finds), loads a GGUF model, creates a
 * session on the device the scheduler chooses ("auto"), evaluates a few
 * tokens and prints the devices found, the device chosen and where the
 * graph's nodes ran.
 *
 *   usage: erg-embed MODEL.gguf [TOKEN ...]      (default tokens: 1 2 3)
 *
 * Built against an installed erg, either way:
 *   cmake -S examples -B build-example -DCMAKE_PREFIX_PATH=/opt/erg   (find_package)
 *   cc embed.c $(pkg-config --cflags --libs erg) -o erg-embed             (pkg-config)
 */
#include <erg/erg.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, erg_status st, const char *why) {
    fprintf(stderr, "erg-embed: %s: %s: %s\n", what, erg_status_str(st), why);
    return 1;
}

static void print_devices(const erg_runtime *rt) {
    for (size_t i = 0; i < erg_runtime_device_count(rt); i++) {
        erg_device_info d = {.struct_size = sizeof d};
        if (erg_runtime_device_info(rt, i, &d) == ERG_OK)
            printf("device %zu: %s (%s)%s\n", i, d.name, d.description,
                   d.simulated ? " [simulated]" : "");
    }
}

/* Evaluates the tokens and prints the most likely next token. */
static int run(erg_model *model, const int32_t *tokens, size_t n_tokens) {
    erg_model_info info = {.struct_size = sizeof info};
    erg_status st = erg_model_get_info(model, &info);
    if (st != ERG_OK)
        return fail("model info", st, erg_model_last_error(model));

    erg_session_options so = ERG_SESSION_OPTIONS_INIT;
    so.device = "auto";
    so.n_ctx = 64;
    erg_session *s = NULL;
    st = erg_session_create(model, &so, &s);
    if (st != ERG_OK)
        return fail("session", st, erg_model_last_error(model));

    float *logits = malloc(info.n_vocab * sizeof *logits);
    int rc = 1;
    if (!logits) {
        fprintf(stderr, "erg-embed: out of memory\n");
    } else if ((st = erg_session_eval(s, tokens, n_tokens, ERG_LOGITS_LAST, logits,
                                      info.n_vocab)) != ERG_OK) {
        rc = fail("eval", st, erg_session_last_error(s));
    } else {
        uint32_t best = 0;
        for (uint32_t i = 1; i < info.n_vocab; i++)
            if (logits[i] > logits[best])
                best = i;
        char placement[512] = "";
        erg_session_placement(s, placement, sizeof placement);
        printf("model: %s, %u layers, vocabulary %u\n", info.architecture, info.n_layer,
               info.n_vocab);
        printf("chosen device: %s\n", erg_session_device(s));
        printf("placement: %s\n", placement);
        printf("evaluated %zu tokens, next token %u (logit %.4f)\n", n_tokens, best,
               (double)logits[best]);
        rc = 0;
    }
    free(logits);
    erg_session_destroy(s);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: erg-embed MODEL.gguf [TOKEN ...]\n");
        return 2;
    }
    int32_t tokens[64] = {1, 2, 3};
    size_t n_tokens = 3;
    if (argc > 2) {
        n_tokens = 0;
        for (int i = 2; i < argc && n_tokens < 64; i++)
            tokens[n_tokens++] = (int32_t)strtol(argv[i], NULL, 10);
    }

    printf("erg %s\n", erg_version());
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    erg_runtime *rt = NULL;
    erg_status st = erg_runtime_create(&ro, &rt);
    if (st != ERG_OK)
        return fail("runtime", st, "see the log above");
    print_devices(rt);

    erg_model *model = NULL;
    st = erg_model_load(rt, argv[1], NULL, &model);
    int rc = st == ERG_OK ? run(model, tokens, n_tokens)
                          : fail("model", st, erg_runtime_last_error(rt));
    erg_model_destroy(model);
    erg_runtime_destroy(rt);
    return rc;
}
