// One-token matrix-vector products (decode): the kernels of gemv_x86.h compiled for AVX2 and for AVX-512 VNNI
// with function target attributes, and ck_gemv_q8, which picks one at run time (or the tile kernel of any
// level that has no GEMV of its own).
#include "ckernels_internal.h"
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

// Fused multiply-adds only where written (_mm256_fmadd_ps, fmaf): the scalar kernels do the same operations.
#pragma STDC FP_CONTRACT OFF

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define CK_VNNI 0
#define FN(name) name##_avx2
#include "gemv_x86.h"
#undef FN
#undef CK_VNNI
#pragma clang attribute pop

#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#define CK_VNNI 1
#define FN(name) name##_vnni
#include "gemv_x86.h"
#undef FN
#undef CK_VNNI
#pragma clang attribute pop
#endif

void ck_gemv_q8(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d, const float *s,
                long n, float *y) {
#if defined(__x86_64__)
    const int level = ck_cpu_level();
    if (level >= CK_LEVEL_AVX512VNNI && (ck_gemv_tokens_q32_avx512(type, w, rowBytes, nr, qs, d, s, n, 1, 0, y, 0) ||
                                         ck_gemv_q8_vnni(type, w, rowBytes, nr, qs, d, s, n, y))) return;
    if (level == CK_LEVEL_AVX2 && ck_gemv_q8_avx2(type, w, rowBytes, nr, qs, d, s, n, y)) return;
#endif
    ck_gemm_q8_tile(type, w, rowBytes, nr, qs, d, s, n, 1, 0, 0, y, 1);
}
