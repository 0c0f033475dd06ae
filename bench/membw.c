/* Memory read bandwidth: the threads of a pool sum disjoint slices of a
 * buffer much larger than the last-level cache, with the widest loads the
 * CPU has. */
#include "bench/bench.h"

#include "backends/cpu/threadpool.h"
#include "hal/timer.h"

#include <stdint.h>
#include <stdlib.h>

#define BUFFER_BYTES (512u << 20)

typedef struct pass {
    erg_threadpool *pool;
    const uint64_t *buf;
    size_t words;
    uint64_t sums[256];
    double seconds;
} pass;

/* Sums words [lo, hi) with the widest loads the CPU has, four independent
 * accumulators keeping enough loads in flight: the bandwidth must not be
 * limited by the loop, or the roofline would be set too low. */
typedef uint64_t v4u64 __attribute__((vector_size(32), aligned(32)));

static inline __attribute__((always_inline)) uint64_t sum_loop(const uint64_t *w, size_t lo,
                                                               size_t hi) {
    v4u64 a = {0}, b = {0}, c = {0}, d = {0};
    for (size_t i = lo; i + 16 <= hi; i += 16) {
        a += *(const v4u64 *)(w + i);
        b += *(const v4u64 *)(w + i + 4);
        c += *(const v4u64 *)(w + i + 8);
        d += *(const v4u64 *)(w + i + 12);
    }
    v4u64 s = a + b + c + d;
    return s[0] ^ s[1] ^ s[2] ^ s[3];
}

#if defined(__x86_64__)
/* The same loop with 256-bit loads. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint64_t *w, size_t lo, size_t hi) {
    return sum_loop(w, lo, hi);
}
#endif

static uint64_t sum_words(const uint64_t *w, size_t lo, size_t hi) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2"))
        return sum_avx2(w, lo, hi);
#endif
    return sum_loop(w, lo, hi);
}

static void read_slice(void *arg, int ith, int nth) {
    pass *p = arg;
    /* Slices start on 128-byte boundaries. */
    size_t lo = p->words * (size_t)ith / (size_t)nth / 16 * 16;
    size_t hi = p->words * (size_t)(ith + 1) / (size_t)nth / 16 * 16;
    erg_threadpool_barrier(p->pool); /* start together */
    uint64_t t0 = erg_time_ns();
    p->sums[ith] = sum_words(p->buf, lo, hi);
    erg_threadpool_barrier(p->pool); /* the slowest thread ends the pass */
    if (ith == 0)
        p->seconds = (double)(erg_time_ns() - t0) * 1e-9;
}

struct erg_membw {
    pass p;
    uint64_t *buf;
    uint64_t sink;
};

erg_status erg_membw_open(int n_threads, erg_membw **out) {
    *out = NULL;
    if (n_threads < 1 || n_threads > 256)
        return ERG_INVALID_ARGUMENT;
    erg_membw *m = calloc(1, sizeof *m);
    if (!m || posix_memalign((void **)&m->buf, 4096, BUFFER_BYTES) != 0) {
        free(m);
        return ERG_OUT_OF_MEMORY;
    }
    erg_status st = erg_threadpool_create(NULL, n_threads, &m->p.pool, NULL);
    if (st != ERG_OK) {
        free(m->buf);
        free(m);
        return st;
    }
    /* Written once, so every page is real memory before the first pass. */
    m->p.words = BUFFER_BYTES / sizeof *m->buf;
    for (size_t i = 0; i < m->p.words; i++)
        m->buf[i] = i * 0x9E3779B97F4A7C15ull;
    m->p.buf = m->buf;
    *out = m;
    return ERG_OK;
}

double erg_membw_pass(erg_membw *m) {
    erg_threadpool_run(m->p.pool, read_slice, &m->p);
    for (int t = 0; t < erg_threadpool_size(m->p.pool); t++)
        m->sink ^= m->p.sums[t];
    return (double)BUFFER_BYTES / m->p.seconds / 1e9;
}

size_t erg_membw_resident_bytes(const erg_membw *m) {
    return m ? BUFFER_BYTES : 0; /* filled at open, so resident until closed */
}

void erg_membw_close(erg_membw *m) {
    if (!m)
        return;
    /* The sums must be used, or the reads could be optimised away. */
    volatile uint64_t keep = m->sink;
    (void)keep;
    erg_threadpool_free(m->p.pool);
    free(m->buf);
    free(m);
}
