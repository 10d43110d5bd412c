// conv.c: the CPU backend's 2-D convolution and nearest-neighbour ×2
// upsampling (declared in ops.h). What the VQ decoder spends its time in.
//
// Two algorithms, both on our own GEMM (kernels/cpu/sgemm.c):
//
// 3×3 kernels with padding 1 (nearly all of the VQ decoder's 567 GFLOP at
// 384×384) use Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016): each 2×2 block
// of outputs ("tile") comes from the 4×4 input patch around it as
//     Y = Aᵀ [ Σ_ci (G g G ᵀ) ⊙ (Bᵀ d B) ] A
// which takes 16 multiplies per tile and channel pair instead of 36. With the
// transformed weights U = G g Gᵀ and inputs V = Bᵀ d B laid out as
// U[ξ][Co][Ci] and V[ξ][Ci][tiles] for each of the 16 positions ξ of the 4×4
// transform, the sum over ci is 16 independent GEMMs M[ξ] = U[ξ]·V[ξ]. The
// transforms only add, subtract and halve, so the result stays within a few
// float32 ulps of the direct sum (F(4×4, 3×3) would save more but its larger
// constants cost accuracy the pixel tests care about). Tiles are processed
// in blocks, one block per thread at a time: scratch stays bounded (a few MB
// per thread) and no two threads touch the same output.
//
// Every other shape is im2col + GEMM per band of output positions:
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu/sgemm.h"
#include "../../kernels/cpu/winograd.h"
#include "ops.h"

static int wino_enabled = 1;

// Turns the Winograd path off (0) or on (1): lets tests and benchmarks
// compare it with im2col. Returns the previous setting.
int bc_conv2d_set_winograd(int on) {
    int old = wino_enabled;
    wino_enabled = on;
    return old;
}

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

// ---- Winograd F(2×2, 3×3) -------------------------------------------------------

enum { WINO_BLOCK = 128 };  // tiles per block: a multiple of the GEMM's 32-wide panels

// bc_thread_scratch slots of this file.

// Row r of w (cols values) as float32 into dst.
static void weight_row_f32(float *dst, const bc_weight *w, int r) {
    size_t base = (size_t)r * w->cols;
    if (w->dtype == BC_DT_F32) {
        memcpy(dst, (const float *)w->data + base, (size_t)w->cols * sizeof *dst);
    } else if (w->dtype == BC_DT_BF16) {
        // bf16 is the top half of an f32: widen by shifting the bits.
        const uint16_t *b = (const uint16_t *)w->data + base;
        for (int i = 0; i < w->cols; i++) {
            uint32_t bits = (uint32_t)b[i] << 16;
            memcpy(&dst[i], &bits, sizeof bits);
        }
    } else {
        for (int i = 0; i < w->cols; i++) dst[i] = bc_weight_at(w, base + (size_t)i);
    }
}

// The 16 GEMM A operands U[ξ] [Co, Ci], U[ξ][co][ci] = (G g Gᵀ)[ξ] for each
// 3×3 kernel g = w[co][ci] with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], written
// straight into the packed layout (bc_sgemm_packed_a_index), a_floats apart.
// Threads split the output channels: this runs once per call, over every
// weight of the layer (up to 2.4 M kernels).
static void winograd_weights(float *Up, size_t a_floats, const bc_weight *w, int Co, int Ci, int threads) {
    int mp = (Co + BC_SGEMM_MR - 1) / BC_SGEMM_MR * BC_SGEMM_MR;
#pragma omp parallel num_threads(threads) if (threads > 1 && Co > 1)
    {
        float *row = bc_malloc((size_t)Ci * 9 * sizeof *row);  // w[co] as float32 [Ci][3][3]
#pragma omp for schedule(static)
        for (int co = 0; co < mp; co++) {
            if (co >= Co) {  // padding rows of the last panel: zeros
                for (int ci = 0; ci < Ci; ci++)
                    for (int x = 0; x < 16; x++) Up[x * a_floats + bc_sgemm_packed_a_index(Co, Ci, co, ci)] = 0.0f;
                continue;
            }
            weight_row_f32(row, w, co);
            for (int ci = 0; ci < Ci; ci++) {
                const float *g = row + (size_t)ci * 9;  // [3][3]
                float t[4][3];                          // G g
                for (int j = 0; j < 3; j++) {
                    t[0][j] = g[j];
                    t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
                    t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
                    t[3][j] = g[6 + j];
                }
                size_t at = bc_sgemm_packed_a_index(Co, Ci, co, ci);
                for (int i = 0; i < 4; i++) {  // (G g) Gᵀ
                    float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]),
                                  0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
                    for (int j = 0; j < 4; j++) Up[(size_t)(i * 4 + j) * a_floats + at] = u[j];
                }
            }
        }
        free(row);
    }
}

struct bc_conv_plan {
    float *Up;         // the 16 packed U[ξ], a_floats apart
    size_t a_floats;
};

bc_conv_plan *bc_conv_plan_new(const bc_weight *w, int ks, int pad) {
    if (!(ks == 3 && pad == 1)) return NULL;
    int Co = w->rows, Ci = w->cols / 9;
    bc_conv_plan *p = bc_malloc(sizeof *p);
    p->a_floats = bc_sgemm_packed_a_floats(Co, Ci);
    p->Up = bc_malloc(16 * p->a_floats * sizeof *p->Up);
    winograd_weights(p->Up, p->a_floats, w, Co, Ci, bc_ops_threads());
    return p;
}

void bc_conv_plan_free(bc_conv_plan *p) {
    if (!p) return;
    free(p->Up);
    free(p);
}

// A 3×3, padding 1 convolution by F(2×2, 3×3): out [Co, H, W]. Up: the
// packed transformed weights (from a plan), or NULL to make them here.
static void conv3x3_winograd(float *out, const float *in, const bc_weight *w, const float *Up, const float *bias,
                             int Ci, int Co, int H, int W) {
    int th = (H + 1) / 2, tw = (W + 1) / 2, tiles = th * tw;
    int threads = bc_ops_threads();
    size_t a_floats = bc_sgemm_packed_a_floats(Co, Ci);
    if (!Up) {  // the weights, transformed and packed once for the 16 GEMMs
        float *scratch = bc_thread_scratch(BC_SCRATCH_CONV_WEIGHTS, 16 * a_floats * sizeof *scratch);
        winograd_weights(scratch, a_floats, w, Co, Ci, threads);
        Up = scratch;
    }
    // The input with a zero border wide enough for every tile's 4×4 patch,
    // even and odd columns apart (the layout bc_winograd_input reads). The
    // buffers below are the threads' scratch, reused from call to call.
    int Hp = 2 * th + 2, Wp = 2 * tw + 2;
    float *padded = bc_thread_scratch(BC_SCRATCH_CONV_PADDED, (size_t)Ci * Hp * Wp * sizeof(float));  // [Ci, Hp, Wp]
#pragma omp parallel for num_threads(threads) if (threads > 1)
    for (int ci = 0; ci < Ci; ci++)
        bc_winograd_pad(padded + (size_t)ci * Hp * Wp, in + (size_t)ci * H * W, H, W, Hp, Wp);
    int blocks = (tiles + WINO_BLOCK - 1) / WINO_BLOCK;
#pragma omp parallel num_threads(threads) if (threads > 1 && blocks > 1)
    {
        // This thread's transformed inputs V (16 packed [Ci, block]) and
        // products M [16][Co][WINO_BLOCK].
        size_t v_floats = bc_sgemm_packed_b_floats(Ci, WINO_BLOCK);
        float *V = bc_thread_scratch(BC_SCRATCH_CONV_TILES, (16 * v_floats + (size_t)16 * Co * WINO_BLOCK) * sizeof *V);
        float *M = V + 16 * v_floats;
#pragma omp for schedule(dynamic, 1)
        for (int blk = 0; blk < blocks; blk++) {
            int t0 = blk * WINO_BLOCK, nt = tiles - t0 < WINO_BLOCK ? tiles - t0 : WINO_BLOCK;
            size_t mat = bc_sgemm_packed_b_floats(Ci, nt);
            bc_winograd_input(V, padded, Ci, Hp, Wp, tw, t0, nt);
            for (int x = 0; x < 16; x++)
                bc_sgemm_packed(Co, nt, Ci, Up + x * a_floats, V + x * mat, M + (size_t)x * Co * WINO_BLOCK,
                                WINO_BLOCK, 0, NULL);
            bc_winograd_output(out, M, (size_t)Co * WINO_BLOCK, WINO_BLOCK, bias, Co, H, W, tw, t0, nt);
        }
    }
}

void bc_conv2d(float *out, const float *in, const bc_weight *w, const float *bias, int Ci, int H, int W, int ks,
               int pad) {
    bc_conv2d_planned(out, in, w, NULL, bias, Ci, H, W, ks, pad);
}

void bc_conv2d_planned(float *out, const float *in, const bc_weight *w, const bc_conv_plan *plan, const float *bias,
                       int Ci, int H, int W, int ks, int pad) {
    int Co = w->rows, K = w->cols;  // K == Ci·ks·ks
    int Ho = H + 2 * pad - ks + 1, Wo = W + 2 * pad - ks + 1;
    size_t npos = (size_t)Ho * Wo;
    if (ks == 3 && pad == 1 && wino_enabled) {
        conv3x3_winograd(out, in, w, plan ? plan->Up : NULL, bias, Ci, Co, H, W);
        return;
    }
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
        bc_sgemm_threads(bc_ops_threads(), Co, (int)npos, K, wf, K, in, (int)npos, out, (int)npos, 1);
    } else {
        size_t band = conv_scratch_bytes / ((size_t)K * sizeof(float));
        if (band < 1) band = 1;
        if (band > npos) band = npos;
        float *col = bc_thread_scratch(BC_SCRATCH_CONV_COL, (size_t)K * band * sizeof(float));  // [K, band]
        for (size_t p0 = 0; p0 < npos; p0 += band) {
            size_t np = npos - p0 < band ? npos - p0 : band;
            im2col_band(col, in, Ci, H, W, ks, pad, Wo, p0, np);
            // out[:, p0 .. p0+np) lies in rows npos floats apart.
            bc_sgemm_threads(bc_ops_threads(), Co, (int)np, K, wf, K, col, (int)np, out + p0, (int)npos, 1);
        }
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
