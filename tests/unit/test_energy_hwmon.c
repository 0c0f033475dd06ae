/* hwmon energy and power sensors and INA3221 rails against a fake tree;
 * power is integrated with an injected clock, so the joules are exact. */
#include "hal/energy/registry.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <errno.h>
#include <time.h>

#define HW "sys/class/hwmon/"

static erg_energy_domain *find_domain(erg_energy_registry *r, const char *name) {
    for (size_t i = 0; i < erg_energy_registry_count(r); i++) {
        erg_energy_domain *d = erg_energy_registry_domain(r, i);
        if (strcmp(erg_energy_domain_desc(d)->name, name) == 0)
            return d;
    }
    printf("no domain named '%s'\n", name);
    return NULL;
}

static const erg_energy_desc *desc_of(erg_energy_registry *r, const char *name) {
    erg_energy_domain *d = find_domain(r, name);
    return d ? erg_energy_domain_desc(d) : NULL;
}

static erg_device_info device(const char *name, erg_device_kind kind, bool unified,
                              const char *vendor) {
    erg_device_info d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.backend, sizeof d.backend, "%.*s", (int)strcspn(name, ":"), name);
    d.kind = kind;
    d.unified_memory = unified;
    snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
    return d;
}

static void make_tree(const char *root) {
    /* hwmon0: an AMD card's averaged power, 50 ms averaging. */
    CHECK(fake_write(root, HW "hwmon0/name", "amdgpu\n"));
    CHECK(fake_write(root, HW "hwmon0/power1_average", "10000000\n"));
    CHECK(fake_write(root, HW "hwmon0/power1_average_interval", "50\n"));
    CHECK(fake_write(root, HW "hwmon0/power1_label", "PPT\n"));
    CHECK(fake_write(root, HW "hwmon0/device/class", "0x030000\n"));
    CHECK(fake_write(root, HW "hwmon0/device/vendor", "0x1002\n"));
    CHECK(
        fake_write(root, HW "hwmon0/device/uevent", "DRIVER=amdgpu\nPCI_SLOT_NAME=0000:03:00.0\n"));
    /* hwmon1: an Intel card's energy counter (µJ). */
    CHECK(fake_write(root, HW "hwmon1/name", "i915\n"));
    CHECK(fake_write(root, HW "hwmon1/energy1_input", "5000000\n"));
    CHECK(fake_write(root, HW "hwmon1/device/class", "0x038000\n"));
    CHECK(fake_write(root, HW "hwmon1/device/vendor", "0x8086\n"));
    /* hwmon2: a Jetson's INA3221 (mV, mA). */
    CHECK(fake_write(root, HW "hwmon2/name", "ina3221\n"));
    const char *labels[] = {"VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"};
    for (int i = 1; i <= 3; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, HW "hwmon2/in%d_label", i);
        CHECK(fake_write(root, rel, "%s\n", labels[i - 1]));
        snprintf(rel, sizeof rel, HW "hwmon2/in%d_input", i);
        CHECK(fake_write(root, rel, "5000\n"));
        snprintf(rel, sizeof rel, HW "hwmon2/curr%d_input", i);
        CHECK(fake_write(root, rel, "%d\n", 1000 * i));
    }
    /* hwmon3: garbage power; hwmon4: temperatures only; hwmon5: AMD CPU energy. */
    CHECK(fake_write(root, HW "hwmon3/name", "acpi_power\n"));
    CHECK(fake_write(root, HW "hwmon3/power1_input", "xyz\n"));
    CHECK(fake_write(root, HW "hwmon4/name", "coretemp\n"));
    CHECK(fake_write(root, HW "hwmon4/temp1_input", "45000\n"));
    CHECK(fake_write(root, HW "hwmon5/name", "amd_energy\n"));
    CHECK(fake_write(root, HW "hwmon5/energy1_input", "100\n"));
    CHECK(fake_write(root, HW "hwmon5/energy1_label", "Ecore000\n"));
    CHECK(fake_write(root, HW "hwmon5/energy2_input", "2000000\n"));
    CHECK(fake_write(root, HW "hwmon5/energy2_label", "Esocket0\n"));
}

static void test_discovery_and_mapping(erg_energy_registry *r) {
    /* The per-core amd_energy counter is left out; the socket is kept. */
    CHECK_EQ_INT(erg_energy_registry_count(r), 7);
    const erg_energy_desc *amd = desc_of(r, "amdgpu PPT (hwmon0)");
    CHECK(amd && amd->usable && amd->method == ERG_ENERGY_POWER &&
          amd->scope == ERG_ENERGY_SCOPE_GPU);
    CHECK(amd && amd->pci_vendor == 0x1002 && strcmp(amd->pci_slot, "0000:03:00.0") == 0);
    CHECK(amd && !amd->update_interval_assumed);
    CHECK_NEAR(amd ? amd->update_interval_s : 0, 0.05, 1e-12);
    const erg_energy_desc *i915 = desc_of(r, "i915 energy1 (hwmon1)");
    CHECK(i915 && i915->usable && i915->method == ERG_ENERGY_COUNTER);
    CHECK(i915 && i915->update_interval_assumed && i915->pci_vendor == 0x8086);
    const erg_energy_desc *vin = desc_of(r, "ina3221 VDD_IN (hwmon2)");
    const erg_energy_desc *cv = desc_of(r, "ina3221 VDD_CPU_GPU_CV (hwmon2)");
    const erg_energy_desc *soc = desc_of(r, "ina3221 VDD_SOC (hwmon2)");
    CHECK(vin && vin->scope == ERG_ENERGY_SCOPE_PLATFORM);
    CHECK(cv && cv->scope == ERG_ENERGY_SCOPE_CPU_PACKAGE);
    CHECK(soc && soc->scope == ERG_ENERGY_SCOPE_OTHER && strstr(soc->note, "cannot tell"));
    const erg_energy_desc *bad = desc_of(r, "acpi_power power1 (hwmon3)");
    CHECK(bad && !bad->usable && strstr(bad->note, "not a number"));
    const erg_energy_desc *sock = desc_of(r, "amd_energy Esocket0 (hwmon5)");
    CHECK(sock && sock->usable && sock->scope == ERG_ENERGY_SCOPE_CPU_PACKAGE);
    CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_HWMON),
                 "6 hwmon device(s): 2 energy, 5 power"));

    erg_device_info devs[4] = {
        device("cpu", ERG_DEVICE_CPU, true, ""), device("vulkan:0", ERG_DEVICE_GPU, false, "AMD"),
        device("opencl:0", ERG_DEVICE_GPU, false, "Advanced Micro Devices, Inc."),
        device("vulkan:1", ERG_DEVICE_GPU, false, "Intel")};
    /* A counter (the socket's) comes before sampled power (the CPU/GPU rail). */
    erg_energy_domain *cpu = erg_energy_registry_find(r, devs, 4, 0);
    CHECK(cpu && erg_energy_domain_desc(cpu) == sock);
    erg_energy_domain *card = erg_energy_registry_find(r, devs, 4, 1);
    CHECK(card && erg_energy_domain_desc(card) == amd);
    CHECK(erg_energy_registry_find(r, devs, 4, 2) == card); /* the same card through OpenCL */
    char shared[128];
    erg_energy_domain_shared_with(amd, devs, 4, 1, shared, sizeof shared);
    CHECK_MSG(strcmp(shared, "opencl:0") == 0, "'%s'", shared);
    erg_energy_domain *intel = erg_energy_registry_find(r, devs, 4, 3);
    CHECK(intel && erg_energy_domain_desc(intel) == i915);
    /* Two AMD cards in one backend: the sensor cannot be placed on either. */
    erg_device_info two[2] = {device("vulkan:0", ERG_DEVICE_GPU, false, "AMD"),
                              device("vulkan:1", ERG_DEVICE_GPU, false, "AMD")};
    erg_energy_domain *guess = erg_energy_registry_find(r, two, 2, 0);
    CHECK(guess && erg_energy_domain_desc(guess) == vin); /* only the board's input covers it */
}

static void test_power_integration(erg_energy_registry *r, const char *root, fake_clock *clock) {
    erg_energy_domain *d = find_domain(r, "amdgpu PPT (hwmon0)");
    if (!d)
        return;
    erg_diag diag = {{0}};
    erg_energy_window w;
    erg_energy_reading rd;
    /* 10 W at t=0, 20 W at t=1 and t=2: trapezoids give 15 + 20 J. */
    clock->t = 0;
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    CHECK(fake_write(root, HW "hwmon0/power1_average", "20000000\n"));
    clock->t = 1;
    CHECK_STATUS(erg_energy_domain_poll(d, &diag), ERG_OK);
    clock->t = 2;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 35.0, 1e-9);
    CHECK_NEAR(rd.seconds, 2.0, 1e-12);
    CHECK_EQ_INT(rd.n_samples, 3);
    CHECK(!rd.window_ok); /* 3 samples, fewer than 10 */
    CHECK(rd.source == ERG_ENERGY_HWMON);

    /* 5 W for 1 s in 50 ms steps (21 samples), 2 W idle baseline: 3 J. */
    CHECK(fake_write(root, HW "hwmon0/power1_average", "5000000\n"));
    clock->t = 10;
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    for (int i = 1; i < 20; i++) {
        clock->t = 10 + 0.05 * i;
        CHECK_STATUS(erg_energy_domain_poll(d, &diag), ERG_OK);
    }
    clock->t = 11;
    erg_energy_reading idle = {.raw_joules = 4.0, .seconds = 2.0};
    erg_energy_baseline base = erg_energy_baseline_from(&idle);
    CHECK_NEAR(base.watts, 2.0, 1e-12);
    CHECK_STATUS(erg_energy_window_end(&w, &base, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.raw_joules, 5.0, 1e-9);
    CHECK_NEAR(rd.joules, 3.0, 1e-9);
    CHECK_EQ_INT(rd.n_samples, 21);
    CHECK(rd.window_ok && rd.baseline_subtracted);
    /* A baseline above what was drawn gives zero, never negative joules. */
    erg_energy_baseline high = {100.0, 1.0};
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    clock->t = 12;
    CHECK_STATUS(erg_energy_window_end(&w, &high, &rd, &diag), ERG_OK);
    CHECK(rd.joules == 0 && rd.raw_joules > 0);

    /* The sensor vanishes mid-window: the window is not valid. */
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    CHECK(fake_write(root, HW "hwmon0/power1_average", "garbage\n"));
    clock->t = 13;
    CHECK_STATUS(erg_energy_domain_poll(d, &diag), ERG_IO);
    CHECK(fake_write(root, HW "hwmon0/power1_average", "5000000\n"));
    clock->t = 14;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_DEVICE);
    CHECK(strstr(diag.msg, "1 sample(s) failed"));

    /* A rail: 5 V x 2 A on VDD_CPU_GPU_CV is 10 W. */
    erg_energy_domain *cv = find_domain(r, "ina3221 VDD_CPU_GPU_CV (hwmon2)");
    clock->t = 20;
    CHECK_STATUS(erg_energy_window_begin(cv, &w, &diag), ERG_OK);
    clock->t = 20.5;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 5.0, 1e-9);

    /* The counter: 5 J -> 7.5 J. */
    erg_energy_domain *i915 = find_domain(r, "i915 energy1 (hwmon1)");
    CHECK_STATUS(erg_energy_window_begin(i915, &w, &diag), ERG_OK);
    CHECK(fake_write(root, HW "hwmon1/energy1_input", "7500000\n"));
    clock->t = 22;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 2.5, 1e-9);
    CHECK(rd.window_ok); /* 1.5 s >= 10 x the assumed 100 ms */
}

/* The real sampling thread, on the real clock: a constant 4 W over a
 * short window integrates to 4 W x its length. */
static void test_sampling_thread(const char *root) {
    CHECK(fake_write(root, HW "hwmon0/power1_average", "4000000\n"));
    fake_io io;
    fake_io_init(&io);
    erg_energy_env env;
    memset(&env, 0, sizeof env);
    env.sysfs_root = root;
    env.io = &io.io;
    env.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    erg_energy_domain *d = r ? find_domain(r, "amdgpu PPT (hwmon0)") : NULL;
    if (d) {
        erg_energy_window w;
        erg_energy_reading rd;
        CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
        struct timespec ts = {0, 120 * 1000000};
        nanosleep(&ts, NULL);
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
        CHECK_NEAR(rd.joules, 4.0 * rd.seconds, 1e-6);
        CHECK(rd.seconds >= 0.12);
        CHECK_MSG(rd.n_samples >= 2, "%u samples", rd.n_samples);
    }
    erg_energy_registry_close(r);
}

int main(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return 1;
    make_tree(root);
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        test_discovery_and_mapping(r);
        test_power_integration(r, root, &clock);
        erg_energy_registry_close(r);
    }
    test_sampling_thread(root);
    fake_root_remove(root);
    return erg_test_result("test_energy_hwmon");
}
