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
