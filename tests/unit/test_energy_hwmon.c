/* hwmon energy and power sensors and INA3221 rails (hwmon and JetPack 4's
 * IIO driver) against fake trees; power is integrated with an injected
 * clock, by hand and by the sampling thread, so the joules are exact. */
#include "hal/energy/domain_impl.h"
#include "hal/energy/registry.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <errno.h>
#include <stdatomic.h>
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
    /* hwmon2: a Jetson's INA3221 (mV, mA), updating every 20 ms. */
    CHECK(fake_write(root, HW "hwmon2/name", "ina3221\n"));
    CHECK(fake_write(root, HW "hwmon2/update_interval", "20\n"));
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
    /* hwmon6: a sensor whose read is denied (injected: CI runs as root). */
    CHECK(fake_write(root, HW "hwmon6/name", "nct6798\n"));
    CHECK(fake_write(root, HW "hwmon6/power1_input", "3000000\n"));
}

static void test_discovery_and_mapping(erg_energy_registry *r) {
    /* The per-core amd_energy counter is left out; the socket is kept. */
    CHECK_EQ_INT(erg_energy_registry_count(r), 8);
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
    CHECK(cv && !cv->update_interval_assumed && cv->update_interval_s == 0.02);
    CHECK(soc && soc->scope == ERG_ENERGY_SCOPE_OTHER && strstr(soc->note, "cannot tell"));
    const erg_energy_desc *bad = desc_of(r, "acpi_power power1 (hwmon3)");
    CHECK(bad && !bad->usable && strstr(bad->note, "not a number"));
    const erg_energy_desc *sock = desc_of(r, "amd_energy Esocket0 (hwmon5)");
    CHECK(sock && sock->usable && sock->scope == ERG_ENERGY_SCOPE_CPU_PACKAGE);
    const erg_energy_desc *denied = desc_of(r, "nct6798 power1 (hwmon6)");
    CHECK(denied && !denied->usable && denied->needs_privilege &&
          strstr(denied->note, "permission denied"));
    CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_HWMON),
                 "7 hwmon device(s): 2 energy, 6 power"));

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

/* The sampling thread, on a clock the test moves: the thread only counts
 * a sample once the clock has moved past the last one, so waiting for the
 * count to rise after each step makes the integral exact. */
static _Atomic double thread_t;

static double thread_now(void *user) {
    (void)user;
    return atomic_load(&thread_t);
}

static uint32_t samples_of(erg_energy_domain *d) {
    pthread_mutex_lock(&d->lock);
    uint32_t n = d->n_samples;
    pthread_mutex_unlock(&d->lock);
    return n;
}

/* Waits (on the real clock, up to 10 s) for the thread to count n samples. */
static bool wait_samples(erg_energy_domain *d, uint32_t n) {
    for (int i = 0; i < 10000 && samples_of(d) < n; i++) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return samples_of(d) >= n;
}

static void test_sampling_thread(const char *root) {
    /* 4 W, averaged over 1 ms: the thread samples every millisecond. */
    CHECK(fake_write(root, HW "hwmon0/power1_average", "4000000\n"));
    CHECK(fake_write(root, HW "hwmon0/power1_average_interval", "1\n"));
    fake_io io;
    fake_io_init(&io);
    erg_energy_env env;
    memset(&env, 0, sizeof env);
    env.sysfs_root = root;
    env.io = &io.io;
    env.clock = (erg_energy_clock){thread_now, NULL};
    env.nvml_lib = "/nonexistent/libnvidia-ml.so.1";
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    erg_energy_domain *d = r ? find_domain(r, "amdgpu PPT (hwmon0)") : NULL;
    if (d) {
        atomic_store(&thread_t, 100.0);
        erg_energy_window w;
        erg_energy_reading rd;
        CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
        uint32_t first = samples_of(d);
        for (int i = 1; i <= 20; i++) {
            atomic_store(&thread_t, 100.0 + 0.01 * i);
            CHECK_MSG(wait_samples(d, first + (uint32_t)i), "no thread sample at step %d", i);
        }
        /* 1 W idle: (4 - 1) W x 0.2 s. */
        erg_energy_baseline idle = {1.0, 1.0};
        CHECK_STATUS(erg_energy_window_end(&w, &idle, &rd, &diag), ERG_OK);
        CHECK_NEAR(rd.seconds, 0.2, 1e-12);
        CHECK_NEAR(rd.raw_joules, 0.8, 1e-12);
        CHECK_NEAR(rd.joules, 0.6, 1e-12);
        CHECK_EQ_INT(rd.n_samples, 21); /* t0, then one per step; end's is not newer */
        CHECK(rd.window_ok && rd.baseline_subtracted); /* 0.2 s >= 10 x 1 ms */
        pthread_mutex_lock(&d->lock);
        bool stopped = !d->thread_running && d->sampler_users == 0;
        pthread_mutex_unlock(&d->lock);
        CHECK(stopped);
    }
    erg_energy_registry_close(r);
}

/* amd_energy on a many-core part: per-core counters come first and are
 * skipped, so both sockets are found however many cores there are; the
 * CPU is measured by their sum. A board with more sensors than erg lists
 * says so. */
static void test_many_cores(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return;
    CHECK(fake_write(root, HW "hwmon0/name", "amd_energy\n"));
    for (int i = 1; i <= 42; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, HW "hwmon0/energy%d_input", i);
        CHECK(fake_write(root, rel, "%d\n", 1000 * i));
        snprintf(rel, sizeof rel, HW "hwmon0/energy%d_label", i);
        if (i <= 40)
            CHECK(fake_write(root, rel, "Ecore%03d\n", i - 1));
        else
            CHECK(fake_write(root, rel, "Esocket%d\n", i - 41));
    }
    /* hwmon1: more power sensors than erg lists of one kind (32). */
    CHECK(fake_write(root, HW "hwmon1/name", "bmc\n"));
    for (int i = 1; i <= 34; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, HW "hwmon1/power%d_input", i);
        CHECK(fake_write(root, rel, "1000000\n"));
    }
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        /* two sockets and their sum, and 32 of the 34 power sensors */
        CHECK_EQ_INT(erg_energy_registry_count(r), 3 + 32);
        CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_HWMON),
                     "sensors past 32 of a kind left out"));
        erg_device_info cpu = device("cpu", ERG_DEVICE_CPU, true, "");
        erg_energy_domain *d = erg_energy_registry_find(r, &cpu, 1, 0);
        CHECK(d && strcmp(erg_energy_domain_desc(d)->name, "2 packages (hwmon)") == 0);
        CHECK(desc_of(r, "amd_energy Esocket1 (hwmon0)") != NULL);
        erg_energy_registry_close(r);
    }
    fake_root_remove(root);
}

/* JetPack 4's ina3221x IIO rails (Jetson Nano: POM_5V_IN, _GPU, _CPU). */
static void test_ina3221x_iio(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return;
    const char *dir = "sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0/";
    const char *rails[] = {"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"};
    const int mw[] = {5000, 1500, 2500};
    for (int k = 0; k < 3; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "%srail_name_%d", dir, k);
        CHECK(fake_write(root, rel, "%s\n", rails[k]));
        snprintf(rel, sizeof rel, "%sin_power%d_input", dir, k);
        CHECK(fake_write(root, rel, "%d\n", mw[k]));
    }
    CHECK(fake_write(root, "sys/bus/i2c/drivers/ina3221x/uevent", "DRIVER=ina3221x\n"));
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (!r) {
        fake_root_remove(root);
        return;
    }
    CHECK_EQ_INT(erg_energy_registry_count(r), 3);
    const erg_energy_desc *in = desc_of(r, "ina3221x POM_5V_IN (6-0040)");
    const erg_energy_desc *gpu = desc_of(r, "ina3221x POM_5V_GPU (6-0040)");
    CHECK(in && in->usable && in->scope == ERG_ENERGY_SCOPE_PLATFORM);
    CHECK(in && in->method == ERG_ENERGY_POWER && in->source == ERG_ENERGY_HWMON);
    CHECK(in && in->update_interval_assumed && in->resolution == 1e-3 && !in->needs_privilege);
    CHECK(gpu && gpu->scope == ERG_ENERGY_SCOPE_IGPU);
    CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_HWMON), "3 of them ina3221x rails"));
    erg_device_info devs[2] = {device("cpu", ERG_DEVICE_CPU, true, ""),
                               device("vulkan:0", ERG_DEVICE_GPU, true, "NVIDIA")};
    erg_energy_domain *cpu = erg_energy_registry_find(r, devs, 2, 0);
    CHECK(cpu && strcmp(erg_energy_domain_desc(cpu)->name, "ina3221x POM_5V_CPU (6-0040)") == 0);
    erg_energy_domain *igpu = erg_energy_registry_find(r, devs, 2, 1);
    CHECK(igpu && erg_energy_domain_desc(igpu) == gpu);
    if (cpu) { /* 2.5 W for 2 s */
        erg_energy_window w;
        erg_energy_reading rd;
        CHECK_STATUS(erg_energy_window_begin(cpu, &w, &diag), ERG_OK);
        clock.t = 2;
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
        CHECK_NEAR(rd.joules, 5.0, 1e-9);
    }
    erg_energy_registry_close(r);
    /* A rail that cannot be read is listed, and says why. */
    io.deny_suffix = "in_power2_input";
    io.deny_err = EACCES;
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        const erg_energy_desc *c = desc_of(r, "ina3221x POM_5V_CPU (6-0040)");
        CHECK(c && !c->usable && c->needs_privilege && strstr(c->note, "permission denied"));
        erg_energy_registry_close(r);
    }
    fake_root_remove(root);
}

int main(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return 1;
    make_tree(root);
    fake_io io;
    fake_io_init(&io);
    io.deny_suffix = "hwmon6/power1_input";
    io.deny_err = EACCES;
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
    test_many_cores();
    test_ina3221x_iio();
    return erg_test_result("test_energy_hwmon");
}
