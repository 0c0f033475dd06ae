/* Peak RSS per stretch of work: VmHWM after a reset, else getrusage. */
#include "bench/peak_memory.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static bool hwm_reset;

void erg_bench_peak_reset(char *method, size_t size) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    hwm_reset = f && fputs("5", f) >= 0;
    if (f && fclose(f) != 0)
        hwm_reset = false;
    snprintf(method, size, "%s",
             hwm_reset ? "VmHWM, reset per test" : "getrusage maxrss (whole process)");
}

static uint64_t vm_hwm(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return (uint64_t)kib * 1024;
}

uint64_t erg_bench_peak_read(void) {
    uint64_t hwm = hwm_reset ? vm_hwm() : 0;
    if (hwm)
        return hwm;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024; /* kilobytes on Linux */
}
