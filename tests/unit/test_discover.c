/*
 * Accelerator discovery against fake trees made at run time: an accel class
 * with an Intel NPU on PCI (the kernel's layout: class entry -> device's
 * accel dir -> device) and a Rockchip NPU on the platform bus, entries that
 * are broken (a dangling device link, a device with no driver, a driver
 * link naming garbage, a name that is no accel minor, a node with no sysfs
 * entry), and /dev/accel nodes as regular files. Each device must come out
 * with its driver and bus path, and keep them when the minors are
 * renumbered, and out of memory. libdrm is only checked to answer cleanly:
 * this machine may have neither libdrm nor /dev/dri.
 */
#include "hal/discover/discover.h"
#include "tests/test.h"
#include "tests/unit/energy_fake.h"

#include "erg/erg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[512];

static bool fake_link(const char *target, const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    /* fake_write makes the parents; the placeholder file goes again. */
    if (!fake_write(root, rel, "%s", "") || remove(path) != 0 || symlink(target, path) != 0) {
        printf("symlink %s -> %s: %s\n", path, target, strerror(errno));
        return false;
    }
    return true;
}

static bool fake_dir(const char *rel) {
    char sub[512];
    snprintf(sub, sizeof sub, "%s/.keep", rel);
    return fake_write(root, sub, "%s", "");
}

/* accel entries: `pci` and `plat` name which minor each NPU has. */
static bool make_tree(const char *pci, const char *plat) {
    char rel[256], target[256];
    bool ok = fake_write(root, "sys/devices/pci0000:00/0000:00:0b.0/vendor", "0x8086\n") &&
              fake_write(root, "sys/devices/pci0000:00/0000:00:0b.0/device", "0x7d1d\n") &&
              fake_dir("sys/bus/pci/drivers/intel_vpu") &&
              fake_link("../../../bus/pci/drivers/intel_vpu",
                        "sys/devices/pci0000:00/0000:00:0b.0/driver") &&
              fake_link("../../../bus/pci", "sys/devices/pci0000:00/0000:00:0b.0/subsystem");
    /* The kernel's layout: the class entry links to the device's accel dir,
     * whose device link goes up to the device. */
    snprintf(rel, sizeof rel, "sys/devices/pci0000:00/0000:00:0b.0/accel/%s/device", pci);
    ok = ok && fake_link("../../../0000:00:0b.0", rel);
    snprintf(rel, sizeof rel, "sys/class/accel/%s", pci);
    snprintf(target, sizeof target, "../../devices/pci0000:00/0000:00:0b.0/accel/%s", pci);
    ok = ok && fake_link(target, rel);
    /* A platform device with no subsystem link: the bus comes from its place. */
    ok = ok && fake_dir("sys/bus/platform/drivers/rocket") &&
         fake_link("../../../bus/platform/drivers/rocket",
                   "sys/devices/platform/fdab0000.npu/driver");
    snprintf(rel, sizeof rel, "sys/class/accel/%s/device", plat);
    ok = ok && fake_link("../../../devices/platform/fdab0000.npu", rel);
    /* Broken entries. */
    ok = ok && fake_link("../../../devices/platform/gone.npu", "sys/class/accel/accel2/device") &&
         fake_dir("sys/devices/platform/ff000000.npu") &&
         fake_link("../../../devices/platform/ff000000.npu", "sys/class/accel/accel3/device") &&
         fake_dir("sys/devices/platform/ff100000.npu") &&
         fake_link("../../../bus/platform/drivers/bad name!",
                   "sys/devices/platform/ff100000.npu/driver") &&
         fake_link("../../../devices/platform/ff100000.npu", "sys/class/accel/accel4/device") &&
         fake_dir("sys/class/accel/accelX") && fake_write(root, "sys/class/accel/accel5", "junk");
    /* Nodes: regular files stand in for character devices. */
    snprintf(rel, sizeof rel, "dev/accel/%s", pci);
    ok = ok && fake_write(root, rel, "%s", "");
    snprintf(rel, sizeof rel, "dev/accel/%s", plat);
    return ok && fake_write(root, rel, "%s", "") && fake_write(root, "dev/accel/accel7", "%s", "");
}

static const erg_accel *by_bus(const erg_accel_list *l, const char *bus_path) {
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].bus_path, bus_path) == 0)
            return &l->items[i];
    return NULL;
}

static bool has_note(const erg_accel_list *l, const char *a, const char *b) {
    for (size_t i = 0; i < l->n_notes; i++)
        if (strstr(l->notes[i], a) && (!b || strstr(l->notes[i], b)))
            return true;
    return false;
}

static void check_node(const erg_accel *a, const char *minor) {
    char want[1024];
    snprintf(want, sizeof want, "%s/dev/accel/%s", root, minor);
    CHECK_MSG(strcmp(a->node, want) == 0, "node %s, want %s", a->node, want);
}

/* The two NPUs, wherever the minors put them; the broken entries skipped. */
static void check_list(const erg_accel_list *l, const char *pci, const char *plat) {
    for (size_t i = 0; i < l->n_notes; i++)
        printf("  note: %s\n", l->notes[i]);
    CHECK_EQ_INT(l->n, 2);
    const erg_accel *v = by_bus(l, "pci-0000:00:0b.0"), *r = by_bus(l, "platform-fdab0000.npu");
    CHECK(v != NULL && r != NULL);
    if (v) {
        CHECK(v->source == ERG_ACCEL_FROM_ACCEL);
        CHECK(strcmp(v->driver, "intel_vpu") == 0);
        CHECK_EQ_INT(v->vendor_id, 0x8086);
        CHECK_EQ_INT(v->device_id, 0x7d1d);
        check_node(v, pci);
    }
    if (r) {
        CHECK(strcmp(r->driver, "rocket") == 0);
        CHECK_EQ_INT(r->vendor_id, 0);
        check_node(r, plat);
    }
    CHECK(has_note(l, "DRM: libdrm not asked", NULL));
    CHECK(has_note(l, "accel2 skipped", "device link dangles"));
    CHECK(has_note(l, "accel3 skipped", "no driver link"));
    CHECK(has_note(l, "accel4 skipped", "driver link names no driver"));
    CHECK(has_note(l, "accel5 skipped", "no device link"));
    CHECK(has_note(l, "accelX", "not an accel device name"));
    CHECK(has_note(l, "accel/accel7 skipped", "no sysfs entry"));
}

static void test_fake_tree(void) {
    CHECK(make_tree("accel0", "accel1"));
    erg_accel_list *l = calloc(1, sizeof *l);
    erg_discover(&(erg_discover_env){.sysfs_root = root}, l);
    check_list(l, "accel0", "accel1");
    /* The minors swap (another boot, another probe order): the bus paths
     * still say which is which. */
    fake_root_remove(root);
    CHECK(fake_root_make(root, sizeof root) && make_tree("accel1", "accel0"));
    erg_discover(&(erg_discover_env){.sysfs_root = root}, l);
    check_list(l, "accel1", "accel0");
    /* The same through the environment, /dev defaulting to <root>/dev. */
    setenv("ERG_SYSFS_ROOT", root, 1);
    unsetenv("ERG_DEV_ROOT");
    erg_discover(NULL, l);
    check_list(l, "accel1", "accel0");
    /* ERG_DEV_ROOT elsewhere: the devices stay, without their nodes. */
    char path[1024];
    snprintf(path, sizeof path, "%s/nodev", root);
    setenv("ERG_DEV_ROOT", path, 1);
    erg_discover(NULL, l);
    CHECK_EQ_INT(l->n, 2);
    CHECK(l->n == 2 && l->items[0].node[0] == '\0' && l->items[1].node[0] == '\0');
    CHECK(has_note(l, "has no device node", "nodev/accel/accel0"));
    unsetenv("ERG_DEV_ROOT");
    free(l);
}

/* The runtime lists them too, and no plugin claims them (npu-sim, if the
 * build made it, is simulated: it names no driver or bus path). */
static void test_runtime(void) {
    erg_runtime_options o = ERG_RUNTIME_OPTIONS_INIT;
    o.log_level = ERG_LOG_ERROR;
    o.n_threads = 1;
    erg_runtime *rt = NULL;
    CHECK(erg_runtime_create(&o, &rt) == ERG_OK);
    if (!rt)
        return;
    CHECK_EQ_INT(erg_runtime_accelerator_count(rt), 2);
    erg_accelerator_info a = {.struct_size = sizeof a};
    CHECK(erg_runtime_accelerator_info(rt, 0, &a) == ERG_OK);
    CHECK(strcmp(a.source, "accel") == 0);
    CHECK(strcmp(a.bus_path, "platform-fdab0000.npu") == 0); /* accel0 since the swap */
    CHECK(strcmp(a.driver, "rocket") == 0);
    CHECK(a.claimed_by[0] == '\0');
    CHECK(erg_runtime_accelerator_info(rt, 1, &a) == ERG_OK);
    CHECK(strcmp(a.bus_path, "pci-0000:00:0b.0") == 0);
    CHECK(a.claimed_by[0] == '\0');
    CHECK(erg_runtime_accelerator_info(rt, 2, &a) == ERG_NOT_FOUND);
    CHECK(strstr(erg_runtime_last_error(rt), "accelerator 2 of 2") != NULL);
    /* A caller built against a header that ends before `source`. */
    erg_accelerator_info small = {.struct_size = sizeof(size_t)};
    memset(small.source, 'x', sizeof small.source);
    CHECK(erg_runtime_accelerator_info(rt, 0, &small) == ERG_OK);
    CHECK(small.source[0] == 'x');
    CHECK(strstr(erg_runtime_accelerator_notes(rt), "accel2 skipped") != NULL);
    erg_runtime_destroy(rt);
}

static void *no_alloc(void *user, size_t size, size_t alignment) {
    (void)user;
    (void)size;
    (void)alignment;
    return NULL;
}

static void plain_free(void *user, void *ptr) {
    (void)user;
    free(ptr);
}

/* Out of memory listing the class: said, nothing listed, nothing leaked. */
static void test_no_memory(void) {
    erg_allocator none = {NULL, no_alloc, plain_free};
    erg_accel_list *l = calloc(1, sizeof *l);
    erg_discover(&(erg_discover_env){.alloc = &none, .sysfs_root = root}, l);
    CHECK_EQ_INT(l->n, 0);
    CHECK(has_note(l, "accel: cannot read", "Cannot allocate memory"));
    free(l);
}

static void test_matches(void) {
    erg_accel a = {.driver = "amdxdna", .bus_path = "pci-0000:c5:00.1"};
    CHECK(erg_accel_matches(&a, "amdxdna", "pci-0000:c5:00.1"));
    CHECK(erg_accel_matches(&a, "", "pci-0000:c5:00.1"));
    CHECK(erg_accel_matches(&a, "amdxdna", "")); /* no bus path: every device of the driver */
    CHECK(!erg_accel_matches(&a, "amdxdna", "pci-0000:c6:00.1"));
    CHECK(!erg_accel_matches(&a, "ivpu", ""));
    CHECK(!erg_accel_matches(&a, "", ""));
}

/* The real system's libdrm: absent, or present and saying what it found;
 * every render node it lists must look like one. */
static void test_libdrm(void) {
    erg_accel_list *l = calloc(1, sizeof *l);
    erg_discover(&(erg_discover_env){.sysfs_root = "", .dev_root = "/dev",
                                     .libdrm = "liberg-test-no-such-libdrm.so.2"},
                 l);
    CHECK(has_note(l, "DRM: liberg-test-no-such-libdrm.so.2 absent", "render nodes not listed"));
    erg_discover(&(erg_discover_env){.sysfs_root = "", .dev_root = "/dev"}, l);
    size_t n_drm = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].source == ERG_ACCEL_FROM_DRM) {
            n_drm++;
            CHECK(strncmp(l->items[i].node, "/dev/dri/renderD", 16) == 0);
            CHECK(l->items[i].bus_path[0] != '\0');
        }
    for (size_t i = 0; i < l->n_notes; i++)
        printf("  real system: %s\n", l->notes[i]);
    CHECK(n_drm > 0 || has_note(l, "DRM: no render node", NULL) ||
          has_note(l, "DRM: libdrm.so.2 absent", NULL) || has_note(l, "without the libdrm", NULL));
    free(l);
}

int main(void) {
    unsetenv("ERG_SYSFS_ROOT");
    unsetenv("ERG_DEV_ROOT");
    test_matches();
    test_libdrm();
    if (!fake_root_make(root, sizeof root))
        return 1;
    test_fake_tree();
    test_runtime();
    test_no_memory();
    fake_root_remove(root);
    return erg_test_result("test_discover");
}
