// Checks ck_dot_q8_scalar's Q4_K arithmetic against llama.cpp's repacked q4_K_8x8 kernels.
//
//   cc -O2 -I Sources/CKernels -o /tmp/q4k_check scripts/reference/q4k_repack_check.c Sources/CKernels/scalar.c -ldl -lm
//   /tmp/q4k_check ~/.cache/wafer/llama-venv/lib/python3*/site-packages/llama_cpp/lib
//       random weights and activations through the libggml-cpu.so that llama-cpp-python built: how many outputs
//       of wafer's batch order (CK_ORDER_BATCH) have the bits of its batch kernel (ggml_gemm_q4_K_8x8_q8_K), and
//       how many of wafer's one-token order (CK_ORDER_TOKEN) the bits of its one-token kernel (gemv);
//   /tmp/q4k_check --layer X.bin W.bin Y.bin N ROWS TOKENS
//       a real layer (scripts/reference/kquant_layer_check.py writes the files): X the layer's input as llama.cpp
//       computed it (TOKENS x N floats), W the Q4_K weight (ROWS rows), Y llama.cpp's output (TOKENS x ROWS);
//       how many outputs wafer's arithmetic reproduces, and ggml's vec_dot arithmetic for comparison.
#include "check_support.h"
#include "ckernels_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { QK = 256, Q4K_BYTES = 144, Q8K_BYTES = 4 + 256 + 32, Q8KX4_BYTES = 16 + 1024 + 128, Q4KX8_BYTES = 1152 };

typedef void (*gemx_fn)(int n, float *s, size_t bs, const void *vx, const void *vy, int nr, int nc);
typedef void (*quant_fn)(const float *x, void *y, long k);

// ggml's block_q4_Kx8 (1152 bytes) from super-block b of 8 rows: the rows' d (8 halves), dmin (8 halves),
// then per sub-block j 12 bytes holding the 8 rows' 6-bit scales and mins in the k4 packing (rows 0-3 in the
// low 6 bits of bytes 0-3 / 4-7, rows 4-7 in bytes 8-11 plus the top 2 bits of bytes 0-7), then the rows'
// quants interleaved 8 bytes at a time (bytes 8i..8i+7 of the block: row i % 8, its bytes 8(i / 8)..).
static void pack_x8(const uint8_t *const rows[8], long b, uint8_t *out) {
    for (int r = 0; r < 8; r++) {
        memcpy(out + 2 * r, rows[r] + b * Q4K_BYTES, 2);
        memcpy(out + 16 + 2 * r, rows[r] + b * Q4K_BYTES + 2, 2);
    }
    uint8_t *scales = out + 32, *qs = out + 128;
    for (int i = 0; i < 128; i++) memcpy(qs + 8 * i, rows[i % 8] + b * Q4K_BYTES + 16 + 8 * (i / 8), 8);
    for (int j = 0; j < 8; j++) {
        uint8_t s[8], m[8];
        for (int r = 0; r < 8; r++) ck_scale_min_k4(j, rows[r] + b * Q4K_BYTES + 4, &s[r], &m[r]);
        uint8_t *o = scales + 12 * j;
        for (int k = 0; k < 4; k++) {
            o[k] = (uint8_t)((s[k] & 63) | ((s[k + 4] & 48) << 2));
            o[k + 4] = (uint8_t)((m[k] & 63) | ((m[k + 4] & 48) << 2));
            o[k + 8] = (uint8_t)((s[k + 4] & 15) | ((m[k + 4] & 15) << 4));
        }
    }
}

// ggml's vec_dot_q4_K_q8_K (AVX2) arithmetic: 8 lanes of integer sums per super-block, one fma each, mins in 4
// lanes, hsum_float_8 (what wafer did before following the repacked kernels).
static float vec_dot_q4_K(const uint8_t *w, const int8_t *qs, const float *d, const float *s, long n) {
    float acc[8] = {0}, accm[4] = {0};
    for (long b = 0; b < n / QK; b++, w += Q4K_BYTES) {
        const float da = d[8 * b], scale = da * ck_half(w), scale_min = -da * ck_half(w + 2);
        int sumi[8] = {0}, mins[8];
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            ck_scale_min_k4(j, w + 4, &sc, &m);
            mins[j] = m;
            for (int l = 0; l < 32; l++) {
                const int v = (j & 1) ? w[16 + 32 * (j / 2) + l] >> 4 : w[16 + 32 * (j / 2) + l] & 0xF;
                sumi[l / 4] += sc * v * qs[256 * b + 32 * j + l];
            }
        }
        for (int k = 0; k < 8; k++) acc[k] = fmaf(scale, (float)sumi[k], acc[k]);
        for (int i = 0; i < 4; i++)
            accm[i] = fmaf(scale_min, (float)(mins[2 * i] * (int)s[8 * b + 2 * i] + mins[2 * i + 1] * (int)s[8 * b + 2 * i + 1]), accm[i]);
    }
    const float r0 = acc[4] + acc[0], r1 = acc[5] + acc[1], r2 = acc[6] + acc[2], r3 = acc[7] + acc[3];
    return ((r0 + r2) + (r1 + r3)) + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
}

static int check_layer(char **argv) {
    struct layer l;
    if (read_layer(argv, Q4K_BYTES, &l)) return 2;
    const long n = l.n, rows = l.rows, tokens = l.tokens;
    const float *x = l.x, *y = l.y;
    const uint8_t *w = l.w;
    int8_t *qs = l.qs;
    float *d = l.d, *s = l.s;
    long same = 0, sameVecDot = 0;
    for (long t = 0; t < tokens; t++) {
        ck_quantize_q8_K(x + t * n, n, (ck_q8){qs, d, s});
        for (long r = 0; r < rows; r++) {
            const uint8_t *row = w + r * (n / QK * Q4K_BYTES);
            const float ours = ck_dot_q8_scalar(CK_Q4_K, row, qs, d, s, n, CK_ORDER_BATCH), old = vec_dot_q4_K(row, qs, d, s, n);
            same += memcmp(&ours, &y[t * rows + r], 4) == 0;
            sameVecDot += memcmp(&old, &y[t * rows + r], 4) == 0;
        }
    }
    printf("outputs %ld: same bits as llama.cpp: wafer's Q4_K %ld, ggml's vec_dot arithmetic %ld\n", tokens * rows, same, sameVecDot);
    return same == tokens * rows ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "--layer")) return check_layer(argv);
    if (argc < 2) { fprintf(stderr, "usage: %s LLAMA_CPP_LIB_DIR | --layer X W Y N ROWS TOKENS\n", argv[0]); return 2; }
    void *lib = open_ggml_cpu(argv[1]);
    if (!lib) return 1;
    seed(12345);
    gemx_fn gemm = (gemx_fn)dlsym(lib, "ggml_gemm_q4_K_8x8_q8_K"), gemv = (gemx_fn)dlsym(lib, "ggml_gemv_q4_K_8x8_q8_K");
    quant_fn quant_x4 = (quant_fn)dlsym(lib, "ggml_quantize_mat_q8_K_4x8"), quant_row = (quant_fn)dlsym(lib, "quantize_row_q8_K");
    if (!gemm || !gemv || !quant_x4 || !quant_row) { fprintf(stderr, "missing symbols\n"); return 1; }

    const int tokens = 4;
    long total = 0, sameGemm = 0, sameGemv = 0, gemmIsGemv = 0;
    for (int trial = 0; trial < 200; trial++) {
        const int rowsN = trial % 2 ? 8 : 16;  // 8 rows: the AVX2 part of the kernel, 16: the AVX-512 part
        const long n = QK * (1 + trial % 8), nb = n / QK;
        uint8_t *w = malloc(rowsN * nb * Q4K_BYTES), *packed = malloc(rowsN / 8 * nb * Q4KX8_BYTES);
        for (long i = 0; i < rowsN * nb * Q4K_BYTES; i++) w[i] = (uint8_t)rng();
        for (long r = 0; r < rowsN * nb; r++) {
            const uint16_t dh = ck_float_to_half(0.0005f + 0.01f * uniform()), mh = ck_float_to_half(0.0005f + 0.005f * uniform());
            memcpy(w + r * Q4K_BYTES, &dh, 2);
            memcpy(w + r * Q4K_BYTES + 2, &mh, 2);
        }
        for (int g = 0; g < rowsN / 8; g++) {
            const uint8_t *rows[8];
            for (int r = 0; r < 8; r++) rows[r] = w + (8 * g + r) * nb * Q4K_BYTES;
            for (long b = 0; b < nb; b++) pack_x8(rows, b, packed + (g * nb + b) * Q4KX8_BYTES);
        }
        float *x = malloc(tokens * n * sizeof(float));
        for (long i = 0; i < tokens * n; i++) x[i] = (uniform() - 0.5f) * (trial % 3 ? 2.0f : 40.0f);
        uint8_t *qx4 = malloc(nb * Q8KX4_BYTES), *qrow = malloc(nb * Q8K_BYTES);
        quant_x4(x, qx4, n);
        float llamaGemm[tokens][16], llamaGemv[tokens][16];
        gemm((int)n, &llamaGemm[0][0], 16, packed, qx4, tokens, rowsN);
        for (int t = 0; t < tokens; t++) {
            quant_row(x + t * n, qrow, n);
            gemv((int)n, llamaGemv[t], 16, packed, qrow, 1, rowsN);
        }
        int8_t *qs = malloc(n);
        float *d = malloc(n / 32 * sizeof(float)), *s = malloc(n / 32 * sizeof(float));
        for (int t = 0; t < tokens; t++) {
            ck_quantize_q8_K(x + t * n, n, (ck_q8){qs, d, s});
            for (int r = 0; r < rowsN; r++) {
                const float ours = ck_dot_q8_scalar(CK_Q4_K, w + r * nb * Q4K_BYTES, qs, d, s, n, CK_ORDER_BATCH);
                const float oursToken = ck_dot_q8_scalar(CK_Q4_K, w + r * nb * Q4K_BYTES, qs, d, s, n, CK_ORDER_TOKEN);
                total++;
                sameGemm += memcmp(&ours, &llamaGemm[t][r], 4) == 0;
                sameGemv += memcmp(&oursToken, &llamaGemv[t][r], 4) == 0;
                gemmIsGemv += memcmp(&llamaGemm[t][r], &llamaGemv[t][r], 4) == 0;
                if (trial == 0 && r < 2) printf("t%d r%d ours %.9g gemm %.9g gemv %.9g\n", t, r, ours, llamaGemm[t][r], llamaGemv[t][r]);
            }
        }
        free(w); free(packed); free(x); free(qx4); free(qrow); free(qs); free(d); free(s);
    }
    printf("outputs %ld: wafer's batch order has the bits of llama.cpp's q4_K_8x8 gemm for %ld, its one-token order\n"
           "those of its gemv for %ld; gemm == gemv for %ld\n", total, sameGemm, sameGemv, gemmIsGemv);
    return sameGemm == total && sameGemv == total ? 0 : 1;
}
