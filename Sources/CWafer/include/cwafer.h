// C side of the Wafer module: the host loop that replays an allreduce's combining steps.
#ifndef CWAFER_H
#define CWAFER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Replays `nsteps` reduction steps (dst, src pairs of buffer indices in `steps`) over buffers of `length`
/// floats at base + i * stride: buffer[dst] += buffer[src], in order.
void cw_reduce_steps(const int32_t *steps, long nsteps, float *base, long stride, long length);

#ifdef __cplusplus
}
#endif
#endif
