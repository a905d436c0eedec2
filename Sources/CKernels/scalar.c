// Portable kernels: activation quantization, block decoding and the integer dot products in plain C.
// These are the fallback when the CPU has no AVX2, and the reference the SIMD kernels are tested against
// (Kernels.setSIMDLevel(.scalar)). Block layouts: see Sources/Kernels/Reference.swift.
#include "ckernels_internal.h"
#include <math.h>
#include <string.h>

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

void ck_quantize_q8_scalar(const float *x, long n, ck_q8 out) {
    for (long b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(xb[i]));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int q = (int)nearbyintf(xb[i] * id);
            out.qs[32 * b + i] = (int8_t)q;
            sum += q;
        }
        out.d[b] = d;
        out.s[b] = d * (float)sum;
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

// Integer dot of one weight row with 8-bit activations, one 32-element unit at a time:
//   unit j: sum_i w_i * a_i (integers), scaled by weight scale * d[j], plus weight min * s[j].
float ck_dot_q8_scalar(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n) {
    const uint8_t *w = row;
    float sum = 0;
    switch (type) {
    case CK_Q8_0:
        for (long b = 0; b < n / 32; b++, w += 34) {
            int acc = 0;
            for (int i = 0; i < 32; i++) acc += (int8_t)w[2 + i] * qs[32 * b + i];
            sum += ck_half(w) * d[b] * (float)acc;
        }
        return sum;
    case CK_Q4_0: case CK_Q4_1:
        for (long b = 0; b < n / 32; b++) {
            const uint8_t *q = w + (type == CK_Q4_1 ? 4 : 2);
            int acc = 0;
            for (int i = 0; i < 16; i++) acc += (q[i] & 0xF) * qs[32 * b + i] + (q[i] >> 4) * qs[32 * b + 16 + i];
            const float dw = ck_half(w), mw = type == CK_Q4_1 ? ck_half(w + 2) : -8 * dw;
            sum += dw * d[b] * (float)acc + mw * s[b];
            w += type == CK_Q4_1 ? 20 : 18;
        }
        return sum;
    case CK_Q5_0: case CK_Q5_1: {
        const int has_min = type == CK_Q5_1;
        for (long b = 0; b < n / 32; b++) {
            uint32_t qh;
            memcpy(&qh, w + (has_min ? 4 : 2), 4);
            const uint8_t *q = w + (has_min ? 8 : 6);
            int acc = 0;
            for (int i = 0; i < 16; i++) {
                acc += ((q[i] & 0xF) | (int)((qh >> i) & 1) << 4) * qs[32 * b + i];
                acc += ((q[i] >> 4) | (int)((qh >> (i + 16)) & 1) << 4) * qs[32 * b + 16 + i];
            }
            const float dw = ck_half(w), mw = has_min ? ck_half(w + 2) : -16 * dw;
            sum += dw * d[b] * (float)acc + mw * s[b];
            w += has_min ? 24 : 22;
        }
        return sum;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int five = type == CK_Q5_K;
        for (long b = 0; b < n / 256; b++, w += five ? 176 : 144) {
            const float dw = ck_half(w), dmin = ck_half(w + 2);
            const uint8_t *scales = w + 4, *qh = w + 16, *q = w + (five ? 48 : 16);
            for (int j = 0; j < 8; j++) {
                uint8_t sc, m;
                ck_scale_min_k4(j, scales, &sc, &m);
                const long unit = 8 * b + j;
                int acc = 0;
                for (int l = 0; l < 32; l++) {
                    int v = (j & 1) ? q[32 * (j / 2) + l] >> 4 : q[32 * (j / 2) + l] & 0xF;
                    if (five) v |= ((qh[l] >> j) & 1) << 4;
                    acc += v * qs[32 * unit + l];
                }
                sum += dw * sc * d[unit] * (float)acc - dmin * m * s[unit];
            }
        }
        return sum;
    }
    case CK_Q6_K:
        for (long b = 0; b < n / 256; b++, w += 210) {
            const float dw = ck_half(w + 208);
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
                const int8_t *sc = (const int8_t *)(w + 192 + 8 * h);
                for (int k = 0; k < 4; k++) {  // unit k of this half: elements 32k..32k+31
                    const long unit = 8 * b + 4 * h + k;
                    int acc0 = 0, acc1 = 0;
                    for (int l = 0; l < 32; l++) {
                        const uint8_t low = ql[l + 32 * (k & 1)];
                        int v = ((k < 2) ? (low & 0xF) : (low >> 4)) | ((qh[l] >> (2 * k)) & 3) << 4;
                        int p = (v - 32) * qs[32 * unit + l];
                        if (l < 16) acc0 += p; else acc1 += p;
                    }
                    sum += dw * d[unit] * (float)(sc[2 * k] * acc0 + sc[2 * k + 1] * acc1);
                }
            }
        }
        return sum;
    }
    return NAN;
}
