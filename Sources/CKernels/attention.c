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

void ck_gated_scalar(float *gate, const float *up, long n, int gelu) {
    for (long i = 0; i < n; i++) {
        const float x = gate[i];
        const float a = gelu ? 0.5f * x * (1 + tanhf(0.79788456f * x * (1 + 0.044715f * x * x))) : x / (1 + expf(-x));
        gate[i] = a * up[i];
    }
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
        // Scores of the chunk, 4 keys at a time (4 independent FMA chains, one combined horizontal sum).
        float cmax = -INFINITY;
        long c = 0;
        for (; c + 4 <= nc; c += 4) {
            const float *kp = k + (p0 + c) * dim;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (long i = 0; i < dim; i += 8) {
                const __m256 qv = _mm256_loadu_ps(q + i);
                s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kp + i), s0);
                s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kp + dim + i), s1);
                s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kp + 2 * dim + i), s2);
                s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kp + 3 * dim + i), s3);
            }
            const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
            const __m128 sums = _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)),
                                           _mm_set1_ps(scale));
            _mm_storeu_ps(sc + c, sums);
            for (int x = 0; x < 4; x++) cmax = sc[c + x] > cmax ? sc[c + x] : cmax;
        }
        for (; c < nc; c++) {
            const float *kp = k + (p0 + c) * dim;
            __m256 s0 = _mm256_setzero_ps();
            for (long i = 0; i < dim; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_loadu_ps(kp + i), s0);
            sc[c] = hsum256(s0) * scale;
            cmax = sc[c] > cmax ? sc[c] : cmax;
        }
        // Rescale what came before when the maximum grows.
        if (cmax > m) {
            const float f = expf(m - cmax);
            l *= f;
            const __m256 fv = _mm256_set1_ps(f);
            for (long i = 0; i < dim; i += 8) _mm256_store_ps(acc + i, _mm256_mul_ps(_mm256_load_ps(acc + i), fv));
            m = cmax;
        }
        // Weights e^(s - m), then acc += sum_c w_c v_c: 64 columns (8 independent accumulators) at a time.
        const __m256 mv = _mm256_set1_ps(m);
        __m256 lsum = _mm256_setzero_ps();
        for (c = 0; c + 8 <= nc; c += 8) {
            const __m256 e = exp256(_mm256_sub_ps(_mm256_load_ps(sc + c), mv));
            _mm256_store_ps(sc + c, e);
            lsum = _mm256_add_ps(lsum, e);
        }
        l += hsum256(lsum);
        for (; c < nc; c++) { sc[c] = expf(sc[c] - m); l += sc[c]; }
        long i = 0;
        for (; i + 64 <= dim; i += 64) {
            __m256 a[8];
            for (int x = 0; x < 8; x++) a[x] = _mm256_load_ps(acc + i + 8 * x);
            for (long cc = 0; cc < nc; cc++) {
                const __m256 w = _mm256_set1_ps(sc[cc]);
                const float *vp = v + (p0 + cc) * dim + i;
                for (int x = 0; x < 8; x++) a[x] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vp + 8 * x), a[x]);
            }
            for (int x = 0; x < 8; x++) _mm256_store_ps(acc + i + 8 * x, a[x]);
        }
        for (; i < dim; i += 8) {
            __m256 a0 = _mm256_load_ps(acc + i);
            for (long cc = 0; cc < nc; cc++)
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(sc[cc]), _mm256_loadu_ps(v + (p0 + cc) * dim + i), a0);
            _mm256_store_ps(acc + i, a0);
        }
    }
    const __m256 inv = _mm256_set1_ps(l > 0 ? 1 / l : 0);
    for (long i = 0; i < dim; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_load_ps(acc + i), inv));
}
#undef CHUNK

// gate[i] = act(gate[i]) * up[i]: SiLU x / (1 + e^-x), or GELU-tanh 0.5 x (1 + tanh(y)) with
// y = sqrt(2/pi) (x + 0.044715 x^3), computed as x - x / (1 + e^(2y)).
void ck_gated_avx2(float *gate, const float *up, long n, int gelu) {
    long i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        __m256 a;
        if (gelu) {
            const __m256 y = _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.79788456f)),
                                           _mm256_fmadd_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(0.044715f), one));
            // e^(2y) for y <= 0, e^(-2y) mirrored for y > 0 keeps exp256's argument non-positive.
            const __m256 negAbs = _mm256_or_ps(_mm256_mul_ps(y, _mm256_set1_ps(2.0f)), _mm256_set1_ps(-0.0f));
            const __m256 e = exp256(negAbs);                       // e^(-2|y|)
            const __m256 t = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));  // tanh(|y|)
            const __m256 th = _mm256_or_ps(t, _mm256_and_ps(y, _mm256_set1_ps(-0.0f)));   // sign of y
            a = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(one, th));
        } else {
            // e^-x for x >= 0, e^x / (1 + e^x) form for x < 0: the argument stays non-positive.
            const __m256 negAbs = _mm256_or_ps(x, _mm256_set1_ps(-0.0f));
            const __m256 e = exp256(negAbs);                       // e^(-|x|)
            const __m256 sigPos = _mm256_div_ps(one, _mm256_add_ps(one, e));          // sigmoid(|x|)
            const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
            const __m256 sig = _mm256_blendv_ps(sigPos, _mm256_sub_ps(one, sigPos), neg);
            a = _mm256_mul_ps(x, sig);
        }
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(a, _mm256_loadu_ps(up + i)));
    }
    if (i < n) ck_gated_scalar(gate + i, up + i, n - i, gelu);
}
#pragma clang attribute pop
#endif
