/* The bench's derived figures on worked examples: a prefill's operations
 * (from the model's shape, counted here independently of the tensors the
 * bench sums), its share of the arithmetic peak, auto against the best
 * single device, and the delay and joules of a test partly simulated in
 * some runs only. */
#include "bench/bench.h"
#include "bench/energy.h"
#include "tests/support/test_models.h"
#include "tests/test.h"

#include <stdio.h>
#include <string.h>

static void prefill_ops(bool tied) {
    erg_synth_spec spec;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_synth_preset("tiny", ERG_ARCH_LLAMA, &spec, &diag), ERG_OK);
    spec.ftype = ERG_FTYPE_MOSTLY_Q8_0;
    spec.tied_output = tied;
    char path[256];
    if (!test_make_model_spec(&spec, path, sizeof path)) {
        CHECK(false);
        return;
    }
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    erg_runtime *rt = NULL;
    erg_model *m = NULL;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    CHECK_STATUS(erg_model_load(rt, path, NULL, &m), ERG_OK);
    erg_model_info mi = {.struct_size = sizeof mi};
    if (m && erg_model_get_info(m, &mi) == ERG_OK) {
        double e = mi.n_embd, q = (double)mi.n_head * mi.head_dim,
               kv = (double)mi.n_head_kv * mi.head_dim;
        double layer = e * q + 2 * e * kv + q * e + 3 * e * mi.n_ff; /* q k v o, gate up down */
        /* 16 tokens after 8: token j attends to 8 + j + 1 positions. */
        double positions = 16.0 * 8 + 16.0 * 17 / 2;
        double want = 2 * (mi.n_layer * layer * 16 + (double)mi.n_vocab * e +
                           2.0 * mi.n_layer * q * positions);
        double got = erg_bench_prefill_ops(m, 16, 8);
        CHECK_MSG(got == want, "prefill ops %.0f, expected %.0f (tied %d)", got, want, tied);
        CHECK(erg_bench_prefill_ops(m, 0, 0) == 0);
    }
    erg_model_destroy(m);
    erg_runtime_destroy(rt);
    remove(path);
}

static erg_bench_record record(const char *model, const char *device, const char *test,
                               double edp) {
    erg_bench_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.model, sizeof r.model, "%s", model);
    snprintf(r.device, sizeof r.device, "%s", device);
    snprintf(r.test, sizeof r.test, "%s", test);
    r.fusion = true;
    r.edp_per_token = edp;
    return r;
}

static void compare_auto(void) {
    erg_bench_record recs[] = {
        record("a.gguf", "cpu", "pp16", 2.0),     record("a.gguf", "vulkan:0", "pp16", 1.0),
        record("b.gguf", "opencl:0", "pp16", 0.1), /* another model: not a rival */
        record("a.gguf", "opencl:0", "pp16", 0.5), /* failed: not a rival */
        record("a.gguf", "auto", "pp16", 1.5),    record("a.gguf", "auto", "tg4", 1.0),
        record("a.gguf", "cpu", "pp16", 0.2),     /* unfused: not a rival */
    };
    recs[3].status = ERG_BENCH_FAILED;
    recs[6].fusion = false;
    erg_bench_results r = {.records = recs, .n = sizeof recs / sizeof recs[0]};
    erg_bench_compare_auto(&r);
    CHECK_NEAR(recs[4].edp_vs_best, 1.5, 1e-12);
    CHECK(strcmp(recs[4].best_device, "vulkan:0") == 0);
    CHECK(recs[5].edp_vs_best == 0 && recs[5].best_device[0] == '\0'); /* no tg4 rival */
    CHECK(recs[0].best_device[0] == '\0');                              /* only auto gets one */
}

static void set_arith(void) {
    erg_compute_peak peak = {.f32_gflops = 50, .int8_gops = 200, .f32_isa = "avx2 fma",
                             .int8_isa = "avx2 maddubs"};
    erg_bench_record r = record("a.gguf", "cpu", "pp128", 1);
    snprintf(r.model_type, sizeof r.model_type, "q4_0");
    r.n_prompt = 128;
    r.tps_median = 256; /* a prefill of 128 tokens takes 0.5 s */
    erg_bench_set_arith(&r, &peak, 20e9);
    CHECK_NEAR(r.prefill_gops, 40, 1e-9);
    CHECK_NEAR(r.arith_fraction, 0.2, 1e-12);
    CHECK(strcmp(r.arith_isa, "avx2 maddubs") == 0);
    snprintf(r.model_type, sizeof r.model_type, "f16"); /* float weights: the FMA peak */
    erg_bench_set_arith(&r, &peak, 20e9);
    CHECK_NEAR(r.arith_fraction, 0.8, 1e-12);
    CHECK(strcmp(r.arith_isa, "avx2 fma") == 0);
    erg_bench_record none = record("a.gguf", "cpu", "pp128", 1);
    erg_bench_set_arith(&none, &peak, 20e9); /* no prompt, no speed: nothing */
    CHECK(none.arith_peak_gops == 0 && none.arith_isa[0] == '\0');
}

/* A test whose runs were partly simulated in some runs only (auto placing
 * again): its delay is the model's seconds plus every run's measured
 * time, and its joules the model's plus the estimate over the measured
 * time. */
static void mixed_simulated_runs(void) {
    erg_runtime_options ro = ERG_RUNTIME_OPTIONS_INIT;
    erg_runtime *rt = NULL;
    CHECK_STATUS(erg_runtime_create(&ro, &rt), ERG_OK);
    erg_bench_energy e;
    char err[256];
    CHECK_STATUS(erg_bench_energy_open(rt, "cpu", &e, err, sizeof err), ERG_OK);
    erg_bench_energy_sum partly = {0}, whole = {0}, real = {0};
    erg_bench_energy_begin(&e);
    erg_bench_energy_end(&e, 0.01, 0.01, 0.5, 0.2, &partly); /* CPU parts 10 ms, NPU 200 ms */
    erg_bench_energy_begin(&e);
    erg_bench_energy_end(&e, 0.03, 0.03, 0, 0, &partly);     /* all on the CPU, 30 ms */
    erg_bench_energy_begin(&e);
    erg_bench_energy_end(&e, 0.01, 0.01, 0.5, 0.2, &whole);
    erg_bench_energy_begin(&e);
    erg_bench_energy_end(&e, 0.03, 0.03, 0, 0, &real);
    CHECK(partly.simulated && !real.simulated);
    CHECK_NEAR(erg_bench_energy_delay_s(&partly), 0.24, 1e-12);
    CHECK_NEAR(erg_bench_energy_delay_s(&real), 0.03, 1e-12);
    CHECK(erg_bench_energy_source(&e, &partly) == ERG_ENERGY_SIMULATED);
    CHECK_NEAR(erg_bench_energy_joules(&e, &partly),
               erg_bench_energy_joules(&e, &whole) + erg_bench_energy_joules(&e, &real), 1e-12);
    CHECK(erg_bench_energy_joules(&e, &real) > 0);
    erg_bench_energy_close(&e);
    erg_runtime_destroy(rt);
}

int main(void) {
    mixed_simulated_runs();
    prefill_ops(false);
    prefill_ops(true);
    compare_auto();
    set_arith();
    return erg_test_result("test_bench_figures");
}
