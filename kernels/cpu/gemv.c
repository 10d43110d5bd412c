// gemv.c: out[i, r] = x[i] · w[r] for bf16, f16 and f32 weight rows: the
// matrix-vector products of token-by-token decoding, which read every weight
// once per step and so run at memory speed if the loop is vectorised.
//
// Each dot product keeps 16 independent partial sums (lanes) that the
// compiler maps onto SIMD registers without reassociating anything, then
// adds them in a fixed order. So a result does not depend on the batch, the
// thread count or the SIMD level the machine picked at run time
// (target_clones: AVX-512, AVX2 or plain x86-64; -std=c11 keeps
// multiply-add contraction off, so every level rounds the same way).
// The scalar twin is bc_linear_ref in lib/nn/ops_cpu.c.
#include "gemv.h"

#include <stdlib.h>
#include <string.h>

#include "io/weights.h"  // bc_f16_to_f32

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BC_HAVE_AVX512_BATCH 1  // the register-blocked batch kernels below
#endif

#include "clones.h"

enum { LANES = 16 };

typedef enum { W_F32, W_BF16, W_F16 } wtype;

static float reduce_lanes(const float *acc) {
    float s8[8], s4[4];
    for (int j = 0; j < 8; j++) s8[j] = acc[j] + acc[j + 8];
    for (int j = 0; j < 4; j++) s4[j] = s8[j] + s8[j + 4];
    return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

static inline float bf16(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// A weight row's element k (dtype t, a constant where this is inlined) as
// a float: widening is exact.
static inline float w_elem(const void *w, wtype t, size_t k) {
    if (t == W_F32) return ((const float *)w)[k];
    return bf16(((const uint16_t *)w)[k]);  // W_BF16 (f16 rows are widened first: bc_gemv_batch_f16)
}

// The loops of bc_gemv_bf16 and bc_gemv_f32, t a constant in each.
__attribute__((always_inline)) static inline void gemv_rows(float *out, const void *w, wtype t, const float *x,
                                                            int rows, int cols, int n, int out_stride, int x_stride) {
    int main_cols = cols - cols % LANES;
    for (int r = 0; r < rows; r++) {
        const void *wr = (const char *)w + (size_t)r * cols * (t == W_F32 ? 4 : 2);
        for (int i = 0; i < n; i++) {
            const float *xi = x + (size_t)i * x_stride;
            float acc[LANES] = {0};
            for (int k = 0; k < main_cols; k += LANES)
                for (int j = 0; j < LANES; j++) acc[j] += w_elem(wr, t, (size_t)(k + j)) * xi[k + j];
            for (int k = main_cols; k < cols; k++) acc[k - main_cols] += w_elem(wr, t, (size_t)k) * xi[k];
            out[(size_t)i * out_stride + r] = reduce_lanes(acc);
        }
    }
}

BC_CLONES
void bc_gemv_bf16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                  int x_stride) {
    gemv_rows(out, w, W_BF16, x, rows, cols, n, out_stride, x_stride);
}

BC_CLONES
void bc_gemv_f32(float *out, const float *w, const float *x, int rows, int cols, int n, int out_stride,
                 int x_stride) {
    gemv_rows(out, w, W_F32, x, rows, cols, n, out_stride, x_stride);
}

// ---- many input rows: register blocks ----------------------------------------------
//
// bc_gemv_batch_*: the same dot products, bit for bit, for many input rows.
// The loops above read x again for every weight row and keep one product's
// lanes in registers at a time; here a block of XB input rows × WB weight
// rows keeps XB·WB lane vectors in registers, so each 16-float piece of x
// and w is loaded (and a bf16/f16 piece widened) once per block, not once
// per product.
//
// Each accumulator vector is exactly gemv's acc[16]: lane j sums the
// products of the k ≡ j (mod 16) in ascending k, each product rounded and
// then added (_mm512_mul_ps then _mm512_add_ps: no fused multiply-add, and
// -std=c11 keeps the compiler from fusing them); the tail k (cols % 16 of
// them) go to lanes 0.. under a mask, then reduce_lanes adds the lanes in
// its fixed order. Widening bf16/f16 to float is exact. So the bits are
// those of bc_gemv_* whatever the blocking, n or the CPU, and a machine
// without AVX-512 simply runs the loops above.

static int force_generic;

void bc_gemv_force_generic(int on) { force_generic = on; }

static int use_avx512(void) {
#ifdef BC_HAVE_AVX512_BATCH
    return !force_generic && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

const char *bc_gemv_kernel_name(void) { return use_avx512() ? "avx512" : "generic"; }

#ifdef BC_HAVE_AVX512_BATCH
enum { XB = 6, WB = 4 };

#define AVX512_INLINE __attribute__((target("avx512f"), always_inline)) static inline

// 16 weights from element k of row w (dtype t) as floats.
AVX512_INLINE __m512 load_w16(const void *w, wtype t, size_t k) {
    if (t == W_F32) return _mm512_loadu_ps((const float *)w + k);
    __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + k));
    if (t == W_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// reduce_lanes of four accumulators at once, the same additions in the same
// order (a sum of two floats is the same whichever is written first):
// returns {reduce_lanes(a), reduce_lanes(b), reduce_lanes(c), reduce_lanes(d)}.
AVX512_INLINE __m128 reduce4_avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
    // s8[j] = acc[j] + acc[j + 8]: 128-bit quarters 0,1 + 2,3; two accumulators a vector
    __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    __m512 cd = _mm512_add_ps(_mm512_shuffle_f32x4(c, d, 0x44), _mm512_shuffle_f32x4(c, d, 0xEE));
    // s4[j] = s8[j] + s8[j + 4]: quarter k holds s4 of accumulator k
    __m512 s4 = _mm512_add_ps(_mm512_shuffle_f32x4(ab, cd, 0x88), _mm512_shuffle_f32x4(ab, cd, 0xDD));
    // per quarter: (s4[0] + s4[2]) + (s4[1] + s4[3]) in its element 0
    __m512 t = _mm512_add_ps(s4, _mm512_permute_ps(s4, 0x4E));  // {s4[0]+s4[2], s4[1]+s4[3], ...}
    __m512 r = _mm512_add_ps(t, _mm512_permute_ps(t, 0xB1));
    return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), r));
}

// out[i·out_stride + r] for the xb × wb products of x rows i < xb (x_stride
// apart) with weight rows r < wb (cols elements each, dtype t). xb, wb and t
// are constants where this is inlined, so the accumulators live in registers.
AVX512_INLINE void block_avx512(float *out, const void *w, wtype t, const float *x, int cols, int xb, int wb,
                                int out_stride, int x_stride) {
    size_t esize = t == W_F32 ? 4 : 2;
    const char *wr[WB];
    for (int r = 0; r < wb; r++) wr[r] = (const char *)w + (size_t)r * cols * esize;
    __m512 acc[XB][WB];
#pragma GCC unroll 6
    for (int i = 0; i < xb; i++)
#pragma GCC unroll 4
        for (int r = 0; r < wb; r++) acc[i][r] = _mm512_setzero_ps();
    int main_cols = cols - cols % LANES;
    for (int k = 0; k < main_cols; k += LANES) {
        __m512 wv[WB];
#pragma GCC unroll 4
        for (int r = 0; r < wb; r++) wv[r] = load_w16(wr[r], t, (size_t)k);
#pragma GCC unroll 6
        for (int i = 0; i < xb; i++) {
            __m512 xv = _mm512_loadu_ps(x + (size_t)i * x_stride + k);
#pragma GCC unroll 4
            for (int r = 0; r < wb; r++) acc[i][r] = _mm512_add_ps(acc[i][r], _mm512_mul_ps(xv, wv[r]));
        }
    }
    if (main_cols < cols) {
        int tail = cols - main_cols;
        __mmask16 m = (__mmask16)((1u << tail) - 1);
        __m512 wv[WB];
        for (int r = 0; r < wb; r++) {
            // copied zero-padded first: a 16-bit masked load would need AVX-512BW
            float pad[LANES] = {0};
            memcpy(pad, wr[r] + (size_t)main_cols * esize, (size_t)tail * esize);
            wv[r] = load_w16(pad, t, 0);
        }
        for (int i = 0; i < xb; i++) {
            __m512 xv = _mm512_maskz_loadu_ps(m, x + (size_t)i * x_stride + main_cols);
            for (int r = 0; r < wb; r++) acc[i][r] = _mm512_mask_add_ps(acc[i][r], m, acc[i][r], _mm512_mul_ps(xv, wv[r]));
        }
    }
    for (int i = 0; i < xb; i++) {
        if (wb == 4) {
            _mm_storeu_ps(out + (size_t)i * out_stride, reduce4_avx512(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
            continue;
        }
        for (int r = 0; r < wb; r++) {
            float lanes[LANES];
            _mm512_storeu_ps(lanes, acc[i][r]);
            out[(size_t)i * out_stride + r] = reduce_lanes(lanes);
        }
    }
}

// All x rows × all weight rows in blocks: XB × WB where they fit, then the
// leftover x rows one at a time against WB weight rows, and leftover weight
// rows one at a time. Weight rows go in panels of about 256 KB (they stay in
// the L2 cache while every block of x rows passes over them). t is a
// constant in each caller.
__attribute__((target("avx512f"), always_inline)) static inline void batch_avx512(float *out, const void *w, wtype t,
                                                                                    const float *x, int rows, int cols,
                                                                                    int n, int out_stride, int x_stride) {
    size_t row_bytes = (size_t)cols * (t == W_F32 ? 4 : 2);
    int panel = (int)((256 << 10) / row_bytes) / WB * WB;
    if (panel < WB) panel = WB;
    int full_x = n - n % XB;
    for (int p0 = 0; p0 < rows; p0 += panel) {
        int p1 = rows - p0 < panel ? rows : p0 + panel, full_w = p1 - (p1 - p0) % WB;
        for (int i0 = 0; i0 < n; i0 += XB) {
            const float *xi = x + (size_t)i0 * x_stride;
            float *oi = out + (size_t)i0 * out_stride;
            for (int r0 = p0; r0 < p1; r0 += WB) {
                const char *wr = (const char *)w + (size_t)r0 * row_bytes;
                if (i0 < full_x && r0 < full_w) {
                    block_avx512(oi + r0, wr, t, xi, cols, XB, WB, out_stride, x_stride);
                } else if (r0 < full_w) {
                    for (int i = i0; i < n; i++)
                        block_avx512(out + (size_t)i * out_stride + r0, wr, t, x + (size_t)i * x_stride, cols, 1, WB,
                                     out_stride, x_stride);
                } else {
                    for (int r = r0; r < p1; r++) {
                        const char *w1 = (const char *)w + (size_t)r * row_bytes;
                        if (i0 < full_x)
                            block_avx512(oi + r, w1, t, xi, cols, XB, 1, out_stride, x_stride);
                        else
                            for (int i = i0; i < n; i++)
                                block_avx512(out + (size_t)i * out_stride + r, w1, t, x + (size_t)i * x_stride, cols,
                                             1, 1, out_stride, x_stride);
                    }
                }
            }
        }
    }
}

__attribute__((target("avx512f"))) static void batch_avx512_f32(float *out, const void *w, const float *x, int rows,
                                                                int cols, int n, int out_stride, int x_stride) {
    batch_avx512(out, w, W_F32, x, rows, cols, n, out_stride, x_stride);
}
__attribute__((target("avx512f"))) static void batch_avx512_bf16(float *out, const void *w, const float *x, int rows,
                                                                 int cols, int n, int out_stride, int x_stride) {
    batch_avx512(out, w, W_BF16, x, rows, cols, n, out_stride, x_stride);
}
__attribute__((target("avx512f"))) static void batch_avx512_f16(float *out, const void *w, const float *x, int rows,
                                                                int cols, int n, int out_stride, int x_stride) {
    batch_avx512(out, w, W_F16, x, rows, cols, n, out_stride, x_stride);
}
#endif

// The three bc_gemv_batch_*: the register blocks where the CPU has AVX-512,
// else the loops above.
static void gemv_batch(float *out, const void *w, wtype t, const float *x, int rows, int cols, int n, int out_stride,
                       int x_stride) {
#ifdef BC_HAVE_AVX512_BATCH
    if (use_avx512()) {
        (t == W_F32 ? batch_avx512_f32 : t == W_BF16 ? batch_avx512_bf16 : batch_avx512_f16)(out, w, x, rows, cols, n,
                                                                                             out_stride, x_stride);
        return;
    }
#endif
    if (t == W_F32) {
        bc_gemv_f32(out, w, x, rows, cols, n, out_stride, x_stride);
    } else if (t == W_BF16) {
        bc_gemv_bf16(out, w, x, rows, cols, n, out_stride, x_stride);
    } else {
        // f16 -> f32 is exact: a row widened then bc_gemv_f32 gives the same bits
        const uint16_t *h = w;
        float *wf = malloc((size_t)cols * sizeof *wf);  // [cols] one weight row
        if (!wf) abort();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) wf[c] = bc_f16_to_f32(h[(size_t)r * cols + c]);
            bc_gemv_f32(out + r, wf, x, 1, cols, n, out_stride, x_stride);
        }
        free(wf);
    }
}

void bc_gemv_batch_f32(float *out, const float *w, const float *x, int rows, int cols, int n, int out_stride,
                       int x_stride) {
    gemv_batch(out, w, W_F32, x, rows, cols, n, out_stride, x_stride);
}

void bc_gemv_batch_bf16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                        int x_stride) {
    gemv_batch(out, w, W_BF16, x, rows, cols, n, out_stride, x_stride);
}

void bc_gemv_batch_f16(float *out, const uint16_t *w, const float *x, int rows, int cols, int n, int out_stride,
                       int x_stride) {
    gemv_batch(out, w, W_F16, x, rows, cols, n, out_stride, x_stride);
}
