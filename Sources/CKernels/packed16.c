// Q5_0 and Q8_0 matrices repacked in groups of 16 rows, and their products with 8-bit activations (Q8_0
// format) in one summation order for any number of tokens: decode, prompt lookup's verify passes and prefill
// give the same bits for a token.
//
// The order (not llama.cpp's; see ck_pack16 in ckernels.h): per output (row r, token t), for the blocks j of 32
// in increasing order,
//   isum_j = the exact integer sum of the block's 32 products (weight quant x activation quant),
//   acc    = fma(dw_r,j * da_t,j, float(isum_j), acc),       starting from acc = 0,
// and the output is acc. llama.cpp keeps 8 float partial sums per output (one per dword lane) instead, which a
// 512-bit register can only hold for two rows of one token; here a register holds one lane per row of the
// group, so per (16 rows, token, block) the work is 8 vpdpbusd, a convert, a multiply and a fused multiply-add
// (11 vector operations for 512 products, against 32 in the two-rows-per-register kernels).
//
// Layout of a group of 16 rows: exactly the bytes of the 16 rows it replaces (group g of a matrix starts at
// g * 16 * rowBytes), blocks in pairs so that the group is one sequential stream of 512-bit loads (aligned when
// the rows have an even number of blocks):
//   per pair of blocks (j, j + 1; a last block alone when the row has an odd number): the qs of both, then the
//   qh of both (Q5_0), then the scales of both, where for block j:
//   Q5_0: qs[4][16 dwords]  dword (q, r) = bytes 4q..4q+3 of row r's 16 nibble bytes: elements 4q+i (low
//                           nibbles) and 16+4q+i (high nibbles)
//         qh[16 dwords]     row r's 32 fifth bits
//         d[16] f16         row r's scale
//   Q8_0: qs[8][16 dwords]  dword (k, r) = row r's elements 4k..4k+3, each + 128 (as unsigned bytes)
//         d[16] f16
// Weights enter vpdpbusd unsigned (Q5_0: q in 0..31, Q8_0: q + 128) against the signed activations, and the
// offset comes off exactly: the integer dot starts from -offset x (the sum of the token's 32 quants of the block).
#include "ckernels_internal.h"
#include <math.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF

int ck_pack16_supported(int type) { return type == CK_Q5_0 || type == CK_Q8_0; }

// Where the parts of block j of a group lie.
struct block_parts { const uint8_t *qs, *qh, *d; };

static inline __attribute__((always_inline)) struct block_parts parts_at(const int type, const uint8_t *group, long units,
                                                                         long j) {
    const long qsb = type == CK_Q5_0 ? 256 : 512, qhb = type == CK_Q5_0 ? 64 : 0, pair = 2 * (qsb + qhb + 32);
    const uint8_t *base = group + (j / 2) * pair;
    const long count = j / 2 * 2 + 1 < units ? 2 : 1, i = j % 2;
    const uint8_t *qs = base + i * qsb, *qh = base + count * qsb + i * qhb;
    return (struct block_parts){qs, qh, base + count * (qsb + qhb) + i * 32};
}

int ck_pack16(int type, const void *w, long rowBytes, int nr, long n, void *out) {
    if (!ck_pack16_supported(type) || nr % 16 != 0 || n % 32 != 0 || rowBytes != n / 32 * ck_type_size(type)) return 0;
    const long units = n / 32, size = ck_type_size(type);
    for (int g = 0; g < nr / 16; g++) {
        uint8_t *o = (uint8_t *)out + (long)g * 16 * rowBytes;
        for (long j = 0; j < units; j++) {
            const struct block_parts p = parts_at(type, o, units, j);
            uint8_t *qs = (uint8_t *)p.qs, *qh = (uint8_t *)p.qh, *d = (uint8_t *)p.d;
            for (int r = 0; r < 16; r++) {
                const uint8_t *b = (const uint8_t *)w + (long)(16 * g + r) * rowBytes + j * size;
                memcpy(d + 2 * r, b, 2);
                if (type == CK_Q5_0) {
                    for (int q = 0; q < 4; q++) memcpy(qs + q * 64 + 4 * r, b + 6 + 4 * q, 4);
                    memcpy(qh + 4 * r, b + 2, 4);
                } else {
                    for (int k = 0; k < 8; k++) {
                        uint32_t v;
                        memcpy(&v, b + 2 + 4 * k, 4);
                        v ^= 0x80808080u;  // q + 128 in every byte
                        memcpy(qs + k * 64 + 4 * r, &v, 4);
                    }
                }
            }
        }
    }
    return 1;
}

// Weight e (0..31) of row r (0..15) in block j of a group, signed; and the block's scale.
static int weight_at(int type, const uint8_t *group, long units, int r, long j, int e) {
    const struct block_parts p = parts_at(type, group, units, j);
    if (type == CK_Q8_0) return (int)p.qs[(e / 4) * 64 + 4 * r + e % 4] - 128;
    const int e16 = e % 16;
    const uint8_t byte = p.qs[(e16 / 4) * 64 + 4 * r + e16 % 4];
    uint32_t qh;
    memcpy(&qh, p.qh + 4 * r, 4);
    return ((e < 16 ? byte & 0xF : byte >> 4) | (int)((qh >> e) & 1) << 4) - 16;
}

static float scale_at(int type, const uint8_t *group, long units, int r, long j) {
    return ck_half(parts_at(type, group, units, j).d + 2 * r);
}

// The scalar reference: groups of rows at w (nr a multiple of 16) x nt tokens, y[t * ldy + r].
static void gemm_pack16_scalar(int type, const uint8_t *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                               long n, int nt, float *y, long ldy) {
    const long units = n / 32;
    for (int g = 0; g < nr / 16; g++) {
        const uint8_t *group = w + (long)g * 16 * rowBytes;
        for (int r = 0; r < 16; r++)
            for (int t = 0; t < nt; t++) {
                float acc = 0;
                for (long j = 0; j < units; j++) {
                    int isum = 0;
                    for (int e = 0; e < 32; e++) isum += weight_at(type, group, units, r, j, e) * qs[t * n + 32 * j + e];
                    acc = fmaf(scale_at(type, group, units, r, j) * d[t * units + j], (float)isum, acc);
                }
                y[t * ldy + 16 * g + r] = acc;
            }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi2,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#include "gemm_avx512.h"

// The most tokens whose accumulators stay in registers (8 weight registers, the scales and a dot beside them).
enum { CHUNK = 12 };
// How far ahead the group's stream is fetched into L1, in bytes (out of cache, Q5_0 4,864 x 896, one thread, medians
// of 30 alternating rounds against the two-rows-per-register kernels: 1 token 0.95x without, 0.70x at 2,048 and
// 0.66x at 4,096; 3 tokens 0.79x, 0.51x, 0.47x; 24 tokens 0.77x, 0.72x, 0.58x).
enum { AHEAD = 4096 };

// The 8 unsigned weight registers of block j of a group: lane r of W[k] = row r's elements 4k..4k+3.
static inline __attribute__((always_inline)) void weights16(const int type, struct block_parts p, __m512i W[8]) {
    if (type == CK_Q8_0) {
        for (int k = 0; k < 8; k++) W[k] = _mm512_loadu_si512(p.qs + 64 * k);
        return;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    // lut[i]: the 4 bits of i as 0x10 in bytes 0..3 (vpermd reads the low 4 bits of each index)
    const __m512i lut = _mm512_setr_epi32(0x00000000, 0x00000010, 0x00001000, 0x00001010, 0x00100000, 0x00100010,
                                          0x00101000, 0x00101010, 0x10000000, 0x10000010, 0x10001000, 0x10001010,
                                          0x10100000, 0x10100010, 0x10101000, 0x10101010);
    const __m512i H = _mm512_loadu_si512(p.qh);
    for (int q = 0; q < 4; q++) {
        const __m512i N = _mm512_loadu_si512(p.qs + 64 * q);
        W[q] = _mm512_and_si512(N, m4);
        W[q + 4] = _mm512_and_si512(_mm512_srli_epi16(N, 4), m4);
    }
    // dword k holds elements 4k..4k+3, whose fifth bits are bits 4k..4k+3 of qh
    for (int k = 0; k < 8; k++)
        W[k] = _mm512_or_si512(W[k], _mm512_permutexvar_epi32(k ? _mm512_srli_epi32(H, 4 * k) : H, lut));
}

// One group x NT tokens (activations of token t at qs + t * n; corr[t * units + j] starts block j's dot).
static inline __attribute__((always_inline)) void group_tokens(const int type, const int NT, const uint8_t *group,
        long units, const int8_t *qs, long n, const float *d, const int32_t *corr, float *y, long ldy) {
    __m512 acc[CHUNK];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    for (long j = 0; j < units; j++) {
        const struct block_parts p = parts_at(type, group, units, j);
        ck_prefetch_bytes(p.qs + AHEAD, type == CK_Q5_0 ? 352 : 544);
        __m512i W[8];
        weights16(type, p, W);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p.d));
        for (int t = 0; t < NT; t++) {
            const int32_t *x = (const int32_t *)(qs + t * n + 32 * j);
            __m512i dot = _mm512_set1_epi32(corr[t * units + j]);
            for (int k = 0; k < 8; k++) dot = _mm512_dpbusd_epi32(dot, W[k], _mm512_set1_epi32(x[k]));
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(d[t * units + j])), _mm512_cvtepi32_ps(dot), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

#define TOKENS_CASES(TYPE) \
    switch (m) { \
    case 1: group_tokens(TYPE, 1, group, units, q, n, dt, ct, yt, ldy); break; \
    case 2: group_tokens(TYPE, 2, group, units, q, n, dt, ct, yt, ldy); break; \
    case 3: group_tokens(TYPE, 3, group, units, q, n, dt, ct, yt, ldy); break; \
    case 4: group_tokens(TYPE, 4, group, units, q, n, dt, ct, yt, ldy); break; \
    case 5: group_tokens(TYPE, 5, group, units, q, n, dt, ct, yt, ldy); break; \
    case 6: group_tokens(TYPE, 6, group, units, q, n, dt, ct, yt, ldy); break; \
    case 7: group_tokens(TYPE, 7, group, units, q, n, dt, ct, yt, ldy); break; \
    case 8: group_tokens(TYPE, 8, group, units, q, n, dt, ct, yt, ldy); break; \
    case 9: group_tokens(TYPE, 9, group, units, q, n, dt, ct, yt, ldy); break; \
    case 10: group_tokens(TYPE, 10, group, units, q, n, dt, ct, yt, ldy); break; \
    case 11: group_tokens(TYPE, 11, group, units, q, n, dt, ct, yt, ldy); break; \
    default: group_tokens(TYPE, 12, group, units, q, n, dt, ct, yt, ldy); break; \
    }

// The offsets' corrections of nt tokens: corr[t * units + j] = -offset x (the sum of block j's quants).
static void corrections(int type, const int8_t *qs, long n, int nt, int32_t *corr) {
    const long units = n / 32;
    const int offset = type_offset(type);  // 16 for Q5_0, 128 for Q8_0 (as packed)
    const __m256i ones = _mm256_set1_epi8(1);
    for (int t = 0; t < nt; t++)
        for (long j = 0; j < units; j++) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * j));
            const __m256i s8 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, x);  // 8 sums of 4
            __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
            s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
            corr[t * units + j] = -offset * _mm_cvtsi128_si32(s);
        }
}

static int gemm_pack16_avx512(int type, const uint8_t *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                              long n, int nt, uint64_t activations, float *y, long ldy) {
    const long units = n / 32;
    int ready;
    int32_t *corr = (int32_t *)prep_storage(activations, type, qs, n, nt, 4L * nt * units, &ready);
    if (!corr) return 0;
    if (!ready) corrections(type, qs, n, nt, corr);
    // Tokens in chunks of at most CHUNK, as even as can be (17 = 9 + 8): each chunk unpacks the group again.
    const int chunks = (nt + CHUNK - 1) / CHUNK;
    for (int g = 0; g < nr / 16; g++) {
        const uint8_t *group = w + (long)g * 16 * rowBytes;
        for (int c = 0, t0 = 0; c < chunks; c++) {
            const int m = (nt - t0) / (chunks - c);
            const int8_t *q = qs + t0 * n;
            const float *dt = d + t0 * units;
            const int32_t *ct = corr + t0 * units;
            float *yt = y + t0 * ldy + 16 * g;
            if (type == CK_Q5_0) { TOKENS_CASES(CK_Q5_0) } else { TOKENS_CASES(CK_Q8_0) }
            t0 += m;
        }
    }
    return 1;
}
#undef TOKENS_CASES
#pragma clang attribute pop
#endif

void ck_gemm_pack16(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d, long n, int nt,
                    uint64_t activations, float *y, long ldy) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX512VNNI &&
        gemm_pack16_avx512(type, w, rowBytes, nr, qs, d, n, nt, activations, y, ldy)) return;
#endif
    gemm_pack16_scalar(type, w, rowBytes, nr, qs, d, n, nt, y, ldy);
}
