/*
 * peak_memory.h: the process's peak resident memory over a stretch of
 * work. On Linux the high-water mark is reset by writing "5" to
 * /proc/self/clear_refs and read from VmHWM in /proc/self/status; where
 * that fails, getrusage's ru_maxrss, the peak over the whole process life.
 */
#ifndef ERG_BENCH_PEAK_MEMORY_H
#define ERG_BENCH_PEAK_MEMORY_H

#include <stddef.h>
#include <stdint.h>

/* Starts a stretch: resets the high-water mark where the kernel allows it.
 * method (at least 64 bytes) says how the coming peak will be taken. */
void erg_bench_peak_reset(char *method, size_t size);
/* The peak since the reset (or the process's life, per method), in bytes. */
uint64_t erg_bench_peak_read(void);

#endif
