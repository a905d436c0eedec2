// The exponential and the gated activations with llama.cpp's CPU arithmetic (ggml-cpu vec.h/vec.cpp, built
// for AVX-512 as llama-cpp-python builds it on this kind of CPU):
//   ck_expf:  ggml_v_expf (AVX-512 form): n = round(x / ln 2), b = x - n ln 2 in two fused steps, a degree-5
//             polynomial j ~ exp(b) by fused multiply-adds, result j * 2^n; |n| > 192 gives 0 or inf.
//             Not libm's expf: it differs in the last bit for some inputs.
//   SwiGLU:   gate <- gate / (1 + ck_expf(0 - gate)) * up          (ggml_vec_swiglu_f32 with ggml_v_silu)
//   GeGLU:    gate <- f16(gelu(f16(gate))) * up for |gate| < 10, 0 below -10, gate * up above 10
//             (ggml_vec_geglu_f32 with GGML_GELU_FP16: a 65536-entry F16 table of gelu at every F16 value),
//             gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) x fma(0.044715 x, x, 1))) (GCC contracts the inner x*x+1).
// The AVX2 paths do the same operations lane by lane and give the scalar bits.
#include "ckernels_internal.h"
#include <math.h>
#include <pthread.h>
#pragma STDC FP_CONTRACT OFF

float ck_expf(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (isnan(n)) return n;
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    return ldexpf(j, (int)n);
}

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void) {
    for (int h = 0; h < (1 << 16); h++) {
        const float x = ck_half_to_float((uint16_t)h);
        const float inner = (0.7978845608028654f * x) * fmaf(0.044715f * x, x, 1.0f);
        gelu_table[h] = ck_float_to_half(0.5f * x * (1.0f + tanhf(inner)));
    }
}

static inline float geglu1(float x, float g) {
    if (x <= -10.0f) return 0.0f;
    if (x >= 10.0f) return x * g;
    return ck_half_to_float(gelu_table[ck_float_to_half(x)]) * g;
}

static void swiglu_scalar(float *gate, const float *up, long n) {
    for (long i = 0; i < n; i++) {
        const float x = gate[i];
        gate[i] = x / (1.0f + ck_expf(0.0f - x)) * up[i];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static __m256 ck_expf8_avx2(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
    // j * 2^n is one correctly rounded multiply while 2^n is a normal float; other lanes (and NaN) go the
    // scalar way.
    const __m256 inRange = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126), _CMP_LE_OQ);
    if (_mm256_movemask_ps(inRange) == 0xFF) {
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
        return _mm256_mul_ps(j, _mm256_castsi256_ps(e));
    }
    float xs[8], ys[8];
    _mm256_storeu_ps(xs, x);
    for (int i = 0; i < 8; i++) ys[i] = ck_expf(xs[i]);
    return _mm256_loadu_ps(ys);
}

void ck_exp_minus16_avx2(const float *x, float max, float *y) {
    const __m256 m = _mm256_set1_ps(max);
    _mm256_storeu_ps(y, ck_expf8_avx2(_mm256_sub_ps(_mm256_loadu_ps(x), m)));
    _mm256_storeu_ps(y + 8, ck_expf8_avx2(_mm256_sub_ps(_mm256_loadu_ps(x + 8), m)));
}

static void swiglu_avx2(float *gate, const float *up, long n) {
    long i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 e = ck_expf8_avx2(_mm256_sub_ps(_mm256_setzero_ps(), x));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(x, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
    }
    swiglu_scalar(gate + i, up + i, n - i);
}
#pragma clang attribute pop
#endif

void ck_gated_activation(float *gate, const float *up, long n, int gelu) {
    if (gelu) {
        pthread_once(&gelu_once, gelu_table_init);
        for (long i = 0; i < n; i++) gate[i] = geglu1(gate[i], up[i]);
        return;
    }
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) {
        swiglu_avx2(gate, up, n);
        return;
    }
#endif
    swiglu_scalar(gate, up, n);
}
