// act.c: SiLU and GELU over big tensors (the VQ decoder applies it to 19 M values per
// layer at 384×384), where libm's expf, called one value at a time, costs
// more than the rest of the layer's element-wise work together. With
// vexp.h's exp there is no call and no branch: the loop vectorises (-O3 with
// target_clones for AVX-512, AVX2 or baseline x86-64).
#include "act.h"

#include "vexp.h"

#include "clones.h"

BC_CLONES
void bc_silu_kernel(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + bc_vexp(-x[i]));
}

// Φ(x) = 1 − erfc(x/√2)/2 for x >= 0 and erfc(−x/√2)/2 below: erfc of a
// non-negative z = |x|/√2 only, where the fit is accurate in relative terms
// (so both tails keep their precision), chosen by the sign without a branch.
// Past z = 9 (x < −12.7) Φ(x) < 2e-37 and x·Φ(x) is made 0 rather than a
// subnormal float: on x86 each subnormal costs a microcode assist (~100
// cycles) where it is made and again where it is read (the next layer's
// GEMM); with inputs spread over ±20, 17 ns a value instead of 1.6
// (measured; OWLv2's box and objectness heads were 1.4% of score-det).
static inline float gelu_one(float x) {
    float z = (x < 0 ? -x : x) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = 0.17087277f;
    p = p * t + -0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t + -1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t + -0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t + -1.26551223f;
    float erfc = z > 9.0f ? 0.0f : t * bc_vexp(-z * z + p);
    float phi = x < 0 ? 0.5f * erfc : 1.0f - 0.5f * erfc;
    return x * phi;
}

BC_CLONES
void bc_gelu_kernel(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = gelu_one(x[i]);
}

BC_CLONES
void bc_gelu_quick_kernel(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + bc_vexp(-1.702f * x[i]));
}
