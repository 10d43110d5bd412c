// conv.c: the CPU backend's 2-D convolution and nearest-neighbour ×2
// upsampling (declared in ops.h). What the VQ decoder spends its time in.
//
// bc_conv2d is im2col + one OpenBLAS GEMM per band of output positions:
//   out[Co, band] = W[Co, K] · col[K, band] + bias,   K = Ci·ks·ks
// where col holds, for each (ci, ky, kx), the input pixels each output
// position of the band reads (zero where the kernel hangs over the padding).
// A whole 384×384 image at K = 1152 would need a 680 MB col matrix, so the
// output is processed in bands of positions sized to keep col under a fixed
// scratch limit (32 MB by default) whatever the image size. A 1×1 kernel
// without padding needs no im2col at all: the input already is col.
//
// Weights arrive in their stored dtype; non-f32 ones are converted to f32
// once per call (a VQ-16 conv is at most 512×4608 floats, 9.4 MB), which is
// noise beside the GEMM it feeds.
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

// Upper bound on the im2col scratch of one call, in bytes.
static size_t conv_scratch_bytes = (size_t)32 << 20;

// Changes the scratch bound (tests use a tiny one to force many bands).
// 0 restores the default. Returns the previous value.
size_t bc_conv2d_set_scratch_limit(size_t bytes) {
    size_t old = conv_scratch_bytes;
    conv_scratch_bytes = bytes ? bytes : (size_t)32 << 20;
    return old;
}

// The weight as float32 [rows, cols]: the stored data when it already is,
// otherwise a converted copy in *owned (caller frees).
static const float *weight_as_f32(const bc_weight *w, float **owned) {
    *owned = NULL;
    if (w->dtype == BC_DT_F32) return (const float *)w->data;
    size_t n = (size_t)w->rows * (size_t)w->cols;
    float *f = bc_malloc(n * sizeof(float));
    if (w->dtype == BC_DT_BF16) {
        // bf16 is the top half of an f32: widen by shifting the bits.
        const uint16_t *b = w->data;
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)b[i] << 16;
            memcpy(&f[i], &bits, sizeof bits);
        }
    } else {
        for (size_t i = 0; i < n; i++) f[i] = bc_weight_at(w, i);
    }
    *owned = f;
    return f;
}

// Fills col[K, np] for the output positions p0 .. p0+np-1 (flat index
// p = y·Wo + x into the [Ho, Wo] output). The band may start and end in the
// middle of an output row; each row piece is one memcpy plus zero edges.
static void im2col_band(float *col, const float *in, int Ci, int H, int W, int ks, int pad, int Wo, size_t p0,
                        size_t np) {
    float *row = col;
    for (int ci = 0; ci < Ci; ci++) {
        const float *plane = in + (size_t)ci * H * W;  // [H, W]
        for (int ky = 0; ky < ks; ky++) {
            for (int kx = 0; kx < ks; kx++) {
                size_t done = 0;
                while (done < np) {
                    size_t p = p0 + done;
                    int y = (int)(p / (size_t)Wo), x0 = (int)(p % (size_t)Wo);
                    int x1 = Wo;  // this piece: output row y, columns x0 .. x1-1
                    if ((size_t)(x1 - x0) > np - done) x1 = x0 + (int)(np - done);
                    float *dst = row + done;
                    int iy = y + ky - pad;
                    if (iy < 0 || iy >= H) {
                        memset(dst, 0, (size_t)(x1 - x0) * sizeof(float));
                    } else {
                        // input column ix = x + kx - pad is inside [0, W) for x in [lo, hi)
                        int lo = pad - kx, hi = W + pad - kx;
                        if (lo < x0) lo = x0;
                        if (hi > x1) hi = x1;
                        const float *src = plane + (size_t)iy * W + (kx - pad);
                        for (int x = x0; x < lo && x < x1; x++) dst[x - x0] = 0.0f;
                        if (hi > lo) memcpy(dst + (lo - x0), src + lo, (size_t)(hi - lo) * sizeof(float));
                        for (int x = hi > x0 ? hi : x0; x < x1; x++) dst[x - x0] = 0.0f;
                    }
                    done += (size_t)(x1 - x0);
                }
                row += np;
            }
        }
    }
}

void bc_conv2d(float *out, const float *in, const bc_weight *w, const float *bias, int Ci, int H, int W, int ks,
               int pad) {
    int Co = w->rows, K = w->cols;  // K == Ci·ks·ks
    int Ho = H + 2 * pad - ks + 1, Wo = W + 2 * pad - ks + 1;
    size_t npos = (size_t)Ho * Wo;
    float *wf_owned;
    const float *wf = weight_as_f32(w, &wf_owned);  // [Co, K]

    // Start every output channel at its bias; the GEMMs accumulate (beta 1).
    for (int co = 0; co < Co; co++) {
        float b = bias ? bias[co] : 0.0f;
        float *o = out + (size_t)co * npos;
        for (size_t p = 0; p < npos; p++) o[p] = b;
    }

    if (ks == 1 && pad == 0) {
        // The input [Ci, H·W] already is the col matrix.
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Co, (int)npos, K, 1.0f, wf, K, in, (int)npos, 1.0f,
                    out, (int)npos);
    } else {
        size_t band = conv_scratch_bytes / ((size_t)K * sizeof(float));
        if (band < 1) band = 1;
        if (band > npos) band = npos;
        float *col = bc_malloc((size_t)K * band * sizeof(float));  // [K, band]
        for (size_t p0 = 0; p0 < npos; p0 += band) {
            size_t np = npos - p0 < band ? npos - p0 : band;
            im2col_band(col, in, Ci, H, W, ks, pad, Wo, p0, np);
            // out[:, p0 .. p0+np) lies in rows npos floats apart.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Co, (int)np, K, 1.0f, wf, K, col, (int)np, 1.0f,
                        out + p0, (int)npos);
        }
        free(col);
    }
    free(wf_owned);
}

// The definition of the convolution, six loops deep, for the tests.
void bc_conv2d_ref(float *out, const float *in, const bc_weight *w, const float *bias, int Ci, int H, int W, int ks,
                   int pad) {
    int Co = w->rows;
    int Ho = H + 2 * pad - ks + 1, Wo = W + 2 * pad - ks + 1;
    for (int co = 0; co < Co; co++) {
        for (int oy = 0; oy < Ho; oy++) {
            for (int ox = 0; ox < Wo; ox++) {
                double acc = bias ? bias[co] : 0.0;
                for (int ci = 0; ci < Ci; ci++) {
                    for (int ky = 0; ky < ks; ky++) {
                        for (int kx = 0; kx < ks; kx++) {
                            int iy = oy + ky - pad, ix = ox + kx - pad;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            size_t wi = (((size_t)co * Ci + ci) * ks + ky) * ks + kx;
                            acc += (double)bc_weight_at(w, wi) * in[((size_t)ci * H + iy) * W + ix];
                        }
                    }
                }
                out[((size_t)co * Ho + oy) * Wo + ox] = (float)acc;
            }
        }
    }
}

void bc_upsample2x(float *out, const float *in, int C, int H, int W) {
    for (int c = 0; c < C; c++) {
        const float *src = in + (size_t)c * H * W;      // [H, W]
        float *dst = out + (size_t)c * 4 * H * W;       // [2H, 2W]
        for (int y = 0; y < 2 * H; y++) {
            const float *srow = src + (size_t)(y / 2) * W;
            float *drow = dst + (size_t)y * 2 * W;
            for (int x = 0; x < W; x++) drow[2 * x] = drow[2 * x + 1] = srow[x];
        }
    }
}
