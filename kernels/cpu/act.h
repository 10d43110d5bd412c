// act.h: vectorised element-wise activations (see act.c).
#ifndef BICOT_ACT_H
#define BICOT_ACT_H

#include <stddef.h>

// x[i] = x[i] · sigmoid(x[i]) (SiLU, "swish") for i < n, through a
// polynomial exp that the compiler vectorises (within 2 ulp of expf; the
// result within a few ulp of x / (1 + expf(−x)), the scalar twin).
void bc_silu_kernel(float *x, size_t n);

// x[i] = GELU(x[i]) = x·Φ(x) = 0.5·x·(1 + erf(x/√2)) (the exact, erf form),
// with erfc from Numerical Recipes' Chebyshev fit (relative error < 1.2e-7
// everywhere) and vexp.h's exp; the scalar twin is 0.5·x·(1 + erff(x/√2)).
void bc_gelu_kernel(float *x, size_t n);
// x[i] = x·sigmoid(1.702·x) (CLIP's quick_gelu).
void bc_gelu_quick_kernel(float *x, size_t n);

#endif
