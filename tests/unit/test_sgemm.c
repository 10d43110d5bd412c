// test_sgemm.c: kernels/cpu/sgemm.c against its scalar twin bc_sgemm_ref
// (double accumulation), for sizes that do and do not fill the 12×32
// micro-tile and the 96×256 / 256×2048 blocks, with and without
// accumulation, through each entry point (plain, threaded, pre-packed) and
// each kernel (AVX-512 where the CPU has it, generic C).
#include <math.h>
#include <string.h>

#include "../../kernels/cpu/sgemm.h"
#include "check.h"
#include "util.h"

enum { PLAIN, THREADS, PACKED };
static const char *entry_name[] = {"plain", "threads", "packed + bias"};

static float uniform(bc_rng *rng) { return (float)(2.0 * bc_rng_uniform(rng) - 1.0); }

// Tolerance: K products of values in [-1, 1] summed in float32 (fused
// multiply-adds or not) against a double sum: error ~ eps·sqrt(K), so
// 1e-5·sqrt(K) leaves a wide margin while any indexing slip (a wrong or
// missing term, of size ~1) fails.
static void gemm_case(int M, int N, int K, int accumulate, int entry) {
    bc_rng rng;
    bc_rng_seed(&rng, (uint64_t)(M * 7919 + N * 131 + K + accumulate));
    int lda = K + 3, ldb = N + 5, ldc = N + 1;  // leading dimensions wider than the rows
    float *A = bc_malloc((size_t)M * lda * sizeof *A), *B = bc_malloc((size_t)K * ldb * sizeof *B);
    float *got = bc_malloc((size_t)M * ldc * sizeof *got), *want = bc_malloc((size_t)M * ldc * sizeof *want);
    for (size_t i = 0; i < (size_t)M * lda; i++) A[i] = uniform(&rng);
    for (size_t i = 0; i < (size_t)K * ldb; i++) B[i] = uniform(&rng);
    for (size_t i = 0; i < (size_t)M * ldc; i++) got[i] = want[i] = uniform(&rng);
    bc_sgemm_ref(M, N, K, A, lda, B, ldb, want, ldc, accumulate);
    if (entry == PLAIN) {
        bc_sgemm(M, N, K, A, lda, B, ldb, got, ldc, accumulate);
    } else if (entry == THREADS) {
        bc_sgemm_threads(2, M, N, K, A, lda, B, ldb, got, ldc, accumulate);
    } else {
        float *Ap = bc_malloc(bc_sgemm_packed_a_floats(M, K) * sizeof *Ap);
        size_t nb = bc_sgemm_packed_b_floats(K, N);
        float *Bp = bc_malloc(nb * sizeof *Bp);
        for (size_t i = 0; i < nb; i++) Bp[i] = NAN;  // padding columns must not leak into C
        bc_sgemm_pack_a(Ap, A, lda, M, K);
        for (int k = 0; k < K; k++)
            for (int n = 0; n < N; n++) Bp[bc_sgemm_packed_b_index(K, N, k, n)] = B[(size_t)k * ldb + n];
        // with a bias on the columns (attention's scores less each query's max)
        float *bias = bc_malloc((size_t)N * sizeof *bias);
        for (int n = 0; n < N; n++) bias[n] = 4 * uniform(&rng);
        for (int i = 0; i < M; i++)
            for (int n = 0; n < N; n++) want[(size_t)i * ldc + n] += bias[n];
        bc_sgemm_packed(M, N, K, Ap, Bp, got, ldc, accumulate, bias);
        free(bias);
        free(Ap);
        free(Bp);
    }
    double atol = 1e-5 * sqrt((double)K + 1), max_err = 0;
    size_t bad = 0, outside = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            double e = fabs((double)got[(size_t)i * ldc + j] - want[(size_t)i * ldc + j]);
            if (j >= N) {  // the gap between rows: never written
                if (e != 0) outside++;
                continue;
            }
            if (!(e <= atol)) bad++;
            if (e > max_err || e != e) max_err = e;
        }
    CHECK(bad == 0 && outside == 0, "sgemm %s [%s] %dx%dx%d%s: max |err| %.2e (atol %.1e), %zu written outside C",
          entry_name[entry], bc_sgemm_kernel_name(), M, N, K, accumulate ? " accumulate" : "", max_err, atol, outside);
    free(A);
    free(B);
    free(got);
    free(want);
}

int main(void) {
    static const int sizes[][3] = {
        {1, 1, 1},      {12, 32, 8},   {13, 33, 7},    {5, 70, 300},    // tile edges, K past one block
        {97, 65, 257},  {200, 40, 3},  {24, 2100, 20}, {3, 1, 1152},    // M past an A block, N past a B block
    };
    for (int generic = 0; generic < 2; generic++) {
        bc_sgemm_force_generic(generic);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int entry = PLAIN; entry <= PACKED; entry++)
                gemm_case(sizes[s][0], sizes[s][1], sizes[s][2], (int)(s + entry) % 2, entry);
    }
    bc_sgemm_force_generic(0);
    // K = 0 and accumulate = 0 leaves zeros.
    float c[4] = {1, 2, 3, 4};
    bc_sgemm(2, 2, 0, NULL, 0, NULL, 2, c, 2, 0);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] == 0, "K = 0 without accumulation gives zeros");
    return check_done();
}
