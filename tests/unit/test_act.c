// test_act.c: kernels/cpu/act.c's vectorised SiLU against its scalar twin
// x / (1 + expf(−x)) over a dense sweep of [−100, 100], the exp clamping
// edges and special values; GELU and quick_gelu against their definitions.
#include <math.h>
#include <stdlib.h>

#include "../../kernels/cpu/act.h"
#include "check.h"

int main(void) {
    // Tolerance: the polynomial exp is within ~2 ulp of expf and the division
    // adds one rounding; 1e-6 relative (~17 ulp) leaves a margin while a
    // wrong coefficient or a bad 2^n (errors of 1e-3 and more) fails. Plus
    // 1e-30 absolute: below x = −88 the kernel's exp is clamped (so 2^n
    // stays a normal float), which changes only outputs under 1e-36.
    enum { N = 400001 };
    float *x = malloc(N * sizeof *x), *want = malloc(N * sizeof *want);
    for (int i = 0; i < N; i++) x[i] = -100.0f + 200.0f * (float)i / (float)(N - 1);
    for (int i = 0; i < N; i++) want[i] = x[i] / (1.0f + expf(-x[i]));
    bc_silu_kernel(x, N);
    double max_rel = 0;
    int bad = 0;
    for (int i = 0; i < N; i++) {
        double e = fabs((double)x[i] - want[i]), tol = 1e-6 * fabs(want[i]) + 1e-30;
        if (!(e <= tol)) bad++;
        if (fabs(want[i]) > 1e-30 && e / fabs(want[i]) > max_rel) max_rel = e / fabs(want[i]);
    }
    CHECK(bad == 0, "silu over [-100, 100] (%d values): max relative error %.2e where |silu| > 1e-30 (tolerance 1e-6), %d outside", N,
          max_rel, bad);
    float s[] = {0.0f, -0.0f, 87.0f, -87.0f, 88.0f, -88.0f, 1e-30f, -1e-30f, 1e30f, INFINITY};
    float w[] = {0.0f, -0.0f, 87.0f, -87.0f / (1.0f + expf(87.0f)), 88.0f, 0.0f, 5e-31f, -5e-31f, 1e30f, INFINITY};
    int n_s = (int)(sizeof s / sizeof s[0]);
    bc_silu_kernel(s, (size_t)n_s);
    int ok = 1;
    for (int i = 0; i < n_s; i++) ok = ok && (s[i] == w[i] || fabs((double)s[i] - w[i]) <= 1e-6 * fabs(w[i]) + 1e-30);
    CHECK(ok, "silu at 0, -0, the exp clamping edges (+-87, +-88), +-1e-30, 1e30 and +inf");
    float nan = NAN;
    bc_silu_kernel(&nan, 1);
    CHECK(isnan(nan), "silu(NaN) is NaN");
    // GELU (erf form) against 0.5·x·(1 + erf(x/√2)) in double: the erfc fit is
    // within 1.2e-7 relative and the exp a few ulp, so 1e-6 relative holds
    // wherever the output is not vanishing; in the negative tail the exp's
    // argument −z² is itself rounded (relative error ~|z²|·eps of a value
    // under 1e-8), hence plus 1e-8 absolute. quick_gelu likewise.
    for (int i = 0; i < N; i++) x[i] = -30.0f + 60.0f * (float)i / (float)(N - 1);
    double worst = 0;
    int gbad = 0;
    float *g = malloc(N * sizeof *g);
    for (int i = 0; i < N; i++) g[i] = x[i];
    bc_gelu_kernel(g, N);
    for (int i = 0; i < N; i++) {
        double ref = 0.5 * x[i] * erfc(-x[i] / sqrt(2.0)), e = fabs(g[i] - ref);
        if (!(e <= 1e-6 * fabs(ref) + 1e-8)) gbad++;
        if (fabs(x[i]) <= 5 && e / fabs(ref) > worst) worst = e / fabs(ref);
    }
    CHECK(gbad == 0, "gelu (erf form) over [-30, 30]: max relative error %.2e on [-5, 5] (tolerance 1e-6 + 1e-8 abs), %d outside", worst, gbad);
    // act.c: past x = -12.73 (z = 9) the output is 0, not ~1e-38, whose
    // products in the next layer would be subnormal floats (slow on x86)
    int tail = 0;
    for (int i = 0; i < N; i++) tail += x[i] < -12.73f && g[i] != 0.0f;
    CHECK(tail == 0, "gelu is exactly 0 below x = -12.73 (%d values were not)", tail);
    for (int i = 0; i < N; i++) g[i] = x[i];
    bc_gelu_quick_kernel(g, N);
    worst = 0;
    gbad = 0;
    for (int i = 0; i < N; i++) {
        double ref = x[i] / (1.0 + exp(-1.702 * x[i])), e = fabs(g[i] - ref);
        if (!(e <= 1e-6 * fabs(ref) + 1e-8)) gbad++;
        if (fabs(x[i]) <= 5 && e / fabs(ref) > worst) worst = e / fabs(ref);
    }
    CHECK(gbad == 0, "quick_gelu over [-30, 30]: max relative error %.2e on [-5, 5] (tolerance 1e-6 + 1e-8 abs), %d outside", worst, gbad);
    free(g);
    free(x);
    free(want);
    return check_done();
}
