// act.h: vectorised element-wise activations (see act.c).
#ifndef BICOT_ACT_H
#define BICOT_ACT_H

#include <stddef.h>

// x[i] = x[i] · sigmoid(x[i]) (SiLU, "swish") for i < n, through a
// polynomial exp that the compiler vectorises (within 2 ulp of expf; the
// result within a few ulp of x / (1 + expf(−x)), the scalar twin).
void bc_silu_kernel(float *x, size_t n);

#endif
