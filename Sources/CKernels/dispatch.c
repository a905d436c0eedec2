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

void ck_quantize_q8(const float *x, long n, ck_q8 out) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) { ck_quantize_q8_avx2(x, n, out); return; }
#endif
    ck_quantize_q8_scalar(x, n, out);
}

float ck_dot_f32(int type, const void *row, const float *x, long n) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) return ck_dot_f32_avx2(type, row, x, n);
#endif
    return ck_dot_f32_scalar(type, row, x, n);
}

void ck_gemm_q8_tile(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                     const float *s, long n, int nt, float *y, long ldy) {
#if defined(__x86_64__)
    const int level = ck_cpu_level();
    if (level >= CK_LEVEL_AVX512VNNI) { ck_gemm_q8_vnni(type, w, rowBytes, nr, qs, d, s, n, nt, y, ldy); return; }
    if (level >= CK_LEVEL_AVX2) { ck_gemm_q8_avx2(type, w, rowBytes, nr, qs, d, s, n, nt, y, ldy); return; }
#endif
    const long units = n / 32;
    for (int r = 0; r < nr; r++)
        for (int t = 0; t < nt; t++)
            y[t * ldy + r] = ck_dot_q8_scalar(type, (const uint8_t *)w + r * rowBytes, qs + t * n, d + t * units,
                                              s + t * units, n);
}

float ck_dot_q8(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n) {
    float y;
    ck_gemm_q8_tile(type, row, 0, 1, qs, d, s, n, 1, &y, 1);
    return y;
}

void ck_dequantize(int type, const void *row, float *y, long n) {
    ck_dequantize_scalar(type, row, y, n);
}

void ck_gemm_packed(int bits, const void *packed, long n, long g0, long ng, const int8_t *qs, const float *d,
                    const float *s, int nt, float *y, long ldy) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX512VNNI) { ck_gemm_packed_vnni(bits, packed, n, g0, ng, qs, d, s, nt, y, ldy); return; }
#endif
    ck_gemm_packed_scalar(bits, packed, n, g0, ng, qs, d, s, nt, y, ldy);
}

void ck_attend_f32(const float *q, const float *k, const float *v, long count, long dim, float scale, float *out) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2 && dim % 8 == 0 && dim <= 1024) { ck_attend_f32_avx2(q, k, v, count, dim, scale, out); return; }
#endif
    ck_attend_f32_scalar(q, k, v, count, dim, scale, out);
}

void ck_gated(float *gate, const float *up, long n, int gelu) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX2) { ck_gated_avx2(gate, up, n, gelu); return; }
#endif
    ck_gated_scalar(gate, up, n, gelu);
}
