// transpose.h: a block of a matrix transposed, with scaling (attention's
// query and output blocks, lib/nn/ops_cpu.c), and the 16×16 register
// transpose it shares with the GEMM's packing of A (sgemm.c).
#ifndef BICOT_TRANSPOSE_H
#define BICOT_TRANSPOSE_H

#include <stddef.h>

// dst[c·ldd + r] = src[r·lds + c] · scale · (col_scale ? col_scale[c] : 1)
// for r < rows, c < cols: src's columns become dst's rows, each multiplied
// by one number (in that order, the same bits on every path).
void bc_transpose_scaled(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols, float scale,
                         const float *col_scale);
// Uses the plain loops even where AVX-512 is there (1), or not (0): for tests.
void bc_transpose_force_generic(int on);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
// r[0..15] (16 rows of 16 floats) become the 16 columns, in registers: the
// classic three steps, 128-bit unpacks of singles, then of pairs, then
// 128-bit lane shuffles.
__attribute__((target("avx512f"), always_inline)) static inline void bc_transpose16_avx512(__m512 r[16]) {
    __m512 a[16], b[16];
    for (int i = 0; i < 16; i += 2) {  // a[i]: rows i, i+1 interleaved, columns 4L+{0,1}; a[i+1]: 4L+{2,3}
        a[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        a[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 4; g++) {  // b[4g + c]: rows 4g..4g+3 of column 4L + c, in 128-bit lane L
        __m512d x0 = _mm512_castps_pd(a[4 * g]), x1 = _mm512_castps_pd(a[4 * g + 1]);
        __m512d y0 = _mm512_castps_pd(a[4 * g + 2]), y1 = _mm512_castps_pd(a[4 * g + 3]);
        b[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(x0, y0));
        b[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x0, y0));
        b[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(x1, y1));
        b[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(x1, y1));
    }
    for (int c = 0; c < 4; c++) {
        __m512 lo01 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0x44), hi01 = _mm512_shuffle_f32x4(b[c], b[4 + c], 0xee);
        __m512 lo23 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0x44);
        __m512 hi23 = _mm512_shuffle_f32x4(b[8 + c], b[12 + c], 0xee);
        r[c] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);        // column c
        r[4 + c] = _mm512_shuffle_f32x4(lo01, lo23, 0xdd);    // column 4 + c
        r[8 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);    // column 8 + c
        r[12 + c] = _mm512_shuffle_f32x4(hi01, hi23, 0xdd);   // column 12 + c
    }
}
#endif

#endif
