// softmax.c: the exponentials of attention over many keys (OWLv2's 3601
// tokens: 1.9 G per image), where the exponential itself is the cost.
//
// vexp.h's e^x clamps its input and builds 2ⁿ from bits so that any
// compiler can vectorise it on any SIMD level: ~28 vector operations for 16
// values. For softmax inputs (x − max <= 0, in base 2 thanks to log2(e)
// folded into the queries) AVX-512 has the pieces of a shorter one:
//   n = round(x)            vrndscaleps
//   r = x − n in [−½, ½]
//   2^r by its Taylor series to degree 7 (relative error < 5e-9, below
//       float's rounding), fused multiply-adds
//   2^r · 2ⁿ                 vscalefps, which also underflows to exact
//                            zero for very negative x: no clamping needed
// ~11 operations: measured 30 -> ~12 cycles per key row of 32 lanes.
#include "softmax.h"

#include <math.h>

#include "clones.h"
#include "vexp.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BC_HAVE_AVX512_SOFTMAX 1
#endif

#ifdef __clang__
// The fuzz targets' clang -O1 + sanitizer build cannot vectorise the omp
// simd loops below (they run scalar there) and would say so each time.
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

enum { L = BC_SOFTMAX_LANES };

// Weights below 2^FLUSH of their column's largest (which is 1) are made 0.
// Left as they come, the smallest are subnormal floats, or make subnormal
// products in the next GEMM, and each of those costs a microcode assist on
// x86 (~100 cycles): sharp attention, a query whose best key scores 44+
// natural units above others, ran at 1.3 GFLOP/s instead of ~120 (OWLv2's
// 3601 keys, measured with queries scaled up). Even 3601 weights of 2^−64
// change a sum >= 1 by < 2e-16, far below float's rounding (6e-8); and a
// product 2^−64·v stays a normal float for any |v| > 2^−62.
static const float FLUSH = -64.0f;

static int force_generic;

void bc_softmax_force_generic(int on) { force_generic = on; }

// 2^x, 0 below FLUSH (and for NaN, as in chunk_avx512).
static inline float exp2_generic(float x) { return x >= FLUSH ? bc_vexp(x * 0.693147180559945309f) : 0.0f; }

BC_CLONES
static void chunk_generic(float *st, int n, float *max, float *sum, float *scale) {
    float m[L], s[L];
    for (int i = 0; i < L; i++) m[i] = max[i], s[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float *r = st + (size_t)j * L;
#pragma omp simd
        for (int i = 0; i < L; i++) m[i] = r[i] > m[i] ? r[i] : m[i];
    }
    for (int j = 0; j < n; j++) {
        float *r = st + (size_t)j * L;
#pragma omp simd
        for (int i = 0; i < L; i++) {
            r[i] = exp2_generic(r[i] - m[i]);
            s[i] += r[i];
        }
    }
    for (int i = 0; i < L; i++) {
        scale[i] = exp2_generic(max[i] - m[i]);
        sum[i] = sum[i] * scale[i] + s[i];
        max[i] = m[i];
    }
}

#ifdef BC_HAVE_AVX512_SOFTMAX
// 2^x for x <= 0 (and any x whose 2^x is a float), 16 lanes; 0 below
// x = −64 (see FLUSH).
__attribute__((target("avx512f"))) static inline __m512 exp2_avx512(__m512 x) {
    __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_sub_ps(x, n);  // exact
    // 2^r = Σ (r·ln2)^k / k!, k <= 7
    __m512 p = _mm512_set1_ps(1.5252734e-5f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.5403530e-4f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3333558e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.6181291e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.5504109e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(2.4022651e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(6.9314718e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(FLUSH), _CMP_GE_OQ), p, n);
}

__attribute__((target("avx512f"))) static void chunk_avx512(float *st, int n, float *max, float *sum,
                                                            float *scale) {
    __m512 old0 = _mm512_loadu_ps(max), old1 = _mm512_loadu_ps(max + 16), m0 = old0, m1 = old1;
    for (int j = 0; j < n; j++) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(st + (size_t)j * L));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(st + (size_t)j * L + 16));
    }
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    for (int j = 0; j < n; j++) {
        float *r = st + (size_t)j * L;
        __m512 e0 = exp2_avx512(_mm512_sub_ps(_mm512_loadu_ps(r), m0));
        __m512 e1 = exp2_avx512(_mm512_sub_ps(_mm512_loadu_ps(r + 16), m1));
        _mm512_storeu_ps(r, e0);
        _mm512_storeu_ps(r + 16, e1);
        s0 = _mm512_add_ps(s0, e0);
        s1 = _mm512_add_ps(s1, e1);
    }
    // before the first chunk the old max is −inf: 2^(−inf) and, for a column
    // still without a max, 2^(−inf − (−inf)) = 2^NaN are both 0 here
    __m512 f0 = exp2_avx512(_mm512_sub_ps(old0, m0)), f1 = exp2_avx512(_mm512_sub_ps(old1, m1));
    _mm512_storeu_ps(scale, f0);
    _mm512_storeu_ps(scale + 16, f1);
    _mm512_storeu_ps(sum, _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(sum), f0), s0));
    _mm512_storeu_ps(sum + 16, _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(sum + 16), f1), s1));
    _mm512_storeu_ps(max, m0);
    _mm512_storeu_ps(max + 16, m1);
}
#endif

void bc_softmax_columns_exp2_chunk(float *st, int n, float *max, float *sum, float *scale) {
#ifdef BC_HAVE_AVX512_SOFTMAX
    if (!force_generic && __builtin_cpu_supports("avx512f")) {
        chunk_avx512(st, n, max, sum, scale);
        return;
    }
#endif
    chunk_generic(st, n, max, sum, scale);
}

