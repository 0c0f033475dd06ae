#include "tests/support/test_logits.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double test_nrmse(const float *got, const float *want, size_t n) {
    double e = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        e += d * d;
        w += (double)want[i] * want[i];
    }
    return w > 0 ? sqrt(e / w) : sqrt(e);
}

bool test_has_device(erg_runtime *rt, const char *name) {
    for (size_t i = 0; i < erg_runtime_device_count(rt); i++) {
        erg_device_info info = {.struct_size = sizeof info};
        if (erg_runtime_device_info(rt, i, &info) == ERG_OK && strcmp(info.name, name) == 0)
            return true;
    }
    return false;
}

void test_need_vulkan_and_opencl(erg_runtime *rt) {
    if (test_has_device(rt, "vulkan:0") && test_has_device(rt, "opencl:0"))
        return;
    erg_runtime_destroy(rt);
    const char *req = getenv("ERG_REQUIRE_DEVICES");
    if (req && strstr(req, "vulkan") && strstr(req, "opencl")) {
        printf("ERG_REQUIRE_DEVICES=%s but vulkan:0 or opencl:0 is missing\n", req);
        exit(1);
    }
    printf("SKIP: needs vulkan:0 and opencl:0\n");
    exit(77);
}
