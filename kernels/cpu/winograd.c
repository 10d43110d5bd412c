// winograd.c: F(2×2, 3×3) transforms (see winograd.h and lib/nn/conv.c).
//
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   (input: V = Bᵀ d B)
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]                      (output: Y = Aᵀ M A)
//
// Neighbouring tiles of one tile row sit 2 pixels apart, so the loops run
// over a "run" of consecutive tiles of one row (and, for the input, of one
// 32-wide GEMM panel, where they are contiguous in V). The padded input
// keeps the even and odd columns of each row apart, so tile u of a run reads
// element u and u + 1 of each: unit-stride loads and stores with no branch,
// which the compiler vectorises (-O3 with target_clones: AVX-512, AVX2 or
// baseline x86-64).
#include "winograd.h"

#include "sgemm.h"

#include "clones.h"

BC_CLONES
void bc_winograd_pad(float *padded, const float *in, int H, int W, int Hp, int Wp) {
    int half = Wp / 2;
    for (int y = 0; y < Hp; y++) {
        float *even = padded + (size_t)y * Wp, *odd = even + half;
        if (y == 0 || y > H) {  // above or below the image
            for (int j = 0; j < Wp; j++) even[j] = 0.0f;
            continue;
        }
        // Padded column c = x + 1: even[j] (c = 2j) holds x = 2j − 1, odd[j]
        // (c = 2j + 1) holds x = 2j. For 1 <= j < (W + 1)/2 both are inside
        // the row: a branch-free loop; the edges are zero where outside.
        const float *src = in + (size_t)(y - 1) * W;
        int inner = (W + 1) / 2;
        even[0] = 0.0f;
        odd[0] = src[0];
        for (int j = 1; j < inner; j++) {
            even[j] = src[2 * j - 1];
            odd[j] = src[2 * j];
        }
        for (int j = inner > 1 ? inner : 1; j < half; j++) {
            even[j] = 2 * j - 1 < W ? src[2 * j - 1] : 0.0f;
            odd[j] = 2 * j < W ? src[2 * j] : 0.0f;
        }
    }
}

BC_CLONES
void bc_winograd_input(float *V, const float *padded, int Ci, int Hp, int Wp, int tw, int t0, int nt) {
    size_t mat = bc_sgemm_packed_b_floats(Ci, nt);  // floats between the 16 matrices
    int np = (nt + BC_SGEMM_NR - 1) / BC_SGEMM_NR * BC_SGEMM_NR;
    int half = Wp / 2;
    for (int ci = 0; ci < Ci; ci++) {
        const float *plane = padded + (size_t)ci * Hp * Wp;
        for (int k = 0; k < nt;) {
            int t = t0 + k, ty = t / tw, tx = t % tw;
            int run = tw - tx;
            if (run > BC_SGEMM_NR - k % BC_SGEMM_NR) run = BC_SGEMM_NR - k % BC_SGEMM_NR;
            if (run > nt - k) run = nt - k;
            // Row i of the patches, split: even columns E_i, odd O_i.
            const float *r[4];
            for (int i = 0; i < 4; i++) r[i] = plane + (size_t)(2 * ty + i) * Wp;
            const float *E0 = r[0] + tx, *O0 = r[0] + half + tx, *E1 = r[1] + tx, *O1 = r[1] + half + tx;
            const float *E2 = r[2] + tx, *O2 = r[2] + half + tx, *E3 = r[3] + tx, *O3 = r[3] + half + tx;
            float *v = V + bc_sgemm_packed_b_index(Ci, nt, ci, k);
#pragma GCC ivdep
            for (int u = 0; u < run; u++) {
                // the patch's columns 0..3 are E[u], O[u], E[u+1], O[u+1]
                // Bᵀ d: combine the rows, column by column
                float a0 = E0[u] - E2[u], a1 = O0[u] - O2[u], a2 = E0[u + 1] - E2[u + 1], a3 = O0[u + 1] - O2[u + 1];
                float b0 = E1[u] + E2[u], b1 = O1[u] + O2[u], b2 = E1[u + 1] + E2[u + 1], b3 = O1[u + 1] + O2[u + 1];
                float e0 = E2[u] - E1[u], e1 = O2[u] - O1[u], e2 = E2[u + 1] - E1[u + 1], e3 = O2[u + 1] - O1[u + 1];
                float f0 = E1[u] - E3[u], f1 = O1[u] - O3[u], f2 = E1[u + 1] - E3[u + 1], f3 = O1[u + 1] - O3[u + 1];
                // (Bᵀ d) B: the same combination along each row
                v[0 * mat + u] = a0 - a2;
                v[1 * mat + u] = a1 + a2;
                v[2 * mat + u] = a2 - a1;
                v[3 * mat + u] = a1 - a3;
                v[4 * mat + u] = b0 - b2;
                v[5 * mat + u] = b1 + b2;
                v[6 * mat + u] = b2 - b1;
                v[7 * mat + u] = b1 - b3;
                v[8 * mat + u] = e0 - e2;
                v[9 * mat + u] = e1 + e2;
                v[10 * mat + u] = e2 - e1;
                v[11 * mat + u] = e1 - e3;
                v[12 * mat + u] = f0 - f2;
                v[13 * mat + u] = f1 + f2;
                v[14 * mat + u] = f2 - f1;
                v[15 * mat + u] = f1 - f3;
            }
            k += run;
        }
        // The last panel's columns past nt reach only columns of C that are
        // never stored; zero them so no stale value (or NaN) is ever read.
        for (int n = nt; n < np; n++) {
            size_t i = bc_sgemm_packed_b_index(Ci, nt, ci, n);
            for (int x = 0; x < 16; x++) V[(size_t)x * mat + i] = 0.0f;
        }
    }
}

// Aᵀ M A + b of tile u: M[ξ] = e[ξ·stride + u]; o = {y00, y01, y10, y11}.
static inline void output_tile(const float *e, size_t stride, int u, float b, float *o) {
    float m[16];
    for (int x = 0; x < 16; x++) m[x] = e[x * stride + u];
    // Aᵀ M: rows 0 + 1 + 2 and 1 − 2 − 3
    float p0 = m[0] + m[4] + m[8], p1 = m[1] + m[5] + m[9], p2 = m[2] + m[6] + m[10], p3 = m[3] + m[7] + m[11];
    float q0 = m[4] - m[8] - m[12], q1 = m[5] - m[9] - m[13], q2 = m[6] - m[10] - m[14], q3 = m[7] - m[11] - m[15];
    // (Aᵀ M) A: the same along each row
    o[0] = p0 + p1 + p2 + b;
    o[1] = p1 - p2 - p3 + b;
    o[2] = q0 + q1 + q2 + b;
    o[3] = q1 - q2 - q3 + b;
}

BC_CLONES
void bc_winograd_output(float *out, const float *M, size_t mstride, int ldm, const float *bias, int Co, int Ho, int Wo,
                        int tw, int t0, int nt) {
    for (int co = 0; co < Co; co++) {
        float b = bias ? bias[co] : 0.0f;
        float *dst = out + (size_t)co * Ho * Wo;
        const float *m = M + (size_t)co * ldm;
        for (int k = 0; k < nt;) {
            int t = t0 + k, ty = t / tw, tx = t % tw;
            int run = tw - tx < nt - k ? tw - tx : nt - k;
            // Tiles whose two columns are both inside the image; the last
            // tile of an odd-width row has one. The bottom tile row of an
            // odd height has one row.
            int full = 2 * (tx + run) <= Wo ? run : run - 1;
            float *y0 = dst + (size_t)(2 * ty) * Wo + 2 * tx;
            float *y1 = 2 * ty + 1 < Ho ? y0 + Wo : NULL;
            const float *e = m + k;
            if (y1) {
#pragma GCC ivdep
                for (int u = 0; u < full; u++) {
                    float o[4];
                    output_tile(e, mstride, u, b, o);
                    y0[2 * u] = o[0];
                    y0[2 * u + 1] = o[1];
                    y1[2 * u] = o[2];
                    y1[2 * u + 1] = o[3];
                }
            } else {
#pragma GCC ivdep
                for (int u = 0; u < full; u++) {
                    float o[4];
                    output_tile(e, mstride, u, b, o);
                    y0[2 * u] = o[0];
                    y0[2 * u + 1] = o[1];
                }
            }
            if (full < run) {  // the odd-width edge: one column
                float o[4];
                output_tile(e, mstride, full, b, o);
                y0[2 * full] = o[0];
                if (y1) y1[2 * full] = o[2];
            }
            k += run;
        }
    }
}
