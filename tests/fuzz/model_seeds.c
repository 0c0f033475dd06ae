/* model_seeds DIR: writes small valid models (every architecture, a few
 * weight types, tied and untied, with rope factors) as the model fuzzer's
 * seed corpus. They are tiny so mutations stay fast. */
#include "model/synth.h"

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: model_seeds DIR\n");
        return 2;
    }
    static const erg_ftype types[] = {ERG_FTYPE_MOSTLY_Q8_0, ERG_FTYPE_MOSTLY_Q4_0,
                                      ERG_FTYPE_MOSTLY_F16};
    int written = 0;
    for (int a = 0; a < ERG_ARCH_COUNT; a++) {
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            erg_synth_spec s = {
                .arch = (erg_arch)a, .n_vocab = 300, .n_embd = 32, .n_layer = 1, .n_head = 2,
                .n_head_kv = 1, .head_dim = 16, .n_ff = 64, .n_ctx = 64,
                .rope_freq_base = 10000.0f, .rms_eps = 1e-5f, .tied_output = t == 1,
                .rope_freqs = a == ERG_ARCH_LLAMA && t == 2, .ftype = types[t], .seed = 9,
            };
            char path[1024];
            snprintf(path, sizeof path, "%s/%s-%s.gguf", argv[1], erg_arch_name(s.arch),
                     erg_ftype_name(s.ftype));
            erg_diag diag = {{0}};
            if (erg_synth_write(NULL, &s, path, 1, &diag) != ERG_OK) {
                fprintf(stderr, "model_seeds: %s: %s\n", path, diag.msg);
                return 1;
            }
            written++;
        }
    }
    printf("model_seeds: %d models in %s\n", written, argv[1]);
    return 0;
}
