/* The estimate: power profiles (defaults, a user file, bad files), device
 * classes, the arithmetic, and the label every estimated joule carries. */
#include "hal/energy/device_energy.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <stdlib.h>

static erg_device_info device(const char *name, erg_device_kind kind, bool unified,
                              const char *description) {
    erg_device_info d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.backend, sizeof d.backend, "%.*s", (int)strcspn(name, ":"), name);
    snprintf(d.description, sizeof d.description, "%s", description);
    d.kind = kind;
    d.unified_memory = unified;
    return d;
}

static void test_classes(void) {
    erg_device_info epyc = device("cpu", ERG_DEVICE_CPU, true, "AMD EPYC 7763 64-Core Processor");
    erg_device_info core = device("cpu", ERG_DEVICE_CPU, true, "Intel(R) Core(TM) i5-12400");
    erg_device_info arm = device("cpu", ERG_DEVICE_CPU, true, "Cortex-A78AE");
    arm.cpu_features = ERG_CPU_FEATURE_NEON;
    CHECK(strcmp(erg_power_class_of(&epyc, NULL, false), "server-cpu") == 0);
    CHECK(strcmp(erg_power_class_of(&core, NULL, false), "desktop-cpu") == 0);
    CHECK(strcmp(erg_power_class_of(&core, NULL, true), "laptop-cpu") == 0);
    CHECK(strcmp(erg_power_class_of(&arm, NULL, false), "mobile-soc") == 0);
    erg_device_info igpu = device("vulkan:0", ERG_DEVICE_GPU, true, "Intel(R) Iris(R) Xe");
    erg_device_info dgpu = device("vulkan:1", ERG_DEVICE_GPU, false, "NVIDIA GeForce RTX 3060");
    erg_device_info lavapipe = device("vulkan:2", ERG_DEVICE_OTHER, true, "llvmpipe (CPU)");
    erg_device_info npu = device("npu-sim", ERG_DEVICE_NPU, false, "simulated");
    CHECK(strcmp(erg_power_class_of(&igpu, &core, false), "integrated-gpu") == 0);
    CHECK(strcmp(erg_power_class_of(&dgpu, &core, false), "discrete-gpu") == 0);
    CHECK(strcmp(erg_power_class_of(&lavapipe, &epyc, false), "server-cpu") == 0);
    CHECK(strcmp(erg_power_class_of(&npu, &core, false), "npu") == 0);
}

static void test_defaults_and_arithmetic(void) {
    erg_power_profiles p;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_power_profiles_load(&p, NULL, "", &diag), ERG_OK);
    const char *classes[] = {"desktop-cpu", "laptop-cpu", "server-cpu", "mobile-soc",
                             "integrated-gpu", "discrete-gpu", "npu", "accelerator"};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        const erg_power_profile *e = erg_power_profile_find(&p, "cpu", classes[i]);
        CHECK_MSG(e && e->active_watts > e->idle_watts && e->idle_watts > 0 && e->source[0],
                  "class %s", classes[i]);
    }
    const erg_power_profile *server = erg_power_profile_find(&p, "cpu", "server-cpu");
    CHECK(server && server->per_core && strstr(server->source, "EPYC 7763"));
    CHECK_NEAR(server ? server->active_watts : 0, 4.4, 1e-12);
    CHECK(erg_power_profile_find(&p, "cpu", "toaster") == NULL);
    erg_power_profiles_free(&p);

    erg_power_profile e = {"desktop-cpu", "", 10, 2, true, "test"};
    erg_energy_reading r;
    erg_energy_estimate(&e, 2, 0.5, 1.0, &r);
    CHECK_NEAR(r.joules, (10 - 2) * 2 * 0.5, 1e-12);
    CHECK_NEAR(r.raw_joules, 2 * 2 * 1.0 + 8.0, 1e-12);
    CHECK_NEAR(r.baseline_watts, 4.0, 1e-12);
    CHECK(r.source == ERG_ENERGY_ESTIMATE && !erg_energy_source_measured(r.source));
    CHECK(r.baseline_subtracted && r.window_ok);
    erg_power_profile card = {"discrete-gpu", "", 170, 15, false, "test"};
    erg_energy_estimate(&card, 8, 2.0, 1.0, &r); /* busy past the wall: clamped */
    CHECK_NEAR(r.joules, 155 * 2.0, 1e-9);
    CHECK_NEAR(r.seconds, 2.0, 1e-12);
    CHECK(!erg_energy_source_measured(ERG_ENERGY_SIMULATED));
    CHECK(erg_energy_source_measured(ERG_ENERGY_BATTERY));
}

static void test_user_file(const char *root) {
    char path[600];
    snprintf(path, sizeof path, "%s/profile.json", root);
    CHECK(fake_write(root, "profile.json",
                     "{\"profiles\": ["
                     "{\"class\": \"desktop-cpu\", \"active_watts\": 9.5, \"idle_watts\": 0.5,"
                     " \"per_core\": true, \"source\": \"wall meter\"},"
                     "{\"device\": \"vulkan:0\", \"active_watts\": 120, \"idle_watts\": 12}]}"));
    erg_power_profiles p;
    erg_diag diag = {{0}};
    /* Through the environment variable, as a user would set it. */
    setenv("ERG_POWER_PROFILE", path, 1);
    CHECK_STATUS(erg_power_profiles_load(&p, NULL, NULL, &diag), ERG_OK);
    unsetenv("ERG_POWER_PROFILE");
    CHECK(strcmp(p.user_file, path) == 0);
    const erg_power_profile *cpu = erg_power_profile_find(&p, "cpu", "desktop-cpu");
    CHECK(cpu && cpu->active_watts == 9.5 && strcmp(cpu->source, "wall meter") == 0);
    const erg_power_profile *v0 = erg_power_profile_find(&p, "vulkan:0", "discrete-gpu");
    CHECK(v0 && v0->active_watts == 120 && strcmp(v0->source, path) == 0);
    const erg_power_profile *v1 = erg_power_profile_find(&p, "vulkan:1", "discrete-gpu");
    CHECK(v1 && v1->active_watts == 170);
    erg_power_profiles_free(&p);

    const char *bad[][2] = {
        {"{not json", "not valid JSON"},
        {"{\"other\": []}", "no \"profiles\" array"},
        {"{\"profiles\": [{\"class\": \"desktop-cpu\", \"active_watts\": 1, \"idle_watts\": 2}]}",
         "profiles[0] needs active_watts >= idle_watts"},
        {"{\"profiles\": [{}, {\"class\": \"toaster\", \"active_watts\": 1, \"idle_watts\": 0}]}",
         "profiles[0] needs either"},
        {"{\"profiles\": [{\"class\": \"toaster\", \"active_watts\": 1, \"idle_watts\": 0}]}",
         "unknown class \"toaster\""},
        {"{\"profiles\": [{\"device\": \"cpu\", \"active_watts\": \"9\", \"idle_watts\": 0}]}",
         "needs active_watts"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(fake_write(root, "profile.json", "%s", bad[i][0]));
        erg_status st = erg_power_profiles_load(&p, NULL, path, &diag);
        CHECK_MSG(st == ERG_FORMAT && strstr(diag.msg, bad[i][1]) && strstr(diag.msg, path),
                  "case %zu: %d '%s'", i, (int)st, diag.msg);
    }
    snprintf(path, sizeof path, "%s/missing.json", root);
    CHECK_STATUS(erg_power_profiles_load(&p, NULL, path, &diag), ERG_IO);
    CHECK(strstr(diag.msg, "missing.json"));
}

/* With no sensor the device gets the estimate, and says so. */
static void test_device_energy(const char *root) {
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    erg_power_profiles p;
    CHECK_STATUS(erg_power_profiles_load(&p, NULL, "", &diag), ERG_OK);
    erg_device_info devs[2] = {device("cpu", ERG_DEVICE_CPU, true, "AMD EPYC 7763"),
                               device("vulkan:0", ERG_DEVICE_OTHER, true, "llvmpipe (CPU)")};
    devs[0].n_threads = 2;
    devs[0].n_logical_cores = 4;
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        erg_device_energy e;
        char line[320];
        erg_device_energy_resolve(r, &p, devs, 2, 0, &e);
        CHECK(!e.domain && !e.measured && e.source == ERG_ENERGY_ESTIMATE);
        CHECK(e.threads == 2 && strcmp(e.device_class, "server-cpu") == 0);
        erg_device_energy_describe(&e, line, sizeof line);
        CHECK_MSG(strncmp(line, "estimate (no sensor): server-cpu", 32) == 0, "'%s'", line);
        CHECK(!strstr(line, "measured"));
        erg_energy_reading rd;
        erg_device_energy_estimate(&e, 1.0, 2.0, &rd);
        CHECK_NEAR(rd.joules, (4.4 - 1.1) * 2, 1e-9);
        erg_device_energy_resolve(r, &p, devs, 2, 1, &e);
        CHECK(e.threads == 4); /* llvmpipe runs on every core */
        erg_energy_registry_close(r);
    }
    /* A RAPL package: measured, shared with llvmpipe. */
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/name", "package-0\n"));
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "10\n"));
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/max_energy_range_uj", "1000\n"));
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        erg_device_energy e;
        char line[320];
        erg_device_energy_resolve(r, &p, devs, 2, 0, &e);
        CHECK(e.domain && e.measured && e.source == ERG_ENERGY_RAPL);
        erg_device_energy_describe(&e, line, sizeof line);
        CHECK_MSG(strstr(line, "rapl (measured): package-0 (intel-rapl:0)") &&
                      strstr(line, "shared with vulkan:0"),
                  "'%s'", line);
        /* A sensor that failed during a run: the estimate, saying why. */
        erg_device_energy_fall_back(&e, "the sensor's counter did not move during the run");
        CHECK(!e.domain && !e.measured && e.source == ERG_ENERGY_ESTIMATE && !e.shared_with[0]);
        erg_device_energy_describe(&e, line, sizeof line);
        CHECK_MSG(strncmp(line, "estimate (the sensor's counter did not move", 43) == 0, "'%s'",
                  line);
        erg_energy_registry_close(r);
    }
    erg_power_profiles_free(&p);
}

int main(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return 1;
    test_classes();
    test_defaults_and_arithmetic();
    test_user_file(root);
    test_device_energy(root);
    fake_root_remove(root);
    return erg_test_result("test_energy_estimate");
}
