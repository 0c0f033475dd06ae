/* Arithmetic of a prefill: the multiply-adds its matmuls and attention do,
 * so its speed can be set against the CPU's arithmetic peak. */
#include "bench/bench.h"

#include <stdio.h>
#include <string.h>

double erg_bench_prefill_ops(const erg_model *model, int n_prompt, int n_depth) {
    erg_model_info mi = {.struct_size = sizeof mi};
    if (n_prompt < 1 || erg_model_get_info(model, &mi) != ERG_OK)
        return 0;
    /* Every 2-D weight but the embedding table (a row lookup) multiplies
     * every prompt token; the output projection only the last one, whose
     * logits the prefill asks for. */
    double per_token = 0, output = 0;
    for (size_t i = 0; i < erg_model_tensor_count(model); i++) {
        erg_tensor_info t = {.struct_size = sizeof t};
        if (erg_model_tensor_get_info(model, i, &t) != ERG_OK || t.n_dims != 2)
            continue;
        double macs = (double)t.dims[0] * (double)t.dims[1];
        if (strcmp(t.name, "output.weight") == 0 ||
            (mi.tied_output && strcmp(t.name, "token_embd.weight") == 0))
            output = macs;
        else if (strcmp(t.name, "token_embd.weight") != 0)
            per_token += macs;
    }
    /* Causal attention: token j of the prompt attends to n_depth + j + 1
     * positions, with a QK dot product and a V accumulation per head. */
    double positions = (double)n_prompt * n_depth + (double)n_prompt * (n_prompt + 1) / 2;
    double attention = 2.0 * mi.n_layer * mi.n_head * mi.head_dim * positions;
    return 2.0 * (per_token * n_prompt + output + attention);
}

void erg_bench_set_arith(erg_bench_record *rec, const erg_compute_peak *peak, double ops) {
    bool fp = strcmp(rec->model_type, "f32") == 0 || strcmp(rec->model_type, "f16") == 0 ||
              strcmp(rec->model_type, "bf16") == 0;
    double peak_gops = fp ? peak->f32_gflops : peak->int8_gops;
    if (peak_gops <= 0 || ops <= 0 || rec->n_prompt <= 0 || rec->tps_median <= 0)
        return;
    /* One prefill of n_prompt tokens takes n_prompt / tokens_per_s seconds. */
    rec->prefill_gops = ops * rec->tps_median / rec->n_prompt * 1e-9;
    rec->arith_peak_gops = peak_gops;
    rec->arith_fraction = rec->prefill_gops / peak_gops;
    snprintf(rec->arith_isa, sizeof rec->arith_isa, "%s", fp ? peak->f32_isa : peak->int8_isa);
}
