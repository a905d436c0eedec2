// Per-block partial dot products of quantized weight rows with 8-bit activations.
//
// One PE of a MeshGEMV tile holds whole quant blocks of its rows and produces one partial per row; on the
// default placements of small models a PE holds a single block, so the host needs one scalar per (row,
// block). The AVX2 path computes eight rows of one block at a time and reduces their integer lanes with a
// transposing horizontal add, so a block costs a few instructions instead of a whole row's setup.

#include "cwafer.h"
#include <math.h>
#include <string.h>

enum { CW_Q4_0 = 2, CW_Q4_1 = 3, CW_Q5_0 = 6, CW_Q5_1 = 7, CW_Q8_0 = 8 };

int cw_block_dots_supported(int type) {
    return type == CW_Q4_0 || type == CW_Q4_1 || type == CW_Q5_0 || type == CW_Q5_1 || type == CW_Q8_0;
}

static long block_bytes(int type) {
    switch (type) {
    case CW_Q4_0: return 18;
    case CW_Q4_1: return 20;
    case CW_Q5_0: return 22;
    case CW_Q5_1: return 24;
    default: return 34;
    }
}

static float half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else {  // subnormal
            float f = ldexpf((float)mant, -24);
            memcpy(&bits, &f, 4);
            bits |= sign;
        }
    } else if (exp == 31) bits = sign | 0x7F800000 | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float load_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return half_to_float(h);
}

// Integer dot of one block (weights as unsigned 0..31 with an offset folded into `min`, or signed for Q8_0),
// and the block's scale and minimum: value = isum * dw * da + mw * sa.
static void block_scalar(int type, const uint8_t *b, const int8_t *a, int32_t *isum, float *dw, float *mw) {
    int32_t sum = 0;
    *dw = load_half(b);
    switch (type) {
    case CW_Q4_0: case CW_Q4_1: {
        const uint8_t *q = b + (type == CW_Q4_1 ? 4 : 2);
        for (int j = 0; j < 16; j++) sum += (q[j] & 0xF) * a[j] + (q[j] >> 4) * a[j + 16];
        *mw = type == CW_Q4_1 ? load_half(b + 2) : -8 * *dw;
        break;
    }
    case CW_Q5_0: case CW_Q5_1: {
        const int one = type == CW_Q5_1;
        uint32_t qh;
        memcpy(&qh, b + (one ? 4 : 2), 4);
        const uint8_t *q = b + (one ? 8 : 6);
        for (int j = 0; j < 16; j++) {
            const int lo = (q[j] & 0xF) | (((qh >> j) & 1) << 4), hi = (q[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            sum += lo * a[j] + hi * a[j + 16];
        }
        *mw = one ? load_half(b + 2) : -16 * *dw;
        break;
    }
    default: {
        const int8_t *q = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) sum += q[j] * a[j];
        *mw = 0;
        break;
    }
    }
    *isum = sum;
}

static void block_dots_scalar(int type, const uint8_t *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                              const float *s, long nb, float *out, long ldo) {
    const long size = block_bytes(type);
    for (int r = 0; r < nr; r++) {
        for (long b = 0; b < nb; b++) {
            int32_t isum;
            float dw, mw;
            block_scalar(type, w + r * rowBytes + b * size, qs + 32 * b, &isum, &dw, &mw);
            out[b * ldo + r] = (float)isum * (dw * d[b]) + mw * s[b];
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)

static inline __m256i nibbles(const uint8_t *p) {
    const __m128i q = _mm_loadu_si128((const __m128i *)p), m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

// 32 bits -> 32 bytes, byte i = 0x10 if bit i is set.
static inline __m256i bits16(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuffle);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_and_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
}

// The low 16 bits of each lane, as halves, converted to floats.
static inline __m256 halves(__m256i x) {
    x = _mm256_and_si256(x, _mm256_set1_epi32(0xFFFF));
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(x, x), 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(p));
}

#define DOT8_AVX2(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))

// Eight int32 lanes of one block's products (sum of lanes = the block's integer dot).
static inline __attribute__((always_inline)) __m256i block_lanes_avx2(int type, const uint8_t *b, __m256i a) {
    __m256i u;
    switch (type) {
    case CW_Q4_0: u = nibbles(b + 2); break;
    case CW_Q4_1: u = nibbles(b + 4); break;
    case CW_Q5_0: u = _mm256_or_si256(nibbles(b + 6), bits16(b + 2)); break;
    case CW_Q5_1: u = _mm256_or_si256(nibbles(b + 8), bits16(b + 4)); break;
    default: {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(b + 2));
        return DOT8_AVX2(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(a, wv));
    }
    }
    return DOT8_AVX2(u, a);
}

// Rows outer, eight consecutive blocks of one row at a time (contiguous bytes, activations and scales);
// a row whose block count is not a multiple of 8 ends with an overlapping group.
static inline __attribute__((always_inline)) void group_avx2(const int type, const uint8_t *row, long b0, long size,
        __m256i offsets, const int8_t *qs, const float *d, const float *s, float *out, long ldo, int r) {
    __m256i v[8];
    for (int i = 0; i < 8; i++)
        v[i] = block_lanes_avx2(type, row + (b0 + i) * size, _mm256_loadu_si256((const __m256i *)(qs + 32 * (b0 + i))));
    // Transposing horizontal add: lane i of the result is the sum of v[i]'s lanes.
    const __m256i a0 = _mm256_hadd_epi32(v[0], v[1]), a1 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i a2 = _mm256_hadd_epi32(v[4], v[5]), a3 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i c0 = _mm256_hadd_epi32(a0, a1), c1 = _mm256_hadd_epi32(a2, a3);
    const __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(c0, c1, 0x20), _mm256_permute2x128_si256(c0, c1, 0x31));
    // Scales of the eight blocks in one gather: the first dword of a block is d (and m for Q4_1, Q5_1).
    const __m256i g = _mm256_i32gather_epi32((const int *)(row + b0 * size), offsets, 1);
    const __m256 dw = halves(g);
    const __m256 mw = type == CW_Q4_1 || type == CW_Q5_1 ? halves(_mm256_srli_epi32(g, 16))
                    : type == CW_Q8_0 ? _mm256_setzero_ps()
                    : _mm256_mul_ps(dw, _mm256_set1_ps(type == CW_Q4_0 ? -8.0f : -16.0f));
    const __m256 value = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(dw, _mm256_loadu_ps(d + b0))),
                                       _mm256_mul_ps(mw, _mm256_loadu_ps(s + b0)));
    float tmp[8];
    _mm256_storeu_ps(tmp, value);
    for (int i = 0; i < 8; i++) out[(b0 + i) * ldo + r] = tmp[i];
}

static inline __attribute__((always_inline)) void rows_avx2(const int type, const uint8_t *w, long rowBytes, int nr,
        const int8_t *qs, const float *d, const float *s, long nb, float *out, long ldo) {
    const long size = block_bytes(type);
    const __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)size));
    for (int r = 0; r < nr; r++) {
        const uint8_t *row = w + r * rowBytes;
        long b = 0;
        for (; b + 8 <= nb; b += 8) group_avx2(type, row, b, size, offsets, qs, d, s, out, ldo, r);
        if (b < nb) group_avx2(type, row, nb - 8, size, offsets, qs, d, s, out, ldo, r);
    }
}

static void block_dots_avx2(int type, const uint8_t *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                            const float *s, long nb, float *out, long ldo) {
    if (nb < 8) { block_dots_scalar(type, w, rowBytes, nr, qs, d, s, nb, out, ldo); return; }
    switch (type) {  // constant types, so each expansion folds block_lanes' switch away
    case CW_Q4_0: rows_avx2(CW_Q4_0, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    case CW_Q4_1: rows_avx2(CW_Q4_1, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    case CW_Q5_0: rows_avx2(CW_Q5_0, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    case CW_Q5_1: rows_avx2(CW_Q5_1, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    default: rows_avx2(CW_Q8_0, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    }
}


#pragma clang attribute pop

// The same with AVX-512 VNNI: the u8 x s8 dot of 4-byte groups is one vpdpbusd.
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni"))), apply_to = function)

// halves() again for this target.
static inline __m256 halves_vnni(__m256i x) {
    x = _mm256_and_si256(x, _mm256_set1_epi32(0xFFFF));
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(x, x), 0x08);
    return _mm256_cvtph_ps(_mm256_castsi256_si128(p));
}
#define DOT8_VNNI(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))

// Eight int32 lanes of one block's products (sum of lanes = the block's integer dot).
static inline __attribute__((always_inline)) __m256i block_lanes_vnni(int type, const uint8_t *b, __m256i a) {
    __m256i u;
    switch (type) {
    case CW_Q4_0: u = nibbles(b + 2); break;
    case CW_Q4_1: u = nibbles(b + 4); break;
    case CW_Q5_0: u = _mm256_or_si256(nibbles(b + 6), bits16(b + 2)); break;
    case CW_Q5_1: u = _mm256_or_si256(nibbles(b + 8), bits16(b + 4)); break;
    default: {
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(b + 2));
        return DOT8_VNNI(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(a, wv));
    }
    }
    return DOT8_VNNI(u, a);
}

// Rows outer, eight consecutive blocks of one row at a time (contiguous bytes, activations and scales);
// a row whose block count is not a multiple of 8 ends with an overlapping group.
static inline __attribute__((always_inline)) void group_vnni(const int type, const uint8_t *row, long b0, long size,
        __m256i offsets, const int8_t *qs, const float *d, const float *s, float *out, long ldo, int r) {
    __m256i v[8];
    for (int i = 0; i < 8; i++)
        v[i] = block_lanes_vnni(type, row + (b0 + i) * size, _mm256_loadu_si256((const __m256i *)(qs + 32 * (b0 + i))));
    // Transposing horizontal add: lane i of the result is the sum of v[i]'s lanes.
    const __m256i a0 = _mm256_hadd_epi32(v[0], v[1]), a1 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i a2 = _mm256_hadd_epi32(v[4], v[5]), a3 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i c0 = _mm256_hadd_epi32(a0, a1), c1 = _mm256_hadd_epi32(a2, a3);
    const __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(c0, c1, 0x20), _mm256_permute2x128_si256(c0, c1, 0x31));
    // Scales of the eight blocks in one gather: the first dword of a block is d (and m for Q4_1, Q5_1).
    const __m256i g = _mm256_i32gather_epi32((const int *)(row + b0 * size), offsets, 1);
    const __m256 dw = halves_vnni(g);
    const __m256 mw = type == CW_Q4_1 || type == CW_Q5_1 ? halves_vnni(_mm256_srli_epi32(g, 16))
                    : type == CW_Q8_0 ? _mm256_setzero_ps()
                    : _mm256_mul_ps(dw, _mm256_set1_ps(type == CW_Q4_0 ? -8.0f : -16.0f));
    const __m256 value = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(dw, _mm256_loadu_ps(d + b0))),
                                       _mm256_mul_ps(mw, _mm256_loadu_ps(s + b0)));
    float tmp[8];
    _mm256_storeu_ps(tmp, value);
    for (int i = 0; i < 8; i++) out[(b0 + i) * ldo + r] = tmp[i];
}

static inline __attribute__((always_inline)) void rows_vnni(const int type, const uint8_t *w, long rowBytes, int nr,
        const int8_t *qs, const float *d, const float *s, long nb, float *out, long ldo) {
    const long size = block_bytes(type);
    const __m256i offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)size));
    for (int r = 0; r < nr; r++) {
        const uint8_t *row = w + r * rowBytes;
        long b = 0;
        for (; b + 8 <= nb; b += 8) group_vnni(type, row, b, size, offsets, qs, d, s, out, ldo, r);
        if (b < nb) group_vnni(type, row, nb - 8, size, offsets, qs, d, s, out, ldo, r);
    }
}

static void block_dots_vnni(int type, const uint8_t *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                            const float *s, long nb, float *out, long ldo) {
    if (nb < 8) { block_dots_scalar(type, w, rowBytes, nr, qs, d, s, nb, out, ldo); return; }
    switch (type) {  // constant types, so each expansion folds block_lanes' switch away
    case CW_Q4_0: rows_vnni(CW_Q4_0, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    case CW_Q4_1: rows_vnni(CW_Q4_1, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    case CW_Q5_0: rows_vnni(CW_Q5_0, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    case CW_Q5_1: rows_vnni(CW_Q5_1, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    default: rows_vnni(CW_Q8_0, w, rowBytes, nr, qs, d, s, nb, out, ldo); break;
    }
}


#pragma clang attribute pop
#endif

void cw_block_dots_q8(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                      const float *s, long nb, float *out, long ldo) {
#if defined(__x86_64__)
    static int level = -1;  // 0 scalar, 1 AVX2, 2 AVX-512 VNNI
    if (level < 0) {
        const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        const int vnni = avx2 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
        level = vnni ? 2 : avx2 ? 1 : 0;
    }
    if (level == 2) { block_dots_vnni(type, (const uint8_t *)w, rowBytes, nr, qs, d, s, nb, out, ldo); return; }
    if (level == 1) { block_dots_avx2(type, (const uint8_t *)w, rowBytes, nr, qs, d, s, nb, out, ldo); return; }
#endif
    block_dots_scalar(type, (const uint8_t *)w, rowBytes, nr, qs, d, s, nb, out, ldo);
}

static void reduce_steps_plain(const int32_t *steps, long nsteps, float *base, long stride, long length) {
    for (long k = 0; k < nsteps; k++) {
        float *d = base + steps[2 * k] * stride;
        const float *x = base + steps[2 * k + 1] * stride;
        for (long i = 0; i < length; i++) d[i] += x[i];
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void reduce_steps_avx2(const int32_t *steps, long nsteps, float *base, long stride, long length) {
    for (long k = 0; k < nsteps; k++) {
        float *d = base + steps[2 * k] * stride;
        const float *x = base + steps[2 * k + 1] * stride;
        long i = 0;
        for (; i + 8 <= length; i += 8) _mm256_storeu_ps(d + i, _mm256_add_ps(_mm256_loadu_ps(d + i), _mm256_loadu_ps(x + i)));
        for (; i < length; i++) d[i] += x[i];
    }
}
#endif

void cw_reduce_steps(const int32_t *steps, long nsteps, float *base, long stride, long length) {
#if defined(__x86_64__)
    static int avx2 = -1;
    if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2");
    if (avx2) { reduce_steps_avx2(steps, nsteps, base, stride, length); return; }
#endif
    reduce_steps_plain(steps, nsteps, base, stride, length);
}
