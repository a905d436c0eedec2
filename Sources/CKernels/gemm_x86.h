// x86 integer kernels, included by x86.c twice: once for AVX2 (CK_VNNI 0) and once for AVX-512 VNNI
// (CK_VNNI 1: the u8 x s8 dot of 4-byte groups is one vpdpbusd instead of vpmaddubsw + vpmaddwd).
// FN(name) gives each copy its own names.
//
// A weight row is walked block by block. Each block's weights are unpacked into registers once, then dotted
// with 1..NTMAX tokens' activations (4 with AVX2's 16 vector registers, 8 with AVX-512's 32), so that a batch
// unpacks each weight block once per NTMAX tokens. Integer sums may be formed in any order (they are exact);
// only the float operations below are fixed. Per token the
// arithmetic is ggml's AVX2 vec_dot (see ck_dot_q8_scalar, which these match bit for bit):
//   32-element types: 8 int32 lanes of 4 products (signed weights by the sign trick |w| . sign(a, w)),
//     acc = fma(dw * da, float(lanes), acc); Q4_1/Q5_1 add mw * sa into a scalar (fused).
//   Q5_K, Q6_K: scale-weighted int32 lanes over the whole super-block, then one fma with da * dw (Q6_K in
//     CK_ORDER_BATCH, llama.cpp's tiled matmul: the lanes summed as integers, then one fma per token).
//   Q4_K: llama.cpp's repacked q4_K_8x8 kernels: per 64 elements (order CK_ORDER_BATCH) or per super-block
//     (CK_ORDER_TOKEN) one integer sum, one fma into a float sum.

#if CK_VNNI
#define NTMAX 8
#else
#define NTMAX 4
#endif

#include "simd_x86.h"

// One row against NT tokens. Activations of token t: qs + t * n, d/s + t * (n / 32).
// bsums: token t's activation sums of 16 at bsums + t * (n / 16) (Q6_K only).
static inline __attribute__((always_inline)) void FN(row_q8)(int type, const uint8_t *w, const int8_t *qs,
        const float *d, const float *s, const int16_t *bsums, long n, const int NT, int order, float *out, long ldy) {
    const long units = n / 32;
    __m256 acc[NTMAX];
    float summs[NTMAX];
    for (int t = 0; t < NT; t++) { acc[t] = _mm256_setzero_ps(); summs[t] = 0; }

// Signed weights wv (|values| < 128) of unit j, scale dw.
#define UNIT_S(wv, dw, j) do { \
        const __m256i wabs = _mm256_sign_epi8((wv), (wv)); \
        for (int t = 0; t < NT; t++) { \
            const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * (j))); \
            const __m256 p = _mm256_cvtepi32_ps(FN(dot8)(wabs, _mm256_sign_epi8(a, (wv)))); \
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps((dw) * d[t * units + (j)]), p, acc[t]); \
        } } while (0)
// Unsigned weights wv of unit j, scale dw, min mw.
#define UNIT_U(wv, dw, mw, j) do { \
        for (int t = 0; t < NT; t++) { \
            const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * (j))); \
            const __m256 p = _mm256_cvtepi32_ps(FN(dot8)((wv), a)); \
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps((dw) * d[t * units + (j)]), p, acc[t]); \
            summs[t] = fmaf((mw), s[t * units + (j)], summs[t]); \
        } } while (0)

    switch (type) {
    case CK_Q4_0:
        for (long j = 0; j < units; j++, w += 18) {
            const __m256i wv = _mm256_sub_epi8(FN(nibbles)(w + 2), _mm256_set1_epi8(8));
            UNIT_S(wv, FN(half)(w), j);
        }
        break;
    case CK_Q4_1:
        for (long j = 0; j < units; j++, w += 20) UNIT_U(FN(nibbles)(w + 4), FN(half)(w), FN(half)(w + 2), j);
        break;
    case CK_Q5_0:
        for (long j = 0; j < units; j++, w += 22) {
            const __m256i wv = _mm256_sub_epi8(_mm256_or_si256(FN(nibbles)(w + 6), FN(bits16)(w + 2)), _mm256_set1_epi8(16));
            UNIT_S(wv, FN(half)(w), j);
        }
        break;
    case CK_Q5_1:
        for (long j = 0; j < units; j++, w += 24)
            UNIT_U(_mm256_or_si256(FN(nibbles)(w + 8), FN(bits16)(w + 4)), FN(half)(w), FN(half)(w + 2), j);
        break;
    case CK_Q8_0:
        for (long j = 0; j < units; j++, w += 34) UNIT_S(_mm256_loadu_si256((const __m256i *)(w + 2)), FN(half)(w), j);
        break;
    case CK_Q4_K: {
        // llama.cpp's repacked q4_K_8x8 arithmetic (see ck_dot_q8_scalar): per pair of sub-blocks g and token
        // (per super-block in CK_ORDER_TOKEN), the integer sums of the scaled products and of the mins times
        // activation sums, each added to a float sum by one fused multiply-add; tokens 4k..4k+3 side by side in
        // the lanes of sum[k], sumMin[k].
        enum { NG = (NTMAX + 3) / 4 };
        const int groups = (NT + 3) / 4;
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        __m128 sum[NG], sumMin[NG];
        for (int k = 0; k < NG; k++) sum[k] = sumMin[k] = _mm_setzero_ps();
        for (long b = 0; b < units / 8; b++, w += 144) {
            const float dw = FN(half)(w), dmin = FN(half)(w + 2);
            uint8_t sc[8], m[8];
            for (int j = 0; j < 8; j++) ck_scale_min_k4(j, w + 4, &sc[j], &m[j]);
            float scale[4 * NG] = {0}, scaleMin[4 * NG] = {0}, mins[4][4 * NG] = {{0}}, blockMins[4 * NG] = {0};
            for (int t = 0; t < NT; t++) {
                const float da = d[t * units + 8 * b];
                const float *sa = s + t * units + 8 * b;
                scale[t] = dw * da;
                scaleMin[t] = dmin * da;
                int all = 0;
                for (int g = 0; g < 4; g++) {
                    const int pair = m[2 * g] * (int)sa[2 * g] + m[2 * g + 1] * (int)sa[2 * g + 1];
                    mins[g][t] = (float)pair;
                    all += pair;
                }
                blockMins[t] = (float)all;
            }
            __m128i blockSum[NG];
            for (int k = 0; k < NG; k++) blockSum[k] = _mm_setzero_si128();
            for (int g = 0; g < 4; g++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * g));
                const __m256i lo = _mm256_and_si256(bytes, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
                const __m256i sc0 = _mm256_set1_epi16(sc[2 * g]), sc1 = _mm256_set1_epi16(sc[2 * g + 1]);
                __m256i sumi[4 * NG];
                for (int t = 0; t < 4 * NG; t++) sumi[t] = _mm256_setzero_si256();
                for (int t = 0; t < NT; t++) {
                    const int8_t *a = qs + t * n + 256 * b + 64 * g;
                    sumi[t] = FN(scaled_acc)(sumi[t], lo, _mm256_loadu_si256((const __m256i *)a), sc0);
                    sumi[t] = FN(scaled_acc)(sumi[t], hi, _mm256_loadu_si256((const __m256i *)(a + 32)), sc1);
                }
                for (int k = 0; k < groups; k++) {
                    const __m128i total = FN(hsum4_epi32)(sumi[4 * k], sumi[4 * k + 1], sumi[4 * k + 2], sumi[4 * k + 3]);
                    if (order == CK_ORDER_TOKEN) {
                        blockSum[k] = _mm_add_epi32(blockSum[k], total);
                    } else {
                        sum[k] = _mm_fmadd_ps(_mm_cvtepi32_ps(total), _mm_loadu_ps(scale + 4 * k), sum[k]);
                        sumMin[k] = _mm_fmadd_ps(_mm_loadu_ps(mins[g] + 4 * k), _mm_loadu_ps(scaleMin + 4 * k), sumMin[k]);
                    }
                }
            }
            if (order == CK_ORDER_TOKEN)
                for (int k = 0; k < groups; k++) {
                    sum[k] = _mm_fmadd_ps(_mm_cvtepi32_ps(blockSum[k]), _mm_loadu_ps(scale + 4 * k), sum[k]);
                    sumMin[k] = _mm_fmadd_ps(_mm_loadu_ps(blockMins + 4 * k), _mm_loadu_ps(scaleMin + 4 * k), sumMin[k]);
                }
        }
        float result[4 * NG];
        for (int k = 0; k < groups; k++) _mm_storeu_ps(result + 4 * k, _mm_sub_ps(sum[k], sumMin[k]));
        for (int t = 0; t < NT; t++) out[t * ldy] = result[t];
        return;
    }
    case CK_Q5_K: {  // ggml's vec_dot_q5_K_q8_K arithmetic, which llama.cpp uses for Q5_K on x86
        const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
        float accm[NTMAX][4];
        for (int t = 0; t < NT; t++) accm[t][0] = accm[t][1] = accm[t][2] = accm[t][3] = 0;
        for (long b = 0; b < units / 8; b++, w += 176) {
            const float dw = FN(half)(w), dmin = FN(half)(w + 2);
            const uint8_t *scales = w + 4, *q = w + 48;
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(w + 16));
            uint8_t sc[8], m[8];
            for (int j = 0; j < 8; j++) ck_scale_min_k4(j, scales, &sc[j], &m[j]);
            __m256i sumi[NTMAX];
            for (int t = 0; t < NT; t++) sumi[t] = _mm256_setzero_si256();
            for (int g = 0; g < 4; g++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(q + 32 * g));
                __m256i lo = _mm256_and_si256(bytes, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
                const __m128i shift0 = _mm_cvtsi32_si128(2 * g), shift1 = _mm_cvtsi32_si128(2 * g + 1);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, shift0), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, shift1), one), 4));
                const __m256i sc0 = _mm256_set1_epi16(sc[2 * g]), sc1 = _mm256_set1_epi16(sc[2 * g + 1]);
                for (int t = 0; t < NT; t++) {
                    const int8_t *a = qs + t * n + 256 * b + 64 * g;
                    sumi[t] = FN(scaled_acc)(sumi[t], lo, _mm256_loadu_si256((const __m256i *)a), sc0);
                    sumi[t] = FN(scaled_acc)(sumi[t], hi, _mm256_loadu_si256((const __m256i *)(a + 32)), sc1);
                }
            }
            for (int t = 0; t < NT; t++) {
                const float da = d[t * units + 8 * b];
                const float *sa = s + t * units + 8 * b;
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(da * dw), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
                const float scale_min = -da * dmin;
                for (int i = 0; i < 4; i++) {
                    const int p = m[2 * i] * (int)sa[2 * i] + m[2 * i + 1] * (int)sa[2 * i + 1];
                    accm[t][i] = fmaf(scale_min, (float)p, accm[t][i]);
                }
            }
        }
        for (int t = 0; t < NT; t++) summs[t] = (accm[t][0] + accm[t][2]) + (accm[t][1] + accm[t][3]);
        break;
    }
    case CK_Q6_K: {
        // Weights v unsigned (0..63) against the signed activations, pairs under 2^15; their offset of 32 is
        // subtracted per super-block by the activations' sums of 16, as ggml does (see ck_dot_q8_scalar).
        // CK_ORDER_BATCH (llama.cpp's tiled matmul): one float sum per token instead of 8 lanes.
        float tiled[NTMAX];
        for (int t = 0; t < NT; t++) tiled[t] = 0;
        for (long b = 0; b < units / 8; b++, w += 210) {
            const float dw = FN(half)(w + 208);
            __m256i sumi[NTMAX];
            for (int t = 0; t < NT; t++) sumi[t] = _mm256_setzero_si256();
            for (int h = 0; h < 2; h++) {
                const int8_t *sc = (const int8_t *)(w + 192 + 8 * h);
                __m256i v[4];  // 0..63
                FN(q6k_half)(w, h, v);
                for (int k = 0; k < 4; k++) {
                    // Lanes 0-3 hold elements 0..15 (scale sc[2k]), lanes 4-7 elements 16..31 (sc[2k+1]).
                    const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                    for (int t = 0; t < NT; t++) {
                        const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + t * n + 256 * b + 128 * h + 32 * k));
                        sumi[t] = FN(scaled_acc)(sumi[t], v[k], a, scale);
                    }
                }
            }
            for (int t = 0; t < NT; t++) {
                sumi[t] = _mm256_sub_epi32(sumi[t], FN(q6k_offset)(bsums + t * (n / 16) + 16 * b, w + 192));
                if (order == CK_ORDER_TOKEN)
                    acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d[t * units + 8 * b] * dw), _mm256_cvtepi32_ps(sumi[t]), acc[t]);
            }
            if (order == CK_ORDER_BATCH)
                for (int t0 = 0; t0 < NT; t0 += 4) {
                    int32_t total[4];
                    _mm_storeu_si128((__m128i *)total, FN(hsum4_epi32)(sumi[t0], t0 + 1 < NT ? sumi[t0 + 1] : sumi[t0],
                                                                      t0 + 2 < NT ? sumi[t0 + 2] : sumi[t0],
                                                                      t0 + 3 < NT ? sumi[t0 + 3] : sumi[t0]));
                    for (int t = t0; t < NT && t < t0 + 4; t++)
                        tiled[t] = fmaf(d[t * units + 8 * b], (float)total[t - t0] * dw, tiled[t]);
                }
        }
        if (order == CK_ORDER_BATCH) {
            for (int t = 0; t < NT; t++) out[t * ldy] = tiled[t];
            return;
        }
        break;
    }
    }
#undef UNIT_S
#undef UNIT_U
    for (int t = 0; t < NT; t++) out[t * ldy] = FN(hsum8)(acc[t]) + summs[t];
}

// The type is a constant in each expansion, so row_q8's switch folds away.
// Token groups of NTMAX outside, rows inside: one group's activations (NTMAX x n bytes) stay in L1 while the
// tile's rows stream past them. The last tokens go in a group of 4 (with NTMAX 8), then 3, 2 or 1.
#define ROW_GROUP(TYPE, NT) \
    for (int r = 0; r < nr; r++) \
        FN(row_q8)(TYPE, (const uint8_t *)w + r * rowBytes, qs + t * n, d + t * units, s + t * units, \
                   bsums + t * (n / 16), n, NT, order, y + t * ldy + r, ldy)
#define ROWS(TYPE) do { \
    int t = 0; \
    for (; t + NTMAX <= nt; t += NTMAX) ROW_GROUP(TYPE, NTMAX); \
    if (NTMAX > 4 && t + 4 <= nt) { ROW_GROUP(TYPE, 4); t += 4; } \
    switch (nt - t) { \
    case 3: ROW_GROUP(TYPE, 3); break; \
    case 2: ROW_GROUP(TYPE, 2); break; \
    case 1: ROW_GROUP(TYPE, 1); break; \
    } } while (0)

void FN(ck_gemm_q8)(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                    const float *s, long n, int nt, int order, float *y, long ldy) {
    const long units = n / 32;
    // Q6_K: every token's activation sums of 16, at most 64 tokens at a time (the callers' token tiles).
    if (type == CK_Q6_K && nt > 64) {
        for (int t0 = 0; t0 < nt; t0 += 64)
            FN(ck_gemm_q8)(type, w, rowBytes, nr, qs + t0 * n, d + t0 * units, s + t0 * units, n,
                           nt - t0 < 64 ? nt - t0 : 64, order, y + t0 * ldy, ldy);
        return;
    }
    int16_t bsums[type == CK_Q6_K ? nt * (n / 16) : 1];
    if (type == CK_Q6_K) for (int t = 0; t < nt; t++) FN(bsums16)(qs + t * n, n, bsums + t * (n / 16));
    switch (type) {
    case CK_Q4_0: ROWS(CK_Q4_0); break;
    case CK_Q4_1: ROWS(CK_Q4_1); break;
    case CK_Q5_0: ROWS(CK_Q5_0); break;
    case CK_Q5_1: ROWS(CK_Q5_1); break;
    case CK_Q8_0: ROWS(CK_Q8_0); break;
    case CK_Q4_K: ROWS(CK_Q4_K); break;
    case CK_Q5_K: ROWS(CK_Q5_K); break;
    case CK_Q6_K: ROWS(CK_Q6_K); break;
    }
}
#undef ROWS
#undef ROW_GROUP
#undef NTMAX
