// Runtime CPU dispatch: every public kernel picks the best implementation for this CPU once.
#include "ckernels_internal.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int cpu_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    int level = CK_LEVEL_SCALAR;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = CK_LEVEL_AVX2;
    if (level == CK_LEVEL_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
        level = CK_LEVEL_AVX512VNNI;
    return level;
#else
    return CK_LEVEL_SCALAR;
#endif
}

static int hardware = -1, active = -1;

int ck_cpu_level(void) {
    if (active < 0) {
        hardware = cpu_level();
        active = hardware;
        const char *env = getenv("WAFER_SIMD");
        if (env) {
            if (!strcmp(env, "scalar")) active = CK_LEVEL_SCALAR;
            else if (!strcmp(env, "avx2") && hardware >= CK_LEVEL_AVX2) active = CK_LEVEL_AVX2;
        }
    }
    return active;
}

int ck_set_level(int level) {
    ck_cpu_level();
    active = level < hardware ? (level < 0 ? 0 : level) : hardware;
    return active;
}

static void quantize_q8(const float *x, long n, ck_q8 out, int q8_1) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) { ck_quantize_q8_avx2(x, n, out, q8_1); return; }
#endif
    ck_quantize_q8_scalar(x, n, out, q8_1);
}

void ck_quantize_q8(const float *x, long n, ck_q8 out) { quantize_q8(x, n, out, 1); }

void ck_quantize_for(int type, const float *x, long n, ck_q8 out) {
    switch (type) {
    case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: ck_quantize_q8_K(x, n, out); return;
    case CK_Q4_1: case CK_Q5_1: quantize_q8(x, n, out, 1); return;
    default: quantize_q8(x, n, out, 0); return;
    }
}

void ck_round_f16(const float *x, float *y, long n) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) { ck_round_f16_avx2(x, y, n); return; }
#endif
    ck_round_f16_scalar(x, y, n);
}

void ck_round_bf16(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = ck_bf16_round(x[i]);
}

void ck_f32_to_f16(const float *x, uint16_t *y, long n) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) { ck_f32_to_f16_avx2(x, y, n); return; }
#endif
    for (long i = 0; i < n; i++) y[i] = ck_float_to_half(x[i]);
}

void ck_f16_to_f32(const uint16_t *x, float *y, long n) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) { ck_f16_to_f32_avx2(x, y, n); return; }
#endif
    for (long i = 0; i < n; i++) y[i] = ck_half_to_float(x[i]);
}

float ck_dot_f32(int type, const void *row, const float *x, long n) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) return ck_dot_f32_avx2(type, row, x, n);
#endif
    return ck_dot_f32_scalar(type, row, x, n);
}

// All nt tokens of a tile in one summation order.
static void gemm_tile_ordered(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                              const float *s, long n, int nt, int order, uint64_t activations, float *y, long ldy) {
#if defined(__x86_64__)
    const int level = ck_cpu_level();
    // Two or more tokens of a 32-element type, Q4_K or Q6_K: the 512-bit kernels (two rows per register); a
    // few tokens of a 32-element type read each block of the rows once for all of them, as one token does.
    if (level >= CK_LEVEL_AVX512VNNI && nt >= 2 && nt <= CK_GEMV_TOKENS &&
        ck_gemv_tokens_q32_avx512(type, w, rowBytes, nr, qs, d, s, n, nt, activations, y, ldy)) return;
    if (level >= CK_LEVEL_AVX512VNNI && nt >= 2 &&
        (ck_gemm_q8_avx512(type, w, rowBytes, nr, qs, d, s, n, nt, activations, y, ldy) ||
         ck_gemm_q8k_avx512(type, w, rowBytes, nr, qs, d, s, n, nt, order, activations, y, ldy))) return;
    if (level >= CK_LEVEL_AVX512VNNI) { ck_gemm_q8_vnni(type, w, rowBytes, nr, qs, d, s, n, nt, order, y, ldy); return; }
    if (level >= CK_LEVEL_AVX2) { ck_gemm_q8_avx2(type, w, rowBytes, nr, qs, d, s, n, nt, order, y, ldy); return; }
#endif
    const long units = n / 32;
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nt; t++)
            y[t * ldy + r] = ck_dot_q8_scalar(type, (const uint8_t *)w + r * rowBytes, qs + t * n, d + t * units,
                                              s + t * units, n, order);
}

void ck_gemm_q8_tile(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                     const float *s, long n, int nt, int ntBatch, uint64_t activations, float *y, long ldy) {
    const long units = n / 32;
    if (ntBatch > nt) ntBatch = nt;
    if (ntBatch > 0) gemm_tile_ordered(type, w, rowBytes, nr, qs, d, s, n, ntBatch, CK_ORDER_BATCH, activations, y, ldy);
    if (ntBatch < nt)
        gemm_tile_ordered(type, w, rowBytes, nr, qs + ntBatch * n, d + ntBatch * units, s + ntBatch * units, n,
                          nt - ntBatch, CK_ORDER_TOKEN, activations, y + ntBatch * ldy, ldy);
}

uint64_t ck_new_activations_id(void) {
    static uint64_t last;
    return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

float ck_dot_q8(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n) {
    float y;
    ck_gemm_q8_tile(type, row, 0, 1, qs, d, s, n, 1, 0, 0, &y, 1);
    return y;
}

void ck_dequantize(int type, const void *row, float *y, long n) {
    ck_dequantize_scalar(type, row, y, n);
}
