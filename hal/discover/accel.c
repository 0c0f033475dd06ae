/* Compute accelerators of the accel class (Linux 6.2+: ivpu, amdxdna,
 * qaic, habanalabs, rocket, ethosu …), which libdrm does not list: each
 * /sys/class/accel/accelN described by its device, with its node
 * /dev/accel/accelN. */
#include "hal/discover/discover_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct scan {
    const erg_discover_ctx *c;
    erg_accel_list *out;
    char class_dir[PATH_MAX];
} scan;

/* accelN with N decimal: how the accel class names its minors. */
static bool accel_name(const char *name) {
    size_t n = strlen(name);
    if (n <= 5 || n >= 16 || strncmp(name, "accel", 5) != 0)
        return false;
    for (const char *p = name + 5; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

static void each_entry(void *user, const char *name) {
    scan *s = user;
    if (!accel_name(name)) {
        erg_accel_note(s->out, "%.40s in %.100s skipped: not an accel device name", name,
                       s->class_dir);
        return;
    }
    char entry[PATH_MAX], node[PATH_MAX];
    erg_accel a;
    memset(&a, 0, sizeof a);
    a.source = ERG_ACCEL_FROM_ACCEL;
    const char *why = (size_t)snprintf(entry, sizeof entry, "%s/%s", s->class_dir, name) <
                              sizeof entry
                          ? erg_sysfs_describe(s->c, entry, &a)
                          : "its path is too long";
    if (why) {
        erg_accel_note(s->out, "%s skipped: %s", name, why);
        return;
    }
    struct stat st;
    if ((size_t)snprintf(node, sizeof node, "%s/accel/%s", s->c->dev_root, name) <
            sizeof a.node &&
        stat(node, &st) == 0)
        memcpy(a.node, node, strlen(node) + 1);
    else
        erg_accel_note(s->out, "%s (%s) has no device node %.120s", name, a.bus_path, node);
    erg_accel *slot = erg_accel_list_add(s->out);
    if (!slot) {
        erg_accel_note(s->out, "%s skipped: erg lists at most %d accelerators", name,
                       ERG_ACCEL_MAX);
        return;
    }
    *slot = a;
}

/* A node with no sysfs entry: nothing says what it is, so it is not listed. */
static void each_node(void *user, const char *name) {
    scan *s = user;
    char entry[PATH_MAX];
    struct stat st;
    if (accel_name(name) &&
        (size_t)snprintf(entry, sizeof entry, "%s/%s", s->class_dir, name) < sizeof entry &&
        lstat(entry, &st) != 0)
        erg_accel_note(s->out, "%.100s/accel/%s skipped: no sysfs entry describes it",
                       s->c->dev_root, name);
}

void erg_discover_accel(const erg_discover_ctx *c, erg_accel_list *out) {
    scan s = {.c = c, .out = out};
    if (!erg_energy_path(&c->io, s.class_dir, sizeof s.class_dir, "/sys/class/accel")) {
        erg_accel_note(out, "accel: the sysfs root is too long");
        return;
    }
    size_t before = out->n;
    int err = erg_energy_list_dir(&c->io, s.class_dir, each_entry, &s);
    if (err == ENOENT)
        erg_accel_note(out, "accel: no %.120s (a kernel before 6.2, or no compute accelerator)",
                       s.class_dir);
    else if (err)
        erg_accel_note(out, "accel: cannot read %.120s: %s", s.class_dir, strerror(err));
    else if (out->n == before)
        erg_accel_note(out, "accel: no compute accelerator in %.120s", s.class_dir);
    char nodes[PATH_MAX];
    /* Errors here add nothing: sysfs already said what there is. */
    if ((size_t)snprintf(nodes, sizeof nodes, "%s/accel", c->dev_root) < sizeof nodes)
        erg_energy_list_dir(&c->io, nodes, each_node, &s);
}
