#include "backends/cpu/threadpool.h"

#include "hal/timer.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ volatile("yield")
#else
#define cpu_relax() ((void)0)
#endif

typedef struct worker {
    erg_threadpool *pool;
    pthread_t thread;
    int ith;
} worker;

struct erg_threadpool {
    const erg_allocator *alloc;
    int n_threads;
    worker *workers; /* n_threads - 1 */
    int n_started;

    pthread_mutex_t mutex;
    pthread_cond_t wake;
    atomic_uint task_gen; /* bumped under mutex for each task; polled without it */
    bool stop;          /* guarded by mutex */
    erg_task_fn fn;
    void *arg;

    atomic_int n_done;       /* workers finished with the current task */
    atomic_int barrier_count;
    atomic_uint barrier_gen;
};

/* Spins briefly, then yields the core: on a busy machine the thread we wait
 * for may need this core to run. */
static void wait_step(unsigned *spins) {
    if (++*spins < 4096)
        cpu_relax();
    else
        sched_yield();
}

void erg_threadpool_barrier(erg_threadpool *pool) {
    int nth = pool->n_threads;
    if (nth == 1)
        return;
    unsigned gen = atomic_load_explicit(&pool->barrier_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&pool->barrier_count, 1, memory_order_acq_rel) == nth - 1) {
        atomic_store_explicit(&pool->barrier_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->barrier_gen, 1, memory_order_release);
        return;
    }
    unsigned spins = 0;
    while (atomic_load_explicit(&pool->barrier_gen, memory_order_acquire) == gen)
        wait_step(&spins);
}

/* A worker polls for the next task this long before it sleeps. Decode steps
 * come back to back with only the session's graph work between them (well
 * under a millisecond), and waking a sleeping thread costs tens of
 * microseconds of every step; a longer pause (the app between calls) costs
 * this much spinning once. */
#define IDLE_SPIN_NS 300000u

static void poll_for_task(erg_threadpool *pool, unsigned seen) {
    uint64_t t0 = erg_time_ns();
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(&pool->task_gen, memory_order_acquire) != seen)
            return;
        cpu_relax();
        if (i % 256 == 0 && erg_time_ns() - t0 > IDLE_SPIN_NS)
            return;
    }
}

static void *worker_main(void *p) {
    worker *w = p;
    erg_threadpool *pool = w->pool;
    unsigned seen = 0;
    for (;;) {
        poll_for_task(pool, seen);
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load_explicit(&pool->task_gen, memory_order_relaxed) == seen && !pool->stop)
            pthread_cond_wait(&pool->wake, &pool->mutex);
        if (pool->stop) {
            pthread_mutex_unlock(&pool->mutex);
            return NULL;
        }
        seen = atomic_load_explicit(&pool->task_gen, memory_order_relaxed);
        erg_task_fn fn = pool->fn;
        void *arg = pool->arg;
        pthread_mutex_unlock(&pool->mutex);
        fn(arg, w->ith, pool->n_threads);
        atomic_fetch_add_explicit(&pool->n_done, 1, memory_order_release);
    }
}

void erg_threadpool_free(erg_threadpool *pool) {
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mutex);
    pool->stop = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < pool->n_started; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    erg_free(pool->alloc, pool->workers);
    erg_free(pool->alloc, pool);
}

erg_status erg_threadpool_create(const erg_allocator *alloc, int n_threads, erg_threadpool **out,
                                 erg_diag *diag) {
    *out = NULL;
    if (n_threads < 1)
        return erg_fail(diag, ERG_INVALID_ARGUMENT, "thread pool of %d threads", n_threads);
    erg_threadpool *pool = erg_calloc(alloc, 1, sizeof *pool);
    if (!pool)
        return erg_fail(diag, ERG_OUT_OF_MEMORY, "thread pool");
    pool->alloc = erg_allocator_or_default(alloc);
    pool->n_threads = n_threads;
    if (pthread_mutex_init(&pool->mutex, NULL) != 0) {
        erg_free(alloc, pool);
        return erg_fail(diag, ERG_INTERNAL, "thread pool: could not create a mutex");
    }
    if (pthread_cond_init(&pool->wake, NULL) != 0) {
        pthread_mutex_destroy(&pool->mutex);
        erg_free(alloc, pool);
        return erg_fail(diag, ERG_INTERNAL, "thread pool: could not create a condition variable");
    }
    atomic_init(&pool->task_gen, 0);
    atomic_init(&pool->n_done, 0);
    atomic_init(&pool->barrier_count, 0);
    atomic_init(&pool->barrier_gen, 0);
    if (n_threads > 1) {
        pool->workers = erg_calloc(alloc, (size_t)n_threads - 1, sizeof *pool->workers);
        if (!pool->workers) {
            erg_threadpool_free(pool);
            return erg_fail(diag, ERG_OUT_OF_MEMORY, "thread pool workers");
        }
    }
    for (int i = 0; i < n_threads - 1; i++) {
        worker *w = &pool->workers[i];
        w->pool = pool;
        w->ith = i + 1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            erg_threadpool_free(pool);
            return erg_fail(diag, ERG_INTERNAL, "could not start CPU worker thread %d of %d",
                            i + 2, n_threads);
        }
        pool->n_started++;
    }
    *out = pool;
    return ERG_OK;
}

int erg_threadpool_size(const erg_threadpool *pool) { return pool->n_threads; }

void erg_threadpool_run(erg_threadpool *pool, erg_task_fn fn, void *arg) {
    if (pool->n_threads > 1) {
        atomic_store_explicit(&pool->n_done, 0, memory_order_relaxed);
        pthread_mutex_lock(&pool->mutex);
        pool->fn = fn;
        pool->arg = arg;
        atomic_fetch_add_explicit(&pool->task_gen, 1, memory_order_release);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    fn(arg, 0, pool->n_threads);
    unsigned spins = 0;
    while (atomic_load_explicit(&pool->n_done, memory_order_acquire) < pool->n_threads - 1)
        wait_step(&spins);
}
