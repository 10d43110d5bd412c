// norm.h: the per-group work of GroupNorm, vectorised (see norm.c).
#ifndef BICOT_NORM_H
#define BICOT_NORM_H

#include <stddef.h>

// One group of GroupNorm: x [cg, hw] (cg channels of hw values) normalised
// by the group's mean and biased variance (accumulated in double), then per
// channel out = (x − mean)·inv·w[c] + b[c], inv = 1/sqrt(var + eps);
// silu: then out = out·sigmoid(out) in the same pass (as act.h computes it).
void bc_groupnorm_group(float *out, const float *x, int cg, size_t hw, const float *w, const float *b, float eps,
                        int silu);

// One row of LayerNorm: out[j] = (x[j] − mean)·inv·w[j] + b[j] (b may be
// NULL) over d values, mean and biased variance accumulated in double lanes
// as bc_groupnorm_group does.
void bc_layernorm_row(float *out, const float *x, int d, const float *w, const float *b, float eps);

#endif
