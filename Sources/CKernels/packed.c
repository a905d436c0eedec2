// Weights repacked at load for the AVX-512 VNNI kernel: 16 rows interleaved per 32-column unit, so one
// vpdpbusd multiplies 4 columns of 16 rows by 4 broadcast activations and its 16 lanes are 16 outputs.
// No horizontal sums, the per-unit scales of 16 rows are one vector, and a unit's weights are unpacked
// once for up to 4 tokens.
//
// Every supported type is first decoded to unsigned quants: w_i = scale * q_i + min per unit of 32
// (Q4_0: min = -8 scale; Q8_0: q = w + 128, min = -128 scale; Q4_K: scale = d * sc, min = -dmin * m), so
// row . x = sum over units of scale * dx * (q . qx) + min * sx, with dx, sx as in ck_q8.
//
// Layout of one row group (16 rows), unit after unit, each unit:
//   [0, 32)   16 scales, f16
//   [32, 64)  16 mins, f16
//   bits 4/5: [64, 320)  P_p, p = 0..3, 64 bytes each: byte 4r+b = q_r[4p+b] | q_r[16+4p+b] << 4
//   bits 5:   [320, 384) M_g, g = 0..7, 64-bit masks: bit 4r+b = bit 4 of q_r[4g+b]
//   bits 8:   [64, 576)  K_g, g = 0..7, 64 bytes each: byte 4r+b = q_r[4g+b]
// so register K_g (columns 4g..4g+3 of all 16 rows) is P_g & 15 (g < 4) or P_{g-4} >> 4 (g >= 4), plus
// 16 where M_g is set, or the load of K_g.
#include "ckernels_internal.h"
#include <math.h>

static int packed_bits(int type) {
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: case CK_Q4_K: return 4;
    case CK_Q5_0: case CK_Q5_1: case CK_Q5_K: return 5;
    case CK_Q8_0: return 8;
    default: return 0;
    }
}

static long unit_bytes(int bits) { return bits == 8 ? 576 : bits == 5 ? 384 : 320; }

int ck_packed_bits(int type) { return packed_bits(type); }

long ck_packed_bytes(int type, long rows, long n) {
    const int bits = packed_bits(type);
    if (!bits || rows % CK_PACK_ROWS || n % 32 || n % ck_block_size(type)) return 0;
    return rows / CK_PACK_ROWS * (n / 32) * unit_bytes(bits);
}

// Unit j (32 elements) of a row: unsigned quants q and w_i = scale * q_i + min.
static void decode_unit(int type, const uint8_t *row, long j, uint8_t *q, float *scale, float *min) {
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: {
        const int has_min = type == CK_Q4_1;
        const uint8_t *b = row + j * (has_min ? 20 : 18), *qs = b + (has_min ? 4 : 2);
        for (int i = 0; i < 16; i++) { q[i] = qs[i] & 15; q[i + 16] = qs[i] >> 4; }
        *scale = ck_half(b);
        *min = has_min ? ck_half(b + 2) : -8 * *scale;
        break;
    }
    case CK_Q5_0: case CK_Q5_1: {
        const int has_min = type == CK_Q5_1;
        const uint8_t *b = row + j * (has_min ? 24 : 22), *qs = b + (has_min ? 8 : 6);
        uint32_t qh;
        memcpy(&qh, b + (has_min ? 4 : 2), 4);
        for (int i = 0; i < 16; i++) {
            q[i] = (uint8_t)((qs[i] & 15) | ((qh >> i) & 1) << 4);
            q[i + 16] = (uint8_t)((qs[i] >> 4) | ((qh >> (i + 16)) & 1) << 4);
        }
        *scale = ck_half(b);
        *min = has_min ? ck_half(b + 2) : -16 * *scale;
        break;
    }
    case CK_Q8_0: {
        const uint8_t *b = row + j * 34;
        for (int i = 0; i < 32; i++) q[i] = (uint8_t)(b[2 + i] ^ 0x80);  // int8 + 128
        *scale = ck_half(b);
        *min = -128 * *scale;
        break;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int five = type == CK_Q5_K, sub = (int)(j % 8);
        const uint8_t *b = row + (j / 8) * (five ? 176 : 144);
        const uint8_t *qh = b + 16, *qs = b + (five ? 48 : 16) + 32 * (sub / 2);
        uint8_t sc, m;
        ck_scale_min_k4(sub, b + 4, &sc, &m);
        for (int l = 0; l < 32; l++) {
            int v = (sub & 1) ? qs[l] >> 4 : qs[l] & 15;
            if (five) v |= ((qh[l] >> sub) & 1) << 4;
            q[l] = (uint8_t)v;
        }
        *scale = ck_half(b) * sc;
        *min = -ck_half(b + 2) * m;
        break;
    }
    }
}

// Round to nearest even f16 (scales and mins are small normal numbers; overflow saturates to infinity).
static uint16_t float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    x &= 0x7FFFFFFF;
    if (x >= 0x47800000) return (uint16_t)(sign | 0x7C00);          // >= 65536: infinity
    if (x < 0x38800000) {                                            // subnormal f16
        float a;
        memcpy(&a, &x, 4);
        return (uint16_t)(sign | (uint32_t)nearbyintf(a * 16777216.0f));
    }
    const uint32_t mant = x & 0x1FFF;
    uint32_t h = ((x >> 13) - (112 << 10));
    if (mant > 0x1000 || (mant == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

// -8 d, -16 d, -128 d of an f16 d by adding to its exponent (0 when d is not a normal number with room).
static inline int half_times_minus_pow2(uint16_t h, int log2, uint16_t *out) {
    const int e = (h >> 10) & 31;
    if (e == 0 || e + log2 >= 31) return 0;
    *out = (uint16_t)((h + (log2 << 10)) ^ 0x8000);
    return 1;
}

// Fast path for the 32-element block types: the packed nibbles are the block's own bytes, 4 at a time
// (a Q4 block byte i holds elements i and i + 16, as a packed byte does); returns 0 when a min has to go
// the slow way.
static int pack_unit_blocks(int type, const uint8_t *w, long rowBytes, long g, long j, uint8_t *u) {
    uint64_t masks[8] = {0};
    for (int r = 0; r < CK_PACK_ROWS; r++) {
        const uint8_t *row = w + (g * CK_PACK_ROWS + r) * rowBytes;
        uint16_t d, m;
        switch (type) {
        case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: {
            const int has_min = type == CK_Q4_1 || type == CK_Q5_1, five = type == CK_Q5_0 || type == CK_Q5_1;
            const long size = five ? (has_min ? 24 : 22) : (has_min ? 20 : 18);
            const uint8_t *b = row + j * size, *qs = b + (has_min ? 4 : 2) + (five ? 4 : 0);
            memcpy(&d, b, 2);
            if (has_min) memcpy(&m, b + 2, 2);
            else if (!half_times_minus_pow2(d, five ? 4 : 3, &m)) return 0;
            for (int p = 0; p < 4; p++) memcpy(u + 64 + 64 * p + 4 * r, qs + 4 * p, 4);
            if (five) {
                uint32_t qh;
                memcpy(&qh, b + (has_min ? 4 : 2), 4);
                for (int grp = 0; grp < 8; grp++) masks[grp] |= (uint64_t)((qh >> (4 * grp)) & 15) << (4 * r);
            }
            break;
        }
        case CK_Q8_0: {
            const uint8_t *b = row + j * 34;
            memcpy(&d, b, 2);
            if (!half_times_minus_pow2(d, 7, &m)) return 0;
            for (int grp = 0; grp < 8; grp++) {
                uint32_t v;
                memcpy(&v, b + 2 + 4 * grp, 4);
                v ^= 0x80808080u;
                memcpy(u + 64 + 64 * grp + 4 * r, &v, 4);
            }
            break;
        }
        default: return 0;
        }
        memcpy(u + 2 * r, &d, 2);
        memcpy(u + 32 + 2 * r, &m, 2);
    }
    if (type == CK_Q5_0 || type == CK_Q5_1) memcpy(u + 320, masks, 64);
    return 1;
}

int ck_pack_groups(int type, const void *w, long rowBytes, long n, long g0, long ng, void *dst) {
    const int bits = packed_bits(type);
    const long units = n / 32, ub = unit_bytes(bits);
    int ok = 1;
    uint8_t q[32];
    for (long g = g0; g < g0 + ng; g++) {
        for (long j = 0; j < units; j++) {
            uint8_t *u = (uint8_t *)dst + (g * units + j) * ub;
            if (ck_block_size(type) == 32 && pack_unit_blocks(type, w, rowBytes, g, j, u)) continue;
            uint64_t masks[8] = {0};
            for (int r = 0; r < CK_PACK_ROWS; r++) {
                float scale, min;
                decode_unit(type, (const uint8_t *)w + (g * CK_PACK_ROWS + r) * rowBytes, j, q, &scale, &min);
                const uint16_t hs = float_to_half(scale), hm = float_to_half(min);
                if ((hs & 0x7C00) == 0x7C00 || (hm & 0x7C00) == 0x7C00) ok = 0;  // not representable
                memcpy(u + 2 * r, &hs, 2);
                memcpy(u + 32 + 2 * r, &hm, 2);
                if (bits == 8) {
                    for (int grp = 0; grp < 8; grp++) memcpy(u + 64 + 64 * grp + 4 * r, q + 4 * grp, 4);
                    continue;
                }
                for (int i = 0; i < 16; i++)
                    u[64 + 64 * (i / 4) + 4 * r + i % 4] = (uint8_t)((q[i] & 15) | (q[16 + i] & 15) << 4);
                if (bits == 5)
                    for (int e = 0; e < 32; e++)
                        masks[e / 4] |= (uint64_t)((q[e] >> 4) & 1) << (4 * r + e % 4);
            }
            if (bits == 5) memcpy(u + 320, masks, 64);
        }
    }
    return ok;
}

// Portable version of the packed kernel (the reference the VNNI kernel is tested against).
void ck_gemm_packed_scalar(int bits, const void *packed, long n, long g0, long ng, const int8_t *qs,
                           const float *d, const float *s, int nt, float *y, long ldy) {
    const long units = n / 32, ub = unit_bytes(bits);
    for (long g = g0; g < g0 + ng; g++) {
        for (int t = 0; t < nt; t++) {
            float acc[CK_PACK_ROWS] = {0};
            for (long j = 0; j < units; j++) {
                const uint8_t *u = (const uint8_t *)packed + (g * units + j) * ub;
                const int8_t *a = qs + t * n + 32 * j;
                for (int r = 0; r < CK_PACK_ROWS; r++) {
                    int dot = 0;
                    for (int e = 0; e < 32; e++) {
                        const int grp = e / 4, byte = 4 * r + e % 4;
                        int v;
                        if (bits == 8) v = u[64 + 64 * grp + byte];
                        else {
                            v = (u[64 + 64 * (grp % 4) + byte] >> (grp < 4 ? 0 : 4)) & 15;
                            if (bits == 5) v |= ((u[320 + 8 * grp + byte / 8] >> (byte % 8)) & 1) << 4;
                        }
                        dot += v * a[e];
                    }
                    uint16_t hs, hm;
                    memcpy(&hs, u + 2 * r, 2);
                    memcpy(&hm, u + 32 + 2 * r, 2);
                    acc[r] += ck_half_to_float(hs) * d[t * units + j] * (float)dot + ck_half_to_float(hm) * s[t * units + j];
                }
            }
            for (int r = 0; r < CK_PACK_ROWS; r++) y[t * ldy + g * CK_PACK_ROWS + r] = acc[r];
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)

// One row group (16 rows) against NT tokens: y[t * ldy + r] for r in 0..<16.
static inline __attribute__((always_inline)) void packed_group(const uint8_t *u, const int bits, long n,
        const int8_t *qs, const float *d, const float *s, const int NT, float *y, long ldy) {
    const long units = n / 32, ub = unit_bytes(bits);
    const __m512i m4 = _mm512_set1_epi8(15), sixteen = _mm512_set1_epi8(16), zero = _mm512_setzero_si512();
    __m512 acc[4];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    for (long j = 0; j < units; j++, u += ub) {
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)u));
        const __m512 mw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(u + 32)));
        __m512i k[8];
        if (bits == 8) {
            for (int g = 0; g < 8; g++) k[g] = _mm512_loadu_si512(u + 64 + 64 * g);
        } else {
            for (int p = 0; p < 4; p++) {
                const __m512i packed = _mm512_loadu_si512(u + 64 + 64 * p);
                k[p] = _mm512_and_si512(packed, m4);
                k[p + 4] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), m4);
            }
            if (bits == 5) {
                for (int g = 0; g < 8; g++) {
                    uint64_t bitsOfG;
                    memcpy(&bitsOfG, u + 320 + 8 * g, 8);
                    k[g] = _mm512_mask_add_epi8(k[g], _cvtu64_mask64(bitsOfG), k[g], sixteen);
                }
            }
        }
        for (int t = 0; t < NT; t++) {
            const int8_t *a = qs + t * n + 32 * j;
            int32_t av[8];
            memcpy(av, a, 32);
            __m512i s0 = _mm512_dpbusd_epi32(zero, k[0], _mm512_set1_epi32(av[0]));
            __m512i s1 = _mm512_dpbusd_epi32(zero, k[1], _mm512_set1_epi32(av[1]));
            s0 = _mm512_dpbusd_epi32(s0, k[2], _mm512_set1_epi32(av[2]));
            s1 = _mm512_dpbusd_epi32(s1, k[3], _mm512_set1_epi32(av[3]));
            s0 = _mm512_dpbusd_epi32(s0, k[4], _mm512_set1_epi32(av[4]));
            s1 = _mm512_dpbusd_epi32(s1, k[5], _mm512_set1_epi32(av[5]));
            s0 = _mm512_dpbusd_epi32(s0, k[6], _mm512_set1_epi32(av[6]));
            s1 = _mm512_dpbusd_epi32(s1, k[7], _mm512_set1_epi32(av[7]));
            const __m512 p = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
            acc[t] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, _mm512_set1_ps(d[t * units + j])), acc[t]);
            acc[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(s[t * units + j]), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// Row groups g0..<g0+ng, tokens in groups of 4 inside (a group's weights stay in L1 across the tokens).
#define PACKED_GROUPS(BITS) do { \
    const long groupBytes = units * unit_bytes(BITS); \
    for (long g = g0; g < g0 + ng; g++) { \
        const uint8_t *u = (const uint8_t *)packed + g * groupBytes; \
        float *yg = y + g * CK_PACK_ROWS; \
        int t = 0; \
        for (; t + 4 <= nt; t += 4) packed_group(u, BITS, n, qs + t * n, d + t * units, s + t * units, 4, yg + t * ldy, ldy); \
        switch (nt - t) { \
        case 3: packed_group(u, BITS, n, qs + t * n, d + t * units, s + t * units, 3, yg + t * ldy, ldy); break; \
        case 2: packed_group(u, BITS, n, qs + t * n, d + t * units, s + t * units, 2, yg + t * ldy, ldy); break; \
        case 1: packed_group(u, BITS, n, qs + t * n, d + t * units, s + t * units, 1, yg + t * ldy, ldy); break; \
        } \
    } } while (0)

void ck_gemm_packed_vnni(int bits, const void *packed, long n, long g0, long ng, const int8_t *qs,
                         const float *d, const float *s, int nt, float *y, long ldy) {
    const long units = n / 32;
    switch (bits) {
    case 4: PACKED_GROUPS(4); break;
    case 5: PACKED_GROUPS(5); break;
    case 8: PACKED_GROUPS(8); break;
    }
}
#undef PACKED_GROUPS
#pragma clang attribute pop
#endif
