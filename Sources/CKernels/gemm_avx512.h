// Helpers shared by the AVX-512 kernels (gemm_avx512.c, gemm_avx512_k.c, gemv_avx512.c), which keep two weight rows
// in one 512-bit register, dword-interleaved: lane 2k = row a lane k, lane 2k + 1 = row b lane k.
// Include inside a target("avx512...") attribute region.
#ifndef GEMM_AVX512_H
#define GEMM_AVX512_H
#include "ckernels_internal.h"
#include <immintrin.h>
#include <stdlib.h>

// Scratch that grows and never shrinks, 64-byte aligned; NULL when it cannot grow.
struct scratch { uint8_t *data; long capacity; };

static inline uint8_t *scratch_bytes(struct scratch *s, long bytes) {
    if (bytes > s->capacity) {
        free(s->data);
        s->data = aligned_alloc(64, (size_t)((bytes + 63) & ~63L));
        s->capacity = s->data ? bytes : 0;
    }
    return s->data;
}

// Prepared activations, kept per thread (each file that includes this header has its own) between the tiles of
// a product: a product names its activations with an id (ck_new_activations_id; 0 keeps nothing), and a tile of
// the same product and tokens (the same type, token pointer and count) finds them prepared. A matrix of 896
// rows is 16 tiles, so the activations were otherwise prepared 16 times (6-12% of a 24-token batch kernel).
// Two entries: a tile split between the two summation orders makes two calls with different tokens.
struct kept_prep { uint64_t id; const void *qs; int type, nt; long n; struct scratch mem; };
static _Thread_local struct kept_prep kept_preps[2];
static _Thread_local int kept_last;

// Room for `bytes` of the prepared activations of tokens qs (nt of them, n elements each); *ready tells whether
// it already holds them. NULL when it cannot grow.
static inline uint8_t *prep_storage(uint64_t id, int type, const void *qs, long n, int nt, long bytes, int *ready) {
    for (int i = 0; i < 2; i++) {
        struct kept_prep *e = &kept_preps[i];
        if (id && e->id == id && e->qs == qs && e->type == type && e->n == n && e->nt == nt && e->mem.capacity >= bytes) {
            kept_last = i;
            *ready = 1;
            return e->mem.data;
        }
    }
    kept_last = 1 - kept_last;
    struct kept_prep *e = &kept_preps[kept_last];
    uint8_t *data = scratch_bytes(&e->mem, bytes);
    e->id = data ? id : 0;
    e->qs = qs;
    e->type = type;
    e->nt = nt;
    e->n = n;
    *ready = 0;
    return data;
}

// The prepared activations of a batch kernel's token groups (groupTokens tokens, groupBytes each): with an id,
// every group has its own place, *stride apart, so that they can be kept; without, the groups take turns in one
// place (*stride 0). *ready as in prep_storage.
static inline uint8_t *group_preps(uint64_t id, int type, const void *qs, long n, int nt, int groupTokens,
                                   long groupBytes, long *stride, int *ready) {
    *stride = id ? groupBytes : 0;
    const long groups = id ? (nt + groupTokens - 1) / groupTokens : 1;
    return prep_storage(id, type, qs, n, nt, groups * groupBytes, ready);
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

// The offset that makes a signed 32-element type's weights unsigned for vpdpbusd (0: already unsigned).
static inline int type_offset(int type) {
    switch (type) {
    case CK_Q4_0: return 8;
    case CK_Q5_0: return 16;
    case CK_Q8_0: return 128;
    default: return 0;
    }
}

// Nibbles of two rows (16 bytes each at p, q) as interleaved unsigned weights 0..15: element e of a row is
// the low nibble of byte e (e < 16) or the high nibble of byte e - 16.
// The 16 nibble bytes of two rows (at p, q), dword-interleaved, twice: bytes of both halves of the register.
static inline __attribute__((always_inline)) __m512i nibbles_both(const uint8_t *p, const uint8_t *q) {
    const __m512i idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 0, 16, 1, 17, 2, 18, 3, 19);
    return _mm512_permutex2var_epi32(_mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p)), idx,
                                     _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)q)));
}

static inline __attribute__((always_inline)) __m512i nibbles2(const uint8_t *p, const uint8_t *q) {
    const __m512i both = nibbles_both(p, q);
    // Words 16..31 (the upper 256 bits) shifted right by 4: the high nibbles.
    const __m512i shifted = _mm512_mask_srli_epi16(both, (__mmask32)0xFFFF0000u, both, 4);
    return _mm512_and_si512(shifted, _mm512_set1_epi8(0x0F));
}

// The fifth bit (0x10) of two rows' elements from their 32-bit masks, in the interleaved byte order:
// element e of row a at byte 8 * (e / 4) + e % 4, of row b 4 bytes further.
static inline __attribute__((always_inline)) __m512i add_bit5(__m512i w, const uint8_t *ha, const uint8_t *hb) {
    uint32_t xa, xb;
    memcpy(&xa, ha, 4);
    memcpy(&xb, hb, 4);
    const __mmask64 m = _pdep_u64(xa, 0x0F0F0F0F0F0F0F0FULL) | _pdep_u64(xb, 0xF0F0F0F0F0F0F0F0ULL);
    return _mm512_mask_add_epi8(w, m, w, _mm512_set1_epi8(0x10));
}

// Unsigned interleaved weights of block j of rows a and b.
static inline __attribute__((always_inline)) __m512i unpack2(int type, const uint8_t *a, const uint8_t *b) {
    switch (type) {
    case CK_Q4_0: return nibbles2(a + 2, b + 2);
    case CK_Q4_1: return nibbles2(a + 4, b + 4);
    case CK_Q5_0: return add_bit5(nibbles2(a + 6, b + 6), a + 2, b + 2);
    case CK_Q5_1: return add_bit5(nibbles2(a + 8, b + 8), a + 4, b + 4);
    default:  // Q8_0: q + 128
        return _mm512_xor_si512(interleave32(_mm256_loadu_si256((const __m256i *)(a + 2)),
                                             _mm256_loadu_si256((const __m256i *)(b + 2))),
                                _mm512_set1_epi8((char)0x80));
    }
}

// The F16 halves at the start of 8 consecutive blocks of a 32-element type (stride S bytes): lanes 0-7 the
// scales d_k (word S/2 * k), lanes 8-15 the second halves m_k (word S/2 * k + 1: Q4_1 and Q5_1's mins). The words
// come from two 128-byte windows by one two-register word permute each; masked loads read only the bytes of the
// 8 blocks (a masked-off byte never faults), so the last blocks of a matrix are safe.
static inline __attribute__((always_inline)) __m512 halves8(const int TYPE, const uint8_t *b) {
    const int S = (int)ck_type_size(TYPE) / 2;  // words per block
    const int hasMin = TYPE == CK_Q4_1 || TYPE == CK_Q5_1;
    const int lastWord = 7 * S + hasMin;
    uint16_t idx[2][32] __attribute__((aligned(64)));
    __mmask32 inWindow1 = 0;
    for (int j = 0; j < 32; j++) {
        const int word = j < 8 ? S * j : (j < 16 && hasMin ? S * (j - 8) + 1 : 0);
        idx[0][j] = (uint16_t)(word & 63);
        idx[1][j] = (uint16_t)(word >= 64 ? word - 64 : 0);
        if (word >= 64) inWindow1 |= (__mmask32)1 << j;
    }
    const long bytes = 2L * (lastWord + 1);  // bytes read: up to lastWord's
    #define CK_BYTE_MASK(from) ((bytes - (from)) >= 64 ? ~0ULL : (bytes - (from)) <= 0 ? 0ULL : (1ULL << (bytes - (from))) - 1)
    const __m512i a0 = _mm512_maskz_loadu_epi8(CK_BYTE_MASK(0), b), a1 = _mm512_maskz_loadu_epi8(CK_BYTE_MASK(64), b + 64);
    __m512i words = _mm512_permutex2var_epi16(a0, _mm512_load_si512(idx[0]), a1);
    if (bytes > 128) {
        const __m512i a2 = _mm512_maskz_loadu_epi8(CK_BYTE_MASK(128), b + 128);
        const __m512i a3 = _mm512_maskz_loadu_epi8(CK_BYTE_MASK(192), b + 192);
        words = _mm512_mask_mov_epi16(words, inWindow1, _mm512_permutex2var_epi16(a2, _mm512_load_si512(idx[1]), a3));
    }
    #undef CK_BYTE_MASK
    return _mm512_cvtph_ps(_mm512_castsi512_si256(words));
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
// rows, UNITS, prep, y, ldy, outRows) does 4 rows x NT tokens with RP registers of row pairs (`rows`: the 4
// row pointers, or gemm_avx512.c's prepared rows); NT is a constant in each case so that the kernel is
// specialised for it.
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
