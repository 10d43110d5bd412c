// act.c: SiLU over big tensors (the VQ decoder applies it to 19 M values per
// layer at 384×384), where libm's expf, called one value at a time, costs
// more than the rest of the layer's element-wise work together. With
// vexp.h's exp there is no call and no branch: the loop vectorises (-O3 with
// target_clones for AVX-512, AVX2 or baseline x86-64).
#include "act.h"

#include "vexp.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BC_CLONES
#endif

BC_CLONES
void bc_silu_kernel(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + bc_vexp(-x[i]));
}
