/* Battery gauges against a fake /sys/class/power_supply: the sign and unit
 * variants drivers use, and the rule that only a discharging battery
 * measures the system. */
#include "hal/energy/registry.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <errno.h>

#define PS "sys/class/power_supply/"

static erg_energy_domain *find_domain(erg_energy_registry *r, const char *name) {
    for (size_t i = 0; i < erg_energy_registry_count(r); i++) {
        erg_energy_domain *d = erg_energy_registry_domain(r, i);
        if (strcmp(erg_energy_domain_desc(d)->name, name) == 0)
            return d;
    }
    printf("no domain named '%s'\n", name);
    return NULL;
}

static void battery(const char *root, const char *name, const char *status) {
    char rel[128];
    snprintf(rel, sizeof rel, PS "%s/type", name);
    CHECK(fake_write(root, rel, "Battery\n"));
    snprintf(rel, sizeof rel, PS "%s/status", name);
    CHECK(fake_write(root, rel, "%s\n", status));
}

static void attr(const char *root, const char *name, const char *a, long long v) {
    char rel[128];
    snprintf(rel, sizeof rel, PS "%s/%s", name, a);
    CHECK(fake_write(root, rel, "%lld\n", v));
}

static void make_tree(const char *root) {
    CHECK(fake_write(root, PS "AC/type", "Mains\n"));
    CHECK(fake_write(root, PS "AC/online", "0\n"));
    battery(root, "BAT0", "Discharging"); /* power_now negative, as the ABI's sign rule has it */
    attr(root, "BAT0", "power_now", -7500000);
    attr(root, "BAT0", "voltage_now", 11000000);
    battery(root, "BAT1", "Discharging"); /* current positive (ACPI), µA x µV */
    attr(root, "BAT1", "current_now", 500000);
    attr(root, "BAT1", "voltage_now", 12000000);
    battery(root, "BAT2", "Discharging"); /* current negative */
    attr(root, "BAT2", "current_now", -500000);
    attr(root, "BAT2", "voltage_now", 12000000);
    battery(root, "BAT3", "Charging");
    attr(root, "BAT3", "power_now", 20000000);
    battery(root, "BAT4", "Discharging"); /* energy only (µWh) */
    attr(root, "BAT4", "energy_now", 40000000);
    battery(root, "BAT5", "Discharging"); /* charge only (µAh) */
    attr(root, "BAT5", "charge_now", 2000000);
    attr(root, "BAT5", "voltage_now", 10000000);
    battery(root, "BAT6", "Discharging"); /* nothing readable */
    attr(root, "BAT6", "capacity", 50);
    battery(root, "BAT7", "Discharging"); /* garbage */
    CHECK(fake_write(root, PS "BAT7/power_now", "n/a\n"));
    battery(root, "BAT8", "Discharging"); /* power_now denied: current x voltage */
    attr(root, "BAT8", "power_now", 9000000);
    attr(root, "BAT8", "current_now", 250000);
    attr(root, "BAT8", "voltage_now", 8000000);
}

/* Power over 1 s with the clock injected: two samples of the same power. */
static double one_second(erg_energy_domain *d, fake_clock *clock) {
    erg_energy_window w;
    erg_energy_reading rd;
    erg_diag diag = {{0}};
    clock->t = 100;
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    clock->t = 101;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK(rd.source == ERG_ENERGY_BATTERY);
    return rd.joules;
}

int main(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return 1;
    make_tree(root);
    fake_io io;
    fake_io_init(&io);
    io.deny_suffix = "BAT8/power_now";
    io.deny_err = EACCES;
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (!r)
        return erg_test_result("test_energy_battery");
    CHECK_EQ_INT(erg_energy_registry_count(r), 9); /* the mains adapter is not a battery */
    CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_BATTERY), "9 battery(ies), 6 discharging"));
    erg_energy_domain *b0 = find_domain(r, "battery BAT0"), *b1 = find_domain(r, "battery BAT1");
    erg_energy_domain *b2 = find_domain(r, "battery BAT2"), *b3 = find_domain(r, "battery BAT3");
    erg_energy_domain *b4 = find_domain(r, "battery BAT4"), *b5 = find_domain(r, "battery BAT5");
    erg_energy_domain *b6 = find_domain(r, "battery BAT6"), *b7 = find_domain(r, "battery BAT7");
    erg_energy_domain *b8 = find_domain(r, "battery BAT8");
    if (!b0 || !b1 || !b2 || !b3 || !b4 || !b5 || !b6 || !b7 || !b8)
        return erg_test_result("test_energy_battery");
    const erg_energy_desc *d0 = erg_energy_domain_desc(b0);
    CHECK(d0->usable && d0->scope == ERG_ENERGY_SCOPE_PLATFORM && d0->method == ERG_ENERGY_POWER);
    CHECK(strstr(d0->path, "BAT0/power_now") && d0->update_interval_assumed);
    CHECK_NEAR(one_second(b0, &clock), 7.5, 1e-9);
    CHECK_NEAR(one_second(b1, &clock), 6.0, 1e-9);
    CHECK_NEAR(one_second(b2, &clock), 6.0, 1e-9);
    const erg_energy_desc *d3 = erg_energy_domain_desc(b3);
    CHECK(!d3->usable && strstr(d3->note, "status Charging") &&
          strstr(d3->note, "only while discharging"));
    CHECK(!erg_energy_domain_desc(b6)->usable);
    CHECK(strstr(erg_energy_domain_desc(b6)->note, "no readable"));
    CHECK(!erg_energy_domain_desc(b7)->usable);
    CHECK(strstr(erg_energy_domain_desc(b7)->note, "no readable"));
    const erg_energy_desc *d8 = erg_energy_domain_desc(b8);
    CHECK(d8->usable && strstr(d8->path, "BAT8/current_now"));
    CHECK_NEAR(one_second(b8, &clock), 2.0, 1e-9); /* 0.25 A x 8 V */
    /* One step of the raw value: 1 µW; 1 µA at 12 V; 1 µWh; 1 µAh at 10 V. */
    CHECK_NEAR(d0->resolution, 1e-6, 1e-18);
    CHECK_NEAR(erg_energy_domain_desc(b1)->resolution, 12e-6, 1e-18);
    CHECK_NEAR(erg_energy_domain_desc(b4)->resolution, 3.6e-3, 1e-15);
    CHECK_NEAR(erg_energy_domain_desc(b5)->resolution, 10 * 3.6e-3, 1e-15);

    /* A gauge that returns garbage mid-window: the window is refused. */
    {
        erg_energy_window w;
        erg_energy_reading rd;
        clock.t = 150;
        CHECK_STATUS(erg_energy_window_begin(b1, &w, &diag), ERG_OK);
        CHECK(fake_write(root, PS "BAT1/current_now", "garbage\n"));
        clock.t = 150.5;
        CHECK_STATUS(erg_energy_domain_poll(b1, &diag), ERG_IO);
        CHECK(strstr(diag.msg, "current_now: not a number"));
        attr(root, "BAT1", "current_now", 500000);
        clock.t = 151;
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_DEVICE);
        CHECK(strstr(diag.msg, "1 sample(s) failed"));
    }

    /* Counters: what is left falls; the energy used is the fall. */
    CHECK(erg_energy_domain_desc(b4)->method == ERG_ENERGY_COUNTER);
    erg_energy_window w;
    erg_energy_reading rd;
    CHECK_STATUS(erg_energy_window_begin(b4, &w, &diag), ERG_OK);
    attr(root, "BAT4", "energy_now", 39999000); /* 1 mWh = 3.6 J */
    clock.t = 200;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 3.6, 1e-9);
    CHECK_STATUS(erg_energy_window_begin(b5, &w, &diag), ERG_OK);
    attr(root, "BAT5", "charge_now", 1999000); /* 1 mAh at 10 V = 10 mWh = 36 J */
    clock.t = 300;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 36.0, 1e-6);

    /* Plugged in mid-window: the window is refused, not half-counted. */
    CHECK_STATUS(erg_energy_window_begin(b0, &w, &diag), ERG_OK);
    CHECK(fake_write(root, PS "BAT0/status", "Charging\n"));
    clock.t = 301;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_UNSUPPORTED);
    CHECK(strstr(diag.msg, "not discharging"));
    CHECK_STATUS(erg_energy_window_begin(b4, &w, &diag), ERG_OK);
    CHECK(fake_write(root, PS "BAT4/status", "Full\n"));
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_UNSUPPORTED);

    /* A battery covers everything, after any closer domain. */
    erg_device_info cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.kind = ERG_DEVICE_CPU;
    snprintf(cpu.name, sizeof cpu.name, "cpu");
    erg_energy_domain *best = erg_energy_registry_find(r, &cpu, 1, 0);
    CHECK(best && erg_energy_domain_desc(best)->source == ERG_ENERGY_BATTERY);
    erg_energy_registry_close(r);
    fake_root_remove(root);
    return erg_test_result("test_energy_battery");
}
