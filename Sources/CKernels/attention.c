// Attention of one query head over its cached keys and values, with an online softmax:
// positions are taken in chunks, the running maximum m and sum l rescale the partial output whenever
// m grows, so no score buffer is needed (out = sum_p exp(s_p - m) v_p / l at the end).
#include "ckernels_internal.h"
#include <math.h>

void ck_attend_f32_scalar(const float *q, const float *k, const float *v, long count, long dim, float scale, float *out) {
    float m = -INFINITY, l = 0;
    for (long i = 0; i < dim; i++) out[i] = 0;
    for (long p = 0; p < count; p++) {
        float s = 0;
        for (long i = 0; i < dim; i++) s += q[i] * k[p * dim + i];
        s *= scale;
        if (s > m) {
            const float f = expf(m - s);  // 0 on the first position
            l *= f;
            for (long i = 0; i < dim; i++) out[i] *= f;
            m = s;
        }
        const float e = expf(s - m);
        l += e;
        for (long i = 0; i < dim; i++) out[i] += e * v[p * dim + i];
    }
    const float inv = l > 0 ? 1 / l : 0;
    for (long i = 0; i < dim; i++) out[i] *= inv;
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

// e^x for x <= 0 (Cephes' expf polynomial, about 1 ulp); x below -87 gives 0.
static inline __m256 exp256(__m256 x) {
    const __m256 tooSmall = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tooSmall, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

static inline float hsum256(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

#define CHUNK 64

void ck_attend_f32_avx2(const float *q, const float *k, const float *v, long count, long dim, float scale, float *out) {
    float acc[1024] __attribute__((aligned(32)));
    float sc[CHUNK] __attribute__((aligned(32)));
    float m = -INFINITY, l = 0;
    for (long i = 0; i < dim; i += 8) _mm256_store_ps(acc + i, _mm256_setzero_ps());
    for (long p0 = 0; p0 < count; p0 += CHUNK) {
        const long nc = count - p0 < CHUNK ? count - p0 : CHUNK;
        // Scores of the chunk.
        float cmax = -INFINITY;
        for (long c = 0; c < nc; c++) {
            const float *kp = k + (p0 + c) * dim;
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
            long i = 0;
            for (; i + 16 <= dim; i += 16) {
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kp + i), s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), _mm256_loadu_ps(kp + i + 8), s1);
            }
            if (i < dim) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kp + i), s0);
            const float s = hsum256(_mm256_add_ps(s0, s1)) * scale;
            sc[c] = s;
            cmax = s > cmax ? s : cmax;
        }
        // Rescale what came before when the maximum grows.
        if (cmax > m) {
            const float f = expf(m - cmax);
            l *= f;
            const __m256 fv = _mm256_set1_ps(f);
            for (long i = 0; i < dim; i += 8) _mm256_store_ps(acc + i, _mm256_mul_ps(_mm256_load_ps(acc + i), fv));
            m = cmax;
        }
        // Weights e^(s - m), then acc += sum_c w_c v_c.
        const __m256 mv = _mm256_set1_ps(m);
        long c = 0;
        __m256 lsum = _mm256_setzero_ps();
        for (; c + 8 <= nc; c += 8) {
            const __m256 e = exp256(_mm256_sub_ps(_mm256_load_ps(sc + c), mv));
            _mm256_store_ps(sc + c, e);
            lsum = _mm256_add_ps(lsum, e);
        }
        l += hsum256(lsum);
        for (; c < nc; c++) { sc[c] = expf(sc[c] - m); l += sc[c]; }
        for (long i = 0; i < dim; i += 8) {
            __m256 a0 = _mm256_load_ps(acc + i), a1 = _mm256_setzero_ps();
            const float *vp = v + p0 * dim + i;
            long cc = 0;
            for (; cc + 2 <= nc; cc += 2) {
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(sc[cc]), _mm256_loadu_ps(vp + cc * dim), a0);
                a1 = _mm256_fmadd_ps(_mm256_set1_ps(sc[cc + 1]), _mm256_loadu_ps(vp + (cc + 1) * dim), a1);
            }
            if (cc < nc) a0 = _mm256_fmadd_ps(_mm256_set1_ps(sc[cc]), _mm256_loadu_ps(vp + cc * dim), a0);
            _mm256_store_ps(acc + i, _mm256_add_ps(a0, a1));
        }
    }
    const __m256 inv = _mm256_set1_ps(l > 0 ? 1 / l : 0);
    for (long i = 0; i < dim; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_load_ps(acc + i), inv));
}
#undef CHUNK
#pragma clang attribute pop
#endif
