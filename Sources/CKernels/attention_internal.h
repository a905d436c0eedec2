// Shared by the attention kernels (attention.c: one row, the reference; attention_rows.c: many rows at once).
#ifndef CK_ATTENTION_INTERNAL_H
#define CK_ATTENTION_INTERNAL_H
#include "ckernels_internal.h"

// tree16(a) = ((a0+a8) + (a4+a12)) + ... : halves added, then quarters, then (r0+r2) + (r1+r3).
static inline float ck_tree16(const float a[16]) {
    float t[8];
    for (int i = 0; i < 8; i++) t[i] = a[i] + a[i + 8];
    const float r0 = t[0] + t[4], r1 = t[1] + t[5], r2 = t[2] + t[6], r3 = t[3] + t[7];
    return (r0 + r2) + (r1 + r3);
}

// The softmax of the scores of positions first...last in place, s[p - first] the score of position p (before
// the F16 rounding of the weights); returns the factor 1 / sum. simd: the AVX2 exponential (same bits).
float ck_softmax_weights(float *s, long first, long last, int simd);
#endif
