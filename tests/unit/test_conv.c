// test_conv.c: bc_conv2d against its scalar twin bc_conv2d_ref, through
// each of its algorithms (Winograd F(2×2, 3×3) for 3×3 padding 1, im2col +
// GEMM in bands for everything, Winograd switched off) and each GEMM kernel
// (AVX-512 where the CPU has it, generic C), and bc_upsample2x against its
// definition.
#include <stdint.h>
#include <string.h>

#include "../../kernels/cpu/sgemm.h"
#include "check.h"
#include "nn/ops.h"
#include "util.h"

static float uniform(bc_rng *rng) { return (float)(2.0 * bc_rng_uniform(rng) - 1.0); }

// Round-to-nearest-even f32 -> bf16 bits.
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

// One case: random input [Ci, H, W], weight [Co, Ci·ks·ks] in f32 or bf16,
// bias or none; bc_conv2d vs bc_conv2d_ref (double accumulation).
// Tolerance: both sum K = Ci·ks·ks products of values in [-1, 1]; the GEMM
// sums in float32 in another order, so the error grows like eps·sqrt(K)·|terms|;
// Winograd's transforms add a few more roundings of sums of at most 9 terms:
// atol 1e-5·sqrt(K) plus rtol 1e-5 covers both with a wide margin.
static void conv_case1(const char *what, int Ci, int Co, int H, int W, int ks, int pad, int bf16, int with_bias,
                       size_t scratch, const char *algo) {
    bc_rng rng;
    bc_rng_seed(&rng, (uint64_t)(Ci * 131 + Co * 17 + H * 7 + W + ks + pad + bf16));
    int K = Ci * ks * ks, Ho = H + 2 * pad - ks + 1, Wo = W + 2 * pad - ks + 1;
    size_t nin = (size_t)Ci * H * W, nw = (size_t)Co * K, nout = (size_t)Co * Ho * Wo;
    float *in = bc_malloc(nin * sizeof(float));       // [Ci, H, W]
    float *wf = bc_malloc(nw * sizeof(float));        // [Co, K]
    uint16_t *wb = bc_malloc(nw * sizeof(uint16_t));  // [Co, K] as bf16
    float *bias = bc_malloc((size_t)Co * sizeof(float));
    float *got = bc_malloc(nout * sizeof(float)), *want = bc_malloc(nout * sizeof(float));  // [Co, Ho, Wo]
    for (size_t i = 0; i < nin; i++) in[i] = uniform(&rng);
    for (size_t i = 0; i < nw; i++) {
        wf[i] = uniform(&rng);
        wb[i] = to_bf16(wf[i]);
    }
    for (int i = 0; i < Co; i++) bias[i] = uniform(&rng);
    bc_weight w = {.dtype = bf16 ? BC_DT_BF16 : BC_DT_F32, .data = bf16 ? (const void *)wb : (const void *)wf, .rows = Co, .cols = K};

    size_t old = bc_conv2d_set_scratch_limit(scratch);
    for (size_t i = 0; i < nout; i++) got[i] = NAN;
    bc_conv2d(got, in, &w, with_bias ? bias : NULL, Ci, H, W, ks, pad);
    // with a plan (prepared weights): the same bits
    float *planned = bc_malloc(nout * sizeof(float));
    bc_conv_plan *plan = bc_conv_plan_new(&w, ks, pad);
    bc_conv2d_planned(planned, in, &w, plan, with_bias ? bias : NULL, Ci, H, W, ks, pad);
    bc_conv_plan_free(plan);
    int same = memcmp(planned, got, nout * sizeof(float)) == 0;
    free(planned);
    bc_conv2d_set_scratch_limit(old);
    bc_conv2d_ref(want, in, &w, with_bias ? bias : NULL, Ci, H, W, ks, pad);

    double atol = 1e-5 * sqrt((double)K), rtol = 1e-5, max_err = 0;
    size_t bad = 0;
    for (size_t i = 0; i < nout; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= atol + rtol * fabs(want[i]))) bad++;  // NaN (unwritten) counts as bad
        if (e > max_err || e != e) max_err = e;
    }
    size_t band = scratch ? scratch / ((size_t)K * 4) : (size_t)Ho * Wo;  // positions per band, as conv.c sizes it
    if (band < 1) band = 1;
    size_t bands = ((size_t)Ho * Wo + band - 1) / band;
    CHECK(bad == 0, "conv %s [%s, %s]: Ci %d Co %d %dx%d ks %d pad %d %s%s, ~%zu band(s): max |err| %.2e (atol %.1e)",
          what, algo, bc_sgemm_kernel_name(), Ci, Co, H, W, ks, pad, bf16 ? "bf16" : "f32", with_bias ? " +bias" : "",
          bands, max_err, atol);
    CHECK(same, "conv %s [%s]: with a plan, the same bits", what, algo);
    free(in);
    free(wf);
    free(wb);
    free(bias);
    free(got);
    free(want);
}

// Each case through every path: Winograd (where it applies) and im2col,
// each with the best GEMM kernel and with the generic one.
static void conv_case(const char *what, int Ci, int Co, int H, int W, int ks, int pad, int bf16, int with_bias,
                      size_t scratch) {
    for (int generic = 0; generic < 2; generic++) {
        bc_sgemm_force_generic(generic);
        for (int wino = 1; wino >= 0; wino--) {
            if (wino && !(ks == 3 && pad == 1)) continue;
            int old = bc_conv2d_set_winograd(wino);
            conv_case1(what, Ci, Co, H, W, ks, pad, bf16, with_bias, scratch, wino ? "winograd" : "im2col");
            bc_conv2d_set_winograd(old);
        }
    }
    bc_sgemm_force_generic(0);
}

static void upsample_case(int C, int H, int W) {
    bc_rng rng;
    bc_rng_seed(&rng, 99);
    float *in = bc_malloc((size_t)C * H * W * sizeof(float));
    float *out = bc_malloc((size_t)C * 4 * H * W * sizeof(float));
    for (size_t i = 0; i < (size_t)C * H * W; i++) in[i] = uniform(&rng);
    bc_upsample2x(out, in, C, H, W);
    size_t bad = 0;
    for (int c = 0; c < C; c++)
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                if (out[((size_t)c * 2 * H + y) * 2 * W + x] != in[((size_t)c * H + y / 2) * W + x / 2]) bad++;
    CHECK(bad == 0, "upsample2x C %d %dx%d -> %dx%d exact (%zu mismatches)", C, H, W, 2 * H, 2 * W, bad);
    free(in);
    free(out);
}

int main(void) {
    conv_case("3x3", 5, 7, 9, 11, 3, 1, 0, 1, 0);
    conv_case("3x3", 5, 7, 9, 11, 3, 1, 1, 1, 0);
    conv_case("3x3 no bias", 3, 4, 6, 5, 3, 1, 0, 0, 0);
    conv_case("1x1", 13, 6, 7, 9, 1, 0, 0, 1, 0);
    conv_case("1x1", 13, 6, 7, 9, 1, 0, 1, 1, 0);
    conv_case("3x3 valid", 4, 3, 8, 7, 3, 0, 0, 1, 0);
    conv_case("1x1 pad 1", 3, 2, 4, 5, 1, 1, 0, 1, 0);
    conv_case("1 pixel", 32, 3, 1, 1, 3, 1, 1, 1, 0);
    // Tiny scratch bounds: bands of 7 and of 1 output positions, starting
    // and ending mid-row (odd widths), must give the same image.
    conv_case("3x3 banded", 6, 5, 13, 17, 3, 1, 0, 1, 6 * 9 * 4 * 7);
    conv_case("3x3 banded", 6, 5, 13, 17, 3, 1, 1, 1, 6 * 9 * 4 * 7);
    conv_case("3x3 1-position bands", 2, 3, 5, 7, 3, 1, 0, 1, 1);
    // Winograd: odd sizes (edge tiles with one row / column), several tile
    // blocks of 128 (tiles > 128), channel counts past the GEMM's blocks
    // (Co > 96 rows per A block, Ci > 256 per k block), 1-row images.
    conv_case("3x3 odd, many tiles", 3, 5, 31, 37, 3, 1, 0, 1, 0);
    conv_case("3x3 wide channels", 300, 100, 6, 7, 3, 1, 1, 1, 0);
    conv_case("3x3 one row", 4, 13, 1, 40, 3, 1, 0, 1, 0);
    conv_case("3x3 one column", 4, 2, 9, 1, 3, 1, 0, 0, 0);
    upsample_case(3, 5, 7);
    upsample_case(1, 1, 1);
    return check_done();
}
