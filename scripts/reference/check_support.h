// Shared by the reference check programs (q4k_repack_check.c, q6k_check.c), which call llama.cpp's own kernels
// through the libraries llama-cpp-python built.
#ifndef CHECK_SUPPORT_H
#define CHECK_SUPPORT_H
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

// A reproducible stream of random numbers (a linear congruential generator); seed it once.
static uint32_t rng_state;
static void seed(uint32_t s) { rng_state = s; }
static uint32_t rng(void) { rng_state = rng_state * 1664525u + 1013904223u; return rng_state >> 8; }
static float uniform(void) { return (float)(rng() & 0xFFFFFF) / 16777216.0f; }

// `bytes` bytes of the file at `path`, or exit status 2 with one line on stderr.
static void *read_file(const char *path, size_t bytes) {
    FILE *f = fopen(path, "rb");
    void *p = malloc(bytes);
    if (!f || !p || fread(p, 1, bytes, f) != bytes) { fprintf(stderr, "cannot read %zu bytes from %s\n", bytes, path); exit(2); }
    fclose(f);
    return p;
}

// The files of `--layer X W Y N ROWS TOKENS` (argv[2..7]) for a weight of K-quant super-blocks of 256
// elements, `blockBytes` each, and room for one token's quantized activations (qs, d, s); 0, or 2 with one line
// on stderr.
struct layer {
    long n, rows, tokens;
    const float *x, *y;  // (tokens, n) input and (tokens, rows) llama.cpp's output
    const uint8_t *w;    // (rows, n / 256 blocks)
    int8_t *qs;
    float *d, *s;
};

static int read_layer(char **argv, long blockBytes, struct layer *l) {
    l->n = atol(argv[5]), l->rows = atol(argv[6]), l->tokens = atol(argv[7]);
    if (l->n <= 0 || l->n % 256 || l->rows <= 0 || l->tokens <= 0) { fprintf(stderr, "bad N / ROWS / TOKENS\n"); return 2; }
    l->x = read_file(argv[2], l->tokens * l->n * sizeof(float));
    l->y = read_file(argv[4], l->tokens * l->rows * sizeof(float));
    l->w = read_file(argv[3], l->rows * l->n / 256 * blockBytes);
    l->qs = malloc(l->n);
    l->d = malloc(l->n / 32 * sizeof(float));
    l->s = malloc(l->n / 32 * sizeof(float));
    return 0;
}

// libggml-cpu.so of the llama.cpp build in `dir` (after libggml-base.so, which it links against), initialised
// (ggml_cpu_init fills ggml's F16 table); NULL with the reason on stderr when it cannot be loaded.
static void *open_ggml_cpu(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/libggml-base.so", dir);
    if (!dlopen(path, RTLD_NOW | RTLD_GLOBAL)) { fprintf(stderr, "%s\n", dlerror()); return NULL; }
    snprintf(path, sizeof path, "%s/libggml-cpu.so", dir);
    void *lib = dlopen(path, RTLD_NOW);
    if (!lib) { fprintf(stderr, "%s\n", dlerror()); return NULL; }
    void (*init)(void) = (void (*)(void))dlsym(lib, "ggml_cpu_init");
    if (!init) { fprintf(stderr, "%s: no ggml_cpu_init\n", path); return NULL; }
    init();
    return lib;
}
#endif
