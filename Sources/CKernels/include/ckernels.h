// C side of the Kernels module: a persistent thread pool and SIMD kernels with runtime CPU dispatch.
// Everything here is reached from Swift through Sources/Kernels; nothing else should include it.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- Thread pool -------------------------------------------------------------------------------

typedef struct ck_pool ck_pool;
typedef void (*ck_task_fn)(void *ctx, long index);

/// A pool of `threads` - 1 persistent workers; the caller of ck_pool_run is the last thread.
ck_pool *ck_pool_create(int threads);
void ck_pool_destroy(ck_pool *pool);
int ck_pool_threads(const ck_pool *pool);
/// Runs fn(ctx, i) for i in 0..<count over all threads (dynamic scheduling, one index at a time);
/// returns when every call has returned. One run at a time per pool.
void ck_pool_run(ck_pool *pool, long count, ck_task_fn fn, void *ctx);

// ---- CPU features ------------------------------------------------------------------------------

enum {
    CK_LEVEL_SCALAR = 0,   // portable C
    CK_LEVEL_AVX2 = 1,     // AVX2 + FMA + F16C
    CK_LEVEL_AVX512VNNI = 2 // AVX-512 F/BW/VL + VNNI (256-bit VNNI ops on top of the AVX2 code)
};
/// The best level this CPU supports, capped by the WAFER_SIMD environment variable (scalar|avx2|vnni).
int ck_cpu_level(void);
/// Forces a level (tests compare levels); returns the level actually set (capped by the CPU).
int ck_set_level(int level);

// ---- Activations quantized to 8 bits -----------------------------------------------------------
//
// x (n floats) is stored as n int8 in `qs`, plus per block of 32: scale d[b] and s[b] = d[b] * sum(qs of b).
// For K-quant weights the same layout is used with blocks of 32 too (sub-blocks of the 256 super-block).

typedef struct {
    int8_t *qs;     // n
    float *d;       // n / 32
    float *s;       // n / 32: d * sum of the 32 quants
} ck_q8;

/// Quantizes n (multiple of 32) floats: d = amax / 127, q = round(x / d).
void ck_quantize_q8(const float *x, long n, ck_q8 out);

// ---- Dot products --------------------------------------------------------------------------------
// type ids are ggml's (GGMLType raw values). n is the row length in elements.

/// Weight row (ggml type) . quantized activations. Supported: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
float ck_dot_q8(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n);
/// Weight row (ggml type) . float activations. Supported: F32, F16, BF16, and all of the above.
float ck_dot_f32(int type, const void *row, const float *x, long n);
/// rows x tokens tile: y[t * ldy + r] = row r . token t, rows 0..<nr (stride rowBytes), tokens 0..<nt.
void ck_gemm_q8_tile(int type, const void *w, long rowBytes, int nr,
                     const int8_t *qs, const float *d, const float *s, long n, int nt,
                     float *y, long ldy);
// ---- Repacked weights (see packed.c) ------------------------------------------------------------

#define CK_PACK_ROWS 16
/// Bits per packed quant for a ggml type (4, 5 or 8), or 0 when the type cannot be packed.
int ck_packed_bits(int type);
/// Bytes of a rows x n matrix of `type` once packed, or 0 when it cannot be (type, or rows not a multiple of 16).
long ck_packed_bytes(int type, long rows, long n);
/// Packs row groups g0..<g0+ng (16 rows each) of w into dst (the whole packed matrix).
/// Returns 0 when a scale does not fit in f16 (the matrix must then stay unpacked).
int ck_pack_groups(int type, const void *w, long rowBytes, long n, long g0, long ng, void *dst);
/// Row groups g0..<g0+ng of a packed matrix (n columns, `bits` from ck_packed_bits) against nt tokens of
/// quantized activations: y[t * ldy + r] for rows r of those groups.
void ck_gemm_packed(int bits, const void *packed, long n, long g0, long ng, const int8_t *qs, const float *d,
                    const float *s, int nt, float *y, long ldy);

// ---- Attention ---------------------------------------------------------------------------------------

/// One query head over cached positions 0..<count: out (dim) = softmax(scale * K q) V with K, V (count, dim)
/// row-major F32. Online softmax in chunks, no scratch memory. dim <= 1024.
void ck_attend_f32(const float *q, const float *k, const float *v, long count, long dim, float scale, float *out);

/// gate[i] = act(gate[i]) * up[i] with act SiLU, or GELU with the tanh approximation when gelu != 0.
void ck_gated(float *gate, const float *up, long n, int gelu);

/// Dequantizes n elements of a row.
void ck_dequantize(int type, const void *row, float *y, long n);

#ifdef __cplusplus
}
#endif
#endif
