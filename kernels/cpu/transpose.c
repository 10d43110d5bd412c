// transpose.c: see transpose.h. Attention transposes a block of 32 queries
// × 64 dimensions twice per head and block (OWLv2: 1356 blocks an image):
// one float at a time, with strided stores, that took ~6% of its time.
#include "transpose.h"

static int force_generic;

void bc_transpose_force_generic(int on) { force_generic = on; }

static int have_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return !force_generic && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

#if defined(__x86_64__) && defined(__GNUC__)
// 16×16 tiles: rows past `rows` and columns past `cols` read as zeros (the
// loads are masked) and are not stored.
__attribute__((target("avx512f"))) static void transpose_avx512(float *dst, size_t ldd, const float *src, size_t lds,
                                                                int rows, int cols, float scale,
                                                                const float *col_scale) {
    __m512 s = _mm512_set1_ps(scale);
    for (int r0 = 0; r0 < rows; r0 += 16) {
        int nr = rows - r0 < 16 ? rows - r0 : 16;
        __mmask16 store = (__mmask16)((1u << nr) - 1);
        for (int c0 = 0; c0 < cols; c0 += 16) {
            int nc = cols - c0 < 16 ? cols - c0 : 16;
            __mmask16 load = (__mmask16)((1u << nc) - 1);
            __m512 t[16];
            for (int i = 0; i < 16; i++)
                t[i] = i < nr ? _mm512_maskz_loadu_ps(load, src + (size_t)(r0 + i) * lds + c0) : _mm512_setzero_ps();
            bc_transpose16_avx512(t);
            for (int c = 0; c < nc; c++) {
                __m512 v = _mm512_mul_ps(t[c], s);
                if (col_scale) v = _mm512_mul_ps(v, _mm512_set1_ps(col_scale[c0 + c]));
                _mm512_mask_storeu_ps(dst + (size_t)(c0 + c) * ldd + r0, store, v);
            }
        }
    }
}
#endif

void bc_transpose_scaled(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols, float scale,
                         const float *col_scale) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_avx512()) {
        transpose_avx512(dst, ldd, src, lds, rows, cols, scale, col_scale);
        return;
    }
#endif
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < rows; r++) {
            float v = src[(size_t)r * lds + c] * scale;
            dst[(size_t)c * ldd + r] = col_scale ? v * col_scale[c] : v;
        }
}
