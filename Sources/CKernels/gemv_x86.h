// One-token matrix-vector kernels (decode), included by gemv_x86.c twice: once for AVX2 (CK_VNNI 0) and once
// for AVX-512 VNNI (CK_VNNI 1). FN(name) gives each copy its own names.
//
// y[r] = row r . x for rows 0..<nr, with x quantized once (ck_quantize_for). Four rows are walked side by side:
// each unit of activations is loaded once for the four rows, and the four rows' float accumulators are four
// independent dependency chains, so the fused multiply-add latency of one chain no longer sets the pace.
// Per row the arithmetic is exactly ck_dot_q8_scalar's (ggml's AVX2 vec_dot; for Q4_K its repacked one-token
// kernel, CK_ORDER_TOKEN): the same integer sums (exact, in any order) and the same float operations in the
// same order, so every output has the bits of the scalar reference and of ck_gemm_q8_tile for one token.
//
// With AVX-512 VNNI the 32-element types take gemv_avx512.c's kernel instead (two rows per register).
//
// Shapes: w (nr, rowBytes) rows of ggml type `type` holding n elements; qs (n) int8, d and s (n / 32).

#define GR 4  // rows walked together

#include "simd_x86.h"

// Rows are read four at a time, which the hardware prefetcher follows less well than one row after another:
// each group asks for the same bytes GV_AHEAD rows further on while it works (prefetches never fault, so
// running past the matrix's end is harmless).
#ifndef GV_AHEAD
#define GV_AHEAD 8
#endif
static inline __attribute__((always_inline)) void FN(gv_prefetch)(const uint8_t *p, long bytes) {
    ck_prefetch_bytes(p, bytes);
    _mm_prefetch((const char *)p + bytes - 1, _MM_HINT_T0);  // p need not be line-aligned: the last line too
}



// R (1..GR) rows starting at w (stride rowBytes) -> out[0..<R]. TYPE is a constant in every expansion.
// bsums: the activations' sums of 16 (Q6_K only).
static inline __attribute__((always_inline)) void FN(gv_rows)(const int TYPE, const int R, const uint8_t *w,
        long rowBytes, const int8_t *qs, const float *d, const float *s, const int16_t *bsums, long n, float *out) {
    const long units = n / 32;
    __m256 acc[GR];
    float summs[GR];
    for (int r = 0; r < R; r++) { acc[r] = _mm256_setzero_ps(); summs[r] = 0; }

    if (TYPE == CK_Q4_0 || TYPE == CK_Q4_1 || TYPE == CK_Q5_0 || TYPE == CK_Q5_1 || TYPE == CK_Q8_0) {
        const int hasMin = TYPE == CK_Q4_1 || TYPE == CK_Q5_1;
        const long size = ck_type_size(TYPE);
        const __m256i shift4 = _mm256_set_epi64x(4, 4, 0, 0), m4 = _mm256_set1_epi8(0x0F);
        // Per chunk of 8 units: scale[r][k] = dw * da and (Q4_1, Q5_1) mins[r][k] = mw, as floats, so that the
        // unit loop below broadcasts them from memory instead of converting halves one at a time.
        float scale[GR][8] __attribute__((aligned(32))), mins[GR][8] __attribute__((aligned(32)));
        for (long j0 = 0; j0 < units; j0 += 8) {
            const int chunk = units - j0 < 8 ? (int)(units - j0) : 8;
            for (int r = 0; r < R; r++) {
                const uint8_t *b = w + r * rowBytes + j0 * size;
                FN(gv_prefetch)(b + GV_AHEAD * rowBytes, chunk * size);
                if (chunk == 8) {
                    // The halves copied out with scalar moves, then converted 8 at a time (a gather is slower).
                    uint16_t dh[8], mh[8];
                    for (int k = 0; k < 8; k++) {
                        memcpy(&dh[k], b + k * size, 2);
                        if (hasMin) memcpy(&mh[k], b + k * size + 2, 2);
                    }
                    _mm256_store_ps(scale[r], _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dh)),
                                                            _mm256_loadu_ps(d + j0)));
                    if (hasMin) _mm256_store_ps(mins[r], _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)mh)));
                } else {
                    for (int k = 0; k < chunk; k++) {
                        scale[r][k] = FN(half)(b + k * size) * d[j0 + k];
                        if (hasMin) mins[r][k] = FN(half)(b + k * size + 2);
                    }
                }
            }
            for (int k = 0; k < chunk; k++) {
                const long j = j0 + k;
                const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
                for (int r = 0; r < R; r++) {
                    const uint8_t *b = w + r * rowBytes + j * size;
                    __m256i p;
                    if (TYPE == CK_Q4_1 || TYPE == CK_Q5_1) {
                        const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b + (TYPE == CK_Q4_1 ? 4 : 8))));
                        __m256i wv = _mm256_and_si256(_mm256_srlv_epi64(q, shift4), m4);
                        if (TYPE == CK_Q5_1) wv = _mm256_or_si256(wv, FN(bits16)(b + 4));
                        p = FN(dot8)(wv, a);
                    } else {  // signed weights by the sign trick: |w| . sign(a, w)
                        __m256i wv;
                        if (TYPE == CK_Q8_0) wv = _mm256_loadu_si256((const __m256i *)(b + 2));
                        else {
                            const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b + (TYPE == CK_Q4_0 ? 2 : 6))));
                            wv = _mm256_and_si256(_mm256_srlv_epi64(q, shift4), m4);
                            if (TYPE == CK_Q5_0) wv = _mm256_or_si256(wv, FN(bits16)(b + 2));
                            wv = _mm256_sub_epi8(wv, _mm256_set1_epi8(TYPE == CK_Q4_0 ? 8 : 16));
                        }
                        p = FN(dot8)(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(a, wv));
                    }
                    acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&scale[r][k]), _mm256_cvtepi32_ps(p), acc[r]);
                    if (hasMin) summs[r] = fmaf(mins[r][k], s[j], summs[r]);
                }
            }
        }
    } else if (TYPE == CK_Q4_K) {
        // llama.cpp's repacked q4_K_8x8 one-token arithmetic (see ck_dot_q8_scalar, CK_ORDER_TOKEN): per
        // super-block, the row's integer sums of its 256 scaled products and of its mins times activation sums,
        // each added to a float sum by one fused multiply-add; the four rows side by side in the lanes of sum
        // and sumMin.
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        __m128 sum = _mm_setzero_ps(), sumMin = _mm_setzero_ps();
        for (long sb = 0; sb < units / 8; sb++) {
            const int8_t *a = qs + 256 * sb;
            const float da = d[8 * sb];
            const __m256i sai = _mm256_cvtps_epi32(_mm256_loadu_ps(s + 8 * sb));
            const __m128i sa16 = _mm_packs_epi32(_mm256_castsi256_si128(sai), _mm256_extracti128_si256(sai, 1));
            __m256i scales[GR];
            __m128i mins[GR];  // lane g: m_2g S_2g + m_2g+1 S_2g+1
            float scale[GR] = {0}, scaleMin[GR] = {0};
            for (int r = 0; r < GR; r++) mins[r] = _mm_setzero_si128();
            for (int r = 0; r < R; r++) {
                const uint8_t *b = w + r * rowBytes + sb * 144;
                FN(gv_prefetch)(b + GV_AHEAD * rowBytes, 144);
                const __m256i ms = FN(scales_mins_k4)(b + 4);
                mins[r] = _mm_madd_epi16(_mm256_extracti128_si256(ms, 1), sa16);
                scales[r] = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(ms));
                scale[r] = FN(half)(b) * da;
                scaleMin[r] = FN(half)(b + 2) * da;
            }
            const __m128 scale4 = _mm_loadu_ps(scale), scaleMin4 = _mm_loadu_ps(scaleMin);
            // Mins transposed (rows in the lanes) and added over g.
            const __m128i t0 = _mm_unpacklo_epi32(mins[0], mins[1]), t1 = _mm_unpacklo_epi32(mins[2], mins[3]);
            const __m128i t2 = _mm_unpackhi_epi32(mins[0], mins[1]), t3 = _mm_unpackhi_epi32(mins[2], mins[3]);
            const __m128i blockMins = _mm_add_epi32(_mm_add_epi32(_mm_unpacklo_epi64(t0, t1), _mm_unpackhi_epi64(t0, t1)),
                                                    _mm_add_epi32(_mm_unpacklo_epi64(t2, t3), _mm_unpackhi_epi64(t2, t3)));
            __m128i blockSum = _mm_setzero_si128();
            for (int g = 0; g < 4; g++) {
                const __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + 64 * g));
                const __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + 64 * g + 32));
                // Byte shuffles that broadcast int16 scale 2g (and 2g + 1) to every lane.
                const __m256i pick0 = _mm256_set1_epi16((short)(0x0100 * (4 * g + 1) + 4 * g));
                const __m256i pick1 = _mm256_set1_epi16((short)(0x0100 * (4 * g + 3) + 4 * g + 2));
                __m256i sumi[GR];
                for (int r = 0; r < GR; r++) sumi[r] = _mm256_setzero_si256();
                for (int r = 0; r < R; r++) {
                    const __m256i bytes = _mm256_loadu_si256((const __m256i *)(w + r * rowBytes + sb * 144 + 16 + 32 * g));
                    const __m256i lo = _mm256_and_si256(bytes, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
                    sumi[r] = FN(scaled_acc)(sumi[r], lo, a0, _mm256_shuffle_epi8(scales[r], pick0));
                    sumi[r] = FN(scaled_acc)(sumi[r], hi, a1, _mm256_shuffle_epi8(scales[r], pick1));
                }
                const __m128i total = FN(hsum4_epi32)(sumi[0], sumi[1], sumi[2], sumi[3]);
                blockSum = _mm_add_epi32(blockSum, total);
            }
            sum = _mm_fmadd_ps(_mm_cvtepi32_ps(blockSum), scale4, sum);
            sumMin = _mm_fmadd_ps(_mm_cvtepi32_ps(blockMins), scaleMin4, sumMin);
        }
        float result[4];
        _mm_storeu_ps(result, _mm_sub_ps(sum, sumMin));
        for (int r = 0; r < R; r++) out[r] = result[r];
        return;
    } else if (TYPE == CK_Q5_K) {  // ggml's vec_dot_q5_K_q8_K arithmetic, which llama.cpp uses for Q5_K on x86
        const long size = 176;
        const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
        __m128 accm[GR];  // lane i: the scalar reference's accm[i]
        for (int r = 0; r < R; r++) accm[r] = _mm_setzero_ps();
        for (long sb = 0; sb < units / 8; sb++) {
            const int8_t *a = qs + 256 * sb;
            const float da = d[8 * sb];
            // The 8 unit sums of the activations as int16 (|sum| <= 32 * 127).
            const __m256i sai = _mm256_cvtps_epi32(_mm256_loadu_ps(s + 8 * sb));
            const __m128i sa16 = _mm_packs_epi32(_mm256_castsi256_si128(sai), _mm256_extracti128_si256(sai, 1));
            __m256i scales[GR], sumi[GR];
            for (int r = 0; r < R; r++) {
                const uint8_t *b = w + r * rowBytes + sb * size;
                FN(gv_prefetch)(b + GV_AHEAD * rowBytes, size);
                const __m256i ms = FN(scales_mins_k4)(b + 4);
                // Mins: lane i of madd = m[2i] * sa[2i] + m[2i+1] * sa[2i+1], as the reference's p.
                const __m128i p = _mm_madd_epi16(_mm256_extracti128_si256(ms, 1), sa16);
                const float scale_min = -da * FN(half)(b + 2);
                accm[r] = _mm_fmadd_ps(_mm_set1_ps(scale_min), _mm_cvtepi32_ps(p), accm[r]);
                scales[r] = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(ms));
                sumi[r] = _mm256_setzero_si256();
            }
            for (int g = 0; g < 4; g++) {
                const __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + 64 * g));
                const __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + 64 * g + 32));
                // Byte shuffles that broadcast int16 scale 2g (and 2g + 1) to every lane.
                const __m256i pick0 = _mm256_set1_epi16((short)(0x0100 * (4 * g + 1) + 4 * g));
                const __m256i pick1 = _mm256_set1_epi16((short)(0x0100 * (4 * g + 3) + 4 * g + 2));
                for (int r = 0; r < R; r++) {
                    const uint8_t *b = w + r * rowBytes + sb * size;
                    const __m256i bytes = _mm256_loadu_si256((const __m256i *)(b + 48 + 32 * g));
                    __m256i lo = _mm256_and_si256(bytes, m4);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)(b + 16));
                    const __m128i shift0 = _mm_cvtsi32_si128(2 * g), shift1 = _mm_cvtsi32_si128(2 * g + 1);
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, shift0), one), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, shift1), one), 4));
                    sumi[r] = FN(scaled_acc)(sumi[r], lo, a0, _mm256_shuffle_epi8(scales[r], pick0));
                    sumi[r] = FN(scaled_acc)(sumi[r], hi, a1, _mm256_shuffle_epi8(scales[r], pick1));
                }
            }
            for (int r = 0; r < R; r++) {
                const float dw = FN(half)(w + r * rowBytes + sb * size);
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(da * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            }
        }
        for (int r = 0; r < R; r++) {
            float m[4];
            _mm_storeu_ps(m, accm[r]);
            summs[r] = (m[0] + m[2]) + (m[1] + m[3]);
        }
    } else if (TYPE == CK_Q6_K) {  // weights unsigned, their offset subtracted by activation sums (ggml's order)
        for (long sb = 0; sb < units / 8; sb++) {
            __m256i sumi[GR];
            for (int r = 0; r < R; r++) sumi[r] = _mm256_setzero_si256();
            for (int r = 0; r < R; r++) FN(gv_prefetch)(w + (r + GV_AHEAD) * rowBytes + sb * 210, 210);
            for (int h = 0; h < 2; h++) {
                __m256i a[4];
                for (int k = 0; k < 4; k++) a[k] = _mm256_loadu_si256((const __m256i *)(qs + 256 * sb + 128 * h + 32 * k));
                for (int r = 0; r < R; r++) {
                    const uint8_t *b = w + r * rowBytes + sb * 210;
                    const int8_t *sc = (const int8_t *)(b + 192 + 8 * h);
                    __m256i v[4];  // 0..63
                    FN(q6k_half)(b, h, v);
                    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)sc)));
                    for (int k = 0; k < 4; k++) {
                        // Lanes 0-3: elements 0..15 (scale sc[2k]); lanes 4-7: elements 16..31 (sc[2k+1]).
                        const __m256i pick = _mm256_setr_epi8(
                            4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1,
                            4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1,
                            4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3,
                            4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3);
                        sumi[r] = FN(scaled_acc)(sumi[r], v[k], a[k], _mm256_shuffle_epi8(sc16, pick));
                    }
                }
            }
            for (int r = 0; r < R; r++) {
                sumi[r] = _mm256_sub_epi32(sumi[r], FN(q6k_offset)(bsums + 16 * sb, w + r * rowBytes + sb * 210 + 192));
                const float dw = FN(half)(w + r * rowBytes + sb * 210 + 208);
                acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d[8 * sb] * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            }
        }
    }
    for (int r = 0; r < R; r++) out[r] = FN(hsum8)(acc[r]) + summs[r];
}

#define GV_ROWS(TYPE) do { \
    int r = 0; \
    for (; r + GR <= nr; r += GR) FN(gv_rows)(TYPE, GR, base + r * rowBytes, rowBytes, qs, d, s, bsums, n, y + r); \
    switch (nr - r) { \
    case 3: FN(gv_rows)(TYPE, 3, base + r * rowBytes, rowBytes, qs, d, s, bsums, n, y + r); break; \
    case 2: FN(gv_rows)(TYPE, 2, base + r * rowBytes, rowBytes, qs, d, s, bsums, n, y + r); break; \
    case 1: FN(gv_rows)(TYPE, 1, base + r * rowBytes, rowBytes, qs, d, s, bsums, n, y + r); break; \
    } } while (0)

// Returns 0 when the type has no kernel here (the caller falls back).
int FN(ck_gemv_q8)(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                   const float *s, long n, float *y) {
    const uint8_t *base = w;
    int16_t bsums[type == CK_Q6_K ? n / 16 : 1];
    if (type == CK_Q6_K) FN(bsums16)(qs, n, bsums);
    switch (type) {
#if !CK_VNNI  // with VNNI, the 32-element types take ck_gemv_tokens_q32_avx512 (gemv_avx512.c)
    case CK_Q4_0: GV_ROWS(CK_Q4_0); return 1;
    case CK_Q4_1: GV_ROWS(CK_Q4_1); return 1;
    case CK_Q5_0: GV_ROWS(CK_Q5_0); return 1;
    case CK_Q5_1: GV_ROWS(CK_Q5_1); return 1;
    case CK_Q8_0: GV_ROWS(CK_Q8_0); return 1;
#endif
    case CK_Q4_K: GV_ROWS(CK_Q4_K); return 1;
    case CK_Q5_K: GV_ROWS(CK_Q5_K); return 1;
    case CK_Q6_K: GV_ROWS(CK_Q6_K); return 1;
    default: return 0;
    }
}
#undef GV_ROWS
#undef GR
