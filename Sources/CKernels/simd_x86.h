// Small x86 helpers shared by the batch kernels (gemm_x86.h) and the one-token kernels (gemv_x86.h), included
// by each of them inside its FN / CK_VNNI definitions, so every SIMD level gets its own copy.

// u8 (0..127 or so) x s8 -> 8 int32 partial sums, each over 4 adjacent bytes.
static inline __attribute__((always_inline)) __m256i FN(dot8)(__m256i u, __m256i s) {
#if CK_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}


static inline __attribute__((always_inline)) float FN(half)(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15) then high nibbles (16..31).
static inline __attribute__((always_inline)) __m256i FN(nibbles)(const uint8_t *p) {
    __m128i q = _mm_loadu_si128((const __m128i *)p);
    __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

// 32 bits -> 32 bytes, byte i = 0x10 if bit i is set.
static inline __attribute__((always_inline)) __m256i FN(bits16)(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuffle = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                              0x0101010101010101, 0x0000000000000000);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuffle);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_and_si256(_mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1)), _mm256_set1_epi8(0x10));
}

// The 6-bit scales and mins of a Q4_K/Q5_K super-block's 8 sub-blocks (ck_scale_min_k4, as ggml unpacks the 12
// bytes at q) as int16: lanes 0-7 the scales, lanes 8-15 the mins.
static inline __attribute__((always_inline)) __m256i FN(scales_mins_k4)(const uint8_t *q) {
    uint32_t u[4];
    ck_scales_mins_k4(q, u);
    return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)u));
}

// Half h (0 or 1: elements 128h..128h+127) of a Q6_K super-block at b as unsigned 6-bit values 0..63, 32
// elements per register: v[k] holds elements 128h + 32k ... + 31.
static inline __attribute__((always_inline)) void FN(q6k_half)(const uint8_t *b, int h, __m256i v[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
    const uint8_t *ql = b + 64 * h;
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 128 + 32 * h));
    v[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
    v[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
    v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2));
    v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
}

// As hsum_float_8 of ggml and hsum8 of scalar.c.
static inline __attribute__((always_inline)) float FN(hsum8)(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

// acc + sc * (sum of 4 adjacent u*s) in 8 int32 lanes: int16 pairs of maddubs(u, s) (|pair| < 2^15 for every
// caller, so no saturation), times sc16 and summed in pairs; one vpdpwssd with VNNI.
static inline __attribute__((always_inline)) __m256i FN(scaled_acc)(__m256i acc, __m256i u, __m256i s, __m256i sc16) {
#if CK_VNNI
    return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(u, s), sc16);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), sc16));
#endif
}

// out[i] = the sum of activations 16i..16i+15 (ggml's Q8_K bsums), for n activations.
static inline void FN(bsums16)(const int8_t *qs, long n, int16_t *out) {
    const __m256i ones = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (long i = 0; i < n; i += 32) {
        const __m256i fours = _mm256_madd_epi16(_mm256_maddubs_epi16(ones, _mm256_loadu_si256((const __m256i *)(qs + i))), ones16);
        const __m256i r = _mm256_hadd_epi32(fours, fours), r2 = _mm256_hadd_epi32(r, r);
        out[i / 16] = (int16_t)_mm256_extract_epi32(r2, 0);
        out[i / 16 + 1] = (int16_t)_mm256_extract_epi32(r2, 4);
    }
}

// Q6_K's weight offset as ggml subtracts it (see ck_dot_q8_scalar): lane k = 32 (sc_2k B_2k + sc_2k+1 B_2k+1)
// for the 16 scales of a super-block and its 16 activation sums B (bsums16).
static inline __attribute__((always_inline)) __m256i FN(q6k_offset)(const int16_t *b16, const uint8_t *scales) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)scales));
    return _mm256_slli_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b16), sc16), 5);
}

// The sums of the 8 int32 lanes of a, b, c and e, as the 4 lanes of the result (exact, any order).
static inline __attribute__((always_inline)) __m128i FN(hsum4_epi32)(__m256i a, __m256i b, __m256i c, __m256i e) {
    const __m256i abce = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, e));
    return _mm_add_epi32(_mm256_castsi256_si128(abce), _mm256_extracti128_si256(abce, 1));
}
