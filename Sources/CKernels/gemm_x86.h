// x86 integer kernels, included by x86.c twice: once for AVX2 (CK_VNNI 0) and once for AVX-512 VNNI
// (CK_VNNI 1: the u8 x s8 dot of 4-byte groups is one vpdpbusd instead of vpmaddubsw + vpmaddwd).
// FN(name) gives each copy its own names.
//
// A weight row is walked in units of 32 elements, the activation block size. For each unit the weights
// are unpacked into 32 bytes in one register, then dotted with 1..4 tokens' activations at once, so that
// prefill unpacks each weight block once per 4 tokens:
//   unsigned weights (Q4_x, Q5_x, Q4_K, Q5_K): sum_i w_i a_i * (dw * da) + mw * sa
//   signed weights (Q8_0, Q6_K): |a| . sign(w, a), the maddubs sign trick.

#define NTMAX 4

// u8 (0..127 or so) x s8 -> 8 int32 partial sums, each over 4 adjacent bytes.
static inline __attribute__((always_inline)) __m256i FN(dot8)(__m256i u, __m256i s) {
#if CK_VNNI
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

static inline __attribute__((always_inline)) float FN(hsum)(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
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

// One row against NT tokens. Activations of token t: qs + t * n, d/s + t * (n / 32).
static inline __attribute__((always_inline)) void FN(row_q8)(int type, const uint8_t *w, const int8_t *qs,
        const float *d, const float *s, long n, const int NT, float *out, long ldy) {
    const long units = n / 32;
    // Two accumulators per token (even and odd units) to halve the FMA dependency chains.
    __m256 acc[NTMAX][2];
    float macc[NTMAX][2];
    for (int t = 0; t < NT; t++) {
        acc[t][0] = acc[t][1] = _mm256_setzero_ps();
        macc[t][0] = macc[t][1] = 0;
    }

// Accumulate unsigned unit j with weights wv, weight scale dw, weight min mw.
#define UNIT_U(wv, dw, mw, j) do { \
        for (int t = 0; t < NT; t++) { \
            const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * (j))); \
            const __m256 p = _mm256_cvtepi32_ps(FN(dot8)((wv), a)); \
            acc[t][(j) & 1] = _mm256_fmadd_ps(p, _mm256_set1_ps((dw) * d[t * units + (j)]), acc[t][(j) & 1]); \
            macc[t][(j) & 1] += (mw) * s[t * units + (j)]; \
        } } while (0)

    switch (type) {
    case CK_Q4_0: case CK_Q4_1: {
        const int has_min = type == CK_Q4_1;
        const long size = has_min ? 20 : 18;
#define Q4UNIT(j) do { \
            const float dw = FN(half)(w), mw = has_min ? FN(half)(w + 2) : -8 * dw; \
            const __m256i wv = FN(nibbles)(w + (has_min ? 4 : 2)); \
            UNIT_U(wv, dw, mw, j); \
            w += size; } while (0)
        long j = 0;
        for (; j + 2 <= units; j += 2) { Q4UNIT(j); Q4UNIT(j + 1); }
        if (j < units) Q4UNIT(j);
#undef Q4UNIT
        break;
    }
    case CK_Q5_0: case CK_Q5_1: {
        const int has_min = type == CK_Q5_1;
        const long size = has_min ? 24 : 22;
#define Q5UNIT(j) do { \
            const float dw = FN(half)(w), mw = has_min ? FN(half)(w + 2) : -16 * dw; \
            const __m256i wv = _mm256_or_si256(FN(nibbles)(w + (has_min ? 8 : 6)), FN(bits16)(w + (has_min ? 4 : 2))); \
            UNIT_U(wv, dw, mw, j); \
            w += size; } while (0)
        long j = 0;
        for (; j + 2 <= units; j += 2) { Q5UNIT(j); Q5UNIT(j + 1); }
        if (j < units) Q5UNIT(j);
#undef Q5UNIT
        break;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int five = type == CK_Q5_K;
        const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
        for (long b = 0; b < units / 8; b++, w += five ? 176 : 144) {
            const float d0 = FN(half)(w), dmin = FN(half)(w + 2);
            const uint8_t *scales = w + 4, *q = w + (five ? 48 : 16);
            const __m256i hb = five ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
            for (int g = 0; g < 4; g++) {
                const __m256i bytes = _mm256_loadu_si256((const __m256i *)(q + 32 * g));
                __m256i lo = _mm256_and_si256(bytes, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), m4);
                if (five) {
                    const __m128i shift0 = _mm_cvtsi32_si128(2 * g), shift1 = _mm_cvtsi32_si128(2 * g + 1);
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, shift0), one), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(hb, shift1), one), 4));
                }
                uint8_t sc0, m0, sc1, m1;
                ck_scale_min_k4(2 * g, scales, &sc0, &m0);
                ck_scale_min_k4(2 * g + 1, scales, &sc1, &m1);
                UNIT_U(lo, d0 * sc0, -dmin * m0, 8 * b + 2 * g);
                UNIT_U(hi, d0 * sc1, -dmin * m1, 8 * b + 2 * g + 1);
            }
        }
        break;
    }
    case CK_Q8_0: {
#define Q8UNIT(j) do { \
            const float dw = FN(half)(w); \
            const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + 2)); \
            const __m256i wabs = _mm256_sign_epi8(wv, wv); \
            for (int t = 0; t < NT; t++) { \
                const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * (j))); \
                const __m256 p = _mm256_cvtepi32_ps(FN(dot8)(wabs, _mm256_sign_epi8(a, wv))); \
                acc[t][(j) & 1] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * d[t * units + (j)]), acc[t][(j) & 1]); \
            } \
            w += 34; } while (0)
        long j = 0;
        for (; j + 2 <= units; j += 2) { Q8UNIT(j); Q8UNIT(j + 1); }
        if (j < units) Q8UNIT(j);
#undef Q8UNIT
        break;
    }
    case CK_Q6_K: {
        const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30), off = _mm256_set1_epi8(32);
        for (long b = 0; b < units / 8; b++, w += 210) {
            const float dw = FN(half)(w + 208);
            for (int h = 0; h < 2; h++) {
                const uint8_t *ql = w + 64 * h, *qhp = w + 128 + 32 * h;
                const int8_t *sc = (const int8_t *)(w + 192 + 8 * h);
                const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
                const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)qhp);
                __m256i v[4];
                v[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
                v[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
                v[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2));
                v[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
                for (int k = 0; k < 4; k++) {
                    const long j = 8 * b + 4 * h + k;
                    const __m256i wv = _mm256_sub_epi8(v[k], off);   // -32..31
                    const __m256i wabs = _mm256_sign_epi8(wv, wv);
                    // Per-16 scales; lanes 0-3 hold elements 0..15, lanes 4-7 elements 16..31.
                    const __m256 scale = _mm256_set_m128(_mm_set1_ps(dw * sc[2 * k + 1]), _mm_set1_ps(dw * sc[2 * k]));
                    for (int t = 0; t < NT; t++) {
                        const __m256i a = _mm256_loadu_si256((const __m256i *)(qs + t * n + 32 * j));
                        const __m256 p = _mm256_cvtepi32_ps(FN(dot8)(wabs, _mm256_sign_epi8(a, wv)));
                        acc[t][k & 1] = _mm256_fmadd_ps(p, _mm256_mul_ps(scale, _mm256_set1_ps(d[t * units + j])), acc[t][k & 1]);
                    }
                }
            }
        }
        break;
    }
    }
#undef UNIT_U
    for (int t = 0; t < NT; t++)
        out[t * ldy] = FN(hsum)(_mm256_add_ps(acc[t][0], acc[t][1])) + (macc[t][0] + macc[t][1]);
}

// The type is a constant in each expansion, so row_q8's switch folds away.
// Token groups of 4 outside, rows inside: one group's activations (4 x n bytes) stay in L1 while the
// tile's rows stream past them.
#define ROWS(TYPE) do { \
    int t = 0; \
    for (; t + 4 <= nt; t += 4) \
        for (int r = 0; r < nr; r++) \
            FN(row_q8)(TYPE, (const uint8_t *)w + r * rowBytes, qs + t * n, d + t * units, s + t * units, n, 4, \
                       y + t * ldy + r, ldy); \
    for (int r = 0; r < nr; r++) { \
        const uint8_t *row = (const uint8_t *)w + r * rowBytes; \
        switch (nt - t) { \
        case 3: FN(row_q8)(TYPE, row, qs + t * n, d + t * units, s + t * units, n, 3, y + t * ldy + r, ldy); break; \
        case 2: FN(row_q8)(TYPE, row, qs + t * n, d + t * units, s + t * units, n, 2, y + t * ldy + r, ldy); break; \
        case 1: FN(row_q8)(TYPE, row, qs + t * n, d + t * units, s + t * units, n, 1, y + t * ldy + r, ldy); break; \
        } \
    } } while (0)

void FN(ck_gemm_q8)(int type, const void *w, long rowBytes, int nr, const int8_t *qs, const float *d,
                    const float *s, long n, int nt, float *y, long ldy) {
    const long units = n / 32;
    switch (type) {
    case CK_Q4_0: ROWS(CK_Q4_0); break;
    case CK_Q4_1: ROWS(CK_Q4_1); break;
    case CK_Q5_0: ROWS(CK_Q5_0); break;
    case CK_Q5_1: ROWS(CK_Q5_1); break;
    case CK_Q8_0: ROWS(CK_Q8_0); break;
    case CK_Q4_K: ROWS(CK_Q4_K); break;
    case CK_Q5_K: ROWS(CK_Q5_K); break;
    case CK_Q6_K: ROWS(CK_Q6_K); break;
    }
}
#undef ROWS
#undef NTMAX
