// C side of the Wafer module: per-block partial dot products, the unit of work of one PE in MeshGEMV.
#ifndef CWAFER_H
#define CWAFER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// True when cw_block_dots_q8 handles `type` (ggml type id): Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
int cw_block_dots_supported(int type);

/// For rows 0..<nr (row r at w + r * rowBytes) and 32-element blocks 0..<nb of each row:
///   out[b * ldo + r] = row r's block b . activation block b
/// with activations quantized to 8 bits per block of 32 (qs, d, s as ck_quantize_q8 lays them out).
/// Each value is an exact integer dot times the two scales (plus the weight minimum times the block's
/// activation sum), so the per-block partials are independent of how rows are grouped.
void cw_block_dots_q8(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                      const float *s, long nb, float *out, long ldo);

#ifdef __cplusplus
}
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif
/// Replays `nsteps` reduction steps (dst, src pairs of buffer indices in `steps`) over buffers of `length`
/// floats at base + i * stride: buffer[dst] += buffer[src], in order.
void cw_reduce_steps(const int32_t *steps, long nsteps, float *base, long stride, long length);
#ifdef __cplusplus
}
#endif
