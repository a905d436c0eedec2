// Prefill attention: many query rows of one head at consecutive positions, each with exactly the bits of
// ck_attention_row (attention.c, the reference; its header comment gives the arithmetic). Row by row, every
// query row converts every F16 key and value again; here four rows at a time share each converted vector:
//   scores: a register tile of 4 rows x 4 positions, one 16-lane accumulator per score whose lane m is the
//           fma chain over dims m, m+16, ... (as in the row kernel); the 16 accumulators are then summed lane
//           by lane with the tree16 order by one transposing reduction (reduce16), 16 scores per vector.
//           Scores of positions outside a row's range are computed along with the others and never read.
//   softmax: per row, ck_softmax_weights's operations (attention.c) with the maximum, masking and block sums
//           in vectors, then the F16 rounding 16 at a time.
//   values:  for one position class m (p = m mod 16) at a time, 4 rows x 64 dims of accumulators, the chain
//           over the class's positions in order; a position outside a row's range is skipped for that row (as
//           the row kernel does); the 16 class sums of each output are then added in the tree16 order.
// AVX-512 only, head dims that are multiples of 16; everything else runs ck_attention_row row by row.
#include "attention_internal.h"
#include <math.h>
#pragma STDC FP_CONTRACT OFF

enum { ROWS = 4, CLASS_DIMS = 64 };

static inline long first_of(long last, long window) {
    return window > 0 && last - window + 1 > 0 ? last - window + 1 : 0;
}

long ck_attention_rows_scratch(long last0, int nq, int headDim) {
    // Row by row: scores of positions 0...last; blocked: ROWS score rows of up to last0 + nq positions, and
    // the class sums of one group (ROWS rows x 16 classes x CLASS_DIMS).
    (void)headDim;
    return ROWS * (last0 + nq) + ROWS * 16 * CLASS_DIMS;
}

static void attention_rows_by_row(const float *q, long qStride, int nq, const uint16_t *keys, const uint16_t *values,
                                  long last0, long window, int headDim, float scale, float *out, long outStride,
                                  float *scratch) {
    for (int j = 0; j < nq; j++) {
        const long last = last0 + j;
        ck_attention_row(q + j * qStride, keys, values, first_of(last, window), last, headDim, scale,
                         CK_ORDER_BATCH, scratch, out + j * outStride);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl"))), apply_to = function)

// v[n] = tree16(lanes of acc[n]) for n = 0..<16. The four steps add lanes i and i+8, then i and i+4, i and
// i+2, i and i+1 of every vector, two vectors per addition: which is tree16's order. The shuffles leave the
// sum of input a[k] in a lane that depends on k (below); the inputs are placed so that lane n gets acc[n].
static inline __m512 reduce16(const __m512 acc[16]) {
    // Sum of a[k] ends in lane 4L + j for k = {0,2,1,3}[j] + {0,8,4,12}[L]; invert that placement.
    static const int slot[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};
    __m512 a[16], b[8], c[4], d[2];
    for (int n = 0; n < 16; n++) a[slot[n]] = acc[n];
    for (int k = 0; k < 8; k++)  // lanes 0-7: a[k] lanes i + (i+8); lanes 8-15: the same for a[k+8]
        b[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a[k], a[k + 8], 0x44), _mm512_shuffle_f32x4(a[k], a[k + 8], 0xEE));
    for (int k = 0; k < 4; k++)  // 128-bit lane L: i + (i+4) of a[k], a[k+8], a[k+4], a[k+12]
        c[k] = _mm512_add_ps(_mm512_shuffle_f32x4(b[k], b[k + 4], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(b[k], b[k + 4], _MM_SHUFFLE(3, 1, 3, 1)));
    for (int k = 0; k < 2; k++)  // per 128-bit lane: r0+r2, r1+r3 of c[k], then of c[k+2]
        d[k] = _mm512_add_ps(_mm512_shuffle_ps(c[k], c[k + 2], _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(c[k], c[k + 2], _MM_SHUFFLE(3, 2, 3, 2)));
    // per 128-bit lane: (r0+r2) + (r1+r3) of c[0], c[2], c[1], c[3]
    return _mm512_add_ps(_mm512_shuffle_ps(d[0], d[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(d[0], d[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// Scores of positions p...p+3 (keys k[c], c = 0..<4) for rows q[r], r = 0..<4: s[r][c] = score, as
// attention_row_avx2 computes it. acc[4r + c] (16 lanes: dims mod 16).
static inline void scores_tile(const float *const q[ROWS], const uint16_t *const k[4], int headDim, float scale,
                               float *const s[ROWS]) {
    __m512 acc[16];
    for (int n = 0; n < 16; n++) acc[n] = _mm512_setzero_ps();
    for (int i = 0; i < headDim; i += 16) {
        __m512 kv[4], qv[ROWS];
        for (int c = 0; c < 4; c++) kv[c] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(k[c] + i)));
        for (int r = 0; r < ROWS; r++) qv[r] = _mm512_loadu_ps(q[r] + i);
        for (int r = 0; r < ROWS; r++)
            for (int c = 0; c < 4; c++) acc[4 * r + c] = _mm512_fmadd_ps(qv[r], kv[c], acc[4 * r + c]);
    }
    const __m512 v = _mm512_mul_ps(reduce16(acc), _mm512_set1_ps(scale));  // lane 4r + c
    _mm_storeu_ps(s[0], _mm512_castps512_ps128(v));
    _mm_storeu_ps(s[1], _mm512_extractf32x4_ps(v, 1));
    _mm_storeu_ps(s[2], _mm512_extractf32x4_ps(v, 2));
    _mm_storeu_ps(s[3], _mm512_extractf32x4_ps(v, 3));
}

// out_r[d0 + 0..<16 slices] for rows r = 0..<ROWS, slices 1...4 (CLASS_DIMS / 16): for each class m the
// chain over p = m mod 16 in lo...hi of fma(w_r[p - lo], v_p, acc) (rows whose range misses p skip it), then
// tree16 over the 16 classes. cls: ROWS * 16 * CLASS_DIMS floats.
// Always inlined with a constant `slices` (dims / 16), so that the accumulators stay in registers.
static inline __attribute__((always_inline)) void
values_tile(const uint16_t *values, int headDim, int d0, const int slices, long lo, long hi, const long first[ROWS],
            const long last[ROWS], const float *const w[ROWS], float *cls, float *const out[ROWS]) {
    long allFrom = first[0], allTo = last[0];  // positions every row takes
    for (int r = 1; r < ROWS; r++) {
        if (first[r] > allFrom) allFrom = first[r];
        if (last[r] < allTo) allTo = last[r];
    }
    for (int m = 0; m < 16; m++) {
        __m512 acc[ROWS][4];
        for (int r = 0; r < ROWS; r++)
            for (int s = 0; s < 4; s++) acc[r][s] = _mm512_setzero_ps();
        for (long p = lo + ((m - lo) & 15); p <= hi; p += 16) {
            const uint16_t *v = values + p * headDim + d0;
            __m512 vv[4];
            for (int s = 0; s < slices; s++) vv[s] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(v + 16 * s)));
            const int all = p >= allFrom && p <= allTo;
            for (int r = 0; r < ROWS; r++) {
                if (!all && (p < first[r] || p > last[r])) continue;
                const __m512 wr = _mm512_set1_ps(w[r][p - lo]);
                for (int s = 0; s < slices; s++) acc[r][s] = _mm512_fmadd_ps(wr, vv[s], acc[r][s]);
            }
        }
        for (int r = 0; r < ROWS; r++)
            for (int s = 0; s < slices; s++) _mm512_storeu_ps(cls + ((r * 16 + m) * CLASS_DIMS) + 16 * s, acc[r][s]);
    }
    for (int r = 0; r < ROWS; r++)
        for (int s = 0; s < slices; s++) {
            const float *c = cls + r * 16 * CLASS_DIMS + 16 * s;
#define CLS(m) _mm512_loadu_ps(c + (m) * CLASS_DIMS)
            __m512 t[8];
            for (int i = 0; i < 8; i++) t[i] = _mm512_add_ps(CLS(i), CLS(i + 8));
#undef CLS
            const __m512 r0 = _mm512_add_ps(t[0], t[4]), r1 = _mm512_add_ps(t[1], t[5]);
            const __m512 r2 = _mm512_add_ps(t[2], t[6]), r3 = _mm512_add_ps(t[3], t[7]);
            _mm512_storeu_ps(out[r] + d0 + 16 * s, _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3)));
        }
}

// ck_softmax_weights (attention.c) with the bookkeeping in vectors: the maximum 16 lanes at a time (the same
// value: the largest score; a zero maximum's sign changes no x - max), each 16-position block aligned to 0
// through the same exponential (positions outside first...last as -inf), the blocks' tree16 sums 16 at a time
// by reduce16, then added to the double sum one by one in order. Then the weights rounded to F16.
static void softmax_weights_avx512(float *s, long first, long last) {
    const long count = last - first + 1;
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (long i = 0; i < count; i += 16) {
        const __mmask16 k = count - i >= 16 ? 0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        mx = _mm512_max_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, s + i), mx);
    }
    const float maxScore = _mm512_reduce_max_ps(mx);
    double sum = 0;
    __m512 blockSums[16];
    int pending = 0;
    for (long b0 = first & ~15L; b0 <= last; b0 += 16) {
        // Lanes j with first <= b0 + j <= last hold scores; s[b0 + j - first].
        const long from = first > b0 ? first - b0 : 0, to = last < b0 + 15 ? last - b0 : 15;
        const __mmask16 k = (__mmask16)(((1u << (to + 1)) - 1) & ~((1u << from) - 1));
        float x[16], e[16];
        _mm512_storeu_ps(x, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, s + (b0 - first)));
        ck_exp_minus16_avx2(x, maxScore, e);
        const __m512 ev = _mm512_loadu_ps(e);
        _mm512_mask_storeu_ps(s + (b0 - first), k, ev);
        blockSums[pending++] = ev;
        if (pending == 16 || b0 + 16 > last) {
            for (int n = pending; n < 16; n++) blockSums[n] = _mm512_setzero_ps();
            float sums[16];
            _mm512_storeu_ps(sums, reduce16(blockSums));
            for (int n = 0; n < pending; n++) sum += (double)sums[n];
            pending = 0;
        }
    }
    const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    long i = 0;
    for (; i + 16 <= count; i += 16)
        _mm512_storeu_ps(s + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_mul_ps(_mm512_loadu_ps(s + i), inv),
                                                                 _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    for (; i < count; i++) s[i] = _cvtsh_ss(_cvtss_sh(s[i] * _mm512_cvtss_f32(inv), _MM_FROUND_TO_NEAREST_INT));
}

// Rows j0..<j0+n (n <= ROWS; missing rows repeat the last one and are not stored).
static void attention_group_avx512(const float *q, long qStride, int j0, int n, const uint16_t *keys,
                                   const uint16_t *values, long last0, long window, int headDim, float scale,
                                   float *out, long outStride, float *scratch) {
    const float *qr[ROWS];
    long first[ROWS], last[ROWS];
    for (int r = 0; r < ROWS; r++) {
        const int j = j0 + (r < n ? r : n - 1);
        qr[r] = q + j * qStride;
        last[r] = last0 + j;
        first[r] = first_of(last[r], window);
    }
    // Every row's range lies in lo...hi (first grows with last); scores row r: sr[r][p - lo].
    const long lo = first[0], hi = last[ROWS - 1], span = hi - lo + 1;
    float *sr[ROWS];
    for (int r = 0; r < ROWS; r++) sr[r] = scratch + r * span;
    float *cls = scratch + ROWS * span;
    for (long p = lo; p <= hi; p += 4) {
        // A last group of 1-3 positions repeats position hi to fill the tile; its scores go through `tail`.
        const uint16_t *k[4];
        float tail[ROWS][4];
        const int whole = p + 3 <= hi;
        for (int c = 0; c < 4; c++) k[c] = keys + (p + c <= hi ? p + c : hi) * headDim;
        float *s[ROWS];
        for (int r = 0; r < ROWS; r++) s[r] = whole ? sr[r] + (p - lo) : tail[r];
        scores_tile(qr, k, headDim, scale, s);
        if (!whole)
            for (int r = 0; r < ROWS; r++)
                for (long c = 0; p + c <= hi; c++) sr[r][p - lo + c] = tail[r][c];
    }
    for (int r = 0; r < n; r++) softmax_weights_avx512(sr[r] + (first[r] - lo), first[r], last[r]);
    const float *w[ROWS];
    float *o[ROWS];
    for (int r = 0; r < ROWS; r++) {
        const int rr = r < n ? r : n - 1;
        w[r] = sr[rr];
        o[r] = out + (j0 + rr) * outStride;
    }
    for (int d0 = 0; d0 < headDim; d0 += CLASS_DIMS) {
        // Repeated rows write the same bits to the same place as their original, after it.
        switch ((headDim - d0) / 16) {
        case 1: values_tile(values, headDim, d0, 1, lo, hi, first, last, w, cls, o); break;
        case 2: values_tile(values, headDim, d0, 2, lo, hi, first, last, w, cls, o); break;
        case 3: values_tile(values, headDim, d0, 3, lo, hi, first, last, w, cls, o); break;
        default: values_tile(values, headDim, d0, 4, lo, hi, first, last, w, cls, o); break;
        }
    }
}
#pragma clang attribute pop
#endif

void ck_attention_rows(const float *q, long qStride, int nq, const uint16_t *keys, const uint16_t *values,
                       long last0, long window, int headDim, float scale, float *out, long outStride,
                       float *scratch) {
#if defined(__x86_64__)
    if (ck_cpu_level() >= CK_LEVEL_AVX512VNNI && headDim % 16 == 0) {
        for (int j0 = 0; j0 < nq; j0 += ROWS)
            attention_group_avx512(q, qStride, j0, nq - j0 < ROWS ? nq - j0 : ROWS, keys, values, last0, window,
                                   headDim, scale, out, outStride, scratch);
        return;
    }
#endif
    attention_rows_by_row(q, qStride, nq, keys, values, last0, window, headDim, scale, out, outStride, scratch);
}
