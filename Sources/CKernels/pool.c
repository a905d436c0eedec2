// A persistent thread pool: workers spin briefly on a generation counter, then sleep on a condition
// variable. One job at a time: the caller publishes (fn, ctx, count), bumps the generation, takes
// indices itself, and waits until every worker has checked back in.
#define _GNU_SOURCE
#include "ckernels.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <sched.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define CK_PAUSE() __asm__ __volatile__("yield")
#else
#define CK_PAUSE() ((void)0)
#endif

struct ck_pool {
    int threads;
    pthread_t *workers;
    // The current job. Written by the caller before it publishes a new generation in `work`.
    ck_task_fn fn;
    void *ctx;
    // Index counts of the last two jobs, by generation parity. A worker that read the previous job's work
    // word (all indices claimed) may compare it against a count only after the next job was set up; with
    // one shared count it could claim an index of the old word against the new, larger count, run it, and
    // overshoot `done` so that ck_pool_run never returned. The old job's count stays in its own slot.
    atomic_long counts[2];
    // generation << 32 | next index to hand out. Claiming an index is a compare-and-swap on this word,
    // so a worker that wakes late (after the job ended) fails to claim anything and never touches a
    // finished job: the caller waits only for the indices, not for every worker to check in.
    _Alignas(64) _Atomic uint64_t work;
    _Alignas(64) atomic_long done;       // indices finished in the current job
    _Alignas(64) atomic_int sleepers;
    atomic_int quit;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
};

// How long an idle worker spins before sleeping. Decode runs hundreds of jobs per token with short
// serial gaps between them, so a short spin saves the wake-up latency of a condition variable.
static long spin_ns(void) {
    static long cached = -1;
    if (cached < 0) {
        const char *env = getenv("WAFER_SPIN_US");
        long us = env ? atol(env) : 1000;
        cached = us * 1000;
    }
    return cached;
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static inline uint32_t generation_of(uint64_t word) { return (uint32_t)(word >> 32); }

// Claims and runs indices of generation `gen` until none are left (or the job is no longer `gen`), then
// reports how many it ran with one add: `done` is touched once per thread and job, not once per index, so the
// two threads bounce its cache line once each. The caller cannot see `done` reach the count (and start the
// next job) before every thread that ran an index has reported it.
static void run_indices(ck_pool *p, uint32_t gen) {
    uint64_t word = atomic_load_explicit(&p->work, memory_order_acquire);
    long ran = 0;
    for (;;) {
        if (generation_of(word) != gen) break;
        const long index = (long)(uint32_t)word;
        const long count = atomic_load_explicit(&p->counts[gen & 1], memory_order_relaxed);
        if (index >= count) break;
        if (atomic_compare_exchange_weak_explicit(&p->work, &word, word + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            p->fn(p->ctx, index);
            ran++;
            word = atomic_load_explicit(&p->work, memory_order_acquire);
        }
    }
    if (ran > 0) atomic_fetch_add_explicit(&p->done, ran, memory_order_release);
}

static void *worker_main(void *arg) {
    ck_pool *p = arg;
    uint32_t seen = 0;
    for (;;) {
        // Wait for a new generation: spin, then sleep.
        long start = now_ns(), limit = spin_ns();
        uint32_t gen;
        int spins = 0;
        while ((gen = generation_of(atomic_load_explicit(&p->work, memory_order_acquire))) == seen) {
            CK_PAUSE();
            if (++spins == 256) {
                spins = 0;
                if (atomic_load_explicit(&p->quit, memory_order_relaxed)) return NULL;
                if (now_ns() - start > limit) {
                    pthread_mutex_lock(&p->mutex);
                    atomic_fetch_add(&p->sleepers, 1);
                    while (generation_of(atomic_load(&p->work)) == seen && !atomic_load(&p->quit))
                        pthread_cond_wait(&p->wake, &p->mutex);
                    atomic_fetch_sub(&p->sleepers, 1);
                    pthread_mutex_unlock(&p->mutex);
                    start = now_ns();
                }
            }
        }
        seen = gen;
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
        run_indices(p, gen);
    }
}

ck_pool *ck_pool_create(int threads) {
    if (threads < 1) threads = 1;
    ck_pool *p = calloc(1, sizeof(ck_pool));
    p->threads = threads;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (threads > 1) {
        p->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
        for (int i = 0; i < threads - 1; i++) pthread_create(&p->workers[i], NULL, worker_main, p);
    }
    return p;
}

void ck_pool_destroy(ck_pool *p) {
    if (!p) return;
    atomic_store(&p->quit, 1);
    atomic_fetch_add(&p->work, (uint64_t)1 << 32);
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    for (int i = 0; i < p->threads - 1; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mutex);
    free(p->workers);
    free(p);
}

int ck_pool_threads(const ck_pool *p) { return p->threads; }

void ck_pool_run(ck_pool *p, long count, ck_task_fn fn, void *ctx) {
    if (count <= 0) return;
    if (p->threads == 1 || count == 1) {
        for (long i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    const uint32_t gen = generation_of(atomic_load_explicit(&p->work, memory_order_relaxed)) + 1;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->counts[gen & 1], count, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store(&p->work, (uint64_t)gen << 32);  // seq_cst: publishes the job, ordered before reading sleepers
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
    run_indices(p, gen);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) != count) {
        CK_PAUSE();
        if (++spins > 1024) { sched_yield(); spins = 0; }
    }
}
