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
    // The current job, written only while all workers are idle.
    ck_task_fn fn;
    void *ctx;
    long count;
    _Alignas(64) atomic_long next;       // next index to hand out
    _Alignas(64) atomic_int pending;     // workers not yet done with this generation
    _Alignas(64) atomic_uint generation; // bumped once per job
    atomic_int sleepers;
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

static void run_indices(ck_pool *p) {
    const long count = p->count;
    for (;;) {
        long i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= count) break;
        p->fn(p->ctx, i);
    }
}

static void *worker_main(void *arg) {
    ck_pool *p = arg;
    unsigned seen = 0;
    for (;;) {
        // Wait for a new generation: spin, then sleep.
        long start = now_ns(), limit = spin_ns();
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            CK_PAUSE();
            if (++spins == 256) {
                spins = 0;
                if (atomic_load_explicit(&p->quit, memory_order_relaxed)) return NULL;
                if (now_ns() - start > limit) {
                    pthread_mutex_lock(&p->mutex);
                    atomic_fetch_add(&p->sleepers, 1);
                    while (atomic_load(&p->generation) == seen && !atomic_load(&p->quit))
                        pthread_cond_wait(&p->wake, &p->mutex);
                    atomic_fetch_sub(&p->sleepers, 1);
                    pthread_mutex_unlock(&p->mutex);
                    start = now_ns();
                }
            }
        }
        seen = gen;
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
        run_indices(p);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
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
    atomic_fetch_add(&p->generation, 1);
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
    p->fn = fn;
    p->ctx = ctx;
    p->count = count;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->threads - 1, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1); // seq_cst: publishes the job, ordered before reading sleepers
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
    run_indices(p);
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) {
        CK_PAUSE();
        if (++spins > 4096) { sched_yield(); spins = 0; }
    }
}
