// The CPU ops against their plain scalar twins (written out here or in
// ops.h's *_ref functions). Model-level golden tests check them against
// PyTorch; these pin each op down on its own, on awkward shapes.
#include "../../kernels/cpu/sgemm.h"
#include "../../kernels/cpu/softmax.h"
#include "check.h"
#include "nn/ops.h"

// Stores v in dtype dt at index i of raw (bf16/f16 by truncation is fine:
// both sides read the same stored bits).
static void store(void *raw, bc_dtype dt, size_t i, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    if (dt == BC_DT_F32) {
        ((float *)raw)[i] = v;
    } else if (dt == BC_DT_BF16) {
        ((uint16_t *)raw)[i] = (uint16_t)(bits >> 16);
    } else {  // f16: a few exact values are enough (k/1024 in [-1, 1])
        float q = roundf(v * 1024) / 1024;
        uint16_t h = 0;
        if (q != 0) {
            int e;
            float m = frexpf(fabsf(q), &e);  // q = m·2^e, m in [0.5, 1)
            h = (uint16_t)((q < 0) << 15 | (e - 1 + 15) << 10 | ((int)(m * 2048) & 1023));
        }
        ((uint16_t *)raw)[i] = h;
    }
}

static void test_linear(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 1);
    bc_dtype dts[] = {BC_DT_F32, BC_DT_BF16, BC_DT_F16};
    int shapes[][3] = {{1, 37, 29}, {5, 64, 300}, {3, 1500, 7}};  // n, rows, cols (1500 rows: several blocks)
    for (int d = 0; d < 3; d++) {
        for (int s = 0; s < 3; s++) {
            int n = shapes[s][0], rows = shapes[s][1], cols = shapes[s][2];
            void *raw = bc_malloc((size_t)rows * cols * 4);
            for (int i = 0; i < rows * cols; i++) store(raw, dts[d], (size_t)i, randf(&rng));
            bc_weight w = {.dtype = dts[d], .data = raw, .rows = rows, .cols = cols};
            float *x = bc_malloc(sizeof(float) * n * cols), *bias = bc_malloc(sizeof(float) * rows);
            float *out = bc_malloc(sizeof(float) * n * rows), *ref = bc_malloc(sizeof(float) * n * rows);
            for (int i = 0; i < n * cols; i++) x[i] = randf(&rng);
            for (int i = 0; i < rows; i++) bias[i] = randf(&rng);
            bc_linear(out, x, &w, bias, n);
            bc_linear_ref(ref, x, &w, bias, n);
            // float32 accumulation vs double: sums of `cols` products of
            // magnitude <= 1 drift like sqrt(cols)·1e-6 in absolute terms
            float atol = 1e-6f * sqrtf((float)cols) * 4, err = tol_ratio(out, ref, (size_t)n * rows, atol, 1e-5f);
            CHECK(err <= 1, "linear %s [%d,%d]x[%d,%d]ᵀ: within atol %.1e + rtol 1e-5 (ratio %.2f)",
                  bc_dtype_name(dts[d]), n, cols, rows, cols, atol, err);
            // the last row computed alone is bit-identical to it in the batch
            bc_linear(ref, x + (size_t)(n - 1) * cols, &w, bias, 1);
            CHECK(memcmp(ref, out + (size_t)(n - 1) * rows, sizeof(float) * rows) == 0,
                  "linear %s: a row alone is bit-identical to the same row in a batch of %d", bc_dtype_name(dts[d]), n);
            free(raw), free(x), free(bias), free(out), free(ref);
        }
    }
}

static void test_norms(void) {
    float x[2 * 5] = {1, 2, 3, 4, 5, -1, 0, 0.5f, 2, -3}, w[5] = {1, 0.5f, 2, 1, -1}, b[5] = {0, 1, 0, -1, 0.5f};
    float out[10];
    bc_rmsnorm(out, x, w, 2, 5, 1e-6f);
    double ms = (1 + 4 + 9 + 16 + 25) / 5.0;
    CHECK(fabsf(out[2] - (float)(2 * 3 / sqrt(ms + 1e-6))) < 1e-6f, "rmsnorm value");
    bc_layernorm(out, x, w, b, 2, 5, 1e-5f);
    // row 0: mean 3, var 2
    CHECK(fabsf(out[4] - (float)(-1 * (5 - 3) / sqrt(2 + 1e-5) + 0.5)) < 1e-6f, "layernorm value");
    // groupnorm: 4 channels of 3 pixels, 2 groups
    float g[12] = {1, 2, 3, 4, 5, 6, -1, -1, -1, 1, 1, 1}, gw[4] = {1, 1, 2, 1}, gb[4] = {0, 0, 1, 0}, go[12];
    bc_groupnorm(go, g, gw, gb, 4, 3, 2, 1e-6f);
    double var0 = 17.5 / 6;  // values 1..6, mean 3.5
    CHECK(fabsf(go[5] - (float)((6 - 3.5) / sqrt(var0 + 1e-6))) < 1e-5f, "groupnorm group 0");
    CHECK(fabsf(go[6] - (float)(2 * (-1 / sqrt(1 + 1e-6)) + 1)) < 1e-5f, "groupnorm group 1 with affine");
    // the fused GroupNorm + SiLU equals the two ops (silu(y) = y/(1 + e^-y)
    // in double on the float groupnorm output; 1e-6 relative: the kernel's
    // exp is within a few ulp), on a map big enough to take every path:
    // 32 groups of 4 channels of 300 values, threads over groups.
    enum { C = 128, HW = 300 };
    float *gx = malloc(sizeof(float) * C * HW), *gy = malloc(sizeof(float) * C * HW), *gz = malloc(sizeof(float) * C * HW);
    float cw[C], cb[C];
    for (int i = 0; i < C * HW; i++) gx[i] = (float)sin(0.37 * i) * 3.0f + (float)(i % 7);
    for (int c = 0; c < C; c++) cw[c] = 0.5f + 0.01f * c, cb[c] = 0.1f * (c % 5) - 0.2f;
    bc_groupnorm(gy, gx, cw, cb, C, HW, 32, 1e-6f);
    bc_groupnorm_silu(gz, gx, cw, cb, C, HW, 32, 1e-6f);
    double worst = 0;
    for (int i = 0; i < C * HW; i++) {
        double want = gy[i] / (1 + exp(-(double)gy[i])), e = fabs(gz[i] - want) / (fabs(want) + 1e-30);
        if (e > worst) worst = e;
    }
    CHECK(worst < 1e-6, "groupnorm_silu = silu(groupnorm): max relative error %.2e", worst);
    free(gx);
    free(gy);
    free(gz);
}

static void test_elementwise(void) {
    float x[4] = {-2, 0, 1, 3};
    bc_gelu(x, 4);
    CHECK(fabsf(x[0] - (float)(-2 * 0.5 * (1 + erf(-2 / sqrt(2))))) < 1e-7f && x[1] == 0, "gelu (erf)");
    float y[3] = {-1, 0, 2};
    bc_silu(y, 3);
    CHECK(fabsf(y[2] - (float)(2 / (1 + exp(-2)))) < 1e-6f, "silu");
    float s[5] = {1000, 1001, 999, -INFINITY, 1000};
    bc_softmax(s, 5);
    CHECK(fabsf(s[0] + s[1] + s[2] + s[3] + s[4] - 1) < 1e-6f && s[3] == 0 && s[1] > s[0], "softmax of large values");
}

static void test_rope(void) {
    // 2 heads of 4: pairs (0,2), (1,3); theta 10000
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    bc_rope(x, 2, 4, 3, 10000.0f);
    double a0 = 3.0, a1 = 3.0 / 100.0;  // inv_freq = 1, 10000^-0.5
    CHECK(fabs(x[0] - (1 * cos(a0) - 3 * sin(a0))) < 1e-5 && fabs(x[2] - (3 * cos(a0) + 1 * sin(a0))) < 1e-5,
          "rope pairs j with j + head_dim/2");
    CHECK(fabs(x[5] - (6 * cos(a1) - 8 * sin(a1))) < 1e-5, "rope second frequency, second head");
}

// Naive attention, one query at a time, in double.
static void attention_ref(float *out, const float *q, const float *k, const float *v, int nq, int nk, int nh, int nkv,
                          int hd, int kv_stride, int causal, float scale) {
    double *p = bc_malloc(sizeof(double) * nk);
    for (int i = 0; i < nq; i++) {
        for (int h = 0; h < nh; h++) {
            int kvh = h / (nh / nkv), visible = causal ? nk - nq + i + 1 : nk;
            double max = -1e300, sum = 0;
            for (int j = 0; j < visible; j++) {
                double dot = 0;
                for (int t = 0; t < hd; t++) dot += (double)q[(size_t)i * nh * hd + h * hd + t] * k[(size_t)j * kv_stride + kvh * hd + t];
                p[j] = dot * scale;
                if (p[j] > max) max = p[j];
            }
            for (int j = 0; j < visible; j++) sum += p[j] = exp(p[j] - max);
            for (int t = 0; t < hd; t++) {
                double acc = 0;
                for (int j = 0; j < visible; j++) acc += p[j] / sum * v[(size_t)j * kv_stride + kvh * hd + t];
                out[(size_t)i * nh * hd + h * hd + t] = (float)acc;
            }
        }
    }
    free(p);
}

static void test_attention(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 2);
    // sharp: keys from 768 on (the second chunk of ops_cpu.c's KB) scaled by
    // 16, so a query's running max jumps by more than 2^64 there (~90 in
    // base 2: scores of spread ~21 against ~1.3 before) and the
    // earlier chunks' part is scaled to nothing
    struct { int nq, nk, nh, nkv, hd, extra, causal, sharp; } cases[] = {
        {7, 7, 4, 4, 8, 0, 1, 0},    // prefill
        {1, 9, 6, 2, 16, 0, 1, 0},   // one decode step, GQA 3:1
        {3, 10, 6, 3, 4, 5, 1, 0},   // several new tokens over a cache with spare columns
        {36, 36, 1, 1, 32, 0, 0, 0}, // the VQ decoder's single-head, non-causal case
        {70, 600, 4, 2, 20, 3, 0, 0}, // a ViT's: query blocks past one, keys past sgemm's KC
        {300, 1700, 2, 1, 64, 0, 0, 0}, // OWLv2's head dim; query blocks in 3 groups, keys in 3 chunks
        {200, 1600, 2, 2, 16, 0, 0, 1}, // sharp
        {40, 900, 1, 1, 264, 0, 0, 0}, // a head dim past sgemm's KC: the keys in one chunk
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int nq = cases[c].nq, nk = cases[c].nk, nh = cases[c].nh, nkv = cases[c].nkv, hd = cases[c].hd;
        int kv_stride = nkv * hd + cases[c].extra;
        float *q = bc_malloc(sizeof(float) * nq * nh * hd), *k = bc_malloc(sizeof(float) * nk * kv_stride);
        float *v = bc_malloc(sizeof(float) * nk * kv_stride);
        float *out = bc_malloc(sizeof(float) * nq * nh * hd), *ref = bc_malloc(sizeof(float) * nq * nh * hd);
        for (int i = 0; i < nq * nh * hd; i++) q[i] = 2 * randf(&rng);
        for (int i = 0; i < nk * kv_stride; i++) k[i] = 2 * randf(&rng), v[i] = randf(&rng);
        if (cases[c].sharp)
            for (int i = 768 * kv_stride; i < nk * kv_stride; i++) k[i] *= 16;
        float scale = 1.0f / sqrtf((float)hd);
        attention_ref(ref, q, k, v, nq, nk, nh, nkv, hd, kv_stride, cases[c].causal, scale);
        for (int generic = 0; generic <= 1; generic++) {  // the AVX-512 GEMM and softmax where there, then the generic ones
            bc_sgemm_force_generic(generic);
            bc_softmax_force_generic(generic);
            bc_attention(out, q, k, v, nq, nk, nh, nkv, hd, kv_stride, cases[c].causal, scale);
            // outputs are convex mixes of v in [-1, 1]: float32 softmax + sums
            float err = tol_ratio(out, ref, (size_t)nq * nh * hd, 1e-5f, 1e-5f);
            CHECK(err <= 1, "attention nq %d nk %d heads %d/%d dim %d %s, %s kernels: within 1e-5 + 1e-5·|ref| (ratio %.2f)",
                  nq, nk, nh, nkv, hd, cases[c].causal ? "causal" : "full", generic ? "generic" : "best", err);
        }
        bc_sgemm_force_generic(0);
        bc_softmax_force_generic(0);
        free(q), free(k), free(v), free(out), free(ref);
    }
}

int main(void) {
    bc_ops_set_threads(2);
    test_linear();
    test_norms();
    test_elementwise();
    test_rope();
    test_attention();
    return check_done();
}
