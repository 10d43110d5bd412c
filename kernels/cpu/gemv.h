// gemv.h: batch-invariant matrix-vector kernels (see gemv.c).
#ifndef BICOT_GEMV_H
#define BICOT_GEMV_H

#include <stdint.h>

// For each of n input rows x[i] (x_stride floats apart) and each of `rows`
// weight rows w[r] (cols wide): out[i·out_stride + r] = x[i] · w[r].
void bc_gemv_bf16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                  int x_stride);
void bc_gemv_f32(float *out, const float *w, const float *x, int rows, int cols, int n, int out_stride,
                 int x_stride);

#endif
