// ops_cpu.c: the CPU backend of ops.h (all but conv2d/upsample, in conv.c).
// Matrix products go to OpenBLAS; a bf16/f16 weight is converted to float32
// a block of rows at a time, so memory stays small and the weights stay in
// their stored dtype.
#include "ops.h"

#include "../../kernels/cpu/gemv.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int ops_threads = 0;  // 0: not set yet (OpenBLAS default: all cores)

void bc_ops_set_threads(int n) {
    ops_threads = n > 0 ? n : 1;
    openblas_set_num_threads(ops_threads);
}

int bc_ops_threads(void) { return ops_threads ? ops_threads : bc_cpu_count(); }

// ---- weights -------------------------------------------------------------------

int bc_weight_from(bc_weight *w, const bc_tensor *t, bc_err *err) {
    if (t->dtype != BC_DT_F32 && t->dtype != BC_DT_BF16 && t->dtype != BC_DT_F16)
        return bc_fail(err, "tensor '%s': dtype %s, expected F32, BF16 or F16", t->name, bc_dtype_name(t->dtype));
    if (t->ndim < 1) return bc_fail(err, "tensor '%s': a scalar is not a weight matrix", t->name);
    size_t cols = t->shape[0] ? t->numel / (size_t)t->shape[0] : 0;
    if (t->shape[0] > INT32_MAX || cols > INT32_MAX) return bc_fail(err, "tensor '%s': too large", t->name);
    w->dtype = t->dtype;
    w->data = t->data;
    w->rows = (int)t->shape[0];
    w->cols = (int)cols;
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

// Rows [r0, r0 + nr) of w as float32 into dst [nr, cols].
static void weight_rows_f32(float *dst, const bc_weight *w, int r0, int nr) {
    size_t start = (size_t)r0 * (size_t)w->cols, count = (size_t)nr * (size_t)w->cols;
    const uint16_t *src = (const uint16_t *)w->data + start;
    if (w->dtype == BC_DT_BF16) {
        for (size_t i = 0; i < count; i++) {
            uint32_t bits = (uint32_t)src[i] << 16;
            memcpy(&dst[i], &bits, 4);
        }
    } else if (w->dtype == BC_DT_F16) {
        for (size_t i = 0; i < count; i++) dst[i] = bc_f16_to_f32(src[i]);
    } else {
        memcpy(dst, (const float *)w->data + start, count * sizeof *dst);
    }
}

// ---- linear ----------------------------------------------------------------------

// Rows of an f16 weight block converted at a time: about 256 KB of float32.
static int block_rows(int cols) {
    int r = (1 << 16) / (cols > 0 ? cols : 1);
    return r < 8 ? 8 : r;
}

// Every output element is one dot product computed the same way whatever n
// and the thread count are (kernels/cpu/gemv.c): a row's result never depends
// on the rows next to it (DESIGN.md §2: a sample must not depend on batch
// size). Threads split the weight rows. A GEMM kernel for long prefills and
// the VQ decoder's big products is still to come; it must keep this property.
void bc_linear(float *out, const float *x, const bc_weight *w, const float *bias, int n) {
    int rows = w->rows, cols = w->cols;
    if (n <= 0 || rows <= 0) return;
    if (w->dtype == BC_DT_F16) {
        int br = block_rows(cols);
        if (br > rows) br = rows;
        float *wf = bc_malloc((size_t)br * (size_t)cols * sizeof *wf);  // [br, cols]
        for (int r0 = 0; r0 < rows; r0 += br) {
            int nr = rows - r0 < br ? rows - r0 : br;
            weight_rows_f32(wf, w, r0, nr);
            bc_gemv_f32(out + r0, wf, x, nr, cols, n, rows, cols);
        }
        free(wf);
    } else {
        enum { CHUNK_ROWS = 32 };
        int chunks = (rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
#pragma omp parallel for schedule(static) num_threads(bc_ops_threads()) if (chunks > 1 && (size_t)rows * cols * n > 65536)
        for (int ch = 0; ch < chunks; ch++) {
            int r0 = ch * CHUNK_ROWS, nr = rows - r0 < CHUNK_ROWS ? rows - r0 : CHUNK_ROWS;
            if (w->dtype == BC_DT_BF16)
                bc_gemv_bf16(out + r0, (const uint16_t *)w->data + (size_t)r0 * cols, x, nr, cols, n, rows, cols);
            else
                bc_gemv_f32(out + r0, (const float *)w->data + (size_t)r0 * cols, x, nr, cols, n, rows, cols);
        }
    }
    if (bias)
        for (int i = 0; i < n; i++)
            for (int r = 0; r < rows; r++) out[(size_t)i * rows + r] += bias[r];
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
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        float *oi = out + (size_t)i * d;
        double mean = 0, var = 0;
        for (int j = 0; j < d; j++) mean += xi[j];
        mean /= d;
        for (int j = 0; j < d; j++) var += ((double)xi[j] - mean) * ((double)xi[j] - mean);
        var /= d;
        float inv = 1.0f / sqrtf((float)var + eps), m = (float)mean;
        for (int j = 0; j < d; j++) oi[j] = (xi[j] - m) * inv * w[j] + (b ? b[j] : 0.0f);
    }
}

void bc_groupnorm(float *out, const float *x, const float *w, const float *b, int C, int hw, int groups, float eps) {
    int cg = C / groups;
    for (int g = 0; g < groups; g++) {
        const float *xg = x + (size_t)g * cg * hw;
        float *og = out + (size_t)g * cg * hw;
        size_t count = (size_t)cg * hw;
        double mean = 0, var = 0;
        for (size_t i = 0; i < count; i++) mean += xg[i];
        mean /= (double)count;
        for (size_t i = 0; i < count; i++) var += ((double)xg[i] - mean) * ((double)xg[i] - mean);
        var /= (double)count;
        float inv = 1.0f / sqrtf((float)var + eps), m = (float)mean;
        for (int c = 0; c < cg; c++) {
            int ch = g * cg + c;
            float scale = inv * w[ch], shift = b[ch];
            const float *xc = xg + (size_t)c * hw;
            float *oc = og + (size_t)c * hw;
            for (int i = 0; i < hw; i++) oc[i] = (xc[i] - m) * scale + shift;
        }
    }
}

// ---- element-wise ----------------------------------------------------------------

void bc_silu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}

void bc_gelu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)M_SQRT1_2));
}

void bc_gelu_quick(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
}

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

void bc_attention(float *out, const float *q, const float *k, const float *v, int nq, int nk, int n_heads,
                  int n_kv_heads, int head_dim, int kv_stride, int causal, float scale) {
    int group = n_heads / n_kv_heads, q_stride = n_heads * head_dim;
    float *scores = bc_malloc((size_t)nq * nk * sizeof *scores);  // [nq, nk] for one head
    for (int h = 0; h < n_heads; h++) {
        const float *qh = q + (size_t)h * head_dim;
        const float *kh = k + (size_t)(h / group) * head_dim;
        const float *vh = v + (size_t)(h / group) * head_dim;
        // scores = scale · q_h · k_hᵀ
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, head_dim, scale, qh, q_stride, kh, kv_stride, 0.0f,
                    scores, nk);
        for (int i = 0; i < nq; i++) {
            float *row = scores + (size_t)i * nk;
            int visible = causal ? nk - nq + i + 1 : nk;
            if (visible < 1) visible = 1;  // a query always sees at least the first key
            bc_softmax(row, visible);
            for (int j = visible; j < nk; j++) row[j] = 0.0f;
        }
        // out_h = scores · v_h
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, head_dim, nk, 1.0f, scores, nk, vh, kv_stride, 0.0f,
                    out + (size_t)h * head_dim, q_stride);
    }
    free(scores);
}
