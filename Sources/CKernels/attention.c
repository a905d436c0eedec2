// One query row of attention over F16 keys and values, with the arithmetic of llama.cpp's default
// (non-flash) path on an AVX-512 CPU. For a batch (CK_ORDER_BATCH) ggml multiplies the F16 matrices with
// llamafile's tinyBLAS (16 float lanes, one fused multiply-add chain per lane, lanes summed as
// _mm512_reduce_add_ps):
//   s_p = tree16(lane m: fma chain over dims i = m, m+16, ... of q_i k_p,i) * scale
//   e_p = ck_expf(s_p - max)  (ggml_v_expf);  sum = in double, of the tree16 sums of the 16-position blocks
//         aligned to position 0 (positions outside first...last count as 0, as ggml's masked -inf do);
//   w_p = f16(e_p * (float)(1 / sum));  out_i = tree16(lane m: fma chain over positions p = m mod 16, in
//         order, of w_p v_p,i).
// tree16(a) = ((a0+a8) + (a4+a12)) ... : halves added, then quarters, eighths, the last pair.
// Positions outside first...last are skipped, which is what ggml's zero weights amount to (fma(0, v, a) = a).
// For one token (CK_ORDER_TOKEN) ggml takes both products with ggml_vec_dot_f16 instead (checked against
// llama.cpp's kq and kqv tensors of a decoded token), whose AVX-512 loop has four 16-lane accumulators:
//   element e (a dim of q . k, a position of the weighted values) goes to accumulator a_((e / 16) mod 4), lane
//   e mod 16, fused multiply-add chains over e / 64 in order; then vec64 = tree16((a0 + a2) + (a1 + a3));
//   elements past the last whole 64 (only dims: ggml's positions come padded to 256) are added to it in
//   double, each product rounded to float.
// The softmax and the F16 rounding of the weights are the same in both orders.
// The AVX2 path computes the same operations lane for lane, so it gives the scalar path's bits; so does the
// AVX-512 one-token path (head dims a multiple of 64), which sums 16 positions' scores at once by a
// transposing reduction in ck_tree16's order.
// Prefill runs many rows at once in the batch order (attention_rows.c).
#include "attention_internal.h"
#include <math.h>
#pragma STDC FP_CONTRACT OFF

// The softmax of the scores of positions first...last in place (before the F16 rounding), as
// ggml_compute_forward_soft_max_f32 with ggml_vec_soft_max_f32's AVX-512 loop; returns the factor 1 / sum.
// s[p - first] is the score of position p.
float ck_softmax_weights(float *s, long first, long last, int simd) {
    float maxScore = -INFINITY;
    for (long p = first; p <= last; p++) if (s[p - first] > maxScore) maxScore = s[p - first];
    double sum = 0;
    for (long b0 = first & ~15L; b0 <= last; b0 += 16) {
        float x[16], e[16];
        for (int j = 0; j < 16; j++) {
            const long p = b0 + j;
            x[j] = (p < first || p > last) ? -INFINITY : s[p - first];
        }
#if defined(__x86_64__)
        if (simd) ck_exp_minus16_avx2(x, maxScore, e);
        else
#endif
            for (int j = 0; j < 16; j++) e[j] = ck_expf(x[j] - maxScore);
        for (int j = 0; j < 16; j++) if (b0 + j >= first && b0 + j <= last) s[b0 + j - first] = e[j];
        sum += (double)ck_tree16(e);
    }
    return (float)(1.0 / sum);
}

// vec64 of 64 accumulators acc[c], c = element mod 64 (lane c mod 16 of accumulator c / 16).
static inline float vec64_sum(const float acc[64]) {
    float x[16];
    for (int m = 0; m < 16; m++) x[m] = (acc[m] + acc[32 + m]) + (acc[16 + m] + acc[48 + m]);
    return ck_tree16(x);
}

// The one-token order (ggml_vec_dot_f16) for one query row.
static void attention_row_token_scalar(const float *q, const uint16_t *keys, const uint16_t *values, long first,
                                       long last, int headDim, float scale, float *scores, float *out) {
    const int whole = headDim & ~63;
    for (long p = first; p <= last; p++) {
        const uint16_t *k = keys + p * headDim;
        float acc[64] = {0};
        for (int i = 0; i < whole; i++) acc[i & 63] = fmaf(q[i], ck_half_to_float(k[i]), acc[i & 63]);
        double sum = vec64_sum(acc);
        for (int i = whole; i < headDim; i++) sum += (double)(q[i] * ck_half_to_float(k[i]));
        scores[p] = (float)sum * scale;
    }
    const float inv = ck_softmax_weights(scores + first, first, last, 0);
    for (long p = first; p <= last; p++) scores[p] = ck_f16_round(scores[p] * inv);
    for (int i = 0; i < headDim; i++) {
        float acc[64] = {0};
        for (long p = first; p <= last; p++)
            acc[p & 63] = fmaf(scores[p], ck_half_to_float(values[p * headDim + i]), acc[p & 63]);
        out[i] = vec64_sum(acc);
    }
}

static void attention_row_scalar(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                                 int headDim, float scale, float *scores, float *out) {
    for (long p = first; p <= last; p++) {
        const uint16_t *k = keys + p * headDim;
        float acc[16] = {0};
        for (int i = 0; i < headDim; i++) acc[i & 15] = fmaf(q[i], ck_half_to_float(k[i]), acc[i & 15]);
        scores[p] = ck_tree16(acc) * scale;
    }
    const float inv = ck_softmax_weights(scores + first, first, last, 0);
    for (long p = first; p <= last; p++) scores[p] = ck_f16_round(scores[p] * inv);
    for (int i = 0; i < headDim; i++) {
        float acc[16] = {0};
        for (long p = first; p <= last; p++)
            acc[p & 15] = fmaf(scores[p], ck_half_to_float(values[p * headDim + i]), acc[p & 15]);
        out[i] = ck_tree16(acc);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline __m256 load_half8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

// tree16 of the lanes of lo (lanes 0-7) and hi (lanes 8-15).
static inline float tree16_avx2(__m256 lo, __m256 hi) {
    const __m256 t = _mm256_add_ps(lo, hi);
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

static void attention_row_avx2(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                               int headDim, float scale, float *scores, float *out) {
    // Scores: lanes 0-7 in lo, 8-15 in hi; dims 16 at a time (a last group of 8 goes to lo only).
    for (long p = first; p <= last; p++) {
        const uint16_t *k = keys + p * headDim;
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
        int i = 0;
        for (; i + 16 <= headDim; i += 16) {
            lo = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_half8(k + i), lo);
            hi = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), load_half8(k + i + 8), hi);
        }
        if (i < headDim) lo = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), load_half8(k + i), lo);
        scores[p] = tree16_avx2(lo, hi) * scale;
    }
    const float inv = ck_softmax_weights(scores + first, first, last, 1);
    for (long p = first; p <= last; p++) scores[p] = _cvtsh_ss(_cvtss_sh(scores[p] * inv, _MM_FROUND_TO_NEAREST_INT));
    // Output, 8 dims at a time: 16 accumulators, one per position class p mod 16, then tree16 across them.
    for (int i0 = 0; i0 < headDim; i0 += 8) {
        __m256 acc[16];
        for (int m = 0; m < 16; m++) acc[m] = _mm256_setzero_ps();
        for (long p = first; p <= last; p++)
            acc[p & 15] = _mm256_fmadd_ps(_mm256_set1_ps(scores[p]), load_half8(values + p * headDim + i0), acc[p & 15]);
        for (int m = 0; m < 8; m++) acc[m] = _mm256_add_ps(acc[m], acc[m + 8]);
        for (int m = 0; m < 4; m++) acc[m] = _mm256_add_ps(acc[m], acc[m + 4]);
        _mm256_storeu_ps(out + i0, _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3])));
    }
}
// vec64 of 8 dims at once: acc[c] holds accumulator c / 16, lane c mod 16 of each dim.
static inline __m256 vec64_sum_avx2(const __m256 acc[64]) {
    __m256 x[16];
    for (int m = 0; m < 16; m++)
        x[m] = _mm256_add_ps(_mm256_add_ps(acc[m], acc[32 + m]), _mm256_add_ps(acc[16 + m], acc[48 + m]));
    for (int m = 0; m < 8; m++) x[m] = _mm256_add_ps(x[m], x[m + 8]);
    for (int m = 0; m < 4; m++) x[m] = _mm256_add_ps(x[m], x[m + 4]);
    return _mm256_add_ps(_mm256_add_ps(x[0], x[2]), _mm256_add_ps(x[1], x[3]));
}

static void attention_row_token_avx2(const float *q, const uint16_t *keys, const uint16_t *values, long first,
                                     long last, int headDim, float scale, float *scores, float *out) {
    // Scores: accumulator j's lanes 0-7 in a[j][0], 8-15 in a[j][1]; dims 64 at a time, the rest in double.
    const int whole = headDim & ~63;
    for (long p = first; p <= last; p++) {
        const uint16_t *k = keys + p * headDim;
        __m256 a[4][2];
        for (int j = 0; j < 4; j++) a[j][0] = a[j][1] = _mm256_setzero_ps();
        for (int i = 0; i < whole; i += 64)
            for (int j = 0; j < 4; j++)
                for (int h = 0; h < 2; h++)
                    a[j][h] = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16 * j + 8 * h), load_half8(k + i + 16 * j + 8 * h), a[j][h]);
        double sum = tree16_avx2(_mm256_add_ps(_mm256_add_ps(a[0][0], a[2][0]), _mm256_add_ps(a[1][0], a[3][0])),
                                 _mm256_add_ps(_mm256_add_ps(a[0][1], a[2][1]), _mm256_add_ps(a[1][1], a[3][1])));
        for (int i = whole; i < headDim; i++) sum += (double)(q[i] * _cvtsh_ss(k[i]));
        scores[p] = (float)sum * scale;
    }
    const float inv = ck_softmax_weights(scores + first, first, last, 1);
    for (long p = first; p <= last; p++) scores[p] = _cvtsh_ss(_cvtss_sh(scores[p] * inv, _MM_FROUND_TO_NEAREST_INT));
    // Output, 8 dims at a time: one accumulator per position class c = p mod 64, each a chain over the class's
    // positions in order. The classes go 8 at a time (c0 ... c0 + 7), so that their accumulators stay in
    // registers; a run of 8 positions that the range covers whole takes no per-position test.
    for (int i0 = 0; i0 < headDim; i0 += 8) {
        __m256 acc[64];
        for (int c0 = 0; c0 < 64; c0 += 8) {
            __m256 a[8];
            for (int m = 0; m < 8; m++) a[m] = _mm256_setzero_ps();
            for (long p0 = (first & ~63L) + c0; p0 <= last; p0 += 64) {
                if (p0 >= first && p0 + 7 <= last) {
                    for (int m = 0; m < 8; m++)
                        a[m] = _mm256_fmadd_ps(_mm256_set1_ps(scores[p0 + m]), load_half8(values + (p0 + m) * headDim + i0), a[m]);
                } else {
                    for (int m = 0; m < 8; m++)
                        if (p0 + m >= first && p0 + m <= last)
                            a[m] = _mm256_fmadd_ps(_mm256_set1_ps(scores[p0 + m]), load_half8(values + (p0 + m) * headDim + i0), a[m]);
                }
            }
            for (int m = 0; m < 8; m++) acc[c0 + m] = a[m];
        }
        _mm256_storeu_ps(out + i0, vec64_sum_avx2(acc));
    }
}
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl"))), apply_to = function)

// x = (a0 + a2) + (a1 + a3) of one position's four 16-lane accumulators (head dims a multiple of 64).
static inline __m512 token_score_lanes(const float *q, const uint16_t *k, int headDim) {
    __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int i = 0; i < headDim; i += 64)
        for (int j = 0; j < 4; j++)
            a[j] = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16 * j),
                                   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(k + i + 16 * j))), a[j]);
    return _mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3]));
}

// tree16 of 16 positions' lane vectors at once, by a transposing reduction that adds the same pairs in the
// same order as ck_tree16 (halves, quarters, eighths, the last pair); lane p of the result is position p's.
static inline __m512 tree16_x16(const __m512 x[16]) {
    __m512 z[8], w[4], v[2];
    for (int i = 0; i < 8; i++)  // lanes 0-7: position 2i's x_m + x_(m+8); lanes 8-15: position 2i + 1's
        z[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x44), _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; i++)  // 128-bit lane L: position 4i + L's quarters
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(z[2 * i], z[2 * i + 1], 0x88), _mm512_shuffle_f32x4(z[2 * i], z[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; i++)  // lane L: eighths of positions 8i + L and 8i + 4 + L
        v[i] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    // Element 4L + k: position 4k + L.
    const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

// The one-token order with 16-lane registers, for head dims that are multiples of 64 (no double tail).
static void attention_row_token_avx512(const float *q, const uint16_t *keys, const uint16_t *values, long first,
                                       long last, int headDim, float scale, float *scores, float *out) {
    long p = first;
    for (; p + 15 <= last; p += 16) {
        __m512 x[16];
        for (int m = 0; m < 16; m++) x[m] = token_score_lanes(q, keys + (p + m) * headDim, headDim);
        _mm512_storeu_ps(scores + p, _mm512_mul_ps(tree16_x16(x), _mm512_set1_ps(scale)));
    }
    for (; p <= last; p++) {
        float x[16];
        _mm512_storeu_ps(x, token_score_lanes(q, keys + p * headDim, headDim));
        scores[p] = ck_tree16(x) * scale;
    }
    const float inv = ck_softmax_weights(scores + first, first, last, 1);
    for (p = first; p <= last; p++) scores[p] = _cvtsh_ss(_cvtss_sh(scores[p] * inv, _MM_FROUND_TO_NEAREST_INT));
    // Output, 16 dims at a time: one accumulator per position class c = p mod 64, 8 classes at a time in
    // registers (as the AVX2 path), then vec64 across the classes with vertical adds.
    for (int i0 = 0; i0 < headDim; i0 += 16) {
        __m512 acc[64];
        for (int c0 = 0; c0 < 64; c0 += 8) {
            __m512 a[8];
            for (int m = 0; m < 8; m++) a[m] = _mm512_setzero_ps();
            for (long p0 = (first & ~63L) + c0; p0 <= last; p0 += 64) {
                if (p0 >= first && p0 + 7 <= last) {
                    for (int m = 0; m < 8; m++)
                        a[m] = _mm512_fmadd_ps(_mm512_set1_ps(scores[p0 + m]),
                                               _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(values + (p0 + m) * headDim + i0))), a[m]);
                } else {
                    for (int m = 0; m < 8; m++)
                        if (p0 + m >= first && p0 + m <= last)
                            a[m] = _mm512_fmadd_ps(_mm512_set1_ps(scores[p0 + m]),
                                                   _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(values + (p0 + m) * headDim + i0))), a[m]);
                }
            }
            for (int m = 0; m < 8; m++) acc[c0 + m] = a[m];
        }
        __m512 x[16];
        for (int m = 0; m < 16; m++)
            x[m] = _mm512_add_ps(_mm512_add_ps(acc[m], acc[32 + m]), _mm512_add_ps(acc[16 + m], acc[48 + m]));
        for (int m = 0; m < 8; m++) x[m] = _mm512_add_ps(x[m], x[m + 8]);
        for (int m = 0; m < 4; m++) x[m] = _mm512_add_ps(x[m], x[m + 4]);
        _mm512_storeu_ps(out + i0, _mm512_add_ps(_mm512_add_ps(x[0], x[2]), _mm512_add_ps(x[1], x[3])));
    }
}
#pragma clang attribute pop
#endif

void ck_attention_row(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                      int headDim, float scale, int order, float *scores, float *out) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2 && headDim % 8 == 0) {
        if (order != CK_ORDER_TOKEN) attention_row_avx2(q, keys, values, first, last, headDim, scale, scores, out);
        else if (ck_cpu_level() >= CK_LEVEL_AVX512VNNI && headDim % 64 == 0)
            attention_row_token_avx512(q, keys, values, first, last, headDim, scale, scores, out);
        else attention_row_token_avx2(q, keys, values, first, last, headDim, scale, scores, out);
        return;
    }
#endif
    if (order == CK_ORDER_TOKEN) attention_row_token_scalar(q, keys, values, first, last, headDim, scale, scores, out);
    else attention_row_scalar(q, keys, values, first, last, headDim, scale, scores, out);
}
