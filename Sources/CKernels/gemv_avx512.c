// AVX-512 VNNI products of one to 8 tokens (decode, and prompt lookup's verify passes) for the 32-element
// weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): y[t][r] = row r . x_t for rows 0..<nr, with the tokens' x
// quantized once. Same bits as ck_dot_q8_scalar for every output.
//
// Two rows share one 512-bit register, dword-interleaved as in gemm_avx512.c (lane 2k = row a lane k, lane
// 2k + 1 = row b lane k), so that the two scales of a (row pair, token, block) are one 64-bit broadcast from
// memory: the vector ports are left to the unpacking, the dots, the conversions and the fused multiply-adds.
// Each block of the rows is read and unpacked once for all the tokens, so a few tokens cost little more
// than one while the rows come from memory.
// Per call the activations are prepared once: per block and token, the 32 bytes with every dword doubled
// (a2) and, for signed types, the offset correction c2: the weights are made unsigned (q + offset: Q4_0 + 8,
// Q5_0 + 16, Q8_0 + 128) for vpdpbusd, and starting the dot from c2 = -offset x (each dword's activation sum)
// removes the offset exactly. Per group of 4 rows, a first pass turns the rows' F16 scales into floats,
// dw * da per (row pair, token, block) and (Q4_1, Q5_1) the mins mw, 8 blocks at a time; the main pass then
// reads each block of the 4 rows once. The float operations are the reference's, in its order, lane by lane:
// lane_k = fma(dw * da, float(int lane k), lane_k) per block, summs = fma(mw, sa, summs) per block, and the
// result hsum8(lanes) + summs.
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

// Layout of the prepared activations of NT tokens, per block j at prep + j * PREP_BYTES(NT): per token the 32
// bytes with every dword doubled (a2) and, for signed types, the offset correction (c2), 64 bytes each; then
// da2 and sa2, lanes 2t, 2t + 1 = d_t,j and s_t,j (zero for tokens NT..7).
#define PREP_BYTES(NT) (128 * (NT) + 128)

// Floats of the scales of a row pair per block: one token needs its (row a, row b) pair only.
#define SCALE_STRIDE(NT) ((NT) == 1 ? 2 : 16)

// The scales of rows a and b against the NT tokens, per block j at scales + SCALE_STRIDE(NT) * j: lanes 2t,
// 2t + 1 = (dw_a * da_t,j, dw_b * da_t,j); mins[2 j ..] = (mw_a, mw_b) (Q4_1, Q5_1). halves8 reads 8 blocks at
// a time; a last partial group is done as the 8 blocks that end the row (recomputing some: the same values),
// and rows of fewer than 8 blocks one block at a time.
static inline __attribute__((always_inline)) void pair_scales(const int TYPE, const int NT, const uint8_t *a,
        const uint8_t *b, long units, const uint8_t *prep, const float *d, float *scales, float *mins) {
    const long size = ck_type_size(TYPE);
    const int hasMin = TYPE == CK_Q4_1 || TYPE == CK_Q5_1;
    // Lanes 2k, 2k + 1 = lane k of x and of y (the scales), or lane 8 + k of each (the mins).
    const __m512i pickD = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i pickM = _mm512_add_epi32(pickD, _mm512_set1_epi32(8));
    float dw[16] __attribute__((aligned(64)));  // (dw_a, dw_b) of 8 blocks
    for (long j0 = 0; j0 < units; j0 += 8) {
        const long j = units < 8 ? j0 : j0 + 8 <= units ? j0 : units - 8, count = units < 8 ? units : 8;
        if (units >= 8) {
            const __m512 ha = halves8(TYPE, a + j * size), hb = halves8(TYPE, b + j * size);
            if (hasMin) _mm512_storeu_ps(mins + 2 * j, _mm512_permutex2var_ps(ha, pickM, hb));
            if (NT == 1) {  // the 8 blocks' pairs at once
                const __m512 da = _mm512_castps256_ps512(_mm256_loadu_ps(d + j));
                _mm512_storeu_ps(scales + 2 * j, _mm512_permutex2var_ps(_mm512_mul_ps(ha, da), pickD, _mm512_mul_ps(hb, da)));
                continue;
            }
            _mm512_store_ps(dw, _mm512_permutex2var_ps(ha, pickD, hb));
        } else {
            for (long k = 0; k < count; k++) {
                dw[2 * k] = half_at(a + (j + k) * size);
                dw[2 * k + 1] = half_at(b + (j + k) * size);
                if (hasMin) {
                    mins[2 * (j + k)] = half_at(a + (j + k) * size + 2);
                    mins[2 * (j + k) + 1] = half_at(b + (j + k) * size + 2);
                }
            }
        }
        for (long k = 0; k < count; k++) {
            if (NT == 1) {
                scales[2 * (j + k)] = dw[2 * k] * d[j + k];
                scales[2 * (j + k) + 1] = dw[2 * k + 1] * d[j + k];
                continue;
            }
            const float *da2 = (const float *)(prep + (j + k) * PREP_BYTES(NT) + 128 * NT);
            double pair;
            memcpy(&pair, dw + 2 * k, 8);
            _mm512_store_ps(scales + 16 * (j + k), _mm512_mul_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), _mm512_load_ps(da2)));
        }
    }
}

// Rows 0..<nr x tokens 0..<NT: y[t * ldy + r]. prep: the prepared activations (prepare_tokens); scratch: room
// for the scales and mins of one row group, 36 * units floats, 64-byte aligned.
static inline __attribute__((always_inline)) void gv_type(const int TYPE, const int NT, const uint8_t *w,
        long rowBytes, int nr, const uint8_t *prep, const float *d, long units, float *scratch, float *y, long ldy) {
    const long size = ck_type_size(TYPE);
    const int signedType = type_offset(TYPE) != 0, hasMin = TYPE == CK_Q4_1 || TYPE == CK_Q5_1;
    // Q4_0 and Q4_1 keep their high nibbles in place (16 times the weight), so one AND unpacks a block:
    // dword lanes 8-15 (the reference's lanes 4-7 of both rows, elements 16-31) then hold 16 times the
    // reference's sums, products and lane values, all exact (powers of two commute with rounding), and
    // are scaled back by 1/16 before the horizontal sum. The offset correction of Q4_0 is 16 times too.
    const int nibblesInPlace = TYPE == CK_Q4_0 || TYPE == CK_Q4_1;
    const __m512i inPlaceMask = _mm512_inserti64x4(_mm512_set1_epi8(0x0F), _mm256_set1_epi8((char)0xF0), 1);
    const __m512 unscale = _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(1.0f)), _mm256_castps_pd(_mm256_set1_ps(1.0f / 16)), 1));
    float *scales[2] = {scratch, scratch + 16 * units}, *mins[2] = {scratch + 32 * units, scratch + 34 * units};
    // Each block of the rows is prefetched GV512_AHEAD row groups ahead (prefetches never fault, so running
    // past the matrix's end is harmless).
    const long ahead = GV512_AHEAD * 4 * rowBytes;
    for (int r = 0; r < nr; r += 4) {
        const int outRows = nr - r < 4 ? nr - r : 4;
        const uint8_t *rows[4];
        for (int k = 0; k < 4; k++) rows[k] = w + (long)(r + (k < outRows ? k : outRows - 1)) * rowBytes;
        for (int p = 0; p < 2; p++) pair_scales(TYPE, NT, rows[2 * p], rows[2 * p + 1], units, prep, d, scales[p], mins[p]);
        __m512 acc[2][CK_GEMV_TOKENS], summs[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int p = 0; p < 2; p++)
            for (int t = 0; t < NT; t++) acc[p][t] = _mm512_setzero_ps();
        for (long j = 0; j < units; j++) {
            const uint8_t *block = prep + j * PREP_BYTES(NT);
            for (int k = 0; k < 4; k++) _mm_prefetch((const char *)rows[k] + j * size + ahead, _MM_HINT_T0);
            for (int p = 0; p < 2; p++) {
                const __m512i u = nibblesInPlace ? _mm512_and_si512(nibbles_both(rows[2 * p] + j * size + 2 * (1 + hasMin),
                                                                                 rows[2 * p + 1] + j * size + 2 * (1 + hasMin)), inPlaceMask)
                                                 : unpack2(TYPE, rows[2 * p] + j * size, rows[2 * p + 1] + j * size);
                const float *scale = scales[p] + SCALE_STRIDE(NT) * j;
                for (int t = 0; t < NT; t++) {
                    const __m512i a = _mm512_load_si512(block + 128 * t);
                    const __m512i start = signedType ? _mm512_load_si512(block + 128 * t + 64) : _mm512_setzero_si512();
                    const __m512 dot = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, u, a));
                    double pair;
                    memcpy(&pair, scale + 2 * t, 8);
                    acc[p][t] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), dot, acc[p][t]);
                }
                if (hasMin) {  // lanes 2t, 2t + 1: (row a, row b) of token t
                    double pair;
                    memcpy(&pair, mins[p] + 2 * j, 8);
                    summs[p] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), _mm512_load_ps(block + 128 * NT + 64), summs[p]);
                }
            }
        }
        for (int p = 0; p < 2; p++) {
            float m[16] __attribute__((aligned(64)));
            _mm512_store_ps(m, summs[p]);
            for (int t = 0; t < NT; t++) {
                float h[16] __attribute__((aligned(64)));
                _mm512_store_ps(h, hsum_pairs(nibblesInPlace ? _mm512_mul_ps(acc[p][t], unscale) : acc[p][t]));
                if (2 * p < outRows) y[t * ldy + r + 2 * p] = h[0] + m[2 * t];
                if (2 * p + 1 < outRows) y[t * ldy + r + 2 * p + 1] = h[1] + m[2 * t + 1];
            }
        }
    }
}

// Per-thread scratch for the scales and mins of a row group.
static _Thread_local struct scratch scale_scratch;

static void prepare_tokens(int type, const int8_t *qs, const float *d, const float *s, long n, int nt, uint8_t *prep) {
    const long units = n / 32;
    const int offset = type_offset(type);
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i off8 = _mm512_set1_epi8((char)offset);
    for (long j = 0; j < units; j++) {
        uint8_t *block = prep + j * PREP_BYTES(nt);
        float *da2 = (float *)(block + 128 * nt), *sa2 = da2 + 16;
        for (int t = 0; t < 8; t++) {
            da2[2 * t] = da2[2 * t + 1] = t < nt ? d[t * units + j] : 0;
            sa2[2 * t] = sa2[2 * t + 1] = t < nt ? s[t * units + j] : 0;
        }
        for (int t = 0; t < nt; t++) {
            const __m512i a = _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * j))));
            _mm512_store_si512(block + 128 * t, a);
            if (offset) {
                __m512i c = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), off8, a));
                if (type == CK_Q4_0) c = _mm512_mask_slli_epi32(c, 0xFF00, c, 4);  // lanes 8-15: nibbles in place
                _mm512_store_si512(block + 128 * t + 64, c);
            }
        }
    }
}

#define GV_TOKENS(TYPE) \
    switch (nt) { \
    case 1: gv_type(TYPE, 1, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    case 2: gv_type(TYPE, 2, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    case 3: gv_type(TYPE, 3, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    case 4: gv_type(TYPE, 4, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    case 5: gv_type(TYPE, 5, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    case 6: gv_type(TYPE, 6, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    case 7: gv_type(TYPE, 7, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    default: gv_type(TYPE, 8, w, rowBytes, nr, prep, d, units, scratch, y, ldy); break; \
    }

int ck_gemv_tokens_q32_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                              const float *s, long n, int nt, uint64_t activations, float *y, long ldy) {
    if (type != CK_Q4_0 && type != CK_Q4_1 && type != CK_Q5_0 && type != CK_Q5_1 && type != CK_Q8_0) return 0;
    if (nt < 1 || nt > CK_GEMV_TOKENS) return 0;
    const long units = n / 32;
    // Per-thread scratch: the prepared activations, and the scales and mins of a row group.
    int ready;
    uint8_t *prep = prep_storage(activations, type, qs, n, nt, units * PREP_BYTES(nt), &ready);
    float *scratch = (float *)scratch_bytes(&scale_scratch, 4 * 36 * units);
    if (!prep || !scratch) return 0;
    if (!ready) prepare_tokens(type, qs, d, s, n, nt, prep);
    switch (type) {
    case CK_Q4_0: GV_TOKENS(CK_Q4_0); break;
    case CK_Q4_1: GV_TOKENS(CK_Q4_1); break;
    case CK_Q5_0: GV_TOKENS(CK_Q5_0); break;
    case CK_Q5_1: GV_TOKENS(CK_Q5_1); break;
    default: GV_TOKENS(CK_Q8_0); break;
    }
    return 1;
}
#undef GV_TOKENS

#pragma clang attribute pop
#endif
