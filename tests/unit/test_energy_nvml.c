/* NVML through a stub library chosen by ERG_NVML_LIB (set by CMake): the
 * library absent, failing to start, without energy support (power is
 * sampled instead), with neither, and with a counter that does not move. */
#include "hal/energy/registry.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <dlfcn.h>
#include <stdlib.h>

static erg_energy_registry *open_with(const char *root, const char *mode, const char *lib,
                                      fake_io *io, fake_clock *clock) {
    setenv("ERG_NVML_STUB_MODE", mode, 1);
    erg_energy_env env = fake_env(root, io, clock);
    env.nvml_lib = lib; /* NULL: ERG_NVML_LIB */
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    return r;
}

static const erg_energy_desc *only_domain(erg_energy_registry *r) {
    CHECK_EQ_INT(erg_energy_registry_count(r), 1);
    return erg_energy_registry_count(r) ? erg_energy_domain_desc(erg_energy_registry_domain(r, 0))
                                        : NULL;
}

int main(void) {
    const char *lib = getenv("ERG_NVML_LIB");
    if (!lib || !lib[0]) {
        printf("ERG_NVML_LIB is not set (CMake sets it to the stub)\n");
        return 1;
    }
    /* The stub's own counter of open NVML sessions, to prove each is shut. */
    void *stub = dlopen(lib, RTLD_NOW);
    int (*open_count)(void) = NULL;
    if (stub)
        open_count = (int (*)(void))dlsym(stub, "erg_nvml_stub_open_count");
    CHECK(open_count != NULL);
    char root[512];
    if (!fake_root_make(root, sizeof root) || !open_count)
        return erg_test_result("test_energy_nvml");
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_diag diag = {{0}};
    erg_energy_window w;
    erg_energy_reading rd;
    erg_device_info gpu;
    memset(&gpu, 0, sizeof gpu);
    snprintf(gpu.name, sizeof gpu.name, "vulkan:0");
    snprintf(gpu.backend, sizeof gpu.backend, "vulkan");
    snprintf(gpu.vendor, sizeof gpu.vendor, "NVIDIA");
    gpu.kind = ERG_DEVICE_GPU;

    /* Absent. */
    erg_energy_registry *r = open_with(root, "ok", "/nonexistent/libnvidia-ml.so.1", &io, &clock);
    if (r) {
        CHECK_EQ_INT(erg_energy_registry_count(r), 0);
        CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_NVML), "not loadable"));
        erg_energy_registry_close(r);
    }
    /* Fails to start. */
    r = open_with(root, "init_fail", NULL, &io, &clock);
    if (r) {
        CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_NVML), "nvmlInit_v2 returned 1"));
        erg_energy_registry_close(r);
    }
    /* Total energy, rising 250 mJ per read. */
    r = open_with(root, "ok", NULL, &io, &clock);
    if (r) {
        const erg_energy_desc *d = only_domain(r);
        CHECK(d && d->usable && d->method == ERG_ENERGY_COUNTER && d->source == ERG_ENERGY_NVML);
        CHECK(d && strcmp(d->name, "Stub GPU (nvml 0)") == 0 && d->scope == ERG_ENERGY_SCOPE_GPU);
        erg_energy_domain *dom = erg_energy_registry_find(r, &gpu, 1, 0);
        CHECK(dom && erg_energy_domain_desc(dom) == d);
        CHECK_STATUS(erg_energy_window_begin(dom, &w, &diag), ERG_OK);
        clock.t = 2;
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
        CHECK_NEAR(rd.joules, 0.25, 1e-12);
        CHECK(rd.window_ok && !rd.stalled);
        CHECK_EQ_INT(open_count(), 1);
        erg_energy_registry_close(r);
        CHECK_EQ_INT(open_count(), 0);
    }
    /* The counter does not move over 20 updates: stalled, not zero watts. */
    r = open_with(root, "stuck", NULL, &io, &clock);
    if (r) {
        erg_energy_domain *dom = erg_energy_registry_find(r, &gpu, 1, 0);
        clock.t = 10;
        CHECK_STATUS(erg_energy_window_begin(dom, &w, &diag), ERG_OK);
        clock.t = 12;
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
        CHECK(rd.stalled && rd.joules == 0);
        erg_energy_registry_close(r);
    }
    /* No total energy: power usage, sampled (42 W for 1 s). */
    r = open_with(root, "unsupported", NULL, &io, &clock);
    if (r) {
        const erg_energy_desc *d = only_domain(r);
        CHECK(d && d->usable && d->method == ERG_ENERGY_POWER && strstr(d->note, "not supported"));
        erg_energy_domain *dom = erg_energy_registry_find(r, &gpu, 1, 0);
        clock.t = 20;
        CHECK_STATUS(erg_energy_window_begin(dom, &w, &diag), ERG_OK);
        clock.t = 20.5;
        CHECK_STATUS(erg_energy_domain_poll(dom, &diag), ERG_OK);
        clock.t = 21;
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
        CHECK_NEAR(rd.joules, 42.0, 1e-9);
        erg_energy_registry_close(r);
    }
    /* Neither: listed, not used, and the device falls back to no domain. */
    r = open_with(root, "none", NULL, &io, &clock);
    if (r) {
        const erg_energy_desc *d = only_domain(r);
        CHECK(d && !d->usable && strstr(d->note, "neither"));
        CHECK(erg_energy_registry_find(r, &gpu, 1, 0) == NULL);
        erg_energy_registry_close(r);
    }
    CHECK_EQ_INT(open_count(), 0);
    dlclose(stub);
    fake_root_remove(root);
    return erg_test_result("test_energy_nvml");
}
