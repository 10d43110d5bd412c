// test_transpose.c: kernels/cpu/transpose.c against its definition,
// dst[c][r] = src[r][c] · scale · col_scale[c], to the bit (one or two
// float multiplies in a fixed order): sizes around the 16×16 tiles (1, 15,
// 16, 17, 33, 64), with and without col_scale, strided rows on both sides,
// on the AVX-512 path (where the CPU has it) and the generic one; and dst
// untouched outside [cols, rows].
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu/transpose.h"
#include "check.h"

static bc_rng rng;

static void check_case(int generic, int rows, int cols, int scaled) {
    size_t lds = (size_t)cols + 5, ldd = (size_t)rows + 3;
    float *src = malloc(sizeof(float) * rows * lds), *dst = malloc(sizeof(float) * (cols + 1) * ldd);
    float *cs = malloc(sizeof(float) * cols);
    for (size_t i = 0; i < (size_t)rows * lds; i++) src[i] = randf(&rng) * 3.0f;
    for (int c = 0; c < cols; c++) cs[c] = 0.5f + randf(&rng);
    for (size_t i = 0; i < (size_t)(cols + 1) * ldd; i++) dst[i] = -7.0f;
    float scale = 1.4426950f;
    bc_transpose_force_generic(generic);
    bc_transpose_scaled(dst, ldd, src, lds, rows, cols, scale, scaled ? cs : NULL);
    bc_transpose_force_generic(0);
    int bad = 0;
    for (int c = 0; c <= cols; c++)
        for (size_t r = 0; r < ldd; r++) {
            float want = -7.0f;  // outside the block: untouched
            if (c < cols && r < (size_t)rows) {
                want = src[r * lds + c] * scale;
                if (scaled) want *= cs[c];
            }
            bad += memcmp(&dst[(size_t)c * ldd + r], &want, sizeof want) != 0;
        }
    CHECK(bad == 0, "transpose %dx%d%s (%s path): every element as defined, to the bit, nothing outside written (%d wrong)",
          rows, cols, scaled ? " with column scales" : "", generic ? "generic" : "AVX-512 or generic", bad);
    free(src), free(dst), free(cs);
}

int main(void) {
    bc_rng_seed(&rng, 7);
    int sizes[] = {1, 15, 16, 17, 33, 64};
    for (int g = 0; g <= 1; g++)
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++) check_case(g, sizes[a], sizes[b], (a + b) % 2);
    return check_done();
}
