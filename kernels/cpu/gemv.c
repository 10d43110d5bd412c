// gemv.c: out[i, r] = x[i] · w[r] for bf16, f16 and f32 weight rows: the
// matrix-vector products of token-by-token decoding, which read every weight
// once per step and so run at memory speed if the loop is vectorised.
//
// Each dot product keeps 16 independent partial sums (lanes) that the
// compiler maps onto SIMD registers without reassociating anything, then
// adds them in a fixed order. So a result does not depend on the batch, the
// thread count or the SIMD level the machine picked at run time
// (target_clones: AVX-512, AVX2 or plain x86-64; -std=c11 keeps
// multiply-add contraction off, so every level rounds the same way).
// The scalar twin is bc_linear_ref in lib/nn/ops_cpu.c.
#include "gemv.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BC_CLONES
#endif

enum { LANES = 16 };

static float reduce_lanes(const float *acc) {
    float s8[8], s4[4];
    for (int j = 0; j < 8; j++) s8[j] = acc[j] + acc[j + 8];
    for (int j = 0; j < 4; j++) s4[j] = s8[j] + s8[j + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

static inline float bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

BC_CLONES
void bc_gemv_bf16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                  int x_stride) {
    int main_cols = cols - cols % LANES;
    for (int r = 0; r < rows; r++) {
        const uint16_t *wr = w + (size_t)r * cols;
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * x_stride;
            float acc[LANES] = {0};
            for (int k = 0; k < main_cols; k += LANES)
                for (int j = 0; j < LANES; j++) acc[j] += bf16(wr[k + j]) * xi[k + j];
            for (int k = main_cols; k < cols; k++) acc[k - main_cols] += bf16(wr[k]) * xi[k];
            out[(size_t)i * out_stride + r] = reduce_lanes(acc);
        }
    }
}

BC_CLONES
void bc_gemv_f32(float *out, const float *w, const float *x, int rows, int cols, int n, int out_stride,
                 int x_stride) {
    int main_cols = cols - cols % LANES;
    for (int r = 0; r < rows; r++) {
        const float *wr = w + (size_t)r * cols;
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * x_stride;
            float acc[LANES] = {0};
            for (int k = 0; k < main_cols; k += LANES)
                for (int j = 0; j < LANES; j++) acc[j] += wr[k + j] * xi[k + j];
            for (int k = main_cols; k < cols; k++) acc[k - main_cols] += wr[k] * xi[k];
            out[(size_t)i * out_stride + r] = reduce_lanes(acc);
        }
    }
}
