/*
 * threadpool.h: a fixed pool of worker threads that run one task at a time
 * on every thread (the caller is thread 0). Inside a task the threads meet
 * at barriers between graph nodes; between tasks the workers poll briefly,
 * then sleep.
 */
#ifndef ERG_CPU_THREADPOOL_H
#define ERG_CPU_THREADPOOL_H

#include "base/alloc.h"
#include "base/diag.h"

typedef struct erg_threadpool erg_threadpool;

typedef void (*erg_task_fn)(void *arg, int ith, int nth);

erg_status erg_threadpool_create(const erg_allocator *alloc, int n_threads, erg_threadpool **out,
                                 erg_diag *diag);
void erg_threadpool_free(erg_threadpool *pool);
int erg_threadpool_size(const erg_threadpool *pool);

/* Runs fn(arg, ith, nth) on all nth threads and returns when all are done. */
void erg_threadpool_run(erg_threadpool *pool, erg_task_fn fn, void *arg);

/* Called by every thread of a running task: returns when all have arrived. */
void erg_threadpool_barrier(erg_threadpool *pool);

#endif
