// sgemm.h: single-precision matrix multiply for the convolutions (see
// sgemm.c). Row-major throughout.
#ifndef BICOT_SGEMM_H
#define BICOT_SGEMM_H

#include <stddef.h>

// C[M, N] = A[M, K] · B[K, N]   (accumulate = 0)
// C[M, N] += A[M, K] · B[K, N]  (accumulate = 1)
// with leading dimensions lda, ldb, ldc (floats between rows). Runs on the
// calling thread only: callers parallelise over independent pieces, which
// keeps each result independent of the thread count.
void bc_sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
              int accumulate);

// C[M, N] (+)= A[M, K] · Bᵀ with B given as N rows of K (ldb floats apart):
// the products of a row with the rows of another matrix (attention's
// queries · keys). Calling thread only; the same blocking and k order as
// bc_sgemm, so C[i][j] is computed the same way whatever M and N are.
void bc_sgemm_bt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                 int accumulate);

// The same on `threads` OpenMP threads (over column blocks of C). A column
// of C is computed the same way whichever thread owns it.
void bc_sgemm_threads(int threads, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                      int accumulate);

// ---- pre-packed operands ----------------------------------------------------------
// A weight matrix used many times is packed once; a producer that builds B
// (the Winograd input transform) writes it straight into the packed layout,
// saving the GEMM a pass over it.

enum { BC_SGEMM_MR = 12, BC_SGEMM_NR = 32, BC_SGEMM_KC = 256 };

// Floats in the packed form of A[M, K] / B[K, N] (padded to whole panels).
size_t bc_sgemm_packed_a_floats(int M, int K);
size_t bc_sgemm_packed_b_floats(int K, int N);
void bc_sgemm_pack_a(float *Ap, const float *A, int lda, int M, int K);
// Where B[k][n] lives in the packed layout: blocks of KC rows; in a block,
// panels of NR columns, each kc rows × NR contiguous. Padding columns of the
// last panel must be written (zeros or anything finite: they only reach
// columns of C that are not stored).
static inline size_t bc_sgemm_packed_b_index(int K, int N, int k, int n) {
    int pc = k - k % BC_SGEMM_KC, kc = K - pc < BC_SGEMM_KC ? K - pc : BC_SGEMM_KC;
    size_t np = (size_t)(N + BC_SGEMM_NR - 1) / BC_SGEMM_NR * BC_SGEMM_NR;
    return (size_t)pc * np + (size_t)(n / BC_SGEMM_NR) * kc * BC_SGEMM_NR + (size_t)(k - pc) * BC_SGEMM_NR +
           n % BC_SGEMM_NR;
}
// Where A[m][k] lives in bc_sgemm_pack_a's layout: blocks of KC columns; in
// a block, panels of MR rows, each kc columns × MR contiguous. Rows past M
// of the last panel must be zeros (they are computed, and not stored, but a
// NaN there would be harmless too; zeros keep tools like valgrind quiet).
static inline size_t bc_sgemm_packed_a_index(int M, int K, int m, int k) {
    int pc = k - k % BC_SGEMM_KC, kc = K - pc < BC_SGEMM_KC ? K - pc : BC_SGEMM_KC;
    size_t mp = (size_t)(M + BC_SGEMM_MR - 1) / BC_SGEMM_MR * BC_SGEMM_MR;
    return (size_t)pc * mp + (size_t)(m / BC_SGEMM_MR) * kc * BC_SGEMM_MR + (size_t)(k - pc) * BC_SGEMM_MR +
           m % BC_SGEMM_MR;
}
// C[M, N] (+)= A·B from packed A and B; calling thread only.
// bias[N] (when not NULL) is added to C's columns after the last k block.
void bc_sgemm_packed(int M, int N, int K, const float *Ap, const float *Bp, float *C, int ldc, int accumulate,
                     const float *bias);

// C[M, N] (+)= A[M, K] · Wᵀ for a weight matrix W [N, K] (rows ldw elements
// apart) stored as float32, bf16 or f16 (w_type), widened while packing; on
// `threads` OpenMP threads over column blocks of C. A linear layer over many
// rows (a ViT's tokens): each element is one fused-multiply-add chain over
// k in order, the same for any M, N or thread count, but not the bits of
// bc_gemv_* (see ops.h: bc_linear_many).
enum { BC_SGEMM_F32, BC_SGEMM_BF16, BC_SGEMM_F16 };
void bc_sgemm_wt(int threads, int M, int N, int K, const float *A, int lda, const void *W, int w_type, int ldw,
                 float *C, int ldc, int accumulate);

// A weight matrix W [N, K] prepared once for many bc_sgemm_wt_packed calls:
// Wᵀ widened to float32 in the packed B layout (bc_sgemm_packed_b_index),
// bc_sgemm_packed_b_floats(K, N) floats at Bp; on `threads` threads.
void bc_sgemm_pack_wt(int threads, float *Bp, const void *W, int w_type, int ldw, int N, int K);
// C[M, N] = act((C +) A[M, K] · Wᵀ (+ bias[N] when not NULL)) from W packed
// by bc_sgemm_pack_wt (C added when accumulate: a residual connection): the
// bits of bc_sgemm_wt on the same weights followed by adding the bias and
// applying act (NULL: none; else an element-wise
// function, called on pieces of rows of C as they are finished), without
// packing and widening W on every call (for a ViT's 257 tokens those cost
// about a fifth of the time) or passes over C for the bias and activation.
typedef void bc_sgemm_act(float *x, size_t n);
void bc_sgemm_wt_packed(int threads, int M, int N, int K, const float *A, int lda, const float *Bp, const float *bias,
                        bc_sgemm_act *act, float *C, int ldc, int accumulate);

// The definition (double accumulation, three loops): the scalar twin the
// tests compare with.
void bc_sgemm_ref(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                  int accumulate);

// The micro-kernel in use: "avx512", "generic".
const char *bc_sgemm_kernel_name(void);
// Forces the generic kernel (1) or the best one the CPU has (0): lets the
// tests check both on an AVX-512 machine.
void bc_sgemm_force_generic(int on);

#endif
