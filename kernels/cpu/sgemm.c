// sgemm.c: C = A·B (+ C) in float32, the engine of the convolutions.
//
// The classic blocked scheme (Goto/BLIS, as in every fast BLAS):
//   for each block of KC rows of B (the "k" dimension):
//     pack B[KC, N-block] into panels NR columns wide, so the micro-kernel
//     streams it with unit stride;
//     for each block of MC rows of A:
//       pack A[MC, KC] into panels MR rows tall;
//       for each B panel (NR columns), held in L1:
//         for each A panel of the block (MR rows, from L2): the
//         micro-kernel keeps the MR×NR tile of C in registers for all KC
//         steps: per step one row of the B panel (two 16-float vectors)
//         and MR broadcast A values, MR·2 fused multiply-adds.
// MR = 12, NR = 32 fills 24 of AVX-512's 32 vector registers with the C
// tile; packed blocks are sized for the caches (an A block 264×256 floats =
// 264 KB in L2, a B panel 256×32 = 32 KB in L1). The kernel alone runs at
// ~180 GFLOP/s on one core here when everything sits in L1; what keeps it
// near that on real shapes is prefetching (measured: 257×5120×1280 with B
// pre-packed went from ~107 to ~160 GFLOP/s): the next B panel is fetched
// into L2 a slice per micro-kernel call while the current one works, the
// kernel fetches its C tile before its k loop and its A panel ahead of use.
//
// The k loop runs in the same order (KC blocks in sequence, k ascending in
// each) for every element, on any thread, so a result depends only on the
// kernel (AVX-512 fused multiply-adds or the generic C loop), never on
// threading or on where a tile falls in the blocking.
#include "sgemm.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "io/weights.h"  // bc_f16_to_f32
#include "transpose.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BC_HAVE_AVX512_KERNEL 1
#endif

enum { MR = BC_SGEMM_MR, NR = BC_SGEMM_NR, KC = BC_SGEMM_KC, MC = 264, NC = 2048, SMALL_FLOATS = 256 << 10 };

// ---- packing -----------------------------------------------------------------------

static int force_generic;  // bc_sgemm_force_generic

#ifdef BC_HAVE_AVX512_KERNEL
// One panel (m <= MR rows) of pack_a, 16 columns of A at a time: the 16
// rows (those past m as zeros) are transposed in registers (transpose.h)
// and each column's first MR values stored.
// ~5 times faster than the scalar loop; a ViT's linear layers pack every
// activation matrix once per call (~2% of score-det's time before).
__attribute__((target("avx512f"))) static void pack_a_panel_avx512(float *pa, const float *A, int lda, int m,
                                                                   int kc) {
    int k0 = 0;
    for (; k0 + 16 <= kc; k0 += 16) {
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = i < m ? _mm512_loadu_ps(A + (size_t)i * lda + k0) : _mm512_setzero_ps();
        // 16 rows far apart are 16 streams: fetch each a few lines ahead
        // (past a row's end is harmless for a prefetch); measured on
        // 3601×3072 from L3, ~7% off the packing, nothing either way at K 768
        for (int i = 0; i < m; i++) _mm_prefetch((const char *)(A + (size_t)i * lda + k0 + 64), _MM_HINT_T0);
        bc_transpose16_avx512(r);  // r[c]: column k0 + c, rows 0..15 in order; the first MR stored
        for (int c = 0; c < 16; c++) _mm512_mask_storeu_ps(pa + (size_t)(k0 + c) * MR, (__mmask16)((1u << MR) - 1), r[c]);
    }
    for (; k0 < kc; k0++)
        for (int i = 0; i < MR; i++) pa[(size_t)k0 * MR + i] = i < m ? A[(size_t)i * lda + k0] : 0.0f;
}
#endif

// A[mc, kc] (rows lda apart) -> panels of MR rows: pa[panel][k][r], the rows
// past mc zero.
static void pack_a(float *pa, const float *A, int lda, int mc, int kc) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int m = mc - i0 < MR ? mc - i0 : MR;
#ifdef BC_HAVE_AVX512_KERNEL
        if (!force_generic && __builtin_cpu_supports("avx512f")) {
            pack_a_panel_avx512(pa, A + (size_t)i0 * lda, lda, m, kc);
            pa += (size_t)kc * MR;
            continue;
        }
#endif
        for (int k = 0; k < kc; k++) {
            for (int r = 0; r < m; r++) pa[r] = A[(size_t)(i0 + r) * lda + k];
            for (int r = m; r < MR; r++) pa[r] = 0.0f;
            pa += MR;
        }
    }
}

// B[kc, nc] (rows ldb apart) -> panels of NR columns: pb[panel][k][j], the
// columns past nc zero.
static void pack_b(float *pb, const float *B, int ldb, int kc, int nc) {
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int n = nc - j0 < NR ? nc - j0 : NR;
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)k * ldb + j0;
            if (n == NR) {
                memcpy(pb, src, NR * sizeof *pb);
            } else {
                memcpy(pb, src, (size_t)n * sizeof *pb);
                memset(pb + n, 0, (size_t)(NR - n) * sizeof *pb);
            }
            pb += NR;
        }
    }
}

// How B is given: B [K, N] float32, or Bᵀ (N rows of K) in float32, bf16
// or f16. Only the packing of B differs.
enum { B_PLAIN, B_TRANS_F32, B_TRANS_BF16, B_TRANS_F16 };

// Bytes an element of B of kind `kind` takes as given.
static inline size_t kind_bytes(int kind) {
    return kind == B_TRANS_BF16 || kind == B_TRANS_F16 ? sizeof(uint16_t) : sizeof(float);
}

// Element k of a Bᵀ row of kind `kind` as a float (widening is exact).
static inline float trans_elem(const void *row, int kind, int k) {
    if (kind == B_TRANS_F32) return ((const float *)row)[k];
    uint16_t h = ((const uint16_t *)row)[k];
    if (kind == B_TRANS_F16) return bc_f16_to_f32(h);
    uint32_t bits = (uint32_t)h << 16;  // bf16: the top half of a float32
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#ifdef BC_HAVE_AVX512_KERNEL
// 16 consecutive elements of kind `kind` (a constant where inlined) as floats.
__attribute__((target("avx512f"), always_inline)) static inline __m512 load16_as_f32(const void *p, int kind) {
    if (kind == B_TRANS_F32) return _mm512_loadu_ps(p);
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (kind == B_TRANS_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// pack_b_trans for 16 weight rows at a time: 16 rows × 16 k widened and
// transposed in registers (transpose.h), each k's 16 values one store.
// Element by element, the panel's writes went NR floats apart: ~6 times
// slower, and with few rows of A (a prompt's tokens) the packing was most of
// a product's time.
__attribute__((target("avx512f"), always_inline)) static inline void
pack_b_trans_avx512(float *pb, const void *B, int kind, int ldb, int kc, int nc) {
    enum { PFD = 128 };  // elements ahead: each row is a stream, prefetched ~4-8 lines on
    size_t es = kind_bytes(kind);
    for (int j0 = 0; j0 < nc; j0 += NR) {
        for (int g = 0; g < NR; g += 16) {
            int rows = nc - j0 - g < 0 ? 0 : nc - j0 - g < 16 ? nc - j0 - g : 16;
            const char *src = (const char *)B + (size_t)(j0 + g) * ldb * es;
            int k0 = 0;
            for (; k0 + 16 <= kc; k0 += 16) {
                __m512 r[16];
                for (int i = 0; i < 16; i++)
                    r[i] = i < rows ? load16_as_f32(src + ((size_t)i * ldb + k0) * es, kind) : _mm512_setzero_ps();
                for (int i = 0; i < rows; i++) _mm_prefetch(src + ((size_t)i * ldb + k0 + PFD) * es, _MM_HINT_T0);
                bc_transpose16_avx512(r);  // r[c]: k0 + c of the 16 rows
                for (int c = 0; c < 16; c++) _mm512_storeu_ps(pb + (size_t)(k0 + c) * NR + g, r[c]);
            }
            for (; k0 < kc; k0++)
                for (int i = 0; i < 16; i++)
                    pb[(size_t)k0 * NR + g + i] = i < rows ? trans_elem(src + (size_t)i * ldb * es, kind, k0) : 0.0f;
        }
        pb += (size_t)kc * NR;
    }
}
__attribute__((target("avx512f"))) static void pack_b_trans_f32_avx512(float *pb, const void *B, int ldb, int kc,
                                                                       int nc) {
    pack_b_trans_avx512(pb, B, B_TRANS_F32, ldb, kc, nc);
}
__attribute__((target("avx512f"))) static void pack_b_trans_bf16_avx512(float *pb, const void *B, int ldb, int kc,
                                                                        int nc) {
    pack_b_trans_avx512(pb, B, B_TRANS_BF16, ldb, kc, nc);
}
__attribute__((target("avx512f"))) static void pack_b_trans_f16_avx512(float *pb, const void *B, int ldb, int kc,
                                                                       int nc) {
    pack_b_trans_avx512(pb, B, B_TRANS_F16, ldb, kc, nc);
}
#endif

// The same panels as pack_b from B stored transposed, element (k, j) at
// B[j·ldb + k], of kind B_TRANS_* (bf16/f16 widened to float32 while
// packing: a weight matrix is read once per block of KC rows whatever M is).
static void pack_b_trans(float *pb, const void *B, int kind, int ldb, int kc, int nc) {
#ifdef BC_HAVE_AVX512_KERNEL
    if (!force_generic && __builtin_cpu_supports("avx512f")) {
        if (kind == B_TRANS_F32) pack_b_trans_f32_avx512(pb, B, ldb, kc, nc);
        else if (kind == B_TRANS_BF16) pack_b_trans_bf16_avx512(pb, B, ldb, kc, nc);
        else pack_b_trans_f16_avx512(pb, B, ldb, kc, nc);
        return;
    }
#endif
    size_t es = kind_bytes(kind);
    for (int j0 = 0; j0 < nc; j0 += NR) {
        int n = nc - j0 < NR ? nc - j0 : NR;
        for (int j = 0; j < n; j++) {
            const char *src = (const char *)B + (size_t)(j0 + j) * ldb * es;
            for (int k = 0; k < kc; k++) pb[(size_t)k * NR + j] = trans_elem(src, kind, k);
        }
        for (int j = n; j < NR; j++)
            for (int k = 0; k < kc; k++) pb[(size_t)k * NR + j] = 0.0f;
        pb += (size_t)kc * NR;
    }
}

// Writes the tile t[MR][NR] to C (m×n of it), adding to C when accumulate,
// then adding bias[j] to column j when bias is not NULL.
static void store_tile(float *C, int ldc, const float *t, int m, int n, int accumulate, const float *bias) {
    for (int r = 0; r < m; r++) {
        float *c = C + (size_t)r * ldc;
        const float *s = t + r * NR;
        if (accumulate)
            for (int j = 0; j < n; j++) c[j] += s[j];
        else
            memcpy(c, s, (size_t)n * sizeof *c);
        if (bias)
            for (int j = 0; j < n; j++) c[j] += bias[j];
    }
}

// ---- micro-kernels -----------------------------------------------------------------

// The generic kernel: plain C, the same arithmetic as the definition.
static void kernel_generic(int kc, const float *a, const float *b, float *C, int ldc, int m, int n, int accumulate,
                           const float *bias, const char *pf, int pf_lines) {
    (void)pf, (void)pf_lines;
    float t[MR * NR] = {0};
    for (int k = 0; k < kc; k++) {
        for (int r = 0; r < MR; r++) {
            float ar = a[r];
            for (int j = 0; j < NR; j++) t[r * NR + j] += ar * b[j];
        }
        a += MR;
        b += NR;
    }
    store_tile(C, ldc, t, m, n, accumulate, bias);
}

#ifdef BC_HAVE_AVX512_KERNEL
// The tile's first `rows` rows (a constant where this is inlined: 12, 8 or
// 4) in 2·rows accumulators (rows × 2 vectors of 16) that stay in registers
// for the whole k loop; the loops over r are unrolled so the compiler can.
// A panel's last rows past M need not be computed: a short tile (OWLv2's
// head dimension 64 = 5·12 + 4 rows in attention's second product; a ViT's
// 257 tokens = 21·12 + 5) runs the 4- or 8-row form.
__attribute__((target("avx512f"), always_inline)) static inline void
tile_avx512(int rows, int kc, const float *a, const float *b, float *C, int ldc, int m, int n, int accumulate,
            const float *bias, const char *pf, int pf_lines) {
    __m512 c0[MR], c1[MR];
    // The tile of C is read (or written) after the k loop: fetch it now, so
    // its lines arrive while the loop runs.
    for (int r = 0; r < m; r++) {
        _mm_prefetch((const char *)(C + (size_t)r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + (size_t)r * ldc + 16), _MM_HINT_T0);
    }
#pragma GCC unroll 12
    for (int r = 0; r < rows; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        // the A panel comes from L2: ask for it 16 steps ahead (reading
        // past the panel's end is harmless for a prefetch); and a slice of
        // the B panel the next calls will use, a line per step, into L2
        // only: fetched into L1 as well, it pushed out lines of the current
        // panel (32 KB each, L1 48 KB), ~5% slower at 264×5120×1280
        _mm_prefetch((const char *)(a + 16 * MR), _MM_HINT_T0);
        if (k < pf_lines) _mm_prefetch(pf + (size_t)k * 64, _MM_HINT_T1);
#pragma GCC unroll 12
        for (int r = 0; r < rows; r++) {
            __m512 ar = _mm512_set1_ps(a[r]);
            c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
        }
        a += MR;
        b += NR;
    }
    if (m == rows && n == NR) {
#pragma GCC unroll 12
        for (int r = 0; r < rows; r++) {
            float *c = C + (size_t)r * ldc;
            if (accumulate) {
                c0[r] = _mm512_add_ps(_mm512_loadu_ps(c), c0[r]);
                c1[r] = _mm512_add_ps(_mm512_loadu_ps(c + 16), c1[r]);
            }
            if (bias) {
                c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(bias));
                c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(bias + 16));
            }
            _mm512_storeu_ps(c, c0[r]);
            _mm512_storeu_ps(c + 16, c1[r]);
        }
    } else {
        float t[MR * NR];
#pragma GCC unroll 12
        for (int r = 0; r < rows; r++) {
            _mm512_storeu_ps(t + r * NR, c0[r]);
            _mm512_storeu_ps(t + r * NR + 16, c1[r]);
        }
        store_tile(C, ldc, t, m, n, accumulate, bias);
    }
}

__attribute__((target("avx512f"))) static void kernel_avx512(int kc, const float *a, const float *b, float *C,
                                                             int ldc, int m, int n, int accumulate,
                                                             const float *bias, const char *pf, int pf_lines) {
    if (m <= 4)
        tile_avx512(4, kc, a, b, C, ldc, m, n, accumulate, bias, pf, pf_lines);
    else if (m <= 8)
        tile_avx512(8, kc, a, b, C, ldc, m, n, accumulate, bias, pf, pf_lines);
    else
        tile_avx512(MR, kc, a, b, C, ldc, m, n, accumulate, bias, pf, pf_lines);
}
#endif

// C[m, n] (+)= a·b over kc steps (+ bias[n] after, when not NULL); on the
// way, fetches pf_lines cache lines from pf into L1.
typedef void kernel_fn(int kc, const float *a, const float *b, float *C, int ldc, int m, int n, int accumulate,
                       const float *bias, const char *pf, int pf_lines);

void bc_sgemm_force_generic(int on) { force_generic = on; }

static kernel_fn *pick_kernel(void) {
#ifdef BC_HAVE_AVX512_KERNEL
    if (!force_generic && __builtin_cpu_supports("avx512f")) return kernel_avx512;
#endif
    return kernel_generic;
}

const char *bc_sgemm_kernel_name(void) { return pick_kernel() == kernel_generic ? "generic" : "avx512"; }


// ---- the loops around the micro-kernel ----------------------------------------------

// C[mc, nc] (+)= packed A block [mc, kc] · packed B block [kc, nc] (+ bias
// [nc] after, when not NULL): each B panel stays in L1 while the A panels
// stream past it. The next B panel is prefetched in slices, one per
// micro-kernel call, so it is in L2 when its turn comes.
static void macro_kernel(kernel_fn *kernel, int mc, int nc, int kc, const float *pa, const float *pb, float *C,
                         int ldc, int accumulate, const float *bias) {
    int calls = (mc + MR - 1) / MR, panel_lines = kc * NR * (int)sizeof(float) / 64;
    int per_call = (panel_lines + calls - 1) / calls;  // at most kc: the kernel fetches a line per k step
    if (per_call > kc) per_call = kc;
    for (int jr = 0; jr < nc; jr += NR) {
        int n = nc - jr < NR ? nc - jr : NR;
        const char *next = (const char *)(pb + (size_t)(jr + NR) * kc);
        for (int ir = 0, line = 0; ir < mc; ir += MR, line += per_call) {
            int m = mc - ir < MR ? mc - ir : MR;
            int lines = jr + NR >= nc || line >= panel_lines ? 0
                        : panel_lines - line < per_call ? panel_lines - line : per_call;
            kernel(kc, pa + (size_t)ir * kc, pb + (size_t)jr * kc, C + (size_t)ir * ldc + jr, ldc, m, n, accumulate,
                   bias ? bias + jr : NULL, next + (size_t)line * 64, lines);
        }
    }
}

// ---- the blocked products ----------------------------------------------------------

static float *aligned_floats(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float)) != 0) abort();
    return p;
}

// Packing buffers of the calling thread: allocated at its first product,
// kept for the next ones, freed when the thread ends (a thread-specific key's
// destructor: the worker threads of lib/batch.c come and go).
typedef struct {
    float *a, *b;   // [MC·KC], [KC·(NC + NR)]
    float *shared;  // [2·MC·KC]: A blocks this thread's team packs together (allocated on first use)
    float *rows;    // [MC·K]: a block of rows of A packed over all of K (grown as needed)
    size_t rows_floats;
} pack_bufs;

static pthread_key_t pack_key;
static pthread_once_t pack_key_once = PTHREAD_ONCE_INIT;

static void pack_bufs_free(void *p) {
    pack_bufs *pb = p;
    free(pb->a);
    free(pb->b);
    free(pb->shared);
    free(pb->rows);
    free(pb);
}

static void pack_key_create(void) {
    if (pthread_key_create(&pack_key, pack_bufs_free) != 0) abort();
}

static pack_bufs *thread_pack_bufs(void) {
    pthread_once(&pack_key_once, pack_key_create);
    pack_bufs *pb = pthread_getspecific(pack_key);
    if (!pb) {
        pb = malloc(sizeof *pb);
        if (!pb) abort();
        pb->a = aligned_floats((size_t)MC * KC);
        pb->shared = pb->rows = NULL;
        pb->rows_floats = 0;
        pb->b = aligned_floats((size_t)KC * (NC + NR));
        if (pthread_setspecific(pack_key, pb) != 0) abort();
    }
    return pb;
}

// The calling thread's buffer for A packed over all of K: at least `floats`.
static float *rows_buf(pack_bufs *bufs, size_t floats) {
    if (bufs->rows_floats < floats) {
        free(bufs->rows);
        bufs->rows = aligned_floats(floats);
        bufs->rows_floats = floats;
    }
    return bufs->rows;
}

// sgemm_blocked for a few rows of A (a prompt's tokens) times weight rows
// Bᵀ: with so few rows, reading and packing B is most of the work, and
// packing it a KC block at a time read each weight row in 512-byte pieces,
// a block apart in time (~3.5 GB/s from memory). Here A is packed whole
// once, and each panel of NR weight rows over all of K, reading the rows
// from start to end; the panel's blocks then meet A's in the same k order
// as in sgemm_blocked (the same bits), the C tile in L1 throughout.
// SMALL_FLOATS bounds A's and a panel's packed floats together (L2).
static void few_rows(kernel_fn *kernel, int M, int N, int K, const float *A, int lda, const void *B, int ldb,
                     int b_kind, float *C, int ldc, int accumulate) {
    pack_bufs *bufs = thread_pack_bufs();
    size_t mp = (size_t)(M + MR - 1) / MR * MR, es = kind_bytes(b_kind);
    float *pa = rows_buf(bufs, mp * K), *pb = bufs->b;  // b: KC·(NC + NR) floats, more than K·NR under SMALL_FLOATS
    bc_sgemm_pack_a(pa, A, lda, M, K);
    for (int jr = 0; jr < N; jr += NR) {
        int n = N - jr < NR ? N - jr : NR;
        pack_b_trans(pb, (const char *)B + (size_t)jr * ldb * es, b_kind, ldb, K, n);  // [K, NR]: its KC blocks in turn
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            for (int ir = 0; ir < M; ir += MR)
                kernel(kc, pa + pc * mp + (size_t)ir * kc, pb + (size_t)pc * NR, C + (size_t)ir * ldc + jr, ldc,
                       M - ir < MR ? M - ir : MR, n, accumulate || pc > 0, NULL, NULL, 0);
        }
    }
}

// C (+)= A·B, elements of B ldb apart row to row (as stored).
static void sgemm_blocked(int M, int N, int K, const float *A, int lda, const void *B, int ldb, int b_kind, float *C,
                          int ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    pack_bufs *bufs = thread_pack_bufs();
    float *pack_a_buf = bufs->a, *pack_b_buf = bufs->b;
    kernel_fn *kernel = pick_kernel();
    size_t mp = (size_t)(M + MR - 1) / MR * MR;
    if (b_kind != B_PLAIN && (mp + NR) * (size_t)K <= SMALL_FLOATS) {
        few_rows(kernel, M, N, K, A, lda, B, ldb, b_kind, C, ldc, accumulate);
        return;
    }
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            int acc = accumulate || pc > 0;
            size_t bt_at = (size_t)jc * ldb + pc;  // Bᵀ: row jc, column pc
            if (b_kind == B_PLAIN)
                pack_b(pack_b_buf, (const float *)B + (size_t)pc * ldb + jc, ldb, kc, nc);
            else
                pack_b_trans(pack_b_buf, (const char *)B + bt_at * kind_bytes(b_kind), b_kind, ldb, kc, nc);
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                pack_a(pack_a_buf, A + (size_t)ic * lda + pc, lda, mc, kc);
                macro_kernel(kernel, mc, nc, kc, pack_a_buf, pack_b_buf, C + (size_t)ic * ldc + jc, ldc, acc, NULL);
            }
        }
    }
}

void bc_sgemm(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
              int accumulate) {
    sgemm_blocked(M, N, K, A, lda, B, ldb, B_PLAIN, C, ldc, accumulate);
}

void bc_sgemm_bt(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                 int accumulate) {
    sgemm_blocked(M, N, K, A, lda, B, ldb, B_TRANS_F32, C, ldc, accumulate);
}

// sgemm_blocked on `threads` OpenMP threads over column blocks of C, whole
// NR panels each, about one per thread: every column goes through the same k
// loop whichever block holds it.
static void sgemm_threaded(int threads, int M, int N, int K, const float *A, int lda, const void *B, int ldb,
                           int b_kind, float *C, int ldc, int accumulate) {
    size_t es = kind_bytes(b_kind);
    int panels = (N + NR - 1) / NR;
#pragma omp parallel num_threads(threads) if (threads > 1 && panels > 1)
    {
        int nt = 1, t = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        t = omp_get_thread_num();
#endif
        int p0 = (int)((long)panels * t / nt), p1 = (int)((long)panels * (t + 1) / nt);
        int j0 = p0 * NR, j1 = p1 * NR < N ? p1 * NR : N;
        // column j0 of B: element j0 of its rows, or row j0 of Bᵀ
        size_t at = b_kind == B_PLAIN ? (size_t)j0 : (size_t)j0 * ldb;
        if (j1 > j0)
            sgemm_blocked(M, j1 - j0, K, A, lda, (const unsigned char *)B + at * es, ldb, b_kind, C + j0, ldc,
                          accumulate);
    }
}

static int trans_kind(int w_type) {
    return w_type == BC_SGEMM_BF16 ? B_TRANS_BF16 : w_type == BC_SGEMM_F16 ? B_TRANS_F16 : B_TRANS_F32;
}

void bc_sgemm_wt(int threads, int M, int N, int K, const float *A, int lda, const void *W, int w_type, int ldw,
                 float *C, int ldc, int accumulate) {
    sgemm_threaded(threads, M, N, K, A, lda, W, ldw, trans_kind(w_type), C, ldc, accumulate);
}

// ---- weights packed once ------------------------------------------------------------

void bc_sgemm_pack_wt(int threads, float *Bp, const void *W, int w_type, int ldw, int N, int K) {
    size_t np = (size_t)(N + NR - 1) / NR * NR, es = w_type == BC_SGEMM_F32 ? sizeof(float) : sizeof(uint16_t);
    int blocks = (K + KC - 1) / KC;
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && blocks > 1)
    for (int b = 0; b < blocks; b++) {
        int pc = b * KC, kc = K - pc < KC ? K - pc : KC;
        const void *src = (const unsigned char *)W + (size_t)pc * es;
        pack_b_trans(Bp + (size_t)pc * np, src, trans_kind(w_type), ldw, kc, N);
    }
}

// Threads split the rows when there are more rows than columns (each packs
// only its rows of A, and reads all of B), the columns otherwise (they pack
// each block of A together, then share it): either way nothing is done
// twice. The work is handed out in pieces as threads come free (blocks of MC
// rows; chunks of COL_CHUNK columns), not in fixed halves: on a shared
// machine one core is often slower than the other, and fixed halves left
// the fast one waiting (~8% of score-hps's time went to that wait). The k
// loop of an element is the same whichever thread computes it.
enum { COL_CHUNK = 4 * NR, ROW_NC = 8 * NR, C_BLOCK_BYTES = 1 << 20 };

// act on C[r0, r0 + m) × [j0, j0 + n), just finished (still in cache).
static void apply_act(bc_sgemm_act *act, float *C, int ldc, int m, int n) {
    if (act)
        for (int r = 0; r < m; r++) act(C + (size_t)r * ldc, (size_t)n);
}

void bc_sgemm_wt_packed(int threads, int M, int N, int K, const float *A, int lda, const float *Bp, const float *bias,
                        bc_sgemm_act *act, float *C, int ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float *c = C + (size_t)i * ldc + j;
                *c = (accumulate ? *c : 0.0f) + (bias ? bias[j] : 0.0f);
            }
        apply_act(act, C, ldc, M, N);
        return;
    }
    size_t np = (size_t)(N + NR - 1) / NR * NR;
    kernel_fn *kernel = pick_kernel();
    int row_blocks = (M + MC - 1) / MC, col_chunks = (N + COL_CHUNK - 1) / COL_CHUNK;
    if (M > N || threads <= 1 || col_chunks < 2) {
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1 && row_blocks > 1)
        for (int rb = 0; rb < row_blocks; rb++) {
            int ic = rb * MC, mc = M - ic < MC ? M - ic : MC;
            size_t mp = (size_t)(mc + MR - 1) / MR * MR;
            float *pa = rows_buf(thread_pack_bufs(), (size_t)MC * K);
            // C in blocks of row_nc columns, each finished over all of K
            // while it sits in L2: rows as wide as OWLv2's MLP (3072
            // columns, 3 MB a block of rows) went out to memory and back
            // between k blocks (measured, 3601×3072×768 on one core: ~137
            // -> ~157 GFLOP/s; +6% with both cores busy). A's blocks are
            // packed during the first (right before their use: a long K
            // does not fit in L2) and kept for the others.
            int row_nc = (size_t)MC * N * sizeof(float) <= C_BLOCK_BYTES ? N : ROW_NC;
            for (int jc = 0; jc < N; jc += row_nc) {
                int nc = N - jc < row_nc ? N - jc : row_nc;
                for (int pc = 0; pc < K; pc += KC) {
                    int kc = K - pc < KC ? K - pc : KC;
                    const float *last = pc + kc == K && bias ? bias + jc : NULL;  // the bias joins the last block
                    if (jc == 0) pack_a(pa + (size_t)pc * mp, A + (size_t)ic * lda + pc, lda, mc, kc);
                    macro_kernel(kernel, mc, nc, kc, pa + (size_t)pc * mp, Bp + (size_t)pc * np + (size_t)jc * kc,
                                 C + (size_t)ic * ldc + jc, ldc, accumulate || pc > 0, last);
                }
                apply_act(act, C + (size_t)ic * ldc + jc, ldc, mc, nc);
            }
        }
        return;
    }
    pack_bufs *bufs = thread_pack_bufs();
    if (!bufs->shared) bufs->shared = aligned_floats((size_t)2 * MC * KC);
    float *shared = bufs->shared;
#pragma omp parallel num_threads(threads)
    for (int ic = 0, step = 0; ic < M; ic += MC) {
        int mc = M - ic < MC ? M - ic : MC, panels = (mc + MR - 1) / MR;
        for (int pc = 0; pc < K; pc += KC, step++) {
            int kc = K - pc < KC ? K - pc : KC;
            // two buffers in turn: a thread may pack the next block while
            // another still multiplies by this one (the packing loop's
            // barrier keeps it from reaching the block after)
            float *pa = shared + (size_t)(step % 2) * MC * KC;
            const float *last = pc + kc == K ? bias : NULL;
#pragma omp for schedule(static)
            for (int p = 0; p < panels; p++) {
                int r0 = p * MR, m = mc - r0 < MR ? mc - r0 : MR;
                pack_a(pa + (size_t)r0 * kc, A + (size_t)(ic + r0) * lda + pc, lda, m, kc);
            }
#pragma omp for schedule(dynamic) nowait
            for (int ch = 0; ch < col_chunks; ch++) {
                int j0 = ch * COL_CHUNK, nc = N - j0 < COL_CHUNK ? N - j0 : COL_CHUNK;
                macro_kernel(kernel, mc, nc, kc, pa, Bp + (size_t)pc * np + (size_t)j0 * kc, C + (size_t)ic * ldc + j0,
                             ldc, accumulate || pc > 0, last ? last + j0 : NULL);
                if (pc + kc == K) apply_act(act, C + (size_t)ic * ldc + j0, ldc, mc, nc);
            }
        }
    }
}

size_t bc_sgemm_packed_a_floats(int M, int K) {
    return (size_t)(M + MR - 1) / MR * MR * (size_t)K;
}

size_t bc_sgemm_packed_b_floats(int K, int N) {
    return (size_t)(N + NR - 1) / NR * NR * (size_t)K;
}

// Blocks of KC columns of A, each packed whole (all M rows) as pack_a does
// for an MC block: the panels of a block follow each other.
void bc_sgemm_pack_a(float *Ap, const float *A, int lda, int M, int K) {
    size_t mp = (size_t)(M + MR - 1) / MR * MR;
    for (int pc = 0; pc < K; pc += KC) {
        int kc = K - pc < KC ? K - pc : KC;
        pack_a(Ap + (size_t)pc * mp, A + pc, lda, M, kc);
    }
}

void bc_sgemm_packed(int M, int N, int K, const float *Ap, const float *Bp, float *C, int ldc, int accumulate,
                     const float *bias) {
    if (M <= 0 || N <= 0 || K <= 0) return;
    kernel_fn *kernel = pick_kernel();
    size_t mp = (size_t)(M + MR - 1) / MR * MR, np = (size_t)(N + NR - 1) / NR * NR;
    for (int pc = 0; pc < K; pc += KC) {
        int kc = K - pc < KC ? K - pc : KC;
        int acc = accumulate || pc > 0;
        const float *a = Ap + (size_t)pc * mp, *b = Bp + (size_t)pc * np, *last = pc + kc == K ? bias : NULL;
        for (int ic = 0; ic < M; ic += MC) {
            int mc = M - ic < MC ? M - ic : MC;
            macro_kernel(kernel, mc, N, kc, a + (size_t)ic * kc, b, C + (size_t)ic * ldc, ldc, acc, last);
        }
    }
}

void bc_sgemm_threads(int threads, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                      int accumulate) {
    sgemm_threaded(threads, M, N, K, A, lda, B, ldb, B_PLAIN, C, ldc, accumulate);
}

void bc_sgemm_ref(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                  int accumulate) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = accumulate ? C[(size_t)i * ldc + j] : 0.0;
            for (int k = 0; k < K; k++) s += (double)A[(size_t)i * lda + k] * B[(size_t)k * ldb + j];
            C[(size_t)i * ldc + j] = (float)s;
        }
}
