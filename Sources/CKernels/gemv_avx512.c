// AVX-512 VNNI one-token products (decode) for the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0):
// y[r] = row r . x for rows 0..<nr, with x quantized once. Same bits as ck_dot_q8_scalar for every output.
//
// Two rows share one 512-bit register, dword-interleaved as in gemm_avx512.c (lane 2k = row a lane k, lane
// 2k + 1 = row b lane k), so that the two scales of a (row pair, block) are one 64-bit broadcast from memory:
// the vector ports are left to the unpacking, the dot, the conversion and the fused multiply-add.
// Per call the activations are prepared once: per block, the 32 bytes with every dword doubled (a2) and, for
// signed types, the offset correction (c2, see gemm_avx512.c). Per group of 4 rows, a first pass turns the
// rows' F16 scales into floats, dw * da per (row pair, block) and (Q4_1, Q5_1) the mins mw, 8 blocks at a
// time; the main pass then reads each block of the 4 rows once. The float operations are the reference's,
// in its order, lane by lane: lane_k = fma(dw * da, float(int lane k), lane_k) per block, summs = fma(mw, sa,
// summs) per block, and the result hsum8(lanes) + summs.
#if defined(__x86_64__)
#include "ckernels_internal.h"
#include <immintrin.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#include "gemm_avx512.h"

// How many row groups ahead each block is prefetched (the rows of a matrix are contiguous).
#define GV512_AHEAD 2

// F16 halves of block j of a row as floats: the scale d (offset 0) and the min m (offset 2, Q4_1 and Q5_1).
static inline float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Scale and min pairs of rows a and b for blocks 0..<units: scales[j] = (dw_a * da_j, dw_b * da_j),
// mins[j] = (mw_a, mw_b), as 2 floats each; 8 blocks at a time by halves8, the rest one by one.
static inline __attribute__((always_inline)) void pair_scales(const int TYPE, const uint8_t *a, const uint8_t *b,
        long units, const float *d, float *scales, float *mins) {
    const long size = ck_type_size(TYPE);
    const int hasMin = TYPE == CK_Q4_1 || TYPE == CK_Q5_1;
    // Lanes 2k, 2k + 1 = lane k of x and of y (the scales), or lane 8 + k of each (the mins).
    const __m512i pickD = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i pickM = _mm512_add_epi32(pickD, _mm512_set1_epi32(8));
    long j = 0;
    for (; j + 8 <= units; j += 8) {
        const __m512 ha = halves8(TYPE, a + j * size), hb = halves8(TYPE, b + j * size);
        const __m512 da = _mm512_castps256_ps512(_mm256_loadu_ps(d + j));
        _mm512_storeu_ps(scales + 2 * j, _mm512_permutex2var_ps(_mm512_mul_ps(ha, da), pickD, _mm512_mul_ps(hb, da)));
        if (hasMin) _mm512_storeu_ps(mins + 2 * j, _mm512_permutex2var_ps(ha, pickM, hb));
    }
    for (; j < units; j++) {
        scales[2 * j] = half_at(a + j * size) * d[j];
        scales[2 * j + 1] = half_at(b + j * size) * d[j];
        if (hasMin) {
            mins[2 * j] = half_at(a + j * size + 2);
            mins[2 * j + 1] = half_at(b + j * size + 2);
        }
    }
}

static inline __attribute__((always_inline)) void gv_type(const int TYPE, const uint8_t *w, long rowBytes, int nr,
        const uint8_t *prep, const float *d, const float *s, long units, float *scratch, float *y) {
    const long size = ck_type_size(TYPE);
    const int signedType = type_offset(TYPE) != 0, hasMin = TYPE == CK_Q4_1 || TYPE == CK_Q5_1;
    // Q4_0 and Q4_1 keep their high nibbles in place (16 times the weight), so one AND unpacks a block:
    // dword lanes 8-15 (the reference's lanes 4-7 of both rows, elements 16-31) then hold 16 times the
    // reference's sums, products and lane values, all exact (powers of two commute with rounding), and
    // are scaled back by 1/16 before the horizontal sum. The offset correction of Q4_0 is 16 times too.
    const int nibblesInPlace = TYPE == CK_Q4_0 || TYPE == CK_Q4_1;
    const __m512i inPlaceMask = _mm512_inserti64x4(_mm512_set1_epi8(0x0F), _mm256_set1_epi8((char)0xF0), 1);
    const __m512 unscale = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(1.0f)), _mm256_castps_pd(_mm256_set1_ps(1.0f / 16)), 1));
    float *scales[2] = {scratch, scratch + 2 * units}, *mins[2] = {scratch + 4 * units, scratch + 6 * units};
    const long groupBytes = 4 * rowBytes;
    for (int r = 0; r < nr; r += 4) {
        const int outRows = nr - r < 4 ? nr - r : 4;
        const uint8_t *rows[4];
        for (int k = 0; k < 4; k++) rows[k] = w + (long)(r + (k < outRows ? k : outRows - 1)) * rowBytes;
        for (int p = 0; p < 2; p++) pair_scales(TYPE, rows[2 * p], rows[2 * p + 1], units, d, scales[p], mins[p]);
        __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()}, summs[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        for (long j = 0; j < units; j++) {
            const __m512i a = _mm512_load_si512(prep + 128 * j);
            const __m512i start = signedType ? _mm512_load_si512(prep + 128 * j + 64) : _mm512_setzero_si512();
            // The same block of the rows GV512_AHEAD groups further on (prefetches never fault, so running
            // past the matrix's end is harmless).
            for (int k = 0; k < 4; k++) _mm_prefetch((const char *)rows[k] + j * size + GV512_AHEAD * groupBytes, _MM_HINT_T0);
            for (int p = 0; p < 2; p++) {
                const __m512i u = nibblesInPlace ? _mm512_and_si512(nibbles_both(rows[2 * p] + j * size + 2 * (1 + hasMin),
                                                                                 rows[2 * p + 1] + j * size + 2 * (1 + hasMin)), inPlaceMask)
                                                 : unpack2(TYPE, rows[2 * p] + j * size, rows[2 * p + 1] + j * size);
                const __m512 dot = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, u, a));
                double pair;
                memcpy(&pair, scales[p] + 2 * j, 8);
                acc[p] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), dot, acc[p]);
                if (hasMin) {
                    memcpy(&pair, mins[p] + 2 * j, 8);
                    summs[p] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), _mm512_set1_ps(s[j]), summs[p]);
                }
            }
        }
        for (int p = 0; p < 2; p++) {
            float h[16] __attribute__((aligned(64))), m[16] __attribute__((aligned(64)));
            _mm512_store_ps(h, hsum_pairs(nibblesInPlace ? _mm512_mul_ps(acc[p], unscale) : acc[p]));
            _mm512_store_ps(m, summs[p]);
            if (2 * p < outRows) y[r + 2 * p] = h[0] + m[0];
            if (2 * p + 1 < outRows) y[r + 2 * p + 1] = h[1] + m[1];
        }
    }
}

int ck_gemv_q32_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                       const float *s, long n, float *y) {
    if (type != CK_Q4_0 && type != CK_Q4_1 && type != CK_Q5_0 && type != CK_Q5_1 && type != CK_Q8_0) return 0;
    const long units = n / 32;
    // Per-thread scratch: the prepared activations (units * 128 bytes), then per pair of a row group the scales
    // and mins as float pairs (units * 8 bytes each).
    uint8_t *prep = prep_storage(units * 128 + units * 32);
    if (!prep) return 0;
    const int offset = type_offset(type);
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i off8 = _mm512_set1_epi8((char)offset);
    for (long j = 0; j < units; j++) {
        const __m512i a = _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(qs + 32 * j))));
        _mm512_store_si512(prep + 128 * j, a);
        if (offset) {
            __m512i c = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), off8, a));
            if (type == CK_Q4_0) c = _mm512_mask_slli_epi32(c, 0xFF00, c, 4);  // lanes 8-15: nibbles in place
            _mm512_store_si512(prep + 128 * j + 64, c);
        }
    }
    float *scratch = (float *)(prep + units * 128);
    switch (type) {
    case CK_Q4_0: gv_type(CK_Q4_0, w, rowBytes, nr, prep, d, s, units, scratch, y); break;
    case CK_Q4_1: gv_type(CK_Q4_1, w, rowBytes, nr, prep, d, s, units, scratch, y); break;
    case CK_Q5_0: gv_type(CK_Q5_0, w, rowBytes, nr, prep, d, s, units, scratch, y); break;
    case CK_Q5_1: gv_type(CK_Q5_1, w, rowBytes, nr, prep, d, s, units, scratch, y); break;
    default: gv_type(CK_Q8_0, w, rowBytes, nr, prep, d, s, units, scratch, y); break;
    }
    return 1;
}

#pragma clang attribute pop
#endif
