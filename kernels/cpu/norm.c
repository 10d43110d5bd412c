// norm.c: GroupNorm's group statistics over the VQ decoder's big maps (4
// channels × 147k values a group at 384×384). The sums run in double, as the
// scalar code did, but in 8 independent lanes (lane j takes the i ≡ j mod 8)
// added in a fixed order at the end: the compiler vectorises that without
// reassociating anything, so the result is the same at every SIMD level
// (-O3, target_clones: AVX-512, AVX2 or baseline x86-64).
#include "norm.h"

#include <math.h>

#include "vexp.h"

#include "clones.h"

enum { LANES = 8 };

static double reduce(const double *lane) {
    return ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
}

// Mean and biased variance of x[count] in double lanes.
static inline void moments(const float *x, size_t count, double *mean_out, double *var_out) {
    size_t main_n = count - count % LANES;
    double lane[LANES] = {0};
    for (size_t i = 0; i < main_n; i += LANES)
        for (int j = 0; j < LANES; j++) lane[j] += x[i + j];
    for (size_t i = main_n; i < count; i++) lane[i - main_n] += x[i];
    double mean = reduce(lane) / (double)count;
    for (int j = 0; j < LANES; j++) lane[j] = 0;
    for (size_t i = 0; i < main_n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = (double)x[i + j] - mean;
            lane[j] += d * d;
        }
    for (size_t i = main_n; i < count; i++) {
        double d = (double)x[i] - mean;
        lane[i - main_n] += d * d;
    }
    *mean_out = mean;
    *var_out = reduce(lane) / (double)count;
}

BC_CLONES
void bc_groupnorm_group(float *out, const float *x, int cg, size_t hw, const float *w, const float *b, float eps,
                        int silu) {
    double mean, var;
    moments(x, (size_t)cg * hw, &mean, &var);
    float inv = 1.0f / sqrtf((float)var + eps), m = (float)mean;
    for (int c = 0; c < cg; c++) {
        float scale = inv * w[c], shift = b[c];
        const float *xc = x + (size_t)c * hw;
        float *oc = out + (size_t)c * hw;
        if (silu) {
            for (size_t i = 0; i < hw; i++) {
                float y = (xc[i] - m) * scale + shift;
                oc[i] = y / (1.0f + bc_vexp(-y));
            }
        } else {
            for (size_t i = 0; i < hw; i++) oc[i] = (xc[i] - m) * scale + shift;
        }
    }
}

BC_CLONES
void bc_layernorm_row(float *out, const float *x, int d, const float *w, const float *b, float eps) {
    double mean, var;
    moments(x, (size_t)d, &mean, &var);
    float inv = 1.0f / sqrtf((float)var + eps), m = (float)mean;
    if (b)
        for (int j = 0; j < d; j++) out[j] = (x[j] - m) * inv * w[j] + b[j];
    else
        for (int j = 0; j < d; j++) out[j] = (x[j] - m) * inv * w[j];
}
