// winograd.h: the input and output transforms of Winograd's F(2×2, 3×3)
// convolution (the algorithm is described in lib/nn/conv.c, which drives
// them around the GEMMs). Vectorised across tiles: see winograd.c.
#ifndef BICOT_WINOGRAD_H
#define BICOT_WINOGRAD_H

#include <stddef.h>

// V[ξ] = (Bᵀ d B)[ξ] for the nt tiles t0 .. t0+nt−1 (raster order over a
// tile grid tw wide) and every channel, written as 16 packed GEMM B operands
// [Ci, nt] one after the other (bc_sgemm_packed_b_index layout, padding
// columns zeroed). `padded` is the input with a zero border, [Ci, Hp, Wp]
// with Wp even: pixel (y, x) of the image is at padded row y + 1, column
// c = x + 1, and each row stores its even columns c = 2j at j and its odd
// ones c = 2j + 1 at Wp/2 + j. Hp >= 2·th + 2 and Wp >= 2·tw + 2, so tile
// (ty, tx) reads rows 2ty .. 2ty+3 and columns 2tx .. 2tx+3 without bounds
// checks.
void bc_winograd_input(float *V, const float *padded, int Ci, int Hp, int Wp, int tw, int t0, int nt);

// One channel of the input [H, W] into bc_winograd_input's padded layout
// [Hp, Wp] (zero border, even and odd columns apart; every element written).
void bc_winograd_pad(float *padded, const float *in, int H, int W, int Hp, int Wp);

// out[co, 2ty + i, 2tx + j] = (Aᵀ M A)[i][j] + bias[co] for the nt tiles
// (only the pixels inside [Ho, Wo]). M[ξ] is [Co, ldm] (tile k of the block
// in column k), the 16 of them mstride floats apart. bias may be NULL.
void bc_winograd_output(float *out, const float *M, size_t mstride, int ldm, const float *bias, int Co, int Ho, int Wo,
                        int tw, int t0, int nt);

#endif
