// ops.h: the backend interface (DESIGN.md §3). Every model (llama.c,
// janus.c, vqdec.c, clip.c, ...) computes through these functions and
// nothing else knows whether a CPU or a GPU does the work. Today there is the
// CPU backend (ops_cpu.c, conv.c); the CUDA one will implement the same
// declarations over device buffers.
//
// Conventions:
//   - activations are float32, row-major, contiguous; shapes are in the
//     comments as [rows, cols] or [C, H, W] (channel-first, one image);
//   - big weights stay in their stored dtype (bf16, f16 or f32) and are
//     converted inside the kernels (bc_weight); small vectors (biases, norm
//     weights) are float32, converted once at load;
//   - PyTorch layouts: Linear weight [out, in] (y = x·Wᵀ + b), Conv2d weight
//     [Co, Ci, kh, kw].
#ifndef BICOT_OPS_H
#define BICOT_OPS_H

#include <stddef.h>

#include "../io/weights.h"

// A weight matrix [rows, cols] in its stored dtype (F32, BF16 or F16).
// A conv weight [Co, Ci, kh, kw] is viewed as [Co, Ci·kh·kw].
typedef struct {
    bc_dtype dtype;
    const void *data;
    int rows, cols;
    // NULL, or the matrix as bc_weight_prepare left it for bc_linear_many.
    float *prepared;
} bc_weight;

// Views a tensor as a weight matrix: 2-D [rows, cols], or any N-D tensor as
// [shape[0], rest]. Fails on integer dtypes.
int bc_weight_from(bc_weight *w, const bc_tensor *t, bc_err *err);
// A float32 copy of a (small) tensor: biases, norm weights. Caller frees.
float *bc_tensor_f32(const bc_tensor *t, bc_err *err);

// Threads used by the ops (default: all cores).
void bc_ops_set_threads(int n);
int bc_ops_threads(void);

// out[n, w.rows] = x[n, w.cols] · wᵀ (+ bias[w.rows] when not NULL).
void bc_linear(float *out, const float *x, const bc_weight *w, const float *bias, int n);

// The same product through the GEMM with fused multiply-adds (about twice
// bc_linear's speed on many rows: a ViT's tokens). A row's result still does
// not depend on n or the thread count, but its last bits depend on the CPU's
// SIMD level (bc_linear's do not): for the reward models, whose outputs are
// compared with a tolerance; the generator, whose samples must be the same
// everywhere, uses bc_linear.
void bc_linear_many(float *out, const float *x, const bc_weight *w, const float *bias, int n);

// An MLP's activation, applied by bc_linear_many_act to the output as the
// GEMM finishes each piece of it, while that is still in cache, instead of a
// pass over memory (ViT-H-14: 42 M values an image, at the ~1.6 ns each
// measured for GELU over 11 MB; ~5% of an image's time by that estimate).
typedef enum { BC_ACT_NONE, BC_ACT_GELU, BC_ACT_GELU_QUICK } bc_act;
// out = act(bc_linear_many's out): the same bits as bc_linear_many followed
// by bc_activate.
void bc_linear_many_act(float *out, const float *x, const bc_weight *w, const float *bias, bc_act act, int n);
// out += bc_linear_many's out (a residual connection), added as the GEMM
// stores each tile instead of in a pass over memory: out + x·wᵀ summed block
// of k by block, then + bias.
void bc_linear_many_add(float *out, const float *x, const bc_weight *w, const float *bias, int n);
// x = act(x) in place: bc_gelu, bc_gelu_quick or nothing.
void bc_activate(float *x, size_t n, bc_act act);

// Prepares w for many bc_linear_many calls (a ViT's layers, called for every
// image): the CPU backend widens Wᵀ to float32 and packs it into the GEMM's
// panels once, 4 bytes a parameter, instead of on every call. Same results
// to the bit. bc_weight_release frees it (w.data is untouched either way).
void bc_weight_prepare(bc_weight *w);
void bc_weight_release(bc_weight *w);

// Row-wise norms over d features of n rows (out may equal x).
// RMSNorm: w · x / sqrt(mean(x²) + eps).
void bc_rmsnorm(float *out, const float *x, const float *w, int n, int d, float eps);
// LayerNorm: (x − mean)/sqrt(var + eps) · w + b (biased variance).
void bc_layernorm(float *out, const float *x, const float *w, const float *b, int n, int d, float eps);
// GroupNorm over one image x[C, hw]: groups of C/groups channels share mean
// and (biased) variance over (C/groups)·hw values; then per-channel w, b.
void bc_groupnorm(float *out, const float *x, const float *w, const float *b, int C, int hw, int groups, float eps);
// bc_groupnorm then bc_silu, in one pass over the data.
void bc_groupnorm_silu(float *out, const float *x, const float *w, const float *b, int C, int hw, int groups,
                       float eps);

// Element-wise, in place.
void bc_silu(float *x, size_t n);        // x·sigmoid(x) (also "swish")
void bc_gelu(float *x, size_t n);        // exact: 0.5·x·(1 + erf(x/√2))
void bc_gelu_quick(float *x, size_t n);  // x·sigmoid(1.702·x) (CLIP's quick_gelu)
void bc_add(float *x, const float *y, size_t n);  // x += y
void bc_mul(float *x, const float *y, size_t n);  // x *= y
// Softmax of one row of n values, in place (max-subtracted).
void bc_softmax(float *x, int n);

// Rotary embedding, "rotate_half" (NEOX) layout: dimension j pairs with
// j + head_dim/2, inv_freq[i] = theta^(−2i/head_dim). x is one token's
// [n_heads, head_dim], rotated in place for position pos.
void bc_rope(float *x, int n_heads, int head_dim, int pos, float theta);

// Multi-head attention of nq queries over nk keys (grouped-query: each of
// n_kv_heads serves n_heads/n_kv_heads query heads).
//   q   [nq, n_heads·head_dim]         out [nq, n_heads·head_dim]
//   k,v [nk, n_kv_heads·head_dim]      (rows kv_stride floats apart, so a
//                                       KV cache with spare rows can be used)
// causal: query i sees keys 0 .. nk − nq + i; otherwise every key.
// scale: usually 1/sqrt(head_dim).
void bc_attention(float *out, const float *q, const float *k, const float *v, int nq, int nk, int n_heads,
                  int n_kv_heads, int head_dim, int kv_stride, int causal, float scale);

// 2-D convolution of one image, stride 1, zero padding pad, square kernel ks:
// in [Ci, H, W], w as [Co, Ci·ks·ks], bias [Co] (may be NULL), out [Co, H', W']
// with H' = H + 2·pad − ks + 1.
void bc_conv2d(float *out, const float *in, const bc_weight *w, const float *bias, int Ci, int H, int W, int ks,
               int pad);
// A convolution kernel prepared once for a model's many calls (the CPU
// backend: a 3×3 padding-1 kernel's Winograd transform, packed for the GEMM,
// 16/9 of the weight in float32; other shapes need nothing). bc_conv2d would
// otherwise redo that work on every call.
typedef struct bc_conv_plan bc_conv_plan;
// NULL when the shape needs no plan (bc_conv2d_planned then works as
// bc_conv2d).
bc_conv_plan *bc_conv_plan_new(const bc_weight *w, int ks, int pad);
void bc_conv_plan_free(bc_conv_plan *p);
// bc_conv2d with the plan made for w, ks and pad (or NULL).
void bc_conv2d_planned(float *out, const float *in, const bc_weight *w, const bc_conv_plan *plan, const float *bias,
                       int Ci, int H, int W, int ks, int pad);
// Caps conv2d's im2col scratch (default 32 MB); returns the previous cap.
// Tests lower it to force many bands.
size_t bc_conv2d_set_scratch_limit(size_t bytes);
// Turns conv2d's Winograd path for 3×3 padding-1 kernels off (0) or on (1,
// the default); returns the previous setting. For tests and benchmarks.
int bc_conv2d_set_winograd(int on);
// Nearest-neighbour ×2: in [C, H, W] -> out [C, 2H, 2W].
void bc_upsample2x(float *out, const float *in, int C, int H, int W);

// Scalar reference twins of the optimised kernels (tests compare them).
void bc_linear_ref(float *out, const float *x, const bc_weight *w, const float *bias, int n);
void bc_conv2d_ref(float *out, const float *in, const bc_weight *w, const float *bias, int Ci, int H, int W, int ks,
                   int pad);

// One weight element as float (any supported dtype).
float bc_weight_at(const bc_weight *w, size_t i);

#endif
