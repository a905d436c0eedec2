// The combining steps of an allreduce replayed over the host's partial-sum buffers (see ReductionPlan.swift).
// Each step is buffer[dst] += buffer[src], element by element in order, so the AVX2 loop gives the same
// floats as the plain one.

#include "cwafer.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void reduce_steps_plain(const int32_t *steps, long nsteps, float *base, long stride, long length) {
    for (long k = 0; k < nsteps; k++) {
        float *d = base + steps[2 * k] * stride;
        const float *x = base + steps[2 * k + 1] * stride;
        for (long i = 0; i < length; i++) d[i] += x[i];
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void reduce_steps_avx2(const int32_t *steps, long nsteps, float *base, long stride, long length) {
    for (long k = 0; k < nsteps; k++) {
        float *d = base + steps[2 * k] * stride;
        const float *x = base + steps[2 * k + 1] * stride;
        long i = 0;
        for (; i + 8 <= length; i += 8) _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(d + i), _mm256_loadu_ps(x + i)));
        for (; i < length; i++) d[i] += x[i];
    }
}
#endif

void cw_reduce_steps(const int32_t *steps, long nsteps, float *base, long stride, long length) {
#if defined(__x86_64__)
    static int avx2 = -1;
    if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2");
    if (avx2) { reduce_steps_avx2(steps, nsteps, base, stride, length); return; }
#endif
    reduce_steps_plain(steps, nsteps, base, stride, length);
}
