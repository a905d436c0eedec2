// One query row of attention over F16 keys and values, with the arithmetic of llama.cpp's default
// (non-flash) path as the engine does it (see CPUOps.attention):
//   s_p = (sum_i q_i k_p,i in order i = 0, 1, ...) * scale;  e_p = expf(s_p - max);  sum in position order;
//   w_p = f16(e_p * (1 / sum));  out_i = sum over p in order of w_p v_p,i.
// The AVX2 path computes 8 positions' scores at once (one lane each, dims still in order) and 8 output
// dims at once (positions still in order), so it gives the scalar path's bits.
#include "ckernels_internal.h"
#include <math.h>
#pragma STDC FP_CONTRACT OFF

static void attention_row_scalar(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                                 int headDim, float scale, float *scores, float *out) {
    float maxScore = -INFINITY;
    for (long p = first; p <= last; p++) {
        const uint16_t *k = keys + p * headDim;
        float s = 0;
        for (int i = 0; i < headDim; i++) s += q[i] * ck_half_to_float(k[i]);
        s *= scale;
        scores[p] = s;
        if (s > maxScore) maxScore = s;
    }
    float sum = 0;
    for (long p = first; p <= last; p++) {
        const float e = expf(scores[p] - maxScore);
        scores[p] = e;
        sum += e;
    }
    const float inv = 1 / sum;
    for (long p = first; p <= last; p++) scores[p] = ck_f16_round(scores[p] * inv);
    for (int i = 0; i < headDim; i++) out[i] = 0;
    for (long p = first; p <= last; p++) {
        const uint16_t *v = values + p * headDim;
        const float w = scores[p];
        for (int i = 0; i < headDim; i++) out[i] += w * ck_half_to_float(v[i]);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

static void attention_row_avx2(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                               int headDim, float scale, float *scores, float *out) {
    long p = first;
    // Scores, 8 positions per vector: lane j is position p + j, dims added in order. Four vectors at a time
    // (32 positions) so that four addition chains run side by side.
    for (; p + 32 <= last + 1; p += 32) {
        __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int i = 0; i < headDim; i += 8) {
            __m256 r[4][8];
            for (int g = 0; g < 4; g++) {
                for (int j = 0; j < 8; j++)
                    r[g][j] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(keys + (p + 8 * g + j) * headDim + i)));
                transpose8(r[g]);
            }
            for (int c = 0; c < 8; c++) {
                const __m256 qc = _mm256_set1_ps(q[i + c]);
                for (int g = 0; g < 4; g++) s[g] = _mm256_add_ps(s[g], _mm256_mul_ps(qc, r[g][c]));
            }
        }
        for (int g = 0; g < 4; g++) _mm256_storeu_ps(scores + p + 8 * g, _mm256_mul_ps(s[g], _mm256_set1_ps(scale)));
    }
    for (; p + 8 <= last + 1; p += 8) {
        __m256 s = _mm256_setzero_ps();
        for (int i = 0; i < headDim; i += 8) {
            __m256 r[8];
            for (int j = 0; j < 8; j++) r[j] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(keys + (p + j) * headDim + i)));
            transpose8(r);  // r[c] = dim i + c of the 8 positions
            for (int c = 0; c < 8; c++) s = _mm256_add_ps(s, _mm256_mul_ps(_mm256_set1_ps(q[i + c]), r[c]));
        }
        _mm256_storeu_ps(scores + p, _mm256_mul_ps(s, _mm256_set1_ps(scale)));
    }
    for (; p <= last; p++) {
        const uint16_t *k = keys + p * headDim;
        float s = 0;
        for (int i = 0; i < headDim; i++) s += q[i] * _cvtsh_ss(k[i]);
        scores[p] = s * scale;
    }
    float maxScore = -INFINITY;
    for (p = first; p <= last; p++) if (scores[p] > maxScore) maxScore = scores[p];
    float sum = 0;
    for (p = first; p <= last; p++) {
        const float e = expf(scores[p] - maxScore);
        scores[p] = e;
        sum += e;
    }
    const float inv = 1 / sum;
    for (p = first; p <= last; p++) scores[p] = _cvtsh_ss(_cvtss_sh(scores[p] * inv, _MM_FROUND_TO_NEAREST_INT));
    // Output, 64 dims at a time in 8 registers, positions in order.
    for (int i0 = 0; i0 < headDim; i0 += 64) {
        const int lanes = (headDim - i0) / 8 < 8 ? (headDim - i0) / 8 : 8;
        __m256 o[8];
        for (int c = 0; c < 8; c++) o[c] = _mm256_setzero_ps();
        for (p = first; p <= last; p++) {
            const __m256 w = _mm256_set1_ps(scores[p]);
            const uint16_t *v = values + p * headDim + i0;
            for (int c = 0; c < lanes; c++)
                o[c] = _mm256_add_ps(o[c], _mm256_mul_ps(w, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + 8 * c)))));
        }
        for (int c = 0; c < lanes; c++) _mm256_storeu_ps(out + i0 + 8 * c, o[c]);
    }
}
#pragma clang attribute pop
#endif

void ck_attention_row(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                      int headDim, float scale, float *scores, float *out) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2 && headDim % 8 == 0) {
        attention_row_avx2(q, keys, values, first, last, headDim, scale, scores, out);
        return;
    }
#endif
    attention_row_scalar(q, keys, values, first, last, headDim, scale, scores, out);
}
