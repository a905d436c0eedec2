// Helpers shared by the AVX-512 GEMM kernels (gemm_avx512.c, gemm_avx512_k.c), which keep two weight rows
// in one 512-bit register, dword-interleaved: lane 2k = row a lane k, lane 2k + 1 = row b lane k.
// Include inside a target("avx512...") attribute region.
#ifndef GEMM_AVX512_H
#define GEMM_AVX512_H
#include "ckernels_internal.h"
#include <immintrin.h>
#include <stdlib.h>

// Per-thread scratch for the prepared activations of one token group (grows, never shrinks).
static _Thread_local uint8_t *prep_buffer;
static _Thread_local long prep_capacity;

static inline uint8_t *prep_storage(long bytes) {
    if (bytes > prep_capacity) {
        free(prep_buffer);
        prep_buffer = aligned_alloc(64, (size_t)((bytes + 63) & ~63L));
        prep_capacity = prep_buffer ? bytes : 0;
    }
    return prep_buffer;
}

// Dword interleave of two 32-byte rows: [a.d0, b.d0, a.d1, b.d1, ...].
static inline __attribute__((always_inline)) __m512i interleave32(__m256i a, __m256i b) {
    const __m512i idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    return _mm512_permutex2var_epi32(_mm512_castsi256_si512(a), idx, _mm512_castsi256_si512(b));
}

// [h(a), h(b), h(a), h(b), ...] as floats from two binary16 values.
static inline __attribute__((always_inline)) __m512 halves2(const uint8_t *a, const uint8_t *b) {
    uint16_t ha, hb;
    memcpy(&ha, a, 2);
    memcpy(&hb, b, 2);
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)ha | (uint32_t)hb << 16)));
    return _mm512_castpd_ps(_mm512_broadcastsd_pd(_mm_castps_pd(f)));
}

// hsum8 of both rows' lanes (lanes 0, 1 of the result), in the reference's order:
// r_k = l_(k+4) + l_k, then (r0 + r2) + (r1 + r3).
static inline __attribute__((always_inline)) __m512 hsum_pairs(__m512 acc) {
    __m512 x = _mm512_add_ps(_mm512_shuffle_f32x4(acc, acc, 0x4E), acc);
    x = _mm512_add_ps(x, _mm512_shuffle_f32x4(x, x, 0xB1));
    return _mm512_add_ps(x, _mm512_permute_ps(x, 0x4E));
}

// The tile loop both batch kernels share: rows 0..<nr of a tile, 4 at a time (a last group of 1-3 rows repeats
// its last row and stores only outRows), against one prepared group of `group` tokens. KERNEL(TYPE, RP, NT,
// rows, UNITS, prep, y, ldy, outRows) does 4 rows x NT tokens with RP registers of row pairs; NT is a constant
// in each case so that the kernel is specialised for it.
#define AVX512_NT_CASES(KERNEL, TYPE, RP, UNITS) \
    switch (group) { \
    case 1: KERNEL(TYPE, RP, 1, rows, UNITS, prep, y, ldy, outRows); break; \
    case 2: KERNEL(TYPE, RP, 2, rows, UNITS, prep, y, ldy, outRows); break; \
    case 3: KERNEL(TYPE, RP, 3, rows, UNITS, prep, y, ldy, outRows); break; \
    case 4: KERNEL(TYPE, RP, 4, rows, UNITS, prep, y, ldy, outRows); break; \
    case 5: KERNEL(TYPE, RP, 5, rows, UNITS, prep, y, ldy, outRows); break; \
    case 6: KERNEL(TYPE, RP, 6, rows, UNITS, prep, y, ldy, outRows); break; \
    case 7: KERNEL(TYPE, RP, 7, rows, UNITS, prep, y, ldy, outRows); break; \
    default: KERNEL(TYPE, RP, 8, rows, UNITS, prep, y, ldy, outRows); break; \
    }

#define AVX512_ROW_GROUPS(KERNEL, TYPE, UNITS) \
    for (int r = 0; r < nr; r += 4) { \
        const int outRows = nr - r < 4 ? nr - r : 4; \
        const uint8_t *rows[4]; \
        for (int k = 0; k < 4; k++) rows[k] = base + (long)(r + (k < outRows ? k : outRows - 1)) * rowBytes; \
        if (outRows > 2) { AVX512_NT_CASES(KERNEL, TYPE, 2, UNITS) } else { AVX512_NT_CASES(KERNEL, TYPE, 1, UNITS) } \
        y += 4; \
    }

#endif
