// test_softmax.c: kernels/cpu/softmax.c's column softmax (base 2) on both
// paths against exp2 in double precision, over columns of very different
// ranges (a column whose other keys underflow to exact zeros, constant
// columns, scores in the thousands), and a column's bits independent of its
// neighbours. All keys in one chunk: each e = 2^x, x = s − max as float
// computes it (exactly 0 where x < −64: see softmax.c), within (2e-7 +
// 1.2e-7·|x|) relative (the generic path's e^(x·ln 2) rounds x·ln 2, an
// error that grows with |x| as in any float exp; a wrong coefficient is off
// by 1e-4 and more); Σe within n·1.2e-7 relative of Σ of the kernel's own e
// in double (the bound of a float sum of n terms). In chunks (5 and 768
// keys): the running max ends within 64 below the column's max, and Σe,
// rescaled chunk after chunk, within the same bounds of Σ 2^(s − that max)
// in double, plus 2e-7 + 1.2e-7·|rise| for each rescaling (the scale is one
// more 2^x); the one-pass form gives the same bits.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../kernels/cpu/softmax.h"
#include "check.h"

enum { L = BC_SOFTMAX_LANES };

static float score(int j, int i) {
    if (i % 8 == 7) return (float)j * 0.05f;  // rising all along: the max moves, chunk after chunk
    switch (i % 4) {
    case 0: return (float)((j * 37 + i * 11) % 101) * 0.173f - 9.0f;  // ordinary scores
    case 1: return (float)i;                                           // constant column
    case 2: return j == 3 ? 500.0f : (float)(j % 7) * 1000.0f - 6000.0f;  // one key dominates: the rest -> 0
    default: return sinf((float)j * 0.01f + (float)i) * 60.0f;          // 2^60 spread
    }
}

// All n keys as one chunk: e in place, inv[i] = 1 / Σe.
static void whole(float *st, int n, float *inv) {
    float max[L], sum[L], scale[L];
    for (int i = 0; i < L; i++) max[i] = -INFINITY, sum[i] = 0.0f;
    bc_softmax_columns_exp2_chunk(st, n, max, sum, scale);
    for (int i = 0; i < L; i++) inv[i] = 1.0f / sum[i];
}

static void check_path(int generic, int n) {
    bc_softmax_force_generic(generic);
    float *st = malloc(sizeof(float) * n * L), *other = malloc(sizeof(float) * n * L), inv[L], inv2[L];
    for (int j = 0; j < n; j++)
        for (int i = 0; i < L; i++) st[j * L + i] = score(j, i);
    // the same columns beside different neighbours: columns i % 4 == 0 swapped with zeros around
    for (int j = 0; j < n; j++)
        for (int i = 0; i < L; i++) other[j * L + i] = i % 4 == 0 ? score(j, i) : -1.0f;
    whole(st, n, inv);
    whole(other, n, inv2);
    int bad = 0, alone = 1;
    double worst = 0;
    for (int i = 0; i < L; i++) {
        float max = -INFINITY;
        double sum = 0;
        for (int j = 0; j < n; j++) max = fmaxf(max, score(j, i));
        for (int j = 0; j < n; j++) {
            float x = score(j, i) - max;
            // below 2^-64 of the column's largest, a weight is 0 (softmax.c: FLUSH)
            double want = x < -64.0f ? 0.0 : exp2((double)x), e = fabs(st[j * L + i] - want);
            if (!(e <= (2e-7 + 1.2e-7 * fabs(x)) * want)) bad++;
            if (want > 1e-30 && e / want > worst) worst = e / want;
            sum += st[j * L + i];
        }
        double e = fabs(inv[i] - 1.0 / sum);
        if (!(e <= n * 1.2e-7 / sum)) bad++;
        if (i % 4 == 0) {
            for (int j = 0; j < n; j++) alone &= memcmp(&st[j * L + i], &other[j * L + i], sizeof(float)) == 0;
            alone &= memcmp(&inv[i], &inv2[i], sizeof(float)) == 0;
        }
    }
    CHECK(bad == 0, "softmax columns (%s path, %d keys): every 2^(s - max) and 1/sum within tolerance of double (worst relative %.2e)",
          generic ? "generic" : "AVX-512 or generic", n, worst);
    CHECK(alone, "softmax columns (%s path, %d keys): a column's bits do not depend on its neighbours",
          generic ? "generic" : "AVX-512 or generic", n);
    free(st), free(other);
    bc_softmax_force_generic(0);
}

// The same columns in chunks of `chunk` keys: the final running max, within
// 64 below the column's max (softmax.h: it moves only when a chunk rises
// more than 64 above it), and Σe against Σ 2^(s − that max) in double.
// Then the same chunks the one-pass way, as attention does them after the
// first: scores less the running max (as float subtracts it) in pieces of
// `piece` keys through bc_softmax_columns_exp2_fixed, the chunk redone
// with the chunk form when it says so: every weight, max and sum the same
// bits as the chunk form's alone.
static void check_chunks(int generic, int n, int chunk, int piece) {
    bc_softmax_force_generic(generic);
    float *st = malloc(sizeof(float) * n * L), *st2 = malloc(sizeof(float) * n * L), max[L], sum[L], scale[L],
          first[L];
    for (int j = 0; j < n; j++)
        for (int i = 0; i < L; i++) st[j * L + i] = score(j, i);
    for (int i = 0; i < L; i++) max[i] = -INFINITY, sum[i] = 0.0f;
    int chunks = 0;
    for (int c0 = 0; c0 < n; c0 += chunk, chunks++) {
        bc_softmax_columns_exp2_chunk(st + (size_t)c0 * L, n - c0 < chunk ? n - c0 : chunk, max, sum, scale);
        if (c0 == 0) memcpy(first, max, sizeof first);
    }
    int bad = 0;
    for (int i = 0; i < L; i++) {
        float m = -INFINITY;
        for (int j = 0; j < n; j++) m = fmaxf(m, score(j, i));
        double want = 0;
        for (int j = 0; j < n; j++) want += exp2((double)(score(j, i) - max[i]));
        double tol = n * 1.2e-7 + 2e-7 + 1.2e-7 * 64 + chunks * 2e-7 + 1.2e-7 * (m - first[i]);
        bad += !(max[i] <= m && max[i] >= m - 64) || !(fabs(sum[i] - want) <= tol * want);
    }
    CHECK(bad == 0, "softmax columns in chunks of %d (%s path, %d keys): the running max ends within 64 below the column's, the sum within tolerance of double (%d columns off)",
          chunk, generic ? "generic" : "AVX-512 or generic", n, bad);

    float max2[L], sum2[L];
    for (int i = 0; i < L; i++) max2[i] = -INFINITY, sum2[i] = 0.0f;
    int redone = 0;
    for (int c0 = 0; c0 < n; c0 += chunk) {
        int len = n - c0 < chunk ? n - c0 : chunk, redo = c0 == 0;
        float *c = st2 + (size_t)c0 * L, part[L], top[L];
        if (!redo) {
            for (int i = 0; i < L; i++) part[i] = 0.0f, top[i] = -INFINITY;
            for (int p0 = 0; p0 < len && !redo; p0 += piece) {
                int m = len - p0 < piece ? len - p0 : piece;
                for (int j = p0; j < p0 + m; j++)
                    for (int i = 0; i < L; i++) c[j * L + i] = score(c0 + j, i) - max2[i];
                redo = bc_softmax_columns_exp2_fixed(c + (size_t)p0 * L, m, part, top);
            }
            if (!redo)
                for (int i = 0; i < L; i++) sum2[i] += part[i];
        }
        if (redo) {
            for (int j = 0; j < len; j++)
                for (int i = 0; i < L; i++) c[j * L + i] = score(c0 + j, i);
            bc_softmax_columns_exp2_chunk(c, len, max2, sum2, scale);
            redone += c0 > 0;
        }
    }
    CHECK(memcmp(st, st2, sizeof(float) * n * L) == 0 && memcmp(max, max2, sizeof max) == 0 &&
              memcmp(sum, sum2, sizeof sum) == 0 && redone > 0 && redone < chunks - 1,
          "softmax columns in chunks of %d (%s path): one pass in pieces of %d keys gives the chunk form's bits (%d of %d chunks redone)",
          chunk, generic ? "generic" : "AVX-512 or generic", piece, redone, chunks - 1);
    free(st), free(st2);
    bc_softmax_force_generic(0);
}

int main(void) {
    int sizes[] = {1, 7, 3601};
    for (int g = 0; g <= 1; g++) {
        for (int k = 0; k < 3; k++) check_path(g, sizes[k]);
        check_chunks(g, 3601, 5, 2);
        check_chunks(g, 3601, 768, 264);
    }
    return check_done();
}
