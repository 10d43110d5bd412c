// ops_cpu.c: the CPU backend of ops.h (all but conv2d/upsample, in conv.c).
// Linear layers run the batch-invariant kernels of kernels/cpu/gemv.c, which
// widen bf16/f16 weights in registers (the weights stay in their stored
// dtype); attention runs kernels/cpu/sgemm.c.
#include "ops.h"

#include "../../kernels/cpu/act.h"
#include "../../kernels/cpu/gemv.h"
#include "../../kernels/cpu/norm.h"
#include "../../kernels/cpu/sgemm.h"
#include "../../kernels/cpu/softmax.h"
#include "../../kernels/cpu/transpose.h"
#include "../../kernels/cpu/vexp.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// 0: not set yet (OpenBLAS default: all cores). Atomic: a batch worker that
// leaves at the end of the stream hands its threads to the others while
// their ops run (lib/batch.c).
static _Atomic int ops_threads = 0;

void bc_ops_set_threads(int n) {
    atomic_store_explicit(&ops_threads, n > 0 ? n : 1, memory_order_relaxed);
    openblas_set_num_threads(n > 0 ? n : 1);
}

int bc_ops_threads(void) {
    int n = atomic_load_explicit(&ops_threads, memory_order_relaxed);
    return n ? n : bc_cpu_count();
}

// ---- weights -------------------------------------------------------------------

int bc_weight_from(bc_weight *w, const bc_tensor *t, bc_err *err) {
    if (t->dtype != BC_DT_F32 && t->dtype != BC_DT_BF16 && t->dtype != BC_DT_F16)
        return bc_fail(err, "tensor '%s': dtype %s, expected F32, BF16 or F16", t->name, bc_dtype_name(t->dtype));
    if (t->ndim < 1) return bc_fail(err, "tensor '%s': a scalar is not a weight matrix", t->name);
    size_t cols = t->shape[0] ? t->numel / (size_t)t->shape[0] : 0;
    if (t->shape[0] > INT32_MAX || cols > INT32_MAX) return bc_fail(err, "tensor '%s': too large", t->name);
    *w = (bc_weight){.dtype = t->dtype, .data = t->data, .rows = (int)t->shape[0], .cols = (int)cols};
    return 0;
}

float *bc_tensor_f32(const bc_tensor *t, bc_err *err) {
    float *out = bc_malloc(t->numel * sizeof *out);
    if (bc_tensor_to_f32(t, out, err) < 0) {
        free(out);
        return NULL;
    }
    return out;
}

float bc_weight_at(const bc_weight *w, size_t i) {
    uint16_t h;
    float f;
    switch (w->dtype) {
    case BC_DT_BF16: memcpy(&h, (const uint8_t *)w->data + 2 * i, 2); return bc_bf16_to_f32(h);
    case BC_DT_F16: memcpy(&h, (const uint8_t *)w->data + 2 * i, 2); return bc_f16_to_f32(h);
    default: memcpy(&f, (const uint8_t *)w->data + 4 * i, 4); return f;
    }
}

// ---- linear ----------------------------------------------------------------------

// Every output element is one dot product computed the same way whatever n
// and the thread count are (kernels/cpu/gemv.c: the batch kernels give the
// bits of bc_gemv_* one row at a time): a row's result never depends on the
// rows next to it (DESIGN.md §2: a sample must not depend on batch size).
// Threads split the weight rows into chunks, a few per thread; each chunk
// meets every input row.
void bc_linear(float *out, const float *x, const bc_weight *w, const float *bias, int n) {
    int rows = w->rows, cols = w->cols;
    if (n <= 0 || rows <= 0) return;
    int threads = bc_ops_threads();
    int chunk_rows = (rows + 4 * threads - 1) / (4 * threads);
    chunk_rows = (chunk_rows + 7) / 8 * 8;  // whole register blocks (any size gives the same bits)
    if (chunk_rows < 32) chunk_rows = 32;
    int chunks = (rows + chunk_rows - 1) / chunk_rows;
#pragma omp parallel for schedule(static) num_threads(threads) if (chunks > 1 && (size_t)rows * cols * n > 65536)
    for (int ch = 0; ch < chunks; ch++) {
        int r0 = ch * chunk_rows, nr = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
        size_t first = (size_t)r0 * cols;
        if (w->dtype == BC_DT_BF16)
            bc_gemv_batch_bf16(out + r0, (const uint16_t *)w->data + first, x, nr, cols, n, rows, cols);
        else if (w->dtype == BC_DT_F16)
            bc_gemv_batch_f16(out + r0, (const uint16_t *)w->data + first, x, nr, cols, n, rows, cols);
        else
            bc_gemv_batch_f32(out + r0, (const float *)w->data + first, x, nr, cols, n, rows, cols);
    }
    if (bias)
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rows; r++) out[(size_t)i * rows + r] += bias[r];
}

static int sgemm_type(const bc_weight *w) {
    return w->dtype == BC_DT_BF16 ? BC_SGEMM_BF16 : w->dtype == BC_DT_F16 ? BC_SGEMM_F16 : BC_SGEMM_F32;
}

void bc_weight_prepare(bc_weight *w) {
    if (w->prepared || w->rows <= 0 || w->cols <= 0) return;
    w->prepared = bc_malloc(bc_sgemm_packed_b_floats(w->cols, w->rows) * sizeof *w->prepared);
    bc_sgemm_pack_wt(bc_ops_threads(), w->prepared, w->data, sgemm_type(w), w->cols, w->rows, w->cols);
}

void bc_weight_release(bc_weight *w) {
    free(w->prepared);
    w->prepared = NULL;
}

// out (+)= x·wᵀ + bias, then act: bc_linear_many, _act and _add.
static void linear_many(float *out, const float *x, const bc_weight *w, const float *bias, bc_act act, int accumulate,
                        int n) {
    int rows = w->rows, cols = w->cols;
    if (n <= 0 || rows <= 0) return;
    if (w->prepared) {  // the bias is added as each tile is stored, act as pieces are finished
        bc_sgemm_act *fn = act == BC_ACT_GELU ? bc_gelu_kernel : act == BC_ACT_GELU_QUICK ? bc_gelu_quick_kernel : NULL;
        bc_sgemm_wt_packed(bc_ops_threads(), n, rows, cols, x, cols, w->prepared, bias, fn, out, rows, accumulate);
        return;
    }
    bc_sgemm_wt(bc_ops_threads(), n, rows, cols, x, cols, w->data, sgemm_type(w), cols, out, rows, accumulate);
    if (bias)
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rows; r++) out[(size_t)i * rows + r] += bias[r];
    bc_activate(out, (size_t)n * (size_t)rows, act);
}

void bc_activate(float *x, size_t n, bc_act act) {
    if (act == BC_ACT_GELU) bc_gelu(x, n);
    else if (act == BC_ACT_GELU_QUICK) bc_gelu_quick(x, n);
}

void bc_linear_many_act(float *out, const float *x, const bc_weight *w, const float *bias, bc_act act, int n) {
    linear_many(out, x, w, bias, act, 0, n);
}

void bc_linear_many(float *out, const float *x, const bc_weight *w, const float *bias, int n) {
    linear_many(out, x, w, bias, BC_ACT_NONE, 0, n);
}

void bc_linear_many_add(float *out, const float *x, const bc_weight *w, const float *bias, int n) {
    linear_many(out, x, w, bias, BC_ACT_NONE, 1, n);
}

void bc_linear_ref(float *out, const float *x, const bc_weight *w, const float *bias, int n) {
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < w->rows; r++) {
            double acc = bias ? bias[r] : 0.0;
            for (int c = 0; c < w->cols; c++)
                acc += (double)x[(size_t)i * w->cols + c] * bc_weight_at(w, (size_t)r * w->cols + c);
            out[(size_t)i * w->rows + r] = (float)acc;
        }
    }
}

// ---- norms -------------------------------------------------------------------------

void bc_rmsnorm(float *out, const float *x, const float *w, int n, int d, float eps) {
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        double ss = 0;
        for (int j = 0; j < d; j++) ss += (double)xi[j] * xi[j];
        float inv = 1.0f / sqrtf((float)(ss / d) + eps);
        for (int j = 0; j < d; j++) oi[j] = w[j] * (xi[j] * inv);
    }
}

void bc_layernorm(float *out, const float *x, const float *w, const float *b, int n, int d, float eps) {
    // Rows are independent: threads split them (a ViT's hundreds of tokens).
    int threads = bc_ops_threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && (size_t)n * d > 65536)
    for (int i = 0; i < n; i++) bc_layernorm_row(out + (size_t)i * d, x + (size_t)i * d, d, w, b, eps);
}

static void groupnorm(float *out, const float *x, const float *w, const float *b, int C, int hw, int groups, float eps,
                      int silu) {
    int cg = C / groups;
    // Groups are independent: threads split them, each group computed as
    // on one thread (the VQ decoder's 384×384 maps are 150k values a channel).
    int threads = bc_ops_threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && (size_t)C * hw > 65536)
    for (int g = 0; g < groups; g++)
        bc_groupnorm_group(out + (size_t)g * cg * hw, x + (size_t)g * cg * hw, cg, (size_t)hw, w + g * cg, b + g * cg,
                           eps, silu);
}

void bc_groupnorm(float *out, const float *x, const float *w, const float *b, int C, int hw, int groups, float eps) {
    groupnorm(out, x, w, b, C, hw, groups, eps, 0);
}

void bc_groupnorm_silu(float *out, const float *x, const float *w, const float *b, int C, int hw, int groups,
                       float eps) {
    groupnorm(out, x, w, b, C, hw, groups, eps, 1);
}

// ---- element-wise ----------------------------------------------------------------

// Element-wise maps of big tensors (the VQ decoder's, a ViT's MLP) split
// over threads in fixed chunks; each element's value does not depend on the
// split.
static void map_chunks(float *x, size_t n, void (*kernel)(float *, size_t)) {
    enum { CHUNK = 16384 };
    long chunks = (long)((n + CHUNK - 1) / CHUNK);
    int threads = bc_ops_threads();
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1 && chunks > 1)
    for (long c = 0; c < chunks; c++) {
        size_t i0 = (size_t)c * CHUNK, i1 = i0 + CHUNK < n ? i0 + CHUNK : n;
        kernel(x + i0, i1 - i0);
    }
}

void bc_silu(float *x, size_t n) { map_chunks(x, n, bc_silu_kernel); }
void bc_gelu(float *x, size_t n) { map_chunks(x, n, bc_gelu_kernel); }
void bc_gelu_quick(float *x, size_t n) { map_chunks(x, n, bc_gelu_quick_kernel); }

void bc_add(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

void bc_mul(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] *= y[i];
}

void bc_softmax(float *x, int n) {
    float max = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

// ---- rotary embedding --------------------------------------------------------------

void bc_rope(float *x, int n_heads, int head_dim, int pos, float theta) {
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        // as transformers computes it: inv_freq in float32, angle = pos · inv_freq
        float inv_freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
        float angle = (float)pos * inv_freq, c = cosf(angle), s = sinf(angle);
        for (int h = 0; h < n_heads; h++) {
            float *xh = x + (size_t)h * head_dim;
            float a = xh[i], b = xh[i + half];
            xh[i] = a * c - b * s;
            xh[i + half] = b * c + a * s;
        }
    }
}

// ---- attention ---------------------------------------------------------------------

#ifdef __clang__
// The fuzz targets' clang -O1 + sanitizer build cannot vectorise the
// omp simd loops below (they run scalar there) and would say so each time.
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BC_ATT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BC_ATT_CLONES
#endif

// e^x for a softmax weight, x = score − max <= 0; 0 below e^−44.4 (2^−64),
// where the weight or its products with the values would be subnormal
// floats, ~100 cycles each on x86 (kernels/cpu/softmax.c: FLUSH).
static inline float weight_exp(float x) { return x < -44.36f ? 0.0f : bc_vexp(x); }

// One query's attention weights: row[0, visible) = softmax(scale · row)
// and row[visible, n) = 0: bc_softmax's work fused with the scaling, in
// loops the compiler vectorises (at head_dim 64 bc_softmax's scalar passes
// cost more than the products). The sum runs in 16 lanes (lane p takes the
// j ≡ p mod 16) added in a fixed order, and the max and e^x are exact
// functions of their inputs, so every SIMD level gives the same bits.
BC_ATT_CLONES
static void attention_weights(float *row, int visible, int n, float scale) {
    enum { LANES = 16 };
    float max = -INFINITY, lane[LANES] = {0}, sum = 0.0f;
#pragma omp simd reduction(max : max)
    for (int j = 0; j < visible; j++) {
        row[j] *= scale;
        max = row[j] > max ? row[j] : max;
    }
    int main_n = visible - visible % LANES;
    for (int j = 0; j < main_n; j += LANES)
#pragma omp simd
        for (int p = 0; p < LANES; p++) {
            row[j + p] = weight_exp(row[j + p] - max);
            lane[p] += row[j + p];
        }
    for (int j = main_n; j < visible; j++) {
        row[j] = weight_exp(row[j] - max);
        lane[j - main_n] += row[j];
    }
    for (int p = 0; p < LANES; p++) sum += lane[p];
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < visible; j++) row[j] *= inv;
    for (int j = visible; j < n; j++) row[j] = 0.0f;
}

// Query rows a causal work unit takes: a [QB, nk] score buffer stays small
// while every GEMM still has rows enough to run at speed.
enum { ATT_QB = 64 };

// ---- attention without a mask: transposed, no packing of the weights --------------
//
// A work unit takes one head and up to QG blocks of QT = 32 queries (a block
// is one packed-B panel of the GEMM) and computes everything transposed, the
// keys in chunks of KB (flash attention's online softmax):
//   sᵀ [kb, QT] = k_chunk · (scale · log2 e · q_block)ᵀ   (A: the keys,
//                                                          packed once)
//   e = 2^(sᵀ − running max) down each column  (the 32 queries are the 32
//                                               lanes; kernels/cpu/softmax.c)
//   outᵀ [hd, QT] = outᵀ · 2^(old max − new max) + v_chunkᵀ · e
//                                               (A: the values, packed once)
// and at the end outᵀ / Σe. sᵀ in row-major [kb, QT] *is* the packed layout
// of the second GEMM's B, so the weights are never repacked, and the
// softmax runs on whole vectors with no horizontal sums. (The untransposed
// way, softmax along rows and then a packing pass, took 17% of score-det's
// time on OWLv2's 3601 tokens; this way, 12% with vexp.h's exp, less with
// softmax.c's 2^x.) The 1/Σe of each query multiplies its hd outputs, not
// its nk weights.
// Why chunks: a head's packed keys and values (1.8 MB for OWLv2) and a
// block's scores over all keys (460 KB) do not fit in L2 (2 MB here)
// together, so every block read the keys and values again from L3 (~30 GB
// an image); a chunk's (2 × 192 KB + 96 KB) do, and QG blocks share each
// chunk while it is there.
// Every query is one lane of the same vector operations wherever it falls
// in a block, and the chunks are fixed by key index, so its output has the
// same bits whatever nq is.
// ATT_PIECE keys' scores (33 KB) fit in L1 beside the key panels they come from.
enum { QT = BC_SGEMM_NR, QG = 4, KB = 3 * BC_SGEMM_KC, ATT_PIECE = 22 * BC_SGEMM_MR };
_Static_assert((int)QT == (int)BC_SOFTMAX_LANES, "a query block is one packed-B panel and one row of softmax lanes");
// a chunk starts on a panel of packed keys (MR rows) and on a block of
// packed values (KC columns): its part of each packed operand is contiguous
_Static_assert(KB % BC_SGEMM_MR == 0 && KB % BC_SGEMM_KC == 0, "chunks of whole key panels and value blocks");
_Static_assert(ATT_PIECE % BC_SGEMM_MR == 0, "pieces of whole key panels");

// The head's keys k_h [nk, hd] as the A operand (panels of MR keys) and its
// values v_hᵀ [hd, nk] as another (panels of MR dimensions: MR consecutive
// floats of a value row per key).
static void pack_kv_transposed(float *kp, float *vtp, const float *kh, const float *vh, int nk, int hd,
                               int kv_stride) {
    bc_sgemm_pack_a(kp, kh, kv_stride, nk, hd);
    for (int j = 0; j < nk; j++)
        for (int d0 = 0; d0 < hd; d0 += BC_SGEMM_MR) {
            float *dst = vtp + bc_sgemm_packed_a_index(hd, nk, d0, j);
            const float *src = vh + (size_t)j * kv_stride + d0;
            int n = hd - d0 < BC_SGEMM_MR ? hd - d0 : BC_SGEMM_MR;
            if (n == BC_SGEMM_MR) {  // a constant size: a few moves (the variable-size copy: ~0.4% of score-det, profiled)
                memcpy(dst, src, BC_SGEMM_MR * sizeof *dst);
            } else {
                memcpy(dst, src, (size_t)n * sizeof *dst);
                for (int r = n; r < BC_SGEMM_MR; r++) dst[r] = 0.0f;
            }
        }
}

// A thread's buffers for one work unit: per query block its (scaled
// queries)ᵀ, outᵀ and the columns' running max and Σe; one chunk's scores.
typedef struct {
    float *qt[QG], *ot[QG], *max[QG], *sum[QG];
    float *st;
} att_unit;

static void att_unit_carve(att_unit *a, float *p, int hd) {
    for (int b = 0; b < QG; b++) {
        a->qt[b] = p, p += (size_t)hd * QT;
        a->ot[b] = p, p += (size_t)hd * QT;
        a->max[b] = p, p += QT;
        a->sum[b] = p, p += QT;
    }
    a->st = p;
}

static size_t att_unit_floats(int hd, int kb) { return (size_t)QG * (2 * (size_t)hd * QT + 2 * QT) + (size_t)kb * QT; }

static void attention_full(float *out, const float *q, const float *k, const float *v, int nq, int nk, int n_heads,
                           int n_kv_heads, int hd, int kv_stride, float scale) {
    int group = n_heads / n_kv_heads, q_stride = n_heads * hd;
    int qblocks = (nq + QT - 1) / QT, groups = (qblocks + QG - 1) / QG, units = n_heads * groups;
    int threads = bc_ops_threads() < units ? bc_ops_threads() : units;
    // a packed key row is contiguous only within one block of KC columns
    int kb = hd <= BC_SGEMM_KC ? KB : nk;
    float scale_log2e = scale * 1.44269504088896341f;
    size_t k_floats = bc_sgemm_packed_a_floats(nk, hd), vt_floats = bc_sgemm_packed_a_floats(hd, nk);
    size_t head_floats = k_floats + vt_floats, vt_panel_rows = (size_t)(hd + BC_SGEMM_MR - 1) / BC_SGEMM_MR * BC_SGEMM_MR;
    // scratch kept from call to call: ViT-H-14 packs 2.7 MB here 32 times an
    // image, which as fresh memory cost more in page faults than its softmax
    float *packed = bc_thread_scratch(BC_SCRATCH_ATT_KV, (size_t)n_kv_heads * head_floats * sizeof *packed);
    size_t work = (size_t)nq * nk * hd * n_heads;
#pragma omp parallel num_threads(threads) if (threads > 1 && work > 65536)
    {
#pragma omp for schedule(dynamic)
        for (int g = 0; g < n_kv_heads; g++) {
            float *kp = packed + (size_t)g * head_floats;
            pack_kv_transposed(kp, kp + k_floats, k + (size_t)g * hd, v + (size_t)g * hd, nk, hd, kv_stride);
        }
        att_unit a;
        att_unit_carve(&a, bc_thread_scratch(BC_SCRATCH_ATT_UNIT, att_unit_floats(hd, kb) * sizeof(float)), hd);
#pragma omp for schedule(dynamic)  // as threads come free: a shared machine's cores run at uneven speeds
        for (int u = 0; u < units; u++) {
            int h = u / groups, b0 = u % groups * QG, nb = qblocks - b0 < QG ? qblocks - b0 : QG;
            const float *kp = packed + (size_t)(h / group) * head_floats, *vtp = kp + k_floats;
            // Rows of q and out are q_stride apart, beyond the hardware
            // prefetcher's reach: fetch the next unit's queries (a guess:
            // another thread may take it) and this unit's output rows while
            // the products run (the transposes waited on memory: this
            // gained 1-3%).
            int i_end = (b0 + nb) * QT < nq ? (b0 + nb) * QT : nq;
            for (int i = b0 * QT; i < i_end; i++)
                for (int d = 0; d < hd; d += 16)
                    __builtin_prefetch(out + (size_t)i * q_stride + (size_t)h * hd + d, 1, 2);
            if (u + 1 < units) {
                int hn = (u + 1) / groups, in0 = (u + 1) % groups * QG * QT, in1 = in0 + QG * QT < nq ? in0 + QG * QT : nq;
                for (int i = in0; i < in1; i++)
                    for (int d = 0; d < hd; d += 16)
                        __builtin_prefetch(q + (size_t)i * q_stride + (size_t)hn * hd + d, 0, 2);
            }
            // (scale · log2(e) · q_block)ᵀ, zeros past the last query:
            // the scores come out in base 2 for the softmax's 2^x
            for (int b = 0; b < nb; b++) {
                int i0 = (b0 + b) * QT, m = nq - i0 < QT ? nq - i0 : QT;
                if (m < QT) memset(a.qt[b], 0, (size_t)hd * QT * sizeof(float));
                bc_transpose_scaled(a.qt[b], QT, q + (size_t)i0 * q_stride + (size_t)h * hd, q_stride, m, hd,
                                    scale_log2e, NULL);
                for (int i = 0; i < QT; i++) a.max[b][i] = -INFINITY, a.sum[b][i] = 0.0f;
            }
            for (int c0 = 0; c0 < nk; c0 += kb) {
                int n = nk - c0 < kb ? nk - c0 : kb;
                const float *kc = kp + (size_t)c0 * hd, *vc = vtp + (size_t)c0 * vt_panel_rows;
                for (int b = 0; b < nb; b++) {
                    // after the first chunk: scores less the running max
                    // and their 2^x in pieces of ATT_PIECE keys, each while
                    // it is in L1; redone the two-pass way in the rare
                    // chunk that moves the max (softmax.h)
                    int redo = c0 == 0;
                    if (!redo) {
                        float neg[QT], sum[QT], top[QT];
                        for (int i = 0; i < QT; i++) neg[i] = -a.max[b][i], sum[i] = 0.0f, top[i] = -INFINITY;
                        for (int p0 = 0; p0 < n && !redo; p0 += ATT_PIECE) {
                            int m = n - p0 < ATT_PIECE ? n - p0 : ATT_PIECE;
                            bc_sgemm_packed(m, QT, hd, kc + (size_t)p0 * hd, a.qt[b], a.st + (size_t)p0 * QT, QT, 0,
                                            neg);
                            redo = bc_softmax_columns_exp2_fixed(a.st + (size_t)p0 * QT, m, sum, top);
                        }
                        if (!redo)
                            for (int i = 0; i < QT; i++) a.sum[b][i] += sum[i];
                    }
                    if (redo) {
                        float f[QT];
                        bc_sgemm_packed(n, QT, hd, kc, a.qt[b], a.st, QT, 0, NULL);
                        bc_softmax_columns_exp2_chunk(a.st, n, a.max[b], a.sum[b], f);
                        if (c0 > 0)  // the earlier chunks' part, as if against the new max
                            for (int d = 0; d < hd; d++)
#pragma omp simd
                                for (int i = 0; i < QT; i++) a.ot[b][(size_t)d * QT + i] *= f[i];
                    }
                    bc_sgemm_packed(hd, QT, n, vc, a.st, a.ot[b], QT, c0 > 0, NULL);
                }
            }
            for (int b = 0; b < nb; b++) {
                int i0 = (b0 + b) * QT, m = nq - i0 < QT ? nq - i0 : QT;
                float inv[QT];
                for (int i = 0; i < QT; i++) inv[i] = 1.0f / a.sum[b][i];
                bc_transpose_scaled(out + (size_t)i0 * q_stride + (size_t)h * hd, q_stride, a.ot[b], QT, hd, m, 1.0f,
                                    inv);
            }
        }
    }
}

// Without a mask: attention_full. Causal: work units of one head and up to
// ATT_QB query rows, spread over the threads, each with its own buffers:
// scores = q·kᵀ over the keys the unit's rows see (bc_sgemm_bt), softmax of
// the scaled scores over the keys each query sees (attention_weights), then
// out = scores·v (bc_sgemm). Each element goes through sgemm's same k loop
// whatever the number of rows, and a masked key adds an exact zero: a
// query's output is the same bits whatever nq is and whichever unit or
// thread holds it.
void bc_attention(float *out, const float *q, const float *k, const float *v, int nq, int nk, int n_heads,
                  int n_kv_heads, int head_dim, int kv_stride, int causal, float scale) {
    if (nq <= 0 || nk <= 0) return;
    if (!causal) {
        attention_full(out, q, k, v, nq, nk, n_heads, n_kv_heads, head_dim, kv_stride, scale);
        return;
    }
    int group = n_heads / n_kv_heads, q_stride = n_heads * head_dim;
    int qblocks = (nq + ATT_QB - 1) / ATT_QB, units = n_heads * qblocks;
    int threads = bc_ops_threads() < units ? bc_ops_threads() : units;
    size_t work = (size_t)nq * nk * head_dim * n_heads;
#pragma omp parallel num_threads(threads) if (threads > 1 && work > 65536)
    {
        float *scores = bc_malloc((size_t)ATT_QB * nk * sizeof *scores);  // this thread's [ATT_QB, nk]
#pragma omp for schedule(static)
        for (int u = 0; u < units; u++) {
            int h = u / qblocks, i0 = u % qblocks * ATT_QB, m = nq - i0 < ATT_QB ? nq - i0 : ATT_QB;
            const float *qh = q + (size_t)i0 * q_stride + (size_t)h * head_dim;
            float *oh = out + (size_t)i0 * q_stride + (size_t)h * head_dim;
            const float *kh = k + (size_t)(h / group) * head_dim, *vh = v + (size_t)(h / group) * head_dim;
            // keys any row of the unit sees: causal query i sees nk − nq + i + 1
            int seen = nk - nq + i0 + m;
            if (seen < 1) seen = 1;  // a query always sees at least the first key
            bc_sgemm_bt(m, seen, head_dim, qh, q_stride, kh, kv_stride, scores, seen, 0);
            for (int i = 0; i < m; i++) {
                int visible = nk - nq + i0 + i + 1;
                attention_weights(scores + (size_t)i * seen, visible < 1 ? 1 : visible, seen, scale);
            }
            bc_sgemm(m, head_dim, seen, scores, seen, vh, kv_stride, oh, q_stride, 0);
        }
        free(scores);
    }
}
