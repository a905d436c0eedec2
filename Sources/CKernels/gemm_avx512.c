// AVX-512 VNNI GEMM for the 32-element weight types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) with 2..n tokens:
// the prefill and batch-verification path. Same bits as ck_dot_q8_scalar for every output.
//
// The reference arithmetic per output (row r, token t) is fixed: for each 32-block j, 8 int32 lanes
// (lane k = sum of the products of elements 4k..4k+3), lane_k = fma(dw_r,j * da_t,j, float(int lane k), lane_k);
// Q4_1/Q5_1 add summs = fma(mw_r,j, sa_t,j, summs); the result is hsum8(lanes) + summs.
// Here the 8 lanes of two rows share one 512-bit register, dword-interleaved:
//   lane 2k = row r lane k, lane 2k + 1 = row r+1 lane k,
// so one vpdpbusd + one convert + one fma do the block for 2 rows x 1 token, and the two scales of a
// (row pair, token) are one 64-bit broadcast from memory. Each group of up to 8 tokens is prepared once:
//   a2   (token, block): the 32 activation bytes with every dword doubled (64 bytes), to meet the interleave;
//        for signed weight types (Q4_0, Q5_0, Q8_0) made unsigned, a + 128, as vpdpbusd's unsigned operand;
//   da2, sa2 (block): the tokens' scales (and Q8_1 sums) as pairs [t0, t0, t1, t1, ...].
// The tile's rows are prepared once too, per row pair and block (prepare_rows): the unpacked interleaved
// weights (64 bytes; signed types as signed bytes), for signed types the exact integer correction
// -128 x (the sum of each dword's 4 weights), which starts each dot and removes the activations' offset, and
// the scales as floats [d_a, d_b, m_a, m_b], so that every token group reads them with plain loads and
// broadcasts instead of unpacking nibbles and converting halves again. The correction belongs to the rows,
// so the activations of a token take 64 bytes per block, and a tile's working set stays in the L1 cache.
// Kernel: 2 row pairs (4 rows) x up to 8 tokens = 16 accumulators. All float operations are the reference's,
// in its order, lane by lane.
#if defined(__x86_64__)
#include "ckernels_internal.h"
#include <immintrin.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#include "gemm_avx512.h"

#define GT 8  // tokens per group

// Prepared activations of one token group, block-major: per block j, a2[GT][64], da2[16], sa2[16].
enum { PREP_BLOCK = GT * 64 + 64 + 64 };

// Tokens 0..<nt of the group (activations of token t at qs + t * n, d/s + t * units).
static void prepare(int type, const int8_t *qs, const float *d, const float *s, long n, int nt, uint8_t *out) {
    const long units = n / 32;
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i flip = _mm512_set1_epi8(type_offset(type) ? (char)0x80 : 0);  // a + 128 as u8: a XOR 0x80
    for (long j = 0; j < units; j++) {
        uint8_t *blk = out + j * PREP_BLOCK;
        float *da2 = (float *)(blk + GT * 64), *sa2 = da2 + 16;
        for (int t = 0; t < GT; t++) {
            if (t < nt) {
                const __m512i a = _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(
                    _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * j))));
                _mm512_store_si512(blk + 64 * t, _mm512_xor_si512(a, flip));
                da2[2 * t] = da2[2 * t + 1] = d[t * units + j];
                sa2[2 * t] = sa2[2 * t + 1] = s[t * units + j];
            } else {
                da2[2 * t] = da2[2 * t + 1] = 0;
                sa2[2 * t] = sa2[2 * t + 1] = 0;
            }
        }
    }
}

// Prepared rows of a tile, per row group of 4 (2 pairs) and block j: w[2][64], corr[2][64] (signed types only),
// then dm[2][4] floats, padded to keep every block 64-byte aligned.
static inline long row_block(int type) { return type_offset(type) ? 5 * 64 : 3 * 64; }
static inline long dm_at(int type) { return type_offset(type) ? 4 * 64 : 2 * 64; }

// Rows 0..<nr at base (a last group of 1-3 rows repeats its last row), as row blocks, group-major.
// Specialised per type (called with a constant), so that the unpacking has no branches.
static inline __attribute__((always_inline)) void prepare_rows(const int type, const uint8_t *base, long rowBytes, int nr,
                                                               long units, uint8_t *out) {
    const long size = ck_type_size(type);
    const int hasMin = type == CK_Q4_1 || type == CK_Q5_1, offset = type_offset(type);
    for (int r = 0; r < nr; r += 4) {
        const int outRows = nr - r < 4 ? nr - r : 4;
        const uint8_t *rows[4];
        for (int k = 0; k < 4; k++) rows[k] = base + (long)(r + (k < outRows ? k : outRows - 1)) * rowBytes;
        // The next row group's bytes, a block's share at a time: without it every group waits on memory
        // (out of cache, 65,536 rows of Q8_0 x 24 tokens: minima 50.7 ms without, 43.1 with; 8 rows ahead 46.9).
        const uint8_t *ahead = rows[0] + 4 * rowBytes;
        for (long j = 0; j < units; j++, out += row_block(type)) {
            ck_prefetch_bytes(ahead + 4 * size * j, 4 * size);
            for (int p = 0; p < 2; p++) {
                const uint8_t *a = rows[2 * p] + j * size, *b = rows[2 * p + 1] + j * size;
                __m512i w = unpack2(type, a, b);
                if (offset) {  // the signed weights, and -128 x each dword's sum of them
                    w = _mm512_sub_epi8(w, _mm512_set1_epi8((char)offset));
                    _mm512_store_si512(out + 128 + 64 * p, _mm512_sub_epi32(_mm512_setzero_si512(),
                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), w)));
                }
                _mm512_store_si512(out + 64 * p, w);
                float *dm = (float *)(out + dm_at(type) + 16 * p);
                uint16_t h[4] = {0, 0, 0, 0};
                memcpy(&h[0], a, 2);
                memcpy(&h[1], b, 2);
                if (hasMin) {
                    memcpy(&h[2], a + 2, 2);
                    memcpy(&h[3], b + 2, 2);
                }
                uint64_t packed;
                memcpy(&packed, h, 8);
                _mm_store_ps(dm, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)packed)));
            }
        }
    }
}

// RP row pairs of a prepared row group x NT tokens of a prepared token group.
// y[t * ldy + k] gets row k's output for k < outRows.
static inline __attribute__((always_inline)) void kernel(int type, const int RP, const int NT,
        const uint8_t *rowsPrep, long units, const uint8_t *prep, float *y, long ldy, int outRows) {
    const int signedType = type_offset(type) != 0, hasMin = type == CK_Q4_1 || type == CK_Q5_1;
    __m512 acc[2][GT], summs[2];
    for (int p = 0; p < RP; p++) {
        summs[p] = _mm512_setzero_ps();
        for (int t = 0; t < NT; t++) acc[p][t] = _mm512_setzero_ps();
    }
    // The scales of every (row, token, block), dw * da, computed ahead in a pass of their own: the main loop
    // reads each (row pair, token) pair back as a broadcast from memory (load ports, not the vector ports
    // the dots need), and long after it was stored.
    float scales[units][2][16] __attribute__((aligned(64)));
    for (long j = 0; j < units; j++)
        for (int p = 0; p < RP; p++)
            _mm512_store_ps(scales[j][p], _mm512_mul_ps(
                _mm512_castpd_ps(_mm512_set1_pd(*(const double *)(rowsPrep + j * row_block(type) + dm_at(type) + 16 * p))),
                _mm512_load_ps(prep + j * PREP_BLOCK + GT * 64)));
    for (long j = 0; j < units; j++, prep += PREP_BLOCK, rowsPrep += row_block(type)) {
        __m512i w[2];
        for (int p = 0; p < RP; p++) {
            w[p] = _mm512_load_si512(rowsPrep + 64 * p);
            if (hasMin)
                summs[p] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(*(const double *)(rowsPrep + dm_at(type) + 16 * p + 8))),
                                           _mm512_load_ps(prep + GT * 64 + 64), summs[p]);
        }
        for (int t = 0; t < NT; t++) {
            const __m512i a = _mm512_load_si512(prep + 64 * t);
            for (int p = 0; p < RP; p++) {
                // Signed weights: the activations are vpdpbusd's unsigned operand and the rows' correction starts
                // the dot (a fresh load per token: vpdpbusd overwrites it); unsigned weights: the weights are.
                const __m512 dot = _mm512_cvtepi32_ps(signedType
                    ? _mm512_dpbusd_epi32(_mm512_load_si512(rowsPrep + 128 + 64 * p), a, w[p])
                    : _mm512_dpbusd_epi32(_mm512_setzero_si512(), w[p], a));
                double pair;
                memcpy(&pair, &scales[j][p][2 * t], 8);
                acc[p][t] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(pair)), dot, acc[p][t]);
            }
        }
    }
    float sm[2][16] __attribute__((aligned(64)));
    for (int p = 0; p < RP; p++) _mm512_store_ps(sm[p], summs[p]);
    for (int t = 0; t < NT; t++)
        for (int p = 0; p < RP; p++) {
            float h[16] __attribute__((aligned(64)));
            _mm512_store_ps(h, hsum_pairs(acc[p][t]));
            if (2 * p < outRows) y[t * ldy + 2 * p] = h[0] + sm[p][2 * t];
            if (2 * p + 1 < outRows) y[t * ldy + 2 * p + 1] = h[1] + sm[p][2 * t + 1];
        }
}

// Every row group of the tile against one prepared token group.
#define GROUP(TYPE) \
    for (int r = 0; r < nr; r += 4) { \
        const int outRows = nr - r < 4 ? nr - r : 4; \
        const uint8_t *rows = rowStore + (long)(r / 4) * units * row_block(type); /* the group's prepared rows */ \
        if (outRows > 2) { AVX512_NT_CASES(kernel, TYPE, 2, units) } else { AVX512_NT_CASES(kernel, TYPE, 1, units) } \
        y += 4; \
    }

// Per-thread scratch for the prepared rows of one tile.
static _Thread_local struct scratch row_scratch;

int ck_gemm_q8_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                      const float *s, long n, int nt, uint64_t activations, float *yOut, long ldy) {
    if (type != CK_Q4_0 && type != CK_Q4_1 && type != CK_Q5_0 && type != CK_Q5_1 && type != CK_Q8_0) return 0;
    const long units = n / 32;
    long stride;
    int ready;
    uint8_t *preps = group_preps(activations, type, qs, n, nt, GT, units * PREP_BLOCK, &stride, &ready);
    uint8_t *rowStore = scratch_bytes(&row_scratch, (long)((nr + 3) / 4) * units * row_block(type));
    if (!preps || !rowStore) return 0;
    switch (type) {
    case CK_Q4_0: prepare_rows(CK_Q4_0, w, rowBytes, nr, units, rowStore); break;
    case CK_Q4_1: prepare_rows(CK_Q4_1, w, rowBytes, nr, units, rowStore); break;
    case CK_Q5_0: prepare_rows(CK_Q5_0, w, rowBytes, nr, units, rowStore); break;
    case CK_Q5_1: prepare_rows(CK_Q5_1, w, rowBytes, nr, units, rowStore); break;
    default: prepare_rows(CK_Q8_0, w, rowBytes, nr, units, rowStore); break;
    }
    for (int t0 = 0; t0 < nt; t0 += GT) {
        const int group = nt - t0 < GT ? nt - t0 : GT;
        uint8_t *prep = preps + t0 / GT * stride;
        if (!ready) prepare(type, qs + t0 * n, d + t0 * units, s + t0 * units, n, group, prep);
        float *y = yOut + t0 * ldy;
        switch (type) {
        case CK_Q4_0: GROUP(CK_Q4_0); break;
        case CK_Q4_1: GROUP(CK_Q4_1); break;
        case CK_Q5_0: GROUP(CK_Q5_0); break;
        case CK_Q5_1: GROUP(CK_Q5_1); break;
        default: GROUP(CK_Q8_0); break;
        }
    }
    return 1;
}
#undef GROUP
#undef GT

#pragma clang attribute pop
#endif
