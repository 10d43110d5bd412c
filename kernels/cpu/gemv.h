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

// The same products, bit for bit the same as bc_gemv_* (f16: as bc_gemv_f32
// on the weights widened to float32), register-blocked over several input
// rows: the kernel for n of a few and more. Calling thread only.
void bc_gemv_batch_f32(float *out, const float *w, const float *x, int rows, int cols, int n, int out_stride,
                       int x_stride);
void bc_gemv_batch_bf16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                        int x_stride);
void bc_gemv_batch_f16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                       int x_stride);

// The batch kernel in use: "avx512" or "generic" (the loops of bc_gemv_*).
const char *bc_gemv_kernel_name(void);
// Forces the generic kernel (1) or the best one the CPU has (0): for tests.
void bc_gemv_force_generic(int on);

#endif
