// Checks ck_dot_q8_scalar's Q6_K arithmetic against llama.cpp's.
//
//   cc -O2 -I Sources/CKernels -o /tmp/q6k_check scripts/reference/q6k_check.c Sources/CKernels/scalar.c -ldl -lm
//   /tmp/q6k_check ~/.cache/wafer/llama-venv/lib/python3*/site-packages/llama_cpp/lib
//       random rows and activations through the libggml-cpu.so that llama-cpp-python built: how many outputs of
//       wafer's one-token order (CK_ORDER_TOKEN) have the bits of ggml_vec_dot_q6_K_q8_K, which llama.cpp runs
//       for fewer than 8 tokens (and how many of its quantized activations equal quantize_row_q8_K's);
//   /tmp/q6k_check --layer X.bin W.bin Y.bin N ROWS TOKENS
//       a real layer (scripts/reference/kquant_layer_check.py writes the files): X the layer's input as llama.cpp
//       computed it (TOKENS x N floats), W the Q6_K weight (ROWS rows), Y llama.cpp's output (TOKENS x ROWS);
//       how many outputs wafer's order for that batch reproduces: the tiled order (CK_ORDER_BATCH) from 8
//       tokens on, which llama.cpp's tiled matmul (not exported, so checked on its outputs) runs.
#include "check_support.h"
#include "ckernels_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { QK = 256, Q6K_BYTES = 210, Q8K_BYTES = 4 + 256 + 32 };

typedef void (*vec_dot_fn)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
typedef void (*quant_fn)(const float *x, void *y, long k);

static int check_layer(char **argv) {
    struct layer l;
    if (read_layer(argv, Q6K_BYTES, &l)) return 2;
    const long n = l.n, rows = l.rows, tokens = l.tokens;
    const float *x = l.x, *y = l.y;
    const uint8_t *w = l.w;
    int8_t *qs = l.qs;
    float *d = l.d, *s = l.s;
    const int order = tokens >= 8 ? CK_ORDER_BATCH : CK_ORDER_TOKEN;
    long same = 0;
    for (long t = 0; t < tokens; t++) {
        ck_quantize_q8_K(x + t * n, n, (ck_q8){qs, d, s});
        for (long r = 0; r < rows; r++) {
            const float ours = ck_dot_q8_scalar(CK_Q6_K, w + r * (n / QK * Q6K_BYTES), qs, d, s, n, order);
            same += memcmp(&ours, &y[t * rows + r], 4) == 0;
        }
    }
    printf("outputs %ld: same bits as llama.cpp in wafer's %s order: %ld\n", tokens * rows,
           order == CK_ORDER_BATCH ? "tiled" : "one-token", same);
    return same == tokens * rows ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 8 && !strcmp(argv[1], "--layer")) return check_layer(argv);
    if (argc < 2) { fprintf(stderr, "usage: %s LLAMA_CPP_LIB_DIR | --layer X W Y N ROWS TOKENS\n", argv[0]); return 2; }
    void *lib = open_ggml_cpu(argv[1]);
    if (!lib) return 1;
    seed(99);
    vec_dot_fn vec_dot = (vec_dot_fn)dlsym(lib, "ggml_vec_dot_q6_K_q8_K");
    quant_fn quant_row = (quant_fn)dlsym(lib, "quantize_row_q8_K");
    if (!vec_dot || !quant_row) { fprintf(stderr, "missing symbols\n"); return 1; }
    long total = 0, same = 0, sameQuant = 0;
    for (int trial = 0; trial < 300; trial++) {
        const long n = QK * (1 + trial % 19), nb = n / QK;
        uint8_t *w = malloc(nb * Q6K_BYTES), *qy = malloc(nb * Q8K_BYTES);
        for (long i = 0; i < nb * Q6K_BYTES; i++) w[i] = (uint8_t)rng();
        for (long b = 0; b < nb; b++) {
            const uint16_t h = ck_float_to_half(0.0005f + 0.01f * uniform());
            memcpy(w + b * Q6K_BYTES + 208, &h, 2);
            for (int j = 0; j < 16; j++) w[b * Q6K_BYTES + 192 + j] = (uint8_t)((int)(rng() % 128) - 64);
        }
        float *x = malloc(n * sizeof(float));
        for (long i = 0; i < n; i++) x[i] = (uniform() - 0.5f) * (trial % 3 ? 2.0f : 40.0f);
        quant_row(x, qy, n);
        float reference;
        vec_dot((int)n, &reference, 0, w, 0, qy, 0, 1);
        int8_t *qs = malloc(n);
        float *d = malloc(n / 32 * sizeof(float)), *s = malloc(n / 32 * sizeof(float));
        ck_quantize_q8_K(x, n, (ck_q8){qs, d, s});
        int quantSame = 1;
        for (long b = 0; b < nb; b++) {  // block_q8_K: float d, int8 qs[256], int16 bsums[16]
            float db;
            memcpy(&db, qy + b * Q8K_BYTES, 4);
            if (db != d[8 * b] || memcmp(qy + b * Q8K_BYTES + 4, qs + QK * b, QK)) quantSame = 0;
        }
        const float ours = ck_dot_q8_scalar(CK_Q6_K, w, qs, d, s, n, CK_ORDER_TOKEN);
        total++;
        same += memcmp(&ours, &reference, 4) == 0;
        sameQuant += quantSame;
        free(w); free(qy); free(x); free(qs); free(d); free(s);
    }
    printf("rows %ld: wafer's one-token order has the bits of ggml_vec_dot_q6_K_q8_K for %ld; quantized activations"
           " equal for %ld\n", total, same, sameQuant);
    return same == total && sameQuant == total ? 0 : 1;
}
