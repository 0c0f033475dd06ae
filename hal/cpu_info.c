#include "hal/cpu_info.h"

#include "erg/erg.h"

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static uint32_t probe_features(char *model, size_t model_size) {
    uint32_t f = 0, a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    bool osxsave = (c >> 27) & 1;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    bool os_avx = (xcr0 & 0x6) == 0x6;        /* XMM and YMM state */
    bool os_avx512 = (xcr0 & 0xe6) == 0xe6;   /* + opmask, ZMM state */
    if ((c >> 20) & 1)
        f |= ERG_CPU_FEATURE_SSE42;
    if (os_avx && ((c >> 28) & 1))
        f |= ERG_CPU_FEATURE_AVX;
    if (os_avx && ((c >> 12) & 1))
        f |= ERG_CPU_FEATURE_FMA;
    if (os_avx && ((c >> 29) & 1))
        f |= ERG_CPU_FEATURE_F16C;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (os_avx && ((b >> 5) & 1))
            f |= ERG_CPU_FEATURE_AVX2;
        if (os_avx512) {
            if ((b >> 16) & 1)
                f |= ERG_CPU_FEATURE_AVX512F;
            if ((b >> 17) & 1)
                f |= ERG_CPU_FEATURE_AVX512DQ;
            if ((b >> 30) & 1)
                f |= ERG_CPU_FEATURE_AVX512BW;
            if ((b >> 31) & 1)
                f |= ERG_CPU_FEATURE_AVX512VL;
            if ((c >> 11) & 1)
                f |= ERG_CPU_FEATURE_AVX512VNNI;
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && os_avx && ((a >> 4) & 1))
            f |= ERG_CPU_FEATURE_AVXVNNI;
    }
    uint32_t brand[12];
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        for (uint32_t i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &brand[4 * i], &brand[4 * i + 1], &brand[4 * i + 2],
                        &brand[4 * i + 3]);
        char tmp[49];
        memcpy(tmp, brand, 48);
        tmp[48] = '\0';
        const char *s = tmp;
        while (*s == ' ')
            s++;
        snprintf(model, model_size, "%s", s);
    }
    return f;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

static uint32_t probe_features(char *model, size_t model_size) {
    (void)model;
    (void)model_size;
    unsigned long hw = getauxval(AT_HWCAP);
    uint32_t f = 0;
    if (hw & HWCAP_ASIMD)
        f |= ERG_CPU_FEATURE_NEON;
    if (hw & HWCAP_ASIMDDP)
        f |= ERG_CPU_FEATURE_DOTPROD;
    return f;
}

#else
static uint32_t probe_features(char *model, size_t model_size) {
    (void)model;
    (void)model_size;
    return 0;
}
#endif

/* Reads one integer from a sysfs file; false if it cannot. */
static bool read_int(const char *path, int *out) {
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fscanf(f, "%d", out) == 1;
    fclose(f);
    return ok;
}

/* The CPUs this process may run on (affinity, cpusets), as logical and
 * physical counts: physical cores are the distinct (package, core) pairs of
 * those CPUs in sysfs. Threads beyond them would only take turns. */
static void count_usable_cores(int *n_logical, int *n_physical) {
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    *n_logical = online > 0 ? (int)online : 1;
    *n_physical = *n_logical;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    int pairs[CPU_SETSIZE][2], n_pairs = 0, n_cpus = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &set))
            continue;
        n_cpus++;
        char path[128];
        int pkg = 0, core = -1;
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/core_id", cpu);
        if (!read_int(path, &core))
            core = 1 << 20 | cpu; /* no topology: count the CPU as a core of its own */
        snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id",
                 cpu);
        if (!read_int(path, &pkg))
            pkg = 0;
        bool seen = false;
        for (int i = 0; i < n_pairs && !seen; i++)
            seen = pairs[i][0] == pkg && pairs[i][1] == core;
        if (!seen) {
            pairs[n_pairs][0] = pkg;
            pairs[n_pairs][1] = core;
            n_pairs++;
        }
    }
    if (n_cpus > 0) {
        *n_logical = n_cpus;
        *n_physical = n_pairs;
    }
}

static void model_from_proc(char *model, size_t size) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 || strncmp(line, "Model", 5) == 0 ||
            strncmp(line, "Hardware", 8) == 0) {
            const char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ' || *colon == '\t')
                    colon++;
                snprintf(model, size, "%s", colon);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        }
    }
    fclose(f);
}

void erg_cpu_info_probe(erg_cpu_info *info) {
    memset(info, 0, sizeof *info);
    info->features = probe_features(info->model_name, sizeof info->model_name);
    if (!info->model_name[0])
        model_from_proc(info->model_name, sizeof info->model_name);
    count_usable_cores(&info->n_logical_cores, &info->n_physical_cores);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        info->memory_bytes = (uint64_t)pages * (uint64_t)page;
}

void erg_cpu_features_format(uint32_t features, char *buf, unsigned long size) {
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {ERG_CPU_FEATURE_SSE42, "sse4.2"},         {ERG_CPU_FEATURE_AVX, "avx"},
        {ERG_CPU_FEATURE_AVX2, "avx2"},            {ERG_CPU_FEATURE_FMA, "fma"},
        {ERG_CPU_FEATURE_F16C, "f16c"},            {ERG_CPU_FEATURE_AVX512F, "avx512f"},
        {ERG_CPU_FEATURE_AVX512BW, "avx512bw"},    {ERG_CPU_FEATURE_AVX512VL, "avx512vl"},
        {ERG_CPU_FEATURE_AVX512DQ, "avx512dq"},    {ERG_CPU_FEATURE_AVX512VNNI, "avx512vnni"},
        {ERG_CPU_FEATURE_AVXVNNI, "avxvnni"},      {ERG_CPU_FEATURE_NEON, "neon"},
        {ERG_CPU_FEATURE_DOTPROD, "dotprod"},
    };
    size_t used = 0;
    if (size)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(features & names[i].bit))
            continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", names[i].name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}
