// Portable kernels: activation quantization, block decoding and the integer dot products in plain C.
// These are the fallback when the CPU has no AVX2, and the reference the SIMD kernels are tested against
// (Kernels.setSIMDLevel(.scalar)). Block layouts: see Sources/Kernels/Reference.swift.
#include "ckernels_internal.h"
#include <math.h>
#include <string.h>

// Every fused multiply-add below is written as fmaf; nothing else may be contracted, so that these
// kernels and the SIMD ones (which use the same operations in the same order) give the same bits.
#pragma STDC FP_CONTRACT OFF

float ck_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    int exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    float f;
    if (exponent == 0) {
        f = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -f : f;
    }
    uint32_t bits = exponent == 31 ? (sign | 0x7F800000u | (mantissa << 13))
                                   : (sign | (uint32_t)(exponent - 15 + 127) << 23 | (mantissa << 13));
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ck_float_to_half(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    const int exponent = (int)((bits >> 23) & 0xFF);
    uint32_t mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) return sign | 0x7C00 | (mantissa ? 0x200 : 0);
    int e = exponent - 127 + 15;
    if (e >= 31) return sign | 0x7C00;
    if (e <= 0) {  // subnormal half or zero
        if (e < -10) return sign;
        mantissa |= 0x800000;
        const uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mantissa >> shift;
        const uint32_t remainder = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = mantissa >> 13;
    const uint32_t remainder = mantissa & 0x1FFF;
    if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1))) {
        half++;
        if (half == 0x400) { half = 0; e++; }
        if (e >= 31) return sign | 0x7C00;
    }
    return sign | (uint16_t)(e << 10) | (uint16_t)half;
}

float ck_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7FFFFFFF) > 0x7F800000) u |= 0x400000;                  // NaN stays NaN
    else u = (u + (0x7FFF + ((u >> 16) & 1))) & 0xFFFF0000u;             // ties to even
    memcpy(&f, &u, 4);
    return f;
}

// Q8_0 / Q8_1 (ggml quantize_row_q8_0 / q8_1 on x86): d = amax / 127 rounded to F16, q = round_even(x * 127 / amax).
void ck_quantize_q8_scalar(const float *x, long n, ck_q8 out, int q8_1) {
    for (long b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xb[i]));
        const float d = amax / 127.0f;
        const float id = amax != 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            const int q = (int)nearbyintf(xb[i] * id);
            out.qs[32 * b + i] = (int8_t)q;
            sum += q;
        }
        const float dh = ck_f16_round(d);
        out.d[b] = dh;
        out.s[b] = q8_1 ? ck_f16_round(d * (float)sum) : dh * (float)sum;
    }
}

// ggml's nearest_int: round to nearest, ties to even, for |v| < 2^22.
static inline int nearest_int(float v) {
    const float shifted = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &shifted, 4);
    return (i & 0x007FFFFF) - 0x00400000;
}

// Q8_K (ggml quantize_row_q8_K_ref, which x86 uses too): one scale per 256, signed so that the element of
// largest magnitude maps to -127.
void ck_quantize_q8_K(const float *x, long n, ck_q8 out) {
    for (long b = 0; b < n / 256; b++) {
        const float *xb = x + 256 * b;
        int8_t *q = out.qs + 256 * b;
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++) {
            const float ax = fabsf(xb[j]);
            if (ax > amax) { amax = ax; max = xb[j]; }
        }
        if (amax == 0) {
            memset(q, 0, 256);
            for (int u = 0; u < 8; u++) out.d[8 * b + u] = out.s[8 * b + u] = 0;
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            const int v = nearest_int(iscale * xb[j]);
            q[j] = (int8_t)(v < 127 ? v : 127);
        }
        const float d = 1 / iscale;
        for (int u = 0; u < 8; u++) {
            int sum = 0;
            for (int i = 0; i < 32; i++) sum += q[32 * u + i];
            out.d[8 * b + u] = d;
            out.s[8 * b + u] = (float)sum;
        }
    }
}

// Decodes one block of `type` into y (32 or 256 floats). Same arithmetic as Reference.swift.
void ck_dequantize_block(int type, const uint8_t *b, float *y) {
    switch (type) {
    case CK_Q8_0: {
        const float d = ck_half(b);
        for (int i = 0; i < 32; i++) y[i] = d * (float)(int8_t)b[2 + i];
        break;
    }
    case CK_Q4_0: {
        const float d = ck_half(b);
        for (int i = 0; i < 16; i++) {
            y[i] = d * (float)((b[2 + i] & 0xF) - 8);
            y[i + 16] = d * (float)((b[2 + i] >> 4) - 8);
        }
        break;
    }
    case CK_Q4_1: {
        const float d = ck_half(b), m = ck_half(b + 2);
        for (int i = 0; i < 16; i++) {
            y[i] = d * (float)(b[4 + i] & 0xF) + m;
            y[i + 16] = d * (float)(b[4 + i] >> 4) + m;
        }
        break;
    }
    case CK_Q5_0: case CK_Q5_1: {
        const int has_min = type == CK_Q5_1;
        const float d = ck_half(b), m = has_min ? ck_half(b + 2) : 0;
        uint32_t qh;
        memcpy(&qh, b + (has_min ? 4 : 2), 4);
        const uint8_t *qs = b + (has_min ? 8 : 6);
        const int offset = has_min ? 0 : 16;
        for (int i = 0; i < 16; i++) {
            int lo = (qs[i] & 0xF) | (int)((qh >> i) & 1) << 4;
            int hi = (qs[i] >> 4) | (int)((qh >> (i + 16)) & 1) << 4;
            y[i] = d * (float)(lo - offset) + m;
            y[i + 16] = d * (float)(hi - offset) + m;
        }
        break;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int five = type == CK_Q5_K;
        const float d = ck_half(b), dmin = ck_half(b + 2);
        const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
        for (int g = 0; g < 4; g++) {
            uint8_t sc0, m0, sc1, m1;
            ck_scale_min_k4(2 * g, scales, &sc0, &m0);
            ck_scale_min_k4(2 * g + 1, scales, &sc1, &m1);
            for (int l = 0; l < 32; l++) {
                int q0 = qs[32 * g + l] & 0xF, q1 = qs[32 * g + l] >> 4;
                if (five) {
                    q0 |= ((qh[l] >> (2 * g)) & 1) << 4;
                    q1 |= ((qh[l] >> (2 * g + 1)) & 1) << 4;
                }
                y[64 * g + l] = d * sc0 * (float)q0 - dmin * m0;
                y[64 * g + 32 + l] = d * sc1 * (float)q1 - dmin * m1;
            }
        }
        break;
    }
    case CK_Q6_K: {
        const float d = ck_half(b + 208);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
            const int8_t *sc = (const int8_t *)(b + 192 + 8 * h);
            float *yh = y + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q0 = (ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4;
                int q1 = (ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4;
                int q2 = (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4;
                int q3 = (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4;
                yh[l] = d * sc[l / 16] * (float)(q0 - 32);
                yh[l + 32] = d * sc[2 + l / 16] * (float)(q1 - 32);
                yh[l + 64] = d * sc[4 + l / 16] * (float)(q2 - 32);
                yh[l + 96] = d * sc[6 + l / 16] * (float)(q3 - 32);
            }
        }
        break;
    }
    case CK_F32: memcpy(y, b, 4); break;
    case CK_F16: { uint16_t h; memcpy(&h, b, 2); y[0] = ck_half_to_float(h); break; }
    case CK_BF16: { uint16_t h; memcpy(&h, b, 2); uint32_t u = (uint32_t)h << 16; memcpy(y, &u, 4); break; }
    }
}

void ck_dequantize_scalar(int type, const void *row, float *y, long n) {
    const long block = ck_block_size(type), size = ck_type_size(type);
    for (long b = 0; b < n / block; b++) ck_dequantize_block(type, (const uint8_t *)row + b * size, y + b * block);
}

float ck_dot_f32_scalar(int type, const void *row, const float *x, long n) {
    const long block = ck_block_size(type), size = ck_type_size(type);
    float y[256];
    float sum = 0;
    for (long b = 0; b < n / block; b++) {
        ck_dequantize_block(type, (const uint8_t *)row + b * size, y);
        for (long i = 0; i < block; i++) sum += y[i] * x[b * block + i];
    }
    return sum;
}

// hsum_float_8 of ggml: (high half + low half), then pairs, then the last two.
static inline float hsum8(const float a[8]) {
    const float r0 = a[4] + a[0], r1 = a[5] + a[1], r2 = a[6] + a[2], r3 = a[7] + a[3];
    return (r0 + r2) + (r1 + r3);
}

// Weights of one 32-element block as integers: signed (Q4_0: q - 8, Q5_0: q - 16, Q8_0) or, for the types
// with a min (Q4_1, Q5_1), unsigned; dw and mw are the block's scale and min.
static void block_ints(int type, const uint8_t *w, int v[32], float *dw, float *mw) {
    *dw = ck_half(w);
    *mw = 0;
    switch (type) {
    case CK_Q8_0:
        for (int i = 0; i < 32; i++) v[i] = (int8_t)w[2 + i];
        break;
    case CK_Q4_0: case CK_Q4_1: {
        const int has_min = type == CK_Q4_1, offset = has_min ? 0 : 8;
        const uint8_t *q = w + (has_min ? 4 : 2);
        if (has_min) *mw = ck_half(w + 2);
        for (int i = 0; i < 16; i++) { v[i] = (q[i] & 0xF) - offset; v[i + 16] = (q[i] >> 4) - offset; }
        break;
    }
    case CK_Q5_0: case CK_Q5_1: {
        const int has_min = type == CK_Q5_1, offset = has_min ? 0 : 16;
        uint32_t qh;
        memcpy(&qh, w + (has_min ? 4 : 2), 4);
        const uint8_t *q = w + (has_min ? 8 : 6);
        if (has_min) *mw = ck_half(w + 2);
        for (int i = 0; i < 16; i++) {
            v[i] = ((q[i] & 0xF) | (int)((qh >> i) & 1) << 4) - offset;
            v[i + 16] = ((q[i] >> 4) | (int)((qh >> (i + 16)) & 1) << 4) - offset;
        }
        break;
    }
    }
}

// Sum of the products of elements 4k..4k+3: lane k of ggml's 8-lane integer dot.
static inline int lane4(const int *v, const int8_t *a, int k) {
    return v[4 * k] * a[4 * k] + v[4 * k + 1] * a[4 * k + 1] + v[4 * k + 2] * a[4 * k + 2] + v[4 * k + 3] * a[4 * k + 3];
}

// One weight row . activations quantized by ck_quantize_for(type), with ggml's AVX2 arithmetic:
//   32-element types: lane k += (dw * da) * int(lane k of the block) (fused), plus, for Q4_1/Q5_1,
//     summs += mw * sa (fused); result hsum8(lanes) + summs.
//   Q5_K and Q6_K, per super-block: integer lanes sum_j sc_j * (lane k of sub-block j), then
//     lane k += (da * dw) * int (fused); Q5_K mins: 4 lanes i += (-da * dmin) * (m_2i S_2i + m_2i+1 S_2i+1)
//     with S_j the sum of sub-block j's activation quants; result hsum8(lanes) + ((m0 + m2) + (m1 + m3)).
//     Q6_K's lanes take the weights unsigned (0..63) and subtract their offset of 32 as ggml does, by the
//     activation sums of 16: lane k -= 32 (sc_2k B_2k + sc_2k+1 B_2k+1), B_i the sum of activations 16i..16i+15
//     (the lane values differ from those of q - 32, their total does not). That is `order` CK_ORDER_TOKEN,
//     which llama.cpp runs for fewer than 8 tokens; for a batch of 8 or more its tiled matmul keeps one sum
//     per output (CK_ORDER_BATCH): sum = fma(da, float(the super-block's integer dot) * dw, sum).
//   Q4_K: the arithmetic of ggml's repacked q4_K_8x8 batch kernel (ggml_gemm_q4_K_8x8_q8_K), which llama.cpp
//     uses on AVX2 / AVX-512 CPUs for every Q4_K matrix with a row count divisible by 8: two scalar sums per
//     output, one fused multiply-add per pair of sub-blocks (64 elements) g = 0..3 of each super-block:
//       acc  = fma(float(sc_2g D_2g + sc_2g+1 D_2g+1), dw * da, acc)   (D_j: the integer dot of sub-block j)
//       accm = fma(float(m_2g S_2g + m_2g+1 S_2g+1), dmin * da, accm)
//     result acc - accm. That is `order` CK_ORDER_BATCH. Its one-token kernel (ggml_gemv_q4_K_8x8_q8_K), which
//     llama.cpp runs for a single token and for the last tokens of a batch beyond a multiple of 4, adds once
//     per super-block instead (CK_ORDER_TOKEN): the same two fused multiply-adds with the integer sums of all
//     8 sub-blocks. `order` changes nothing for the other types.
float ck_dot_q8_scalar(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n, int order) {
    const uint8_t *w = row;
    float acc[8] = {0};
    switch (type) {
    case CK_Q8_0: case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: {
        const long size = ck_type_size(type);
        float summs = 0;
        for (long b = 0; b < n / 32; b++, w += size) {
            int v[32];
            float dw, mw;
            block_ints(type, w, v, &dw, &mw);
            const float scale = dw * d[b];
            for (int k = 0; k < 8; k++) acc[k] = fmaf(scale, (float)lane4(v, qs + 32 * b, k), acc[k]);
            if (type == CK_Q4_1 || type == CK_Q5_1) summs = fmaf(mw, s[b], summs);
        }
        return hsum8(acc) + summs;
    }
    case CK_Q4_K: {
        float sum = 0, sum_min = 0;
        for (long b = 0; b < n / 256; b++, w += 144) {
            const float da = d[8 * b];
            const float scale = ck_half(w) * da, scale_min = ck_half(w + 2) * da;
            const uint8_t *q = w + 16;
            int blockSum = 0, blockMins = 0;  // CK_ORDER_TOKEN: the whole super-block's integer sums
            for (int g = 0; g < 4; g++) {  // sub-blocks 2g (low nibbles of q[32g..]) and 2g + 1 (high nibbles)
                int sumi = 0, summ = 0;
                for (int h = 0; h < 2; h++) {
                    const int j = 2 * g + h;
                    uint8_t sc, m;
                    ck_scale_min_k4(j, w + 4, &sc, &m);
                    const int8_t *a = qs + 256 * b + 32 * j;
                    int dot = 0;
                    for (int l = 0; l < 32; l++) dot += (h ? q[32 * g + l] >> 4 : q[32 * g + l] & 0xF) * a[l];
                    sumi += sc * dot;
                    summ += m * (int)s[8 * b + j];
                }
                if (order == CK_ORDER_TOKEN) {
                    blockSum += sumi;
                    blockMins += summ;
                } else {
                    sum = fmaf((float)sumi, scale, sum);
                    sum_min = fmaf((float)summ, scale_min, sum_min);
                }
            }
            if (order == CK_ORDER_TOKEN) {
                sum = fmaf((float)blockSum, scale, sum);
                sum_min = fmaf((float)blockMins, scale_min, sum_min);
            }
        }
        return sum - sum_min;
    }
    case CK_Q5_K: {
        float accm[4] = {0};
        for (long b = 0; b < n / 256; b++, w += 176) {
            const float da = d[8 * b];
            const float scale = da * ck_half(w), scale_min = -da * ck_half(w + 2);
            const uint8_t *scales = w + 4, *qh = w + 16, *q = w + 48;
            int sumi[8] = {0}, mins[8];
            for (int j = 0; j < 8; j++) {
                uint8_t sc, m;
                ck_scale_min_k4(j, scales, &sc, &m);
                mins[j] = m;
                int v[32];
                for (int l = 0; l < 32; l++) {
                    v[l] = (j & 1) ? q[32 * (j / 2) + l] >> 4 : q[32 * (j / 2) + l] & 0xF;
                    v[l] |= ((qh[l] >> j) & 1) << 4;
                }
                for (int k = 0; k < 8; k++) sumi[k] += sc * lane4(v, qs + 256 * b + 32 * j, k);
            }
            for (int k = 0; k < 8; k++) acc[k] = fmaf(scale, (float)sumi[k], acc[k]);
            for (int i = 0; i < 4; i++) {
                const int p = mins[2 * i] * (int)s[8 * b + 2 * i] + mins[2 * i + 1] * (int)s[8 * b + 2 * i + 1];
                accm[i] = fmaf(scale_min, (float)p, accm[i]);
            }
        }
        return hsum8(acc) + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
    }
    case CK_Q6_K: {
        float tiled = 0;  // CK_ORDER_BATCH
        for (long b = 0; b < n / 256; b++, w += 210) {
            const float scale = d[8 * b] * ck_half(w + 208);
            int sumi[8] = {0};
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
                const int8_t *sc = (const int8_t *)(w + 192 + 8 * h);
                for (int k = 0; k < 4; k++) {  // elements 32k..32k+31 of this half
                    int v[32];
                    for (int l = 0; l < 32; l++) {
                        const uint8_t low = ql[l + 32 * (k & 1)];
                        v[l] = ((k < 2) ? (low & 0xF) : (low >> 4)) | ((qh[l] >> (2 * k)) & 3) << 4;
                    }
                    const int8_t *a = qs + 256 * b + 128 * h + 32 * k;
                    for (int lane = 0; lane < 8; lane++) sumi[lane] += sc[2 * k + lane / 4] * lane4(v, a, lane);
                }
            }
            const int8_t *sc = (const int8_t *)(w + 192);
            for (int k = 0; k < 8; k++) {  // the -32 of the weights, by 32 activations: scales 2k and 2k + 1
                const int8_t *a = qs + 256 * b + 32 * k;
                int lo = 0, hi = 0;
                for (int i = 0; i < 16; i++) { lo += a[i]; hi += a[16 + i]; }
                sumi[k] -= 32 * (sc[2 * k] * lo + sc[2 * k + 1] * hi);
            }
            if (order == CK_ORDER_BATCH) {
                int total = 0;
                for (int k = 0; k < 8; k++) total += sumi[k];
                tiled = fmaf(d[8 * b], (float)total * ck_half(w + 208), tiled);
            } else {
                for (int k = 0; k < 8; k++) acc[k] = fmaf(scale, (float)sumi[k], acc[k]);
            }
        }
        return order == CK_ORDER_BATCH ? tiled : hsum8(acc);
    }
    }
    return NAN;
}

void ck_round_f16_scalar(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = ck_f16_round(x[i]);
}
