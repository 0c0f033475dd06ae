/* RAPL through powercap and perf, against fake sysfs trees: wrap-around,
 * the duplicate intel-rapl-mmio zone, the overlapping psys zone, missing
 * files, garbage, and permission denied injected through the I/O hook. */
#include "hal/energy/domain_impl.h"
#include "hal/energy/registry.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define MAX_UJ 262143328850ull /* a real max_energy_range_uj */

static void write_zone(const char *root, const char *id, const char *name, unsigned long long uj) {
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl/enabled", "1\n"));
    char rel[256];
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/name", id);
    CHECK(fake_write(root, rel, "%s\n", name));
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/energy_uj", id);
    CHECK(fake_write(root, rel, "%llu\n", uj));
    CHECK(fake_chmod(root, rel, 0400)); /* root-only, as since Linux 5.10 */
    snprintf(rel, sizeof rel, "sys/class/powercap/%s/max_energy_range_uj", id);
    CHECK(fake_write(root, rel, "%llu\n", MAX_UJ));
}

static const erg_energy_desc *find_desc(erg_energy_registry *r, const char *name) {
    for (size_t i = 0; i < erg_energy_registry_count(r); i++) {
        const erg_energy_desc *d = erg_energy_domain_desc(erg_energy_registry_domain(r, i));
        if (strcmp(d->name, name) == 0)
            return d;
    }
    printf("no domain named '%s'\n", name);
    return NULL;
}

static erg_energy_domain *find_domain(erg_energy_registry *r, const char *name) {
    for (size_t i = 0; i < erg_energy_registry_count(r); i++) {
        erg_energy_domain *d = erg_energy_registry_domain(r, i);
        if (strcmp(erg_energy_domain_desc(d)->name, name) == 0)
            return d;
    }
    return NULL;
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

static void test_zones_and_mapping(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return;
    write_zone(root, "intel-rapl:0", "package-0", 1000000);
    write_zone(root, "intel-rapl:0:0", "core", 5000);
    write_zone(root, "intel-rapl:0:1", "uncore", 6000);
    write_zone(root, "intel-rapl:0:2", "dram", 7000);
    write_zone(root, "intel-rapl:1", "psys", 9000000);
    write_zone(root, "intel-rapl-mmio:0", "package-0", 1000100);
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (!r)
        return;
    CHECK_EQ_INT(erg_energy_registry_count(r), 6);
    const erg_energy_desc *pkg = find_desc(r, "package-0 (intel-rapl:0)");
    const erg_energy_desc *mmio = find_desc(r, "package-0 (intel-rapl-mmio:0)");
    const erg_energy_desc *psys = find_desc(r, "psys (intel-rapl:1)");
    const erg_energy_desc *uncore = find_desc(r, "uncore (intel-rapl:0:1)");
    CHECK(pkg && pkg->usable && pkg->scope == ERG_ENERGY_SCOPE_CPU_PACKAGE);
    CHECK(pkg && pkg->source == ERG_ENERGY_RAPL && pkg->method == ERG_ENERGY_COUNTER);
    CHECK(pkg && pkg->needs_privilege); /* mode 0400 */
    CHECK_NEAR(pkg ? pkg->wrap_joules : 0, MAX_UJ * 1e-6, 1e-6);
    CHECK_NEAR(pkg ? pkg->update_interval_s : 0, 0.001, 1e-12);
    CHECK_NEAR(pkg ? pkg->resolution : 0, 1e-6, 1e-18);
    CHECK(mmio && !mmio->usable && strstr(mmio->note, "duplicate of intel-rapl:0"));
    CHECK(psys && psys->usable && psys->scope == ERG_ENERGY_SCOPE_PLATFORM);
    CHECK(psys && strstr(psys->note, "overlaps"));
    CHECK(uncore && uncore->scope == ERG_ENERGY_SCOPE_IGPU);
    CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_RAPL), "6 zone(s), 5 readable"));
    CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_PERF), "not needed"));

    /* cpu, llvmpipe on the cores, an Intel iGPU, an NVIDIA card. */
    erg_device_info devs[4] = {device("cpu", ERG_DEVICE_CPU, true, ""),
                               device("vulkan:0", ERG_DEVICE_OTHER, true, "Mesa"),
                               device("vulkan:1", ERG_DEVICE_GPU, true, "Intel"),
                               device("vulkan:2", ERG_DEVICE_GPU, false, "NVIDIA")};
    erg_energy_domain *cpu = erg_energy_registry_find(r, devs, 4, 0);
    CHECK(cpu && strcmp(erg_energy_domain_desc(cpu)->name, "package-0 (intel-rapl:0)") == 0);
    CHECK(erg_energy_registry_find(r, devs, 4, 1) == cpu);
    erg_energy_domain *igpu = erg_energy_registry_find(r, devs, 4, 2);
    CHECK(igpu && strcmp(erg_energy_domain_desc(igpu)->name, "uncore (intel-rapl:0:1)") == 0);
    /* Only psys covers a discrete card: the platform as a whole. */
    erg_energy_domain *dgpu = erg_energy_registry_find(r, devs, 4, 3);
    CHECK(dgpu && strcmp(erg_energy_domain_desc(dgpu)->name, "psys (intel-rapl:1)") == 0);
    char shared[128];
    erg_energy_domain_shared_with(pkg, devs, 4, 0, shared, sizeof shared);
    CHECK_MSG(strcmp(shared, "vulkan:0, vulkan:1") == 0, "shared with '%s'", shared);
    erg_energy_domain_shared_with(pkg, devs, 4, 4, shared, sizeof shared); /* all it covers */
    CHECK_MSG(strcmp(shared, "cpu, vulkan:0, vulkan:1") == 0, "covers '%s'", shared);
    erg_energy_domain_shared_with(psys, devs, 4, 3, shared, sizeof shared);
    CHECK_MSG(strcmp(shared, "cpu, vulkan:0, vulkan:1") == 0, "psys also covers '%s'", shared);

    /* Wrap-around: 1 J before the end of the range, then 0.5 J past it. */
    erg_energy_domain *d = find_domain(r, "package-0 (intel-rapl:0)");
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "%llu\n",
                     MAX_UJ - 1000000));
    erg_energy_window w;
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    clock.t = 2.0;
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "500000\n"));
    erg_energy_reading rd;
    erg_energy_baseline idle = {0.25, 1.0};
    CHECK_STATUS(erg_energy_window_end(&w, &idle, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.raw_joules, 1.5, 1e-9);
    CHECK_NEAR(rd.joules, 1.5 - 0.25 * 2.0, 1e-9);
    CHECK_NEAR(rd.seconds, 2.0, 1e-12);
    CHECK(rd.baseline_subtracted && rd.window_ok && !rd.stalled);
    CHECK(rd.source == ERG_ENERGY_RAPL);

    /* A window shorter than ten updates (10 ms) is flagged. */
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    clock.t += 0.005;
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "600000\n"));
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 0.1, 1e-9);
    CHECK(!rd.window_ok && !rd.baseline_subtracted);

    /* A counter that does not move over a long window is stalled. */
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    clock.t += 1.0;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK(rd.stalled && rd.joules == 0);

    /* The reading turns into garbage: the window fails, naming the domain. */
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "12ab\n"));
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_IO);
    CHECK(strstr(diag.msg, "package-0") && strstr(diag.msg, "not a number"));
    erg_energy_registry_close(r);
    fake_root_remove(root);
}

static void write_perf(const char *root) {
    CHECK(fake_write(root, "sys/bus/event_source/devices/power/type", "23\n"));
    CHECK(fake_write(root, "sys/bus/event_source/devices/power/cpumask", "0,36\n"));
    CHECK(fake_write(root, "sys/bus/event_source/devices/power/events/energy-pkg", "event=0x02\n"));
    CHECK(fake_write(root, "sys/bus/event_source/devices/power/events/energy-pkg.scale",
                     "2.3283064365386962890625e-10\n"));
    CHECK(fake_write(root, "proc/sys/kernel/perf_event_paranoid", "2\n"));
}

/* energy_uj denied (as for a user on Linux >= 5.10): perf takes over. */
static void test_permission_denied_then_perf(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return;
    write_zone(root, "intel-rapl:0", "package-0", 1000000);
    write_perf(root);
    fake_io io;
    fake_io_init(&io);
    io.deny_suffix = "energy_uj";
    io.deny_err = EACCES;
    io.perf_count = 1ull << 32; /* 1 J at 2^-32 J per count */
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (!r)
        return;
    const erg_energy_desc *pkg = find_desc(r, "package-0 (intel-rapl:0)");
    CHECK(pkg && !pkg->usable && pkg->needs_privilege);
    CHECK(pkg && strstr(pkg->note, "permission denied") && strstr(pkg->note, "root"));
    CHECK_EQ_INT(io.perf_opened, 2); /* one per package in the cpumask */
    CHECK_EQ_INT(io.perf_type, 23);
    CHECK_EQ_INT(io.perf_config, 2);
    CHECK_EQ_INT(io.perf_cpu, 36);
    /* Two packages: the CPU is measured by their sum. */
    erg_device_info cpu = device("cpu", ERG_DEVICE_CPU, true, "");
    erg_energy_domain *d = erg_energy_registry_find(r, &cpu, 1, 0);
    const erg_energy_desc *dd = d ? erg_energy_domain_desc(d) : NULL;
    CHECK(dd && dd->source == ERG_ENERGY_PERF && strcmp(dd->name, "2 packages (perf)") == 0);
    CHECK(dd && dd->needs_privilege); /* perf_event_paranoid 2 */
    CHECK(dd && strstr(dd->note, "energy-pkg (perf, cpu 0), energy-pkg (perf, cpu 36)"));
    const erg_energy_desc *part = find_desc(r, "energy-pkg (perf, cpu 36)");
    CHECK(part && part->usable && strstr(part->note, "one part of 2 packages (perf)"));
    erg_energy_window w;
    erg_energy_reading rd;
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    io.perf_count += 3ull << 32; /* both packages' counters read the same: 3 J each */
    clock.t = 1;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 6.0, 1e-9);
    CHECK(rd.source == ERG_ENERGY_PERF);
    erg_energy_registry_close(r);
    CHECK_EQ_INT(io.perf_closed, 2);

    /* perf denied too: nothing measures the CPU, and the note says why. */
    io.perf_open_err = EACCES;
    io.perf_opened = io.perf_closed = 0;
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        CHECK(erg_energy_registry_find(r, &cpu, 1, 0) == NULL);
        const erg_energy_desc *p = find_desc(r, "energy-pkg (perf, cpu 0)");
        CHECK(p && !p->usable && strstr(p->note, "perf_event_paranoid 2"));
        erg_energy_registry_close(r);
    }
    /* perf_event_paranoid unreadable: privilege assumed, the note says only what failed. */
    CHECK(fake_remove(root, "proc/sys/kernel/perf_event_paranoid"));
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        const erg_energy_desc *p = find_desc(r, "energy-pkg (perf, cpu 0)");
        CHECK(p && p->needs_privilege && !strstr(p->note, "paranoid") &&
              strcmp(p->note, "perf_event_open: permission denied") == 0);
        erg_energy_registry_close(r);
    }
    fake_root_remove(root);
}

/* Two sockets: each package wraps on its own, and the CPU is measured by
 * their sum; the parts stay listed and are never chosen alone. */
static void test_two_packages(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return;
    write_zone(root, "intel-rapl:0", "package-0", MAX_UJ - 1000000);
    write_zone(root, "intel-rapl:0:0", "dram", 100);
    write_zone(root, "intel-rapl:1", "package-1", 2000000);
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (!r)
        return;
    CHECK_EQ_INT(erg_energy_registry_count(r), 4);
    const erg_energy_desc *sum = find_desc(r, "2 packages (rapl)");
    CHECK(sum && sum->usable && sum->scope == ERG_ENERGY_SCOPE_CPU_PACKAGE);
    CHECK(sum && sum->wrap_joules == 0); /* each part folds its own wraps */
    CHECK(sum && strstr(sum->note, "sum of package-0 (intel-rapl:0), package-1 (intel-rapl:1)"));
    CHECK(sum && sum->needs_privilege && sum->update_interval_s == 0.001);
    const erg_energy_desc *p1 = find_desc(r, "package-1 (intel-rapl:1)");
    CHECK(p1 && strstr(p1->note, "one part of 2 packages (rapl)"));
    erg_device_info cpu = device("cpu", ERG_DEVICE_CPU, true, "");
    erg_energy_domain *d = erg_energy_registry_find(r, &cpu, 1, 0);
    CHECK(d && erg_energy_domain_desc(d) == sum);
    erg_energy_window w;
    erg_energy_reading rd;
    if (d) {
        CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
        /* package-0 wraps (1 J, then 0.5 J past the end); package-1 adds 2 J. */
        CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "500000\n"));
        CHECK(fake_write(root, "sys/class/powercap/intel-rapl:1/energy_uj", "4000000\n"));
        clock.t = 1;
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
        CHECK_NEAR(rd.joules, 3.5, 1e-9);
        CHECK(rd.window_ok && !rd.stalled && rd.source == ERG_ENERGY_RAPL);
        /* A part that turns unreadable fails the sum, naming the part. */
        CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
        CHECK(fake_write(root, "sys/class/powercap/intel-rapl:1/energy_uj", "junk\n"));
        CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_IO);
        CHECK(strstr(diag.msg, "package-1"));
    }
    erg_energy_registry_close(r);
    fake_root_remove(root);
}

/* Two threads reading one counter: each fold sees the values in order, so
 * no read is mistaken for a wrap (which would add the whole range). */
static atomic_ullong race_uj;

static erg_status race_read(erg_energy_domain *d, double *joules, erg_diag *diag) {
    (void)d;
    (void)diag;
    *joules = (double)atomic_fetch_add(&race_uj, 1) * 1e-6;
    sched_yield(); /* widens the gap between a sensor read and its fold */
    return ERG_OK;
}

static void *race_reader(void *arg) {
    double j;
    for (int i = 0; i < 5000; i++)
        erg_energy_domain_read_joules(arg, &j, NULL);
    return NULL;
}

static void test_concurrent_reads(void) {
    static const erg_energy_domain_ops ops = {race_read, NULL, NULL};
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env("/nonexistent", &io, &clock);
    erg_energy_ctx ctx;
    erg_energy_ctx_init(&ctx, &env);
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_PLUGIN, ERG_ENERGY_COUNTER, ERG_ENERGY_SCOPE_OTHER);
    snprintf(desc.name, sizeof desc.name, "racy counter");
    desc.wrap_joules = 1000.0;
    erg_energy_domain *d = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_domain_create(&ctx, &ops, &desc, 0, &d, NULL, &diag), ERG_OK);
    if (!d)
        return;
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, race_reader, d) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double total;
    CHECK_STATUS(erg_energy_domain_read_joules(d, &total, &diag), ERG_OK);
    /* 10001 reads of a counter rising 1 µJ each: 0.01 J, never 1000 J more. */
    CHECK_NEAR(total, 10000 * 1e-6, 1e-9);
    erg_energy_domain_close(d);
}

/* A meter a plugin reports: added to the registry, used when nothing
 * closer measures the device, and labelled as measured by the plugin. */
static double plugin_joules;

static erg_status plugin_read(erg_energy_domain *d, double *joules, erg_diag *diag) {
    (void)d;
    (void)diag;
    *joules = plugin_joules;
    return ERG_OK;
}

static void test_plugin_domain(erg_energy_registry *r, fake_clock *clock) {
    static const erg_energy_domain_ops ops = {plugin_read, NULL, NULL};
    erg_energy_desc desc;
    erg_energy_desc_init(&desc, ERG_ENERGY_PLUGIN, ERG_ENERGY_COUNTER,
                         ERG_ENERGY_SCOPE_CPU_PACKAGE);
    snprintf(desc.name, sizeof desc.name, "npu-sim package");
    desc.update_interval_s = 0.01;
    erg_energy_domain *d = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_domain_create(erg_energy_registry_ctx(r), &ops, &desc, 0, &d, NULL,
                                          &diag),
                 ERG_OK);
    CHECK_STATUS(erg_energy_registry_add(r, d, &diag), ERG_OK);
    erg_device_info cpu = device("cpu", ERG_DEVICE_CPU, true, "");
    CHECK(erg_energy_registry_find(r, &cpu, 1, 0) == d);
    erg_energy_window w;
    erg_energy_reading rd;
    plugin_joules = 10;
    CHECK_STATUS(erg_energy_window_begin(d, &w, &diag), ERG_OK);
    plugin_joules = 12.5;
    clock->t += 1;
    CHECK_STATUS(erg_energy_window_end(&w, NULL, &rd, &diag), ERG_OK);
    CHECK_NEAR(rd.joules, 2.5, 1e-12);
    CHECK(rd.source == ERG_ENERGY_PLUGIN && erg_energy_source_measured(rd.source));
}

/* Missing files and garbage never fail discovery; they leave notes. */
static void test_missing_and_garbage(void) {
    char root[512];
    if (!fake_root_make(root, sizeof root))
        return;
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        CHECK_EQ_INT(erg_energy_registry_count(r), 0);
        CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_RAPL), "no /sys/class/powercap"));
        CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_PERF), "no power/energy-pkg"));
        CHECK(strstr(erg_energy_registry_note(r, ERG_ENERGY_NVML), "not loadable"));
        test_plugin_domain(r, &clock);
        erg_energy_registry_close(r);
    }
    write_zone(root, "intel-rapl:0", "package-0", 1);
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:0/energy_uj", "lots\n"));
    write_zone(root, "intel-rapl:1", "package-1", 1);
    CHECK(fake_remove(root, "sys/class/powercap/intel-rapl:1/energy_uj"));
    write_zone(root, "intel-rapl:2", "package-2", 1);
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:2/max_energy_range_uj", "-5\n"));
    write_zone(root, "intel-rapl:3", "package-3", 1);
    CHECK(fake_write(root, "sys/class/powercap/intel-rapl:3/energy_uj", "%s", ""));
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    if (r) {
        const erg_energy_desc *a = find_desc(r, "package-0 (intel-rapl:0)");
        const erg_energy_desc *b = find_desc(r, "package-1 (intel-rapl:1)");
        const erg_energy_desc *c = find_desc(r, "package-2 (intel-rapl:2)");
        const erg_energy_desc *e = find_desc(r, "package-3 (intel-rapl:3)");
        CHECK(a && !a->usable && strstr(a->note, "not a number"));
        CHECK(b && !b->usable && strstr(b->note, "missing"));
        CHECK(e && !e->usable && strstr(e->note, "not a number"));
        /* Readable, but a wrap could not be undone: usable, and it says so. */
        CHECK(c && c->usable && c->wrap_joules == 0 && strstr(c->note, "wrap-around"));
        erg_energy_registry_close(r);
    }
    fake_root_remove(root);
}

/* With no root given, ERG_SYSFS_ROOT is the root (a trailing '/' too). */
static void test_root_from_environment(void) {
    char root[512], with_slash[520];
    if (!fake_root_make(root, sizeof root))
        return;
    write_zone(root, "intel-rapl:0", "package-0", 5);
    fake_io io;
    fake_io_init(&io);
    fake_clock clock = {0};
    erg_energy_env env = fake_env(root, &io, &clock);
    env.sysfs_root = NULL;
    snprintf(with_slash, sizeof with_slash, "%s/", root);
    setenv("ERG_SYSFS_ROOT", with_slash, 1);
    erg_energy_registry *r = NULL;
    erg_diag diag = {{0}};
    CHECK_STATUS(erg_energy_registry_open(&env, &r, &diag), ERG_OK);
    unsetenv("ERG_SYSFS_ROOT");
    if (r) {
        CHECK(strcmp(erg_energy_registry_ctx(r)->root, root) == 0);
        CHECK(find_desc(r, "package-0 (intel-rapl:0)") != NULL);
        erg_energy_registry_close(r);
    }
    fake_root_remove(root);
}

int main(void) {
    test_root_from_environment();
    test_zones_and_mapping();
    test_two_packages();
    test_concurrent_reads();
    test_permission_denied_then_perf();
    test_missing_and_garbage();
    return erg_test_result("test_energy_rapl");
}
