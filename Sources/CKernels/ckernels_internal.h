// Shared between the C files of CKernels; not part of the module's interface.
#ifndef CKERNELS_INTERNAL_H
#define CKERNELS_INTERNAL_H
#include "include/ckernels.h"
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>

// Asks for the bytes [p, p + bytes) in the L1 cache, a 64-byte step at a time from p (prefetches never fault,
// so running past a matrix's end is harmless).
static inline __attribute__((always_inline)) void ck_prefetch_bytes(const void *p, long bytes) {
    for (long o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}
#endif

// ggml type ids (GGMLType raw values).
enum { CK_F32 = 0, CK_F16 = 1, CK_Q4_0 = 2, CK_Q4_1 = 3, CK_Q5_0 = 6, CK_Q5_1 = 7, CK_Q8_0 = 8,
       CK_Q4_K = 12, CK_Q5_K = 13, CK_Q6_K = 14, CK_BF16 = 30 };

static inline long ck_block_size(int type) {
    switch (type) {
    case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: return 256;
    case CK_F32: case CK_F16: case CK_BF16: return 1;
    default: return 32;
    }
}

static inline long ck_type_size(int type) {
    switch (type) {
    case CK_F32: return 4;
    case CK_F16: case CK_BF16: return 2;
    case CK_Q4_0: return 18;
    case CK_Q4_1: return 20;
    case CK_Q5_0: return 22;
    case CK_Q5_1: return 24;
    case CK_Q8_0: return 34;
    case CK_Q4_K: return 144;
    case CK_Q5_K: return 176;
    case CK_Q6_K: return 210;
    default: return 0;
    }
}

float ck_half_to_float(uint16_t h);
uint16_t ck_float_to_half(float f);
static inline float ck_f16_round(float f) { return ck_half_to_float(ck_float_to_half(f)); }
float ck_bf16_round(float f);
static inline float ck_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return ck_half_to_float(h);
}

// Scale and min of sub-block j of a Q4_K/Q5_K block (see Reference.swift).
static inline void ck_scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// The 12 bytes at q of a Q4_K/Q5_K super-block's 6-bit scales and mins, unpacked as ggml does: u[0..1] the 8
// scales as bytes, u[2..3] the 8 mins (ck_scale_min_k4 for j = 0..7).
static inline void ck_scales_mins_k4(const uint8_t *q, uint32_t u[4]) {
    memcpy(u, q, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
    const uint32_t mins = u[1] & 0x3f3f3f3f;
    u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
    u[2] = mins;
    u[0] &= 0x3f3f3f3f;
}

void ck_dequantize_block(int type, const uint8_t *b, float *y);
void ck_quantize_q8_scalar(const float *x, long n, ck_q8 out, int q8_1);
void ck_quantize_q8_K(const float *x, long n, ck_q8 out);
void ck_round_f16_scalar(const float *x, float *y, long n);
void ck_dequantize_scalar(int type, const void *row, float *y, long n);
float ck_dot_f32_scalar(int type, const void *row, const float *x, long n);
float ck_dot_q8_scalar(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n, int order);

// ggml_v_expf, one value (activations.c).
float ck_expf(float x);

#if defined(__x86_64__)
// y[i] = ck_expf(x[i] - max) for 16 values.
void ck_exp_minus16_avx2(const float *x, float max, float *y);
void ck_quantize_q8_avx2(const float *x, long n, ck_q8 out, int q8_1);
void ck_round_f16_avx2(const float *x, float *y, long n);
void ck_f32_to_f16_avx2(const float *x, uint16_t *y, long n);
void ck_f16_to_f32_avx2(const uint16_t *x, float *y, long n);
float ck_dot_f32_avx2(int type, const void *row, const float *x, long n);
// The batch kernels take `order` (CK_ORDER_BATCH or CK_ORDER_TOKEN, see ck_gemm_q8_tile) for all their tokens;
// the AVX-512 ones take the activations' id too (ck_gemm_q8_tile), and keep their preparation between tiles.
void ck_gemm_q8_avx2(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                     const float *s, long n, int nt, int order, float *y, long ldy);
/// AVX-512 kernel for the 32-element types (gemm_avx512.c); returns 0 (and does nothing) for other types.
int ck_gemm_q8_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                      const float *s, long n, int nt, uint64_t activations, float *y, long ldy);
/// AVX-512 kernel for Q4_K and Q6_K (gemm_avx512_k.c); returns 0 (and does nothing) for other types.
int ck_gemm_q8k_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                       const float *s, long n, int nt, int order, uint64_t activations, float *y, long ldy);
void ck_gemm_q8_vnni(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                     const float *s, long n, int nt, int order, float *y, long ldy);
// 1 to CK_GEMV_TOKENS tokens of a 32-element type, two rows per 512-bit register, each block of the rows read
// once for all the tokens (gemv_avx512.c): y[t * ldy + r]; 0 for other types.
enum { CK_GEMV_TOKENS = 8 };
int ck_gemv_tokens_q32_avx512(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                              const float *s, long n, int nt, uint64_t activations, float *y, long ldy);
int ck_gemv_q8_avx2(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                    const float *s, long n, float *y);
int ck_gemv_q8_vnni(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                    const float *s, long n, float *y);
#endif
#endif
