// bc_linear and bc_attention on their fast kernels keep a row's result
// independent of the rows around it (DESIGN.md §2): bc_linear gives the
// bits of bc_gemv_* one input row at a time (kernels/cpu/gemv.c), on the
// AVX-512 and the generic kernel, on 1 and 2 threads; bc_attention gives a
// query the same bits whether it comes alone or with others. Plus
// bc_sgemm_bt against the definition.
#include "check.h"
#include "nn/ops.h"

#include "../../kernels/cpu/gemv.h"
#include "../../kernels/cpu/sgemm.h"
#include "../../kernels/cpu/softmax.h"

// A random weight element in dtype dt: bf16 = a float's top half, f16 =
// sign, biased exponent 0 .. 16 (subnormals up to 2^1), random mantissa.
static void store_random(void *raw, bc_dtype dt, size_t i, bc_rng *rng) {
    float v = randf(rng);
    uint32_t bits;
    memcpy(&bits, &v, 4);
    if (dt == BC_DT_F32) ((float *)raw)[i] = v;
    else if (dt == BC_DT_BF16) ((uint16_t *)raw)[i] = (uint16_t)(bits >> 16);
    else ((uint16_t *)raw)[i] = (uint16_t)((bits >> 31) << 15 | (bits % 17) << 10 | (bits >> 8 & 1023));
}

// out [n, rows] = x · wᵀ one input row at a time through bc_gemv_* (f16:
// bc_gemv_f32 on the weights widened to float32, which is exact).
static void linear_by_rows(float *out, const float *x, const bc_weight *w, int n) {
    float *wf = NULL;
    if (w->dtype == BC_DT_F16) {
        wf = bc_malloc((size_t)w->rows * w->cols * sizeof *wf);
        for (size_t i = 0; i < (size_t)w->rows * w->cols; i++) wf[i] = bc_weight_at(w, i);
    }
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * w->cols;
        float *oi = out + (size_t)i * w->rows;
        if (w->dtype == BC_DT_BF16) bc_gemv_bf16(oi, w->data, xi, w->rows, w->cols, 1, w->rows, w->cols);
        else bc_gemv_f32(oi, wf ? wf : w->data, xi, w->rows, w->cols, 1, w->rows, w->cols);
    }
    free(wf);
}

static void test_linear_bits(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 7);
    bc_dtype dts[] = {BC_DT_F32, BC_DT_BF16, BC_DT_F16};
    // n, rows, cols: blocks of 6 input × 4 weight rows with leftovers of
    // each, cols with and without a tail of cols % 16, several row chunks
    int shapes[][3] = {{1, 5, 16}, {4, 9, 33}, {6, 8, 64}, {7, 13, 47}, {13, 37, 100}, {25, 70, 129}, {37, 203, 77}};
    for (int generic = 0; generic <= 1; generic++) {
        bc_gemv_force_generic(generic);
        for (int d = 0; d < 3; d++) {
            int all_same = 1, tested = 0;
            float worst = 0;
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                int n = shapes[s][0], rows = shapes[s][1], cols = shapes[s][2];
                void *raw = bc_malloc((size_t)rows * cols * 4);
                for (size_t i = 0; i < (size_t)rows * cols; i++) store_random(raw, dts[d], i, &rng);
                bc_weight w = {.dtype = dts[d], .data = raw, .rows = rows, .cols = cols};
                float *x = bc_malloc(sizeof(float) * n * cols), *out = bc_malloc(sizeof(float) * n * rows);
                float *by_rows = bc_malloc(sizeof(float) * n * rows), *ref = bc_malloc(sizeof(float) * n * rows);
                for (int i = 0; i < n * cols; i++) x[i] = randf(&rng);
                linear_by_rows(by_rows, x, &w, n);
                bc_linear_ref(ref, x, &w, NULL, n);
                for (int threads = 1; threads <= 2; threads++) {
                    bc_ops_set_threads(threads);
                    // every leading count of rows 1..n, so each row meets every block position
                    for (int m = 1; m <= n; m += (m < 8 ? 1 : 5)) {
                        bc_linear(out, x, &w, NULL, m);
                        all_same &= memcmp(out, by_rows, sizeof(float) * m * rows) == 0;
                        tested++;
                    }
                }
                bc_linear(out, x, &w, NULL, n);
                all_same &= memcmp(out, by_rows, sizeof(float) * n * rows) == 0;
                // float32 sums of `cols` products of magnitude <= 2 vs double: errors grow like sqrt(cols)
                float atol = 1e-6f * sqrtf((float)cols), err = tol_ratio(out, ref, (size_t)n * rows, atol, 1e-5f);
                if (err > worst) worst = err;
                free(raw), free(x), free(out), free(by_rows), free(ref);
            }
            CHECK(all_same, "linear %s, %s kernel: bit-identical to bc_gemv one row at a time (%d runs, n 1..37, 1 and 2 threads)",
                  bc_dtype_name(dts[d]), bc_gemv_kernel_name(), tested);
            CHECK(worst <= 1, "linear %s, %s kernel: within 1e-6·sqrt(cols) + 1e-5·|ref| of bc_linear_ref (ratio %.2f)",
                  bc_dtype_name(dts[d]), bc_gemv_kernel_name(), worst);
        }
    }
    bc_gemv_force_generic(0);
    bc_ops_set_threads(2);
}

// bc_linear_many (the GEMM with fused multiply-adds, for the reward models):
// within tolerance of the definition for f32/bf16/f16 weights, and a row's
// bits the same for any n (row i alone = row i among n) and thread count.
// n × cols small enough takes the GEMM's few-row path (kernels/cpu/sgemm.c
// few_rows) for all n, larger the blocked path for the n rows and few_rows
// for a row alone: the two must agree to the bit.
static void test_linear_many(int n, int rows, int cols) {
    bc_rng rng;
    bc_rng_seed(&rng, 11);
    bc_dtype dts[] = {BC_DT_F32, BC_DT_BF16, BC_DT_F16};
    for (int generic = 0; generic <= 1; generic++) {
        bc_sgemm_force_generic(generic);
        for (int d = 0; d < 3; d++) {
            void *raw = bc_malloc((size_t)rows * cols * 4);
            for (size_t i = 0; i < (size_t)rows * cols; i++) store_random(raw, dts[d], i, &rng);
            bc_weight w = {.dtype = dts[d], .data = raw, .rows = rows, .cols = cols};
            float *x = bc_malloc(sizeof(float) * n * cols), *bias = bc_malloc(sizeof(float) * rows);
            float *all = bc_malloc(sizeof(float) * n * rows), *one = bc_malloc(sizeof(float) * rows);
            float *ref = bc_malloc(sizeof(float) * n * rows);
            for (int i = 0; i < n * cols; i++) x[i] = randf(&rng);
            for (int r = 0; r < rows; r++) bias[r] = randf(&rng);
            bc_linear_ref(ref, x, &w, bias, n);
            int same = 1;
            for (int threads = 1; threads <= 2; threads++) {
                bc_ops_set_threads(threads);
                bc_linear_many(all, x, &w, bias, n);
                for (int i = 0; i < n; i += 7) {
                    bc_linear_many(one, x + (size_t)i * cols, &w, bias, 1);
                    same &= memcmp(one, all + (size_t)i * rows, sizeof(float) * rows) == 0;
                }
            }
            // prepared (packed once): the same bits, with threads over columns
            // (n < rows) and over rows (tall = more rows than weight rows)
            enum { TALL = 170 };
            float *tall_x = bc_malloc(sizeof(float) * TALL * cols), *tall = bc_malloc(sizeof(float) * TALL * rows);
            float *tall_p = bc_malloc(sizeof(float) * (n > TALL ? n : TALL) * rows);  // also holds the n rows
            for (int i = 0; i < TALL * cols; i++) tall_x[i] = randf(&rng);
            int same_prepared = 1;
            for (int threads = 1; threads <= 2; threads++) {
                bc_ops_set_threads(threads);
                bc_weight p = w;
                bc_linear_many(tall, tall_x, &w, bias, TALL);
                bc_weight_prepare(&p);
                bc_linear_many(tall_p, x, &p, bias, n);
                same_prepared &= memcmp(tall_p, all, sizeof(float) * n * rows) == 0;
                bc_linear_many(tall_p, tall_x, &p, bias, TALL);
                same_prepared &= memcmp(tall_p, tall, sizeof(float) * TALL * rows) == 0;
                bc_weight_release(&p);
                same_prepared &= p.prepared == NULL;
            }
            CHECK(same_prepared, "linear_many %s, %s kernel: a prepared weight gives the same bits (%d and %d rows, 1 and 2 threads)",
                  bc_dtype_name(dts[d]), bc_sgemm_kernel_name(), n, TALL);
            free(tall_x), free(tall), free(tall_p);
            float atol = 1e-6f * sqrtf((float)cols), err = tol_ratio(all, ref, (size_t)n * rows, atol, 1e-5f);
            CHECK(same, "linear_many %s, %s kernel: a row's bits the same alone and among %d, on 1 and 2 threads",
                  bc_dtype_name(dts[d]), bc_sgemm_kernel_name(), n);
            CHECK(err <= 1, "linear_many %s, %s kernel: within 1e-6·sqrt(cols) + 1e-5·|ref| of bc_linear_ref (ratio %.2f)",
                  bc_dtype_name(dts[d]), bc_sgemm_kernel_name(), err);
            free(raw), free(x), free(bias), free(all), free(one), free(ref);
        }
    }
    bc_sgemm_force_generic(0);
    bc_ops_set_threads(2);
}

// bc_linear_many_act on a prepared weight (the activation applied inside the
// GEMM as pieces of the output are finished) against bc_linear_many on the
// unprepared weight followed by bc_activate: the same bits, for each
// activation, on 1 and 2 threads, with more rows than weight rows (threads
// over row blocks; 1100 outputs: the output done in column blocks, the last
// one partial) and fewer (threads over columns).
static void test_linear_act(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 12);
    int rows = 1100, cols = 300, ns[2] = {300, 29};
    float *raw = bc_malloc(sizeof(float) * rows * cols), *bias = bc_malloc(sizeof(float) * rows);
    float *x = bc_malloc(sizeof(float) * ns[0] * cols);
    float *want = bc_malloc(sizeof(float) * ns[0] * rows), *got = bc_malloc(sizeof(float) * ns[0] * rows);
    for (int i = 0; i < rows * cols; i++) raw[i] = randf(&rng) * 0.2f;
    for (int r = 0; r < rows; r++) bias[r] = randf(&rng);
    for (int i = 0; i < ns[0] * cols; i++) x[i] = randf(&rng) * 4.0f;
    bc_weight w = {.dtype = BC_DT_F32, .data = raw, .rows = rows, .cols = cols}, p = w;
    bc_weight_prepare(&p);
    const char *names[] = {"none", "gelu", "quick_gelu"};
    for (int generic = 0; generic <= 1; generic++) {
        bc_sgemm_force_generic(generic);
        for (int act = BC_ACT_NONE; act <= BC_ACT_GELU_QUICK; act++) {
            int same = 1;
            for (int threads = 1; threads <= 2; threads++) {
                bc_ops_set_threads(threads);
                for (int k = 0; k < 2; k++) {
                    bc_linear_many(want, x, &w, bias, ns[k]);
                    bc_activate(want, (size_t)ns[k] * rows, (bc_act)act);
                    bc_linear_many_act(got, x, &p, bias, (bc_act)act, ns[k]);
                    same &= memcmp(got, want, sizeof(float) * ns[k] * rows) == 0;
                }
            }
            CHECK(same, "linear_many_act %s, %s kernel, prepared: the bits of linear_many then the activation (%d and %d rows, 1100 outputs, 1 and 2 threads)",
                  names[act], bc_sgemm_kernel_name(), ns[0], ns[1]);
        }
    }
    bc_sgemm_force_generic(0);
    bc_ops_set_threads(2);
    bc_weight_release(&p);
    free(raw), free(bias), free(x), free(want), free(got);
}

// bc_linear_many_add (a residual connection: out += x·wᵀ + bias, summed in
// the GEMM's stores): against double out + x·wᵀ + bias, and a prepared
// weight gives the bits of the unprepared one, on both kernels, 1 and 2
// threads, through the row path with column blocks (300 rows) and the
// column path (29 rows); K = 300 takes two k blocks, so the sum goes
// through a tile's accumulate twice.
static void test_linear_add(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 13);
    int rows = 1100, cols = 300, ns[2] = {300, 29};
    float *raw = bc_malloc(sizeof(float) * rows * cols), *bias = bc_malloc(sizeof(float) * rows);
    float *x = bc_malloc(sizeof(float) * ns[0] * cols), *start = bc_malloc(sizeof(float) * ns[0] * rows);
    float *want = bc_malloc(sizeof(float) * ns[0] * rows), *got = bc_malloc(sizeof(float) * ns[0] * rows);
    for (int i = 0; i < rows * cols; i++) raw[i] = randf(&rng) * 0.2f;
    for (int r = 0; r < rows; r++) bias[r] = randf(&rng);
    for (int i = 0; i < ns[0] * cols; i++) x[i] = randf(&rng) * 4.0f;
    for (int i = 0; i < ns[0] * rows; i++) start[i] = randf(&rng) * 8.0f;
    bc_weight w = {.dtype = BC_DT_F32, .data = raw, .rows = rows, .cols = cols}, p = w;
    bc_weight_prepare(&p);
    for (int generic = 0; generic <= 1; generic++) {
        bc_sgemm_force_generic(generic);
        int same = 1;
        double worst = 0;
        for (int threads = 1; threads <= 2; threads++) {
            bc_ops_set_threads(threads);
            for (int k = 0; k < 2; k++) {
                size_t len = (size_t)ns[k] * rows;
                memcpy(want, start, len * sizeof(float));
                bc_linear_many_add(want, x, &w, bias, ns[k]);
                memcpy(got, start, len * sizeof(float));
                bc_linear_many_add(got, x, &p, bias, ns[k]);
                same &= memcmp(got, want, len * sizeof(float)) == 0;
                for (int i = 0; i < ns[k]; i++)
                    for (int r = 0; r < rows; r++) {
                        double s = (double)start[(size_t)i * rows + r] + bias[r], mag = fabs(s);
                        for (int c = 0; c < cols; c++) {
                            double t = (double)x[(size_t)i * cols + c] * raw[(size_t)r * cols + c];
                            s += t, mag += fabs(t);
                        }
                        double e = fabs(got[(size_t)i * rows + r] - s) / mag;
                        if (e > worst) worst = e;
                    }
            }
        }
        CHECK(same, "linear_many_add, %s kernel: a prepared weight gives the bits of the unprepared one (%d and %d rows, 1 and 2 threads)",
              bc_sgemm_kernel_name(), ns[0], ns[1]);
        // float's rounding (6e-8) over a 302-term sum, relative to its magnitude
        CHECK(worst < 1e-6, "linear_many_add, %s kernel: out + x·wᵀ + bias within 1e-6 of the magnitude of double's (worst %.2e)",
              bc_sgemm_kernel_name(), worst);
    }
    bc_sgemm_force_generic(0);
    bc_ops_set_threads(2);
    bc_weight_release(&p);
    free(raw), free(bias), free(x), free(start), free(want), free(got);
}

static void test_sgemm_bt(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 8);
    int M = 29, N = 70, K = 300, lda = K + 3, ldb = K + 5;  // K past one KC block, N past two NR panels
    float *A = bc_malloc(sizeof(float) * M * lda), *B = bc_malloc(sizeof(float) * N * ldb);
    float *Bt = bc_malloc(sizeof(float) * K * N), *C = bc_malloc(sizeof(float) * M * N), *ref = bc_malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * lda; i++) A[i] = randf(&rng);
    for (int i = 0; i < N * ldb; i++) B[i] = randf(&rng);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) Bt[(size_t)k * N + j] = B[(size_t)j * ldb + k];
    for (int generic = 0; generic <= 1; generic++) {
        bc_sgemm_force_generic(generic);
        for (int accumulate = 0; accumulate <= 1; accumulate++) {
            for (int i = 0; i < M * N; i++) C[i] = ref[i] = accumulate ? randf(&rng) : 0.0f;
            bc_sgemm_bt(M, N, K, A, lda, B, ldb, C, N, accumulate);
            bc_sgemm_ref(M, N, K, A, lda, Bt, N, ref, N, accumulate);
            // float32 sums of 300 products of magnitude <= 1
            float err = tol_ratio(C, ref, (size_t)M * N, 2e-5f, 1e-5f);
            CHECK(err <= 1, "sgemm_bt %s, %s: within 2e-5 + 1e-5·|ref| of the definition (ratio %.2f)",
                  bc_sgemm_kernel_name(), accumulate ? "accumulating" : "storing", err);
        }
    }
    bc_sgemm_force_generic(0);
    free(A), free(B), free(Bt), free(C), free(ref);
}

// Each query of a batch against the same query alone: causal, a query i of
// nq over nk keys is the last query over nk − nq + i + 1 keys (a decoding
// step); otherwise the same nk keys.
static void test_attention_rows(void) {
    bc_rng rng;
    bc_rng_seed(&rng, 9);
    // nq past one 64-row unit; nk past sgemm's KC (256) and NC (2048) blocks
    struct { int nq, nk, nh, nkv, hd, extra, causal; } cases[] = {
        {70, 70, 2, 1, 16, 3, 1}, {70, 300, 4, 2, 8, 0, 0}, {67, 2100, 1, 1, 8, 1, 1}, {5, 2100, 2, 2, 4, 0, 0},
        {300, 1700, 2, 1, 8, 0, 0},  // full: query blocks in 3 groups, keys in 3 chunks (ops_cpu.c: QG, KB)
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int nq = cases[c].nq, nk = cases[c].nk, nh = cases[c].nh, nkv = cases[c].nkv, hd = cases[c].hd;
        int kv_stride = nkv * hd + cases[c].extra, qd = nh * hd;
        float *q = bc_malloc(sizeof(float) * nq * qd), *k = bc_malloc(sizeof(float) * nk * kv_stride);
        float *v = bc_malloc(sizeof(float) * nk * kv_stride);
        float *out = bc_malloc(sizeof(float) * nq * qd), *one = bc_malloc(sizeof(float) * qd);
        for (int i = 0; i < nq * qd; i++) q[i] = 2 * randf(&rng);
        for (int i = 0; i < nk * kv_stride; i++) k[i] = 2 * randf(&rng), v[i] = randf(&rng);
        float scale = 1.0f / sqrtf((float)hd);
        for (int generic = 0; generic <= 1; generic++) {
            bc_sgemm_force_generic(generic);
            bc_softmax_force_generic(generic);
            bc_attention(out, q, k, v, nq, nk, nh, nkv, hd, kv_stride, cases[c].causal, scale);
            int same = 1;
            for (int i = 0; i < nq; i++) {
                int keys = cases[c].causal ? nk - nq + i + 1 : nk;
                bc_attention(one, q + (size_t)i * qd, k, v, 1, keys, nh, nkv, hd, kv_stride, cases[c].causal, scale);
                same &= memcmp(one, out + (size_t)i * qd, sizeof(float) * qd) == 0;
            }
            CHECK(same, "attention %s nq %d nk %d heads %d/%d, %s kernel: each query alone is bit-identical to it in the batch",
                  cases[c].causal ? "causal" : "full", nq, nk, nh, nkv, bc_sgemm_kernel_name());
        }
        bc_sgemm_force_generic(0);
        bc_softmax_force_generic(0);
        free(q), free(k), free(v), free(out), free(one);
    }
}

int main(void) {
    test_linear_bits();
    test_linear_many(29, 150, 300);   // rows past several 32-wide panels and a thread split, cols past KC (256)
    test_linear_many(300, 70, 1000);  // the blocked path; 70 weight rows: a panel's second 16 partly, then not at all
    test_linear_act();
    test_linear_add();
    test_sgemm_bt();
    test_attention_rows();
    return check_done();
}
