/* The built-in default model of erg bench: the shape of Qwen3-0.6B written
 * as a llama-architecture file (vocabulary 32000, embedding 1024, 28 layers,
 * 16 query / 8 KV heads of 64, feed-forward 3072) in Q4_0, the reference
 * shape of the CPU targets. Made once by the model maker, cached. One
 * model keeps the no-argument run (every device, auto, accuracy) within
 * about 3 minutes on a 2-core machine; a Q8_0 twin is one `erg mkmodel`
 * away (docs/bench.md). */
#include "bench/bench.h"

#include "hal/cpu_info.h"
#include "model/synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *file;
    erg_ftype ftype;
} defaults[] = {
    {"erg-bench-qwen3-0.6b-shape-q4_0.gguf", ERG_FTYPE_MOSTLY_Q4_0},
};

static char paths[sizeof defaults / sizeof defaults[0]][1024];

/* $ERG_CACHE_DIR, else $XDG_CACHE_HOME/erg, else ~/.cache/erg; plus /models. */
static bool models_dir(char *out, size_t size) {
    const char *env = getenv("ERG_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(out, size, "%s/models", env);
    else if (xdg && *xdg)
        n = snprintf(out, size, "%s/erg/models", xdg);
    else if (home && *home)
        n = snprintf(out, size, "%s/.cache/erg/models", home);
    else
        return false;
    return n > 0 && (size_t)n < size;
}

/* mkdir -p */
static bool make_dirs(char *path) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        bool ok = mkdir(path, 0755) == 0 || errno == EEXIST;
        *p = '/';
        if (!ok)
            return false;
    }
    return mkdir(path, 0755) == 0 || errno == EEXIST;
}

int erg_bench_default_models(const char **out, int cap, char *err, size_t err_size) {
    char dir[900];
    if (!models_dir(dir, sizeof dir) || !make_dirs(dir)) {
        snprintf(err, err_size, "cannot create the model cache directory (set ERG_CACHE_DIR)");
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0] && n < cap; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, defaults[i].file);
        if (access(paths[i], R_OK) != 0) {
            erg_synth_spec spec;
            erg_diag diag = {{0}};
            erg_synth_preset("qwen3-0.6b", ERG_ARCH_LLAMA, &spec, &diag);
            spec.n_vocab = 32000;
            spec.head_dim = 64;
            spec.tied_output = false;
            spec.rope_freq_base = 10000.0f;
            spec.rms_eps = 1e-5f;
            spec.n_ctx = 4096;
            spec.ftype = defaults[i].ftype;
            spec.seed = 1;
            snprintf(spec.preset, sizeof spec.preset, "qwen3-0.6b-shape");
            erg_cpu_info ci;
            erg_cpu_info_probe(&ci);
            fprintf(stderr, "erg bench: making the default model %s (once; cached)\n", paths[i]);
            if (erg_synth_write(NULL, &spec, paths[i], ci.n_physical_cores, &diag) != ERG_OK) {
                snprintf(err, err_size, "making the default model: %s", diag.msg);
                return -1;
            }
        }
        out[n++] = paths[i];
    }
    return n;
}
