// x86 SIMD kernels, compiled for AVX2+FMA+F16C and for AVX-512 VNNI with function target attributes,
// so the rest of the package builds for the baseline CPU; dispatch.c picks them at run time.
#if defined(__x86_64__)
#include "ckernels_internal.h"
#include <immintrin.h>
#include <math.h>

// Fused multiply-adds only where written (_mm256_fmadd_ps, fmaf): the scalar kernels do the same operations.
#pragma STDC FP_CONTRACT OFF

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

void ck_quantize_q8_avx2(const float *x, long n, ck_q8 out, int q8_1) {
    const __m256 signbit = _mm256_set1_ps(-0.0f);
    for (long b = 0; b < n / 32; b++) {
        __m256 v0 = _mm256_loadu_ps(x + 32 * b), v1 = _mm256_loadu_ps(x + 32 * b + 8);
        __m256 v2 = _mm256_loadu_ps(x + 32 * b + 16), v3 = _mm256_loadu_ps(x + 32 * b + 24);
        __m256 amax = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signbit, v0), _mm256_andnot_ps(signbit, v1)),
                                    _mm256_max_ps(_mm256_andnot_ps(signbit, v2), _mm256_andnot_ps(signbit, v3)));
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float maxScalar = _mm_cvtss_f32(m);
        const float d = maxScalar / 127.0f;
        const float id = maxScalar != 0 ? 127.0f / maxScalar : 0.0f;
        const __m256 mul = _mm256_set1_ps(id);
#define rounding (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), rounding));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), rounding));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), rounding));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), rounding));
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_hadd_epi32(s4, s4);
        s4 = _mm_hadd_epi32(s4, s4);
        // Pack 32 int32 -> 32 int8 and undo the lane interleaving of the packs.
        i0 = _mm256_packs_epi32(i0, i1);
        i2 = _mm256_packs_epi32(i2, i3);
        i0 = _mm256_packs_epi16(i0, i2);
        i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(out.qs + 32 * b), i0);
        const float dh = _cvtsh_ss(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT));
        const int qsum = _mm_cvtsi128_si32(s4);
        out.d[b] = dh;
        out.s[b] = q8_1 ? _cvtsh_ss(_cvtss_sh(d * (float)qsum, _MM_FROUND_TO_NEAREST_INT)) : dh * (float)qsum;
#undef rounding
    }
}

void ck_round_f16_avx2(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = _cvtsh_ss(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

void ck_f32_to_f16_avx2(const float *x, uint16_t *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void ck_f16_to_f32_avx2(const uint16_t *x, float *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = _cvtsh_ss(x[i]);
}

static inline float hsum_ps(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

// Float dot: F32/F16/BF16 directly; quantized types decode a block to floats, then FMA.
float ck_dot_f32_avx2(int type, const void *row, const float *x, long n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    long i = 0;
    switch (type) {
    case CK_F32: {
        const float *w = row;
        for (; i + 16 <= n; i += 16) {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
        }
        break;
    }
    case CK_F16: {
        const uint16_t *w = row;
        for (; i + 16 <= n; i += 16) {
            acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))), _mm256_loadu_ps(x + i), acc0);
            acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8))), _mm256_loadu_ps(x + i + 8), acc1);
        }
        break;
    }
    case CK_BF16: {
        const uint16_t *w = row;
        for (; i + 8 <= n; i += 8) {
            __m256i v = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w + i))), 16);
            acc0 = _mm256_fmadd_ps(_mm256_castsi256_ps(v), _mm256_loadu_ps(x + i), acc0);
        }
        break;
    }
    default: {
        const long block = ck_block_size(type), size = ck_type_size(type);
        float y[256] __attribute__((aligned(32)));
        for (long b = 0; b < n / block; b++) {
            ck_dequantize_block(type, (const uint8_t *)row + b * size, y);
            for (long k = 0; k < block; k += 16) {
                acc0 = _mm256_fmadd_ps(_mm256_load_ps(y + k), _mm256_loadu_ps(x + b * block + k), acc0);
                acc1 = _mm256_fmadd_ps(_mm256_load_ps(y + k + 8), _mm256_loadu_ps(x + b * block + k + 8), acc1);
            }
        }
        return hsum_ps(_mm256_add_ps(acc0, acc1));
    }
    }
    float sum = hsum_ps(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) {  // tail of the float types
        float wi;
        ck_dequantize_block(type, (const uint8_t *)row + i * ck_type_size(type), &wi);
        sum += wi * x[i];
    }
    return sum;
}

#define CK_VNNI 0
#define FN(name) name##_avx2
#include "gemm_x86.h"
#undef FN
#undef CK_VNNI

#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define CK_VNNI 1
#define FN(name) name##_vnni
#include "gemm_x86.h"
#undef FN
#undef CK_VNNI
#pragma clang attribute pop

#endif
