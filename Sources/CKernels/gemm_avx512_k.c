// AVX-512 VNNI GEMM for the K-quant weight types Q4_K and Q6_K with 2..n tokens (Q8_K activations).
// Same bits as ck_dot_q8_scalar for every output.
//
// Reference arithmetic per output (row r, token t), per super-block of 256 (8 sub-blocks of 32):
//   Q6_K (ggml's vec_dot): 8 int32 lanes sumi_k = sum over sub-blocks j of sc_j(k) * (lane k of sub-block j),
//   lane k of a sub-block being the sum of the products of its unsigned weights (0..63) at elements 4k..4k+3
//   (sc per 16 elements, so lanes 0-3 and 4-7 of a sub-block have their own scale), minus the weights' offset
//   32 (sc_2k B_2k + sc_2k+1 B_2k+1), B_i the sum of activations 16i..16i+15; then acc_k = fma(da * dw,
//   float(sumi_k), acc_k); result hsum8(acc). In llama.cpp's tiled order (CK_ORDER_BATCH) one sum instead:
//   sum = fma(da, float(sum_k sumi_k) * dw, sum).
//   Q4_K (ggml's repacked q4_K_8x8 batch kernel): per pair of sub-blocks g = 0..3, sum = fma(float(I_g),
//   dw * da, sum) and sumMin = fma(float(m_2g S_2g + m_2g+1 S_2g+1), dmin * da, sumMin), I_g being the integer
//   sum of the pair's 64 products times their sub-block scales and S_j the sum of sub-block j's activation
//   quants; result sum - sumMin. In llama.cpp's one-token order (CK_ORDER_TOKEN) the same two fused
//   multiply-adds take once per super-block the integer sums of all four pairs.
// As in gemm_avx512.c two rows share a register, dword-interleaved (lane 2k = row a lane k, 2k + 1 = row b
// lane k), and activations are prepared once per group of 8 tokens, with every dword doubled.
// Integer part: vpmaddubsw (u8 x s8 pairs, no saturation for these ranges) then vpdpwssd with the scales.
//   Q4_K: weights 0..15 unsigned, activations signed, as they are. The lanes of the 8 tokens' sums are added
//   up per g into one register whose lanes 2t, 2t + 1 are (row a, row b) of token t, the layout of the
//   scales, so that one fma serves the 16 outputs.
//   Q6_K: weights 0..63 unsigned, activations signed, as they are; the offset is one vpmaddwd per token and
//   row pair of the prepared activation sums of 16 (int16 pairs) with the rows' scales.
#if defined(__x86_64__)
#include "ckernels_internal.h"
#include <immintrin.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#include "gemm_avx512.h"

#define GT 8  // tokens per group
// Q4_K in the one-token order and Q6_K in the tiled order (CK_ORDER_BATCH): type ids of this file only, so
// that kernel_k is specialised for them.
enum { Q4_K_TOKEN_ORDER = 1000 + CK_Q4_K, Q6_K_TILED = 1000 + CK_Q6_K };

// Prepared activations of one token group per super-block: a2[8 sub-blocks][GT][64], da2[16] (lanes 2t, 2t + 1:
// da of token t), sums[4][16 dwords] (Q4_K, dwords 2t, 2t + 1: the int16 pair S_2i, S_2i+1 of token t),
// b16[GT][16 dwords] (Q6_K, dwords 2k, 2k + 1: the int16 pair B_2k, B_2k+1 of the token's sums of 16).
enum { KPREP = 8 * GT * 64 + 64 + 4 * 64 + GT * 64 };

static void prepare_k(int type, const int8_t *qs, const float *d, const float *s, long n, int nt, uint8_t *out) {
    const long units = n / 32;
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    for (long b = 0; b < n / 256; b++) {
        uint8_t *blk = out + b * KPREP;
        float *da2 = (float *)(blk + 8 * GT * 64);
        int32_t *sums = (int32_t *)(da2 + 16);
        uint8_t *b16 = (uint8_t *)(sums + 4 * 16);
        for (int t = 0; t < GT; t++) {
            if (t >= nt) {
                da2[2 * t] = da2[2 * t + 1] = 0;
                for (int i = 0; i < 4; i++) sums[16 * i + 2 * t] = sums[16 * i + 2 * t + 1] = 0;
                continue;
            }
            for (int j = 0; j < 8; j++) {
                const __m512i a = _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(
                    _mm256_loadu_si256((const __m256i *)(qs + t * n + 256 * b + 32 * j))));
                _mm512_store_si512(blk + (j * GT + t) * 64, a);
            }
            if (type == CK_Q6_K) {
                int16_t sums16[16];
                for (int i = 0; i < 16; i++) {
                    int sum = 0;
                    for (int e = 0; e < 16; e++) sum += qs[t * n + 256 * b + 16 * i + e];
                    sums16[i] = (int16_t)sum;
                }
                _mm512_store_si512(b16 + t * 64, _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(
                    _mm256_loadu_si256((const __m256i *)sums16))));
            }
            const float *dt = d + t * units + 8 * b, *st = s + t * units + 8 * b;
            da2[2 * t] = da2[2 * t + 1] = dt[0];
            for (int i = 0; i < 4; i++) {
                const int32_t pair = (int32_t)(((uint32_t)(uint16_t)(int16_t)st[2 * i]) |
                                               ((uint32_t)(uint16_t)(int16_t)st[2 * i + 1] << 16));
                sums[16 * i + 2 * t] = sums[16 * i + 2 * t + 1] = pair;
            }
        }
    }
}

// For 8 int16 values x_i of row a and y_i of row b: out[i] = the words [x_i, x_i, y_i, y_i] (the pattern of
// one scale per interleaved dword, for vpdpwssd), as 8 qwords.
static inline __attribute__((always_inline)) void scale_words(__m128i x, __m128i y, uint64_t out[8]) {
    const __m128i xl = _mm_unpacklo_epi16(x, x), xh = _mm_unpackhi_epi16(x, x);
    const __m128i yl = _mm_unpacklo_epi16(y, y), yh = _mm_unpackhi_epi16(y, y);
    _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi32(xl, yl));
    _mm_storeu_si128((__m128i *)(out + 2), _mm_unpackhi_epi32(xl, yl));
    _mm_storeu_si128((__m128i *)(out + 4), _mm_unpacklo_epi32(xh, yh));
    _mm_storeu_si128((__m128i *)(out + 6), _mm_unpackhi_epi32(xh, yh));
}

// The 6-bit scales (bytes 0-7) and mins (bytes 8-15) of a Q4_K super-block's 8 sub-blocks, from the 12 bytes
// at q.
static inline __attribute__((always_inline)) __m128i scales_mins_k4(const uint8_t *q) {
    uint32_t u[4];
    ck_scales_mins_k4(q, u);
    return _mm_loadu_si128((const __m128i *)u);
}

// The lanes of v[0..NT) added up per token and row: result lanes 2t, 2t + 1 = the sums of the even and of the
// odd lanes of v[t] (row a and row b of token t); lanes of tokens NT.. are 0. Exact (integers).
static inline __attribute__((always_inline)) __m512i sum_token_rows(const __m512i *v, const int NT) {
    __m512i u[4], w[2];
    for (int i = 0; i < 4; i++) {  // 128-bit lane L of u[i]: (token 2i, token 2i + 1) partial sums
        const __m512i x = 2 * i < NT ? v[2 * i] : _mm512_setzero_si512();
        const __m512i y = 2 * i + 1 < NT ? v[2 * i + 1] : _mm512_setzero_si512();
        u[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y));
    }
    for (int i = 0; i < 2; i++)  // lanes 0, 1: tokens 4i, 4i + 1 (two halves), lanes 2, 3: tokens 4i + 2, 4i + 3
        w[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2 * i], u[2 * i + 1], 0x88),
                                _mm512_shuffle_i32x4(u[2 * i], u[2 * i + 1], 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(w[0], w[1], 0x88), _mm512_shuffle_i32x4(w[0], w[1], 0xDD));
}

// RP row pairs (row pointers rows[0..3]) x NT tokens of a prepared group; y[t * ldy + k] for k < outRows.
static inline __attribute__((always_inline)) void kernel_k(int type, const int RP, const int NT,
        const uint8_t *const rows[4], long superBlocks, const uint8_t *prep, float *y, long ldy, int outRows) {
    const int tiled = type == Q6_K_TILED, six = type == CK_Q6_K || tiled, perBlock = type == Q4_K_TOKEN_ORDER;
    const long size = six ? 210 : 144;
    float acc[2][GT][16] __attribute__((aligned(64)));  // Q6_K
    __m512 sum[2], sumMin[2];                            // Q4_K: lanes 2t, 2t + 1 = (row a, row b) of token t
    for (int p = 0; p < RP; p++) {
        sum[p] = sumMin[p] = _mm512_setzero_ps();
        if (six) for (int t = 0; t < NT; t++) _mm512_store_ps(acc[p][t], _mm512_setzero_ps());
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(0x30);
    // The next row group's bytes (rows are contiguous), a super-block's share at a time: the first token group
    // would otherwise wait on memory for every super-block (out of cache, 16,384 rows of 4,864, 17 tokens,
    // medians of 5 or 6: Q4_K 40.4 -> 33.0 ms; Q6_K 56.8 -> 46.9 ms).
    const uint8_t *ahead = rows[0] + 4 * superBlocks * size;
    for (long b = 0; b < superBlocks; b++, prep += KPREP) {
        ck_prefetch_bytes(ahead + 4 * size * b, 4 * size);
        const __m512 da2 = _mm512_load_ps(prep + 8 * GT * 64);
        float scales[2][16] __attribute__((aligned(64)));
        __m512i sc16[2][8];  // per row pair and sub-block: int16 scales in the interleaved lane order
        __m512i scPairs[2];  // Q6_K: dwords 2k, 2k + 1 = scales (2k, 2k + 1) of row a, of row b
        for (int p = 0; p < RP; p++) {
            const uint8_t *a = rows[2 * p] + b * size, *bb = rows[2 * p + 1] + b * size;
            if (six) {
                _mm512_store_ps(scales[p], _mm512_mul_ps(halves2(a + 208, bb + 208), da2));
                scPairs[p] = interleave32(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + 192))),
                                          _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(bb + 192))));
                uint64_t words[16];  // scale i of both rows as [sa, sa, sb, sb]
                const __m128i sa = _mm_loadu_si128((const __m128i *)(a + 192)), sb = _mm_loadu_si128((const __m128i *)(bb + 192));
                scale_words(_mm_cvtepi8_epi16(sa), _mm_cvtepi8_epi16(sb), words);
                scale_words(_mm_cvtepi8_epi16(_mm_srli_si128(sa, 8)), _mm_cvtepi8_epi16(_mm_srli_si128(sb, 8)), words + 8);
                for (int j = 0; j < 8; j++) {
                    const int lo = 8 * (j / 4) + 2 * (j % 4);  // lanes 0-3: scale lo, lanes 4-7: scale lo + 1
                    sc16[p][j] = _mm512_mask_set1_epi64(_mm512_set1_epi64((long long)words[lo]), 0xF0, (long long)words[lo + 1]);
                }
            } else {
                _mm512_store_ps(scales[p], _mm512_mul_ps(halves2(a, bb), da2));
                const __m128i ka = scales_mins_k4(a + 4), kb = scales_mins_k4(bb + 4);
                uint64_t words[8], mpairs[4];  // scale j of both rows as [sa, sa, sb, sb]; mins 2g, 2g + 1 as [ma, ma', mb, mb']
                scale_words(_mm_cvtepu8_epi16(ka), _mm_cvtepu8_epi16(kb), words);
                const __m128i ma = _mm_cvtepu8_epi16(_mm_srli_si128(ka, 8)), mb = _mm_cvtepu8_epi16(_mm_srli_si128(kb, 8));
                _mm_storeu_si128((__m128i *)mpairs, _mm_unpacklo_epi32(ma, mb));
                _mm_storeu_si128((__m128i *)(mpairs + 2), _mm_unpackhi_epi32(ma, mb));
                for (int j = 0; j < 8; j++) sc16[p][j] = _mm512_set1_epi64((long long)words[j]);
                // Mins: 16 lanes (token, row) at once, one fma per pair of sub-blocks g (per super-block).
                const __m512 scaleMin = _mm512_mul_ps(halves2(a + 2, bb + 2), da2);
                __m512i blockMins = _mm512_setzero_si512();
                for (int g = 0; g < 4; g++) {
                    const __m512i prod = _mm512_madd_epi16(_mm512_set1_epi64((long long)mpairs[g]),
                                                           _mm512_load_si512(prep + 8 * GT * 64 + 64 + 64 * g));
                    if (perBlock) blockMins = _mm512_add_epi32(blockMins, prod);
                    else sumMin[p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(prod), scaleMin, sumMin[p]);
                }
                if (perBlock) sumMin[p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(blockMins), scaleMin, sumMin[p]);
            }
        }
        __m512i sumi[2][GT];
        for (int p = 0; p < RP; p++)
            for (int t = 0; t < NT; t++) sumi[p][t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            if (!six && !perBlock && (j & 1) == 0)
                for (int p = 0; p < RP; p++)
                    for (int t = 0; t < NT; t++) sumi[p][t] = _mm512_setzero_si512();
            __m512i w[2];
            for (int p = 0; p < RP; p++) {
                const uint8_t *a = rows[2 * p] + b * size, *bb = rows[2 * p + 1] + b * size;
                if (six) {
                    const int h = j / 4, k = j % 4;
                    const uint8_t *qa = a + 64 * h + 32 * (k & 1), *qb = bb + 64 * h + 32 * (k & 1);
                    const __m512i l = interleave32(_mm256_loadu_si256((const __m256i *)qa),
                                                   _mm256_loadu_si256((const __m256i *)qb));
                    const __m512i qh = interleave32(_mm256_loadu_si256((const __m256i *)(a + 128 + 32 * h)),
                                                    _mm256_loadu_si256((const __m256i *)(bb + 128 + 32 * h)));
                    const __m512i low = k < 2 ? _mm512_and_si512(l, m4) : _mm512_and_si512(_mm512_srli_epi16(l, 4), m4);
                    __m512i high;  // bits 2k, 2k + 1 of qh at bits 4, 5
                    switch (k) {
                    case 0: high = _mm512_slli_epi16(qh, 4); break;
                    case 1: high = _mm512_slli_epi16(qh, 2); break;
                    case 2: high = qh; break;
                    default: high = _mm512_srli_epi16(qh, 2); break;
                    }
                    w[p] = _mm512_or_si512(low, _mm512_and_si512(high, m2));
                } else {
                    const __m512i q = interleave32(_mm256_loadu_si256((const __m256i *)(a + 16 + 32 * (j / 2))),
                                                   _mm256_loadu_si256((const __m256i *)(bb + 16 + 32 * (j / 2))));
                    w[p] = (j & 1) ? _mm512_and_si512(_mm512_srli_epi16(q, 4), m4) : _mm512_and_si512(q, m4);
                }
            }
            for (int t = 0; t < NT; t++) {
                const __m512i act = _mm512_load_si512(prep + (j * GT + t) * 64);
                for (int p = 0; p < RP; p++) {
                    const __m512i pairs = _mm512_maddubs_epi16(w[p], act);
                    sumi[p][t] = _mm512_dpwssd_epi32(sumi[p][t], pairs, sc16[p][j]);
                }
            }
            if (!six && (perBlock ? j == 7 : (j & 1)))
                for (int p = 0; p < RP; p++)
                    sum[p] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum_token_rows(sumi[p], NT)), _mm512_load_ps(scales[p]), sum[p]);
        }
        if (six) for (int p = 0; p < RP; p++) {
            for (int t = 0; t < NT; t++) {
                const __m512i offset = _mm512_madd_epi16(_mm512_load_si512(prep + 8 * GT * 64 + 64 + 4 * 64 + t * 64), scPairs[p]);
                const __m512i v = _mm512_sub_epi32(sumi[p][t], _mm512_slli_epi32(offset, 5));
                if (tiled) { sumi[p][t] = v; continue; }
                double pair;
                memcpy(&pair, &scales[p][2 * t], 8);
                _mm512_store_ps(acc[p][t], _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), _mm512_cvtepi32_ps(v),
                                                           _mm512_load_ps(acc[p][t])));
            }
            if (tiled) {  // sum = fma(da, float(the super-block's integer sum) * dw, sum), lanes (token, row)
                const uint8_t *a = rows[2 * p] + b * size, *bb = rows[2 * p + 1] + b * size;
                const __m512 part = _mm512_mul_ps(_mm512_cvtepi32_ps(sum_token_rows(sumi[p], NT)), halves2(a + 208, bb + 208));
                sum[p] = _mm512_fmadd_ps(da2, part, sum[p]);
            }
        }
    }
    for (int p = 0; p < RP; p++) {
        float result[16] __attribute__((aligned(64)));
        if (!six) _mm512_store_ps(result, _mm512_sub_ps(sum[p], sumMin[p]));
        if (tiled) _mm512_store_ps(result, sum[p]);
        for (int t = 0; t < NT; t++) {
            float h[16] __attribute__((aligned(64)));
            if (six && !tiled) _mm512_store_ps(h, hsum_pairs(_mm512_load_ps(acc[p][t])));
            for (int k = 0; k < 2; k++)
                if (2 * p + k < outRows) y[t * ldy + 2 * p + k] = six && !tiled ? h[k] : result[2 * t + k];
        }
    }
}

#define GROUP(TYPE) AVX512_ROW_GROUPS(kernel_k, TYPE, superBlocks)

int ck_gemm_q8k_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                       const float *s, long n, int nt, int order, uint64_t activations, float *yOut, long ldy) {
    if (type != CK_Q4_K && type != CK_Q6_K) return 0;
    const long units = n / 32, superBlocks = n / 256;
    long stride;
    int ready;
    uint8_t *preps = group_preps(activations, type, qs, n, nt, GT, superBlocks * KPREP, &stride, &ready);
    if (!preps) return 0;
    const uint8_t *base = w;
    for (int t0 = 0; t0 < nt; t0 += GT) {
        const int group = nt - t0 < GT ? nt - t0 : GT;
        uint8_t *prep = preps + t0 / GT * stride;
        if (!ready) prepare_k(type, qs + t0 * n, d + t0 * units, s + t0 * units, n, group, prep);
        float *y = yOut + t0 * ldy;
        if (type == CK_Q6_K && order == CK_ORDER_BATCH) { GROUP(Q6_K_TILED) }
        else if (type == CK_Q6_K) { GROUP(CK_Q6_K) }
        else if (order == CK_ORDER_TOKEN) { GROUP(Q4_K_TOKEN_ORDER) }
        else { GROUP(CK_Q4_K) }
    }
    return 1;
}
#undef GROUP
#undef GT

#pragma clang attribute pop
#endif
