// softmax.c: the exponentials of attention over many keys (OWLv2's 3601
// tokens: 1.9 G per image), where the exponential itself is the cost.
//
// vexp.h's e^x clamps its input and builds 2ⁿ from bits so that any
// compiler can vectorise it on any SIMD level: ~28 vector operations for 16
// values. For softmax inputs (x − max <= 0, in base 2 thanks to log2(e)
// folded into the queries) AVX-512 has the pieces of a shorter one:
//   n = round(x)            vrndscaleps
//   r = x − n in [−½, ½]
//   2^r by a polynomial of degree 6, 1 + r·q(r), fitted for the least
//       largest relative error on [−½, ½] (2e-9 in exact arithmetic; 1.0e-7
//       evaluated in float, where its rounding dominates: the Taylor series
//       to degree 7 it replaced gave 8.4e-8 with one more multiply-add),
//       fused multiply-adds
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

// The running max moves only when a chunk's scores go more than LAZY above
// it (flash attention's lazy rescaling): the weights are then at most 2^64,
// a chunk's Σe at most 768·2^64 and a row's ~2^76, far from float's 2^128,
// and the chunks after the first can take the running max as known before
// their scores are computed (bc_softmax_columns_exp2_fixed), so that the
// GEMM subtracts it and no pass looks for the chunk's max. Softmax does not
// depend on the max it subtracts; only the rounding does, a little.
static const float LAZY = 64.0f;

// Weights below 2^FLUSH of the running max (the largest is 1 to 2^LAZY) are made 0.
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

// Over rows of L lanes, in place: e = 2^(st − m), s += e; or when t is not
// NULL (a constant where this is inlined), e = 2^st and t = max(t, st). The
// generic twin of exp_rows_avx512.
__attribute__((always_inline)) static inline void exp_rows_generic(float *st, int n, const float *m, float *s,
                                                                   float *t) {
    for (int j = 0; j < n; j++) {
        float *r = st + (size_t)j * L;
        if (t) {
#pragma omp simd
            for (int i = 0; i < L; i++) {
                t[i] = r[i] > t[i] ? r[i] : t[i];
                r[i] = exp2_generic(r[i]);
                s[i] += r[i];
            }
        } else {
#pragma omp simd
            for (int i = 0; i < L; i++) {
                r[i] = exp2_generic(r[i] - m[i]);
                s[i] += r[i];
            }
        }
    }
}

BC_CLONES
static void chunk_generic(float *st, int n, float *max, float *sum, float *scale) {
    float m[L], s[L];
    for (int i = 0; i < L; i++) m[i] = max[i], s[i] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float *r = st + (size_t)j * L;
#pragma omp simd
        for (int i = 0; i < L; i++) m[i] = r[i] > m[i] ? r[i] : m[i];
    }
    for (int i = 0; i < L; i++) m[i] = m[i] - max[i] <= LAZY ? max[i] : m[i];  // false for −inf and NaN
    exp_rows_generic(st, n, m, s, NULL);
    for (int i = 0; i < L; i++) {
        scale[i] = exp2_generic(max[i] - m[i]);
        sum[i] = sum[i] * scale[i] + s[i];
        max[i] = m[i];
    }
}

BC_CLONES
static int fixed_generic(float *st, int n, float *sum, float *top) {
    float s[L], t[L];
    for (int i = 0; i < L; i++) s[i] = sum[i], t[i] = top[i];
    exp_rows_generic(st, n, NULL, s, t);
    int over = 0;
    for (int i = 0; i < L; i++) {
        sum[i] = s[i], top[i] = t[i];
        over |= !(t[i] <= LAZY);
    }
    return over;
}

#ifdef BC_HAVE_AVX512_SOFTMAX
// 2^x for x <= 0 (and any x whose 2^x is a float), 16 lanes; 0 below
// x = −64 (see FLUSH).
__attribute__((target("avx512f"))) static inline __m512 exp2_avx512(__m512 x) {
    __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_sub_ps(x, n);  // exact
    // 2^r ~ 1 + r·q(r): the coefficients by tests/golden/fit_exp2.py
    __m512 p = _mm512_set1_ps(1.5353342e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3398873e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(9.6184378e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.5503324e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(2.4022648e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(6.9314718e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(FLUSH), _CMP_GE_OQ), p, n);
}

// Over rows of 32 lanes, in place: e = 2^(st − m), s += e; or when t0 is
// not NULL (a constant where this is inlined), e = 2^st and t = max(t, st).
__attribute__((target("avx512f"), always_inline)) static inline void
exp_rows_avx512(float *st, int n, __m512 m0, __m512 m1, __m512 *s0, __m512 *s1, __m512 *t0, __m512 *t1) {
    for (int j = 0; j < n; j++) {
        float *r = st + (size_t)j * L;
        __m512 x0 = _mm512_loadu_ps(r), x1 = _mm512_loadu_ps(r + 16);
        if (t0) {
            *t0 = _mm512_max_ps(*t0, x0);
            *t1 = _mm512_max_ps(*t1, x1);
        } else {
            x0 = _mm512_sub_ps(x0, m0);
            x1 = _mm512_sub_ps(x1, m1);
        }
        __m512 e0 = exp2_avx512(x0), e1 = exp2_avx512(x1);
        _mm512_storeu_ps(r, e0);
        _mm512_storeu_ps(r + 16, e1);
        *s0 = _mm512_add_ps(*s0, e0);
        *s1 = _mm512_add_ps(*s1, e1);
    }
}

__attribute__((target("avx512f"))) static void chunk_avx512(float *st, int n, float *max, float *sum,
                                                            float *scale) {
    __m512 old0 = _mm512_loadu_ps(max), old1 = _mm512_loadu_ps(max + 16), m0 = old0, m1 = old1;
    for (int j = 0; j < n; j++) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(st + (size_t)j * L));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(st + (size_t)j * L + 16));
    }
    __m512 lazy = _mm512_set1_ps(LAZY);  // keep the old max unless the new one is more than LAZY above
    m0 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_sub_ps(m0, old0), lazy, _CMP_LE_OQ), m0, old0);
    m1 = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_sub_ps(m1, old1), lazy, _CMP_LE_OQ), m1, old1);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    exp_rows_avx512(st, n, m0, m1, &s0, &s1, NULL, NULL);
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

__attribute__((target("avx512f"))) static int fixed_avx512(float *st, int n, float *sum, float *top) {
    __m512 s0 = _mm512_loadu_ps(sum), s1 = _mm512_loadu_ps(sum + 16);
    __m512 t0 = _mm512_loadu_ps(top), t1 = _mm512_loadu_ps(top + 16);
    exp_rows_avx512(st, n, t0, t1, &s0, &s1, &t0, &t1);  // (m unused)
    _mm512_storeu_ps(sum, s0);
    _mm512_storeu_ps(sum + 16, s1);
    _mm512_storeu_ps(top, t0);
    _mm512_storeu_ps(top + 16, t1);
    __m512 lazy = _mm512_set1_ps(LAZY);  // NaN compares false: "not <=" catches it
    return (_mm512_cmp_ps_mask(t0, lazy, _CMP_LE_OQ) & _mm512_cmp_ps_mask(t1, lazy, _CMP_LE_OQ)) != 0xffff;
}
#endif

int bc_softmax_columns_exp2_fixed(float *st, int n, float *sum, float *top) {
#ifdef BC_HAVE_AVX512_SOFTMAX
    if (!force_generic && __builtin_cpu_supports("avx512f")) return fixed_avx512(st, n, sum, top);
#endif
    return fixed_generic(st, n, sum, top);
}

void bc_softmax_columns_exp2_chunk(float *st, int n, float *max, float *sum, float *scale) {
#ifdef BC_HAVE_AVX512_SOFTMAX
    if (!force_generic && __builtin_cpu_supports("avx512f")) {
        chunk_avx512(st, n, max, sum, scale);
        return;
    }
#endif
    chunk_generic(st, n, max, sum, scale);
}
