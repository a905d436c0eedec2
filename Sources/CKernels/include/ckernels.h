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
// x (n floats) is stored as n int8 in `qs`, plus per unit of 32 elements a scale d[u] and a sum s[u].
// What d and s hold depends on the weight type the activations meet, exactly as ggml's vec_dot_type:
//   Q8_0 (for Q4_0, Q5_0, Q8_0 weights): per 32: d = f16(amax / 127), q = round_even(x * (127 / amax)),
//        s = d * sum(q) (not used by these kernels; kept for consumers that fold an offset into it).
//   Q8_1 (for Q4_1, Q5_1): d and q as Q8_0, s = f16(amax / 127 * sum(q)) (ggml rounds the unrounded d's
//        product to F16).
//   Q8_K (for Q4_K, Q5_K, Q6_K): per 256, max = the element of largest magnitude (first one),
//        q = min(127, round_even(x * (-127 / max))), d = 1 / (-127 / max) in F32, repeated in the 8 units;
//        s[u] = sum of the 32 quants of unit u (an integer, exact in a float).
// f16(v) is v rounded to the nearest binary16 (ties to even), held as a float.

typedef struct {
    int8_t *qs;     // n
    float *d;       // n / 32
    float *s;       // n / 32
} ck_q8;

/// Quantizes n floats (a multiple of the format's block: 32, or 256 for K-quant weights) for dot products
/// with rows of ggml type `type`.
void ck_quantize_for(int type, const float *x, long n, ck_q8 out);
/// The Q8_1 format for any 32-block weight type (n a multiple of 32).
void ck_quantize_q8(const float *x, long n, ck_q8 out);

// ---- 16-bit floats -----------------------------------------------------------------------------

/// y[i] = x[i] rounded to binary16 (ties to even), as a float. y may equal x.
void ck_round_f16(const float *x, float *y, long n);
/// y[i] = x[i] rounded to bfloat16 (ties to even), as a float. y may equal x.
void ck_round_bf16(const float *x, float *y, long n);
/// binary16 <-> float, n values (ties to even).
void ck_f32_to_f16(const float *x, uint16_t *y, long n);
void ck_f16_to_f32(const uint16_t *x, float *y, long n);

// ---- Dot products --------------------------------------------------------------------------------
// type ids are ggml's (GGMLType raw values). n is the row length in elements.

/// The float summation orders of llama.cpp's two CPU paths, which differ for Q4_K and Q6_K products and
/// attention: CK_ORDER_BATCH as it computes a batch of tokens (Q4_K's repacked batch kernel, Q6_K's tiled
/// matmul, attention through tinyBLAS), CK_ORDER_TOKEN as it computes one token (Q4_K's repacked one-token
/// kernel, Q6_K's vec_dot, attention by ggml_vec_dot_f16).
enum { CK_ORDER_BATCH = 0, CK_ORDER_TOKEN = 1 };

/// Weight row (ggml type) . activations quantized by ck_quantize_for(type). Supported: Q4_0, Q4_1, Q5_0,
/// Q5_1, Q8_0, Q4_K, Q5_K, Q6_K. The arithmetic is ggml's AVX2 vec_dot: integer sums of 4 adjacent products
/// in 8 lanes, each lane accumulated in float with one fused multiply-add per block (per super-block for
/// K-quants), lanes summed as hsum_float_8; Q4_K and Q6_K in CK_ORDER_TOKEN (see ck_dot_q8_scalar). Every
/// kernel level gives the same bits.
float ck_dot_q8(int type, const void *row, const int8_t *qs, const float *d, const float *s, long n);
/// Weight row (ggml type) . float activations. Supported: F32, F16, BF16, and all of the above.
float ck_dot_f32(int type, const void *row, const float *x, long n);
/// rows x tokens tile: y[t * ldy + r] = row r . token t, rows 0..<nr (stride rowBytes), tokens 0..<nt.
/// Tokens 0..<ntBatch are summed in CK_ORDER_BATCH, the others in CK_ORDER_TOKEN (only Q4_K and Q6_K differ).
/// `activations` names the contents of qs, d and s (ck_new_activations_id): the tiles of one product pass the
/// same id, so that a thread prepares the tokens for the kernels once for all of them; 0 when the contents
/// have no id (nothing is kept). An id must not be used again once the activations change.
void ck_gemm_q8_tile(int type, const void *w, long rowBytes, int nr,
                     const int8_t *qs, const float *d, const float *s, long n, int nt, int ntBatch,
                     uint64_t activations, float *y, long ldy);
/// A fresh id for ck_gemm_q8_tile's activations (never 0). Thread-safe.
uint64_t ck_new_activations_id(void);
/// Q5_0 and Q8_0 matrices repacked in groups of 16 rows (packed16.c), whose products follow one summation order
/// of their own for any number of tokens, not llama.cpp's: per output, for the blocks j in order,
/// acc = fma(dw_j * da_j, float(the exact integer sum of block j's products), acc), from acc = 0. (llama.cpp keeps
/// 8 partial sums per output, one per lane of 4 products; the outputs differ in the last bits.)
/// Whether `type` can be packed.
int ck_pack16_supported(int type);
/// Repacks nr rows (a multiple of 16; stride rowBytes = the packed bytes of n elements) into out, the same size;
/// group g (rows 16g..16g+15) starts at out + g * 16 * rowBytes. 0 (nothing written) when the type or shape
/// does not allow it.
int ck_pack16(int type, const void *w, long rowBytes, int nr, long n, void *out);
/// The groups of packed rows at w (nr rows, a multiple of 16, from a group start) x nt tokens quantized by
/// ck_quantize_for(type): y[t * ldy + r]. `activations` as for ck_gemm_q8_tile. Every level gives the same bits.
void ck_gemm_pack16(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d, long n, int nt,
                    uint64_t activations, float *y, long ldy);
/// One token: y[r] = row r . x for rows 0..<nr (stride rowBytes), x quantized by ck_quantize_for(type). The
/// same bits as ck_gemm_q8_tile with nt = 1, ntBatch = 0 (and as ck_dot_q8 per row); rows are walked four at
/// a time.
void ck_gemv_q8(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d, const float *s,
                long n, float *y);
/// One query row of attention over F16 keys and values (rows of headDim at keys/values + p * headDim) for
/// positions first...last: scores (indexed by position, room up to last) and out (headDim). The arithmetic
/// of CPUOps.attention in `order` (CK_ORDER_BATCH or CK_ORDER_TOKEN, see attention.c); every level gives the
/// same bits.
void ck_attention_row(const float *q, const uint16_t *keys, const uint16_t *values, long first, long last,
                      int headDim, float scale, int order, float *scores, float *out);
/// Query rows j = 0..<nq of one head at consecutive positions (prefill): row j (at q + j * qStride) attends
/// to positions first_j...last_j, last_j = last0 + j, first_j = 0, or max(0, last_j - window + 1) when
/// window > 0; its output goes to out + j * outStride. Each row gets exactly ck_attention_row's bits in
/// CK_ORDER_BATCH; the keys and values are converted once per group of rows (attention_rows.c). scratch: room
/// for ck_attention_rows_scratch(last0, nq, headDim) floats.
void ck_attention_rows(const float *q, long qStride, int nq, const uint16_t *keys, const uint16_t *values,
                       long last0, long window, int headDim, float scale, float *out, long outStride,
                       float *scratch);
long ck_attention_rows_scratch(long last0, int nq, int headDim);
/// gate[i] <- act(gate[i]) * up[i] for n values with llama.cpp's CPU arithmetic (see activations.c):
/// SwiGLU (gelu == 0) or GeGLU through ggml's F16 GELU table (gelu != 0). Every level gives the same bits.
void ck_gated_activation(float *gate, const float *up, long n, int gelu);
/// Dequantizes n elements of a row.
void ck_dequantize(int type, const void *row, float *y, long n);

#ifdef __cplusplus
}
#endif
#endif
