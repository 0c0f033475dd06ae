/* A device's meter over idle and work windows (what `erg profile` uses),
 * against fake trees and an injected clock: the idle baseline, a window
 * too short for one, and the fall back to the estimate when a counter
 * stalls or a sensor fails, which every later window keeps. */
#include "hal/energy/device_meter.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <stdlib.h>

#define CARD "sys/class/hwmon/hwmon0/"

static erg_device_info device(const char *name, erg_device_kind kind, bool unified,
                              const char *vendor, const char *description) {
    erg_device_info d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.backend, sizeof d.backend, "%.*s", (int)strcspn(name, ":"), name);
    snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
    snprintf(d.description, sizeof d.description, "%s", description);
    d.kind = kind;
    d.unified_memory = unified;
    d.n_threads = 2;
    return d;
}

static void card_tree(const char *root, long long microwatts) {
    CHECK(fake_write(root, CARD "name", "amdgpu\n"));
    CHECK(fake_write(root, CARD "power1_average", "%lld\n", microwatts));
    CHECK(fake_write(root, CARD "power1_average_interval", "50\n"));
    CHECK(fake_write(root, CARD "device/class", "0x030000\n"));
    CHECK(fake_write(root, CARD "device/vendor", "0x1002\n"));
}

/* n samples 50 ms apart after the window's first, by hand (manual sampling). */
static void sample(erg_device_meter *m, fake_clock *clock, int n) {
    erg_diag diag = {{0}};
    for (int i = 0; i < n; i++) {
        clock->t += 0.05;
        CHECK_STATUS(erg_energy_domain_poll(m->dev.domain, &diag), ERG_OK);
    }
}

static void test_measured(const char *root, erg_device_info *list) {
    card_tree(root, 2000000); /* idle: 2 W */
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_device_meter m;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_device_meter_open(&m, &env, list, 2, 1, &diag), ERG_OK);
    CHECK(m.dev.domain && m.dev.measured && m.dev.source == ERG_ENERGY_HWMON);
    CHECK_NEAR(erg_device_meter_window_s(&m), 0.5, 1e-12); /* 10 x 50 ms */
    if (!m.dev.domain) {
        erg_device_meter_close(&m);
        return;
    }
    /* Idle for 0.6 s in 12 samples: a 2 W baseline. */
    erg_device_meter_begin(&m);
    sample(&m, &clock, 12);
    erg_device_meter_end_idle(&m);
    CHECK(m.have_baseline && !m.warning[0]);
    CHECK_NEAR(m.baseline.watts, 2.0, 1e-12);
    /* Work at 10 W for 0.6 s: 4.8 J above idle. */
    CHECK(fake_write(root, CARD "power1_average", "10000000\n"));
    clock.t = 1;
    erg_device_meter_begin(&m);
    sample(&m, &clock, 12);
    erg_energy_reading r;
    erg_device_meter_end(&m, 0.5, 0.6, &r);
    CHECK(r.source == ERG_ENERGY_HWMON && r.baseline_subtracted && r.window_ok);
    CHECK_NEAR(r.raw_joules, 6.0, 1e-9);
    CHECK_NEAR(r.joules, 4.8, 1e-9);
    CHECK(!m.fell_back);

    /* The sensor fails mid-window: the estimate from here on, saying why. */
    erg_device_meter_begin(&m);
    CHECK(fake_write(root, CARD "power1_average", "oops\n"));
    clock.t += 0.05;
    CHECK_STATUS(erg_energy_domain_poll(m.dev.domain, &diag), ERG_IO);
    CHECK(fake_write(root, CARD "power1_average", "10000000\n"));
    erg_device_meter_end(&m, 0.5, 0.6, &r);
    CHECK(m.fell_back && !m.dev.domain && !m.dev.measured);
    CHECK_MSG(strstr(m.dev.why_estimate, "1 sample(s) failed"), "'%s'", m.dev.why_estimate);
    CHECK(r.source == ERG_ENERGY_ESTIMATE && r.baseline_subtracted);
    CHECK_NEAR(r.joules, (170.0 - 15.0) * 0.5, 1e-9); /* the discrete-gpu profile */
    CHECK_NEAR(erg_device_meter_window_s(&m), 0, 0);
    char line[320];
    erg_device_energy_describe(&m.dev, line, sizeof line);
    CHECK_MSG(strncmp(line, "estimate (", 10) == 0 && !strstr(line, "measured"), "'%s'", line);
    erg_device_meter_close(&m);
}

/* An idle window shorter than 10 updates gives no baseline, and says so. */
static void test_short_idle(const char *root, erg_device_info *list) {
    card_tree(root, 3000000);
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_device_meter m;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_device_meter_open(&m, &env, list, 2, 1, &diag), ERG_OK);
    if (!m.dev.domain) {
        erg_device_meter_close(&m);
        return;
    }
    erg_device_meter_begin(&m);
    sample(&m, &clock, 2);
    erg_device_meter_end_idle(&m);
    CHECK(!m.have_baseline && strstr(m.warning, "no idle baseline subtracted"));
    erg_device_meter_begin(&m);
    sample(&m, &clock, 10);
    erg_energy_reading r;
    erg_device_meter_end(&m, 0.5, 0.5, &r);
    CHECK(r.source == ERG_ENERGY_HWMON && !r.baseline_subtracted && r.window_ok);
    CHECK_NEAR(r.joules, 1.5, 1e-9);
    erg_device_meter_close(&m);
}

/* A RAPL counter that never moves: stalled, so the estimate. */
static void test_stalled_counter(const char *root, erg_device_info *list) {
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/name", "package-0\n"));
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "123\n"));
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_device_meter m;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_device_meter_open(&m, &env, list, 2, 0, &diag), ERG_OK);
    CHECK(m.dev.source == ERG_ENERGY_RAPL);
    erg_device_meter_begin(&m);
    clock.t = 1;
    erg_energy_reading r;
    erg_device_meter_end(&m, 0.5, 1.0, &r);
    CHECK(m.fell_back && r.source == ERG_ENERGY_ESTIMATE);
    CHECK(strstr(m.dev.why_estimate, "did not move during the run"));
    CHECK_NEAR(r.joules, (4.4 - 1.1) * 2 * 0.5, 1e-9); /* server-cpu, 2 threads */
    erg_device_meter_close(&m);
}

/* No sensor at all: no windows to wait for, and the estimate. */
static void test_no_sensor(const char *root, erg_device_info *list) {
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_device_meter m;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_device_meter_open(&m, &env, list, 2, 0, &diag), ERG_OK);
    CHECK(!m.dev.domain && !m.fell_back && erg_device_meter_window_s(&m) == 0);
    erg_device_meter_begin(&m);
    erg_energy_reading r;
    erg_device_meter_end(&m, 0.25, 0.5, &r);
    CHECK(r.source == ERG_ENERGY_ESTIMATE && !erg_energy_source_measured(r.source));
    CHECK_NEAR(r.joules, (4.4 - 1.1) * 2 * 0.25, 1e-9);
    erg_device_meter_close(&m);
    /* A broken power profile file is an error naming it. */
    char path[600];
    snprintf(path, sizeof path, "%s/bad.json", root);
    CHECK(fake_write(root, "bad.json", "{\"profiles\": 3}"));
    setenv("ERG_POWER_PROFILE", path, 1);
    CHECK_STATUS(erg_device_meter_open(&m, &env, list, 2, 0, &diag), ERG_FORMAT);
    unsetenv("ERG_POWER_PROFILE");
    CHECK(strstr(diag.msg, "bad.json"));
}

/* Closing with a window open stops the real sampling thread. */
static void test_close_open_window(const char *root, erg_device_info *list) {
    card_tree(root, 1000000);
    fake_io io;
    fake_io_init(&io);
    erg_energy_env env;
    memset(&env, 0, sizeof env);
    env.sysfs_root = root;
    env.io = &io.io;
    env.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
    erg_device_meter m;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_device_meter_open(&m, &env, list, 2, 1, &diag), ERG_OK);
    erg_device_meter_begin(&m);
    CHECK(m.window_open);
    erg_device_meter_close(&m);
    CHECK(!m.window_open && m.reg == NULL);
}

int main(void) {
    erg_device_info list[2] = {
        device("cpu", ERG_DEVICE_CPU, true, "", "AMD EPYC 7763 64-Core Processor"),
        device("vulkan:0", ERG_DEVICE_GPU, false, "AMD", "Radeon RX 7600")};
    void (*tests[])(const char *, erg_device_info *) = {test_measured, test_short_idle,
                                                        test_stalled_counter, test_no_sensor,
                                                        test_close_open_window};
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        char root[512];
        if (!fake_root_make(root, sizeof root))
            return 1;
        tests[i](root, list);
        fake_root_remove(root);
    }
    return erg_test_result("test_energy_meter");
}
