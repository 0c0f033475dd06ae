/* The arithmetic peak probe: it picks the instructions the CPU has and
 * measures positive rates with them. (How fast they are is the benchmark's
 * business, never a test's.) */
#include "bench/bench.h"
#include "hal/cpu_info.h"
#include "tests/test.h"

#include <string.h>

int main(void) {
    erg_compute_peak p;
    CHECK_STATUS(erg_compute_peak_measure(0, &p), ERG_INVALID_ARGUMENT);
    CHECK_STATUS(erg_compute_peak_measure(2, &p), ERG_OK);
    erg_cpu_info info;
    erg_cpu_info_probe(&info);
    uint32_t f = info.features;
    const char *want_f32 = "none", *want_int8 = "none";
#if defined(__x86_64__)
    bool avx2 = (f & ERG_CPU_FEATURE_AVX2) && (f & ERG_CPU_FEATURE_FMA);
    want_f32 = f & ERG_CPU_FEATURE_AVX512F ? "avx512 fma" : avx2 ? "avx2 fma" : "none";
    want_int8 = (f & ERG_CPU_FEATURE_AVX512F) && (f & ERG_CPU_FEATURE_AVX512VNNI) ? "avx512 vnni"
                : f & ERG_CPU_FEATURE_AVXVNNI                                      ? "avx-vnni"
                : avx2                                                             ? "avx2 maddubs"
                                                                                   : "none";
#elif defined(__aarch64__)
    want_f32 = "neon fma";
    want_int8 = f & ERG_CPU_FEATURE_DOTPROD ? "neon sdot" : "neon smull";
#else
    (void)f;
    want_f32 = "scalar";
#endif
    CHECK_MSG(strcmp(p.f32_isa, want_f32) == 0, "fp32 with %s, expected %s", p.f32_isa, want_f32);
    CHECK_MSG(strcmp(p.int8_isa, want_int8) == 0, "int8 with %s, expected %s", p.int8_isa,
              want_int8);
    CHECK_MSG(strcmp(want_f32, "none") == 0 ? p.f32_gflops == 0 : p.f32_gflops > 0,
              "fp32 %.3f GFLOP/s", p.f32_gflops);
    CHECK_MSG(strcmp(want_int8, "none") == 0 ? p.int8_gops == 0 : p.int8_gops > 0,
              "int8 %.3f GOP/s", p.int8_gops);
    printf("fp32 %.1f GFLOP/s (%s), int8 %.1f GOP/s (%s), 2 threads\n", p.f32_gflops, p.f32_isa,
           p.int8_gops, p.int8_isa);
    return erg_test_result("test_compute_peak");
}
