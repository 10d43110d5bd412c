// preprocess.c: PIL and torch bicubic resampling, CLIP and HPSv2 preprocessing.
// See preprocess.h for what each reproduces; the comments here say which
// reference line each piece of arithmetic mirrors (Pillow's
// src/libImaging/Resample.c, torch's aten/src/ATen/native/cpu/UpSampleKernel.cpp
// and UpSample.h, transformers' image_transforms.py, HPSv2's open_clip
// transform.py), because the exact float types and rounding are the point.
#include "preprocess.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const double bc_clip_mean[3] = {0.48145466, 0.4578275, 0.40821073};
const double bc_clip_std[3] = {0.26862954, 0.26130258, 0.27577711};

// ---------------------------------------------------------------------------
// PIL bicubic on uint8

// Pillow keeps 8-bit coefficients in 22-bit fixed point: 32 bits minus 8 for
// the pixel value and 2 for the sum of several negative/positive lobes.
#define PIL_PRECISION_BITS (32 - 8 - 2)

// Keys' cubic with a = -0.5, in double, in Pillow's exact form.
static double pil_bicubic_filter(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

// One axis' taps: output index o reads in[first[o] .. first[o] + count[o]) with
// fixed-point weights k[o·ksize + j].
typedef struct {
    int ksize;
    int *first, *count;
    int32_t *k;
} pil_taps;

// Pillow's precompute_coeffs (box = whole image, so in0 = 0, in1 = in_size)
// followed by normalize_coeffs_8bpc.
static pil_taps pil_taps_make(int in_size, int out_size) {
    double scale = (double)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;  // widen the filter only when shrinking
    double support = 2.0 * filterscale;
    pil_taps t;
    t.ksize = (int)ceil(support) * 2 + 1;
    t.first = bc_malloc((size_t)out_size * sizeof(int));
    t.count = bc_malloc((size_t)out_size * sizeof(int));
    t.k = bc_calloc((size_t)out_size * t.ksize, sizeof(int32_t));
    double *w = bc_malloc((size_t)t.ksize * sizeof(double));
    for (int o = 0; o < out_size; o++) {
        double center = (o + 0.5) * scale;
        double ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5);  // (int) truncates toward zero, as in C Pillow
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = pil_bicubic_filter((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            // Round half away from zero to fixed point.
            t.k[(size_t)o * t.ksize + x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PIL_PRECISION_BITS))
                                                 : (int32_t)(0.5 + v * (1 << PIL_PRECISION_BITS));
        }
        t.first[o] = xmin;
        t.count[o] = xmax;
    }
    free(w);
    return t;
}

static void pil_taps_free(pil_taps *t) {
    free(t->first);
    free(t->count);
    free(t->k);
}

// Pillow's clip8: the accumulator (which started at one half) shifted back to
// 8 bits, saturated.
static uint8_t pil_clip8(int32_t v) {
    if (v >= (1 << PIL_PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PIL_PRECISION_BITS);
}

// One pass along an axis of an interleaved RGB image: `n` output lines of
// `out_len` pixels; pixel i of line l sits at base + l·line_stride + i·px_stride
// in both images (strides in bytes, for in and out separately).
static void pil_pass(const uint8_t *in, ptrdiff_t in_line, ptrdiff_t in_px, uint8_t *out, ptrdiff_t out_line,
                     ptrdiff_t out_px, int n_lines, int out_len, const pil_taps *t) {
    for (int l = 0; l < n_lines; l++) {
        for (int o = 0; o < out_len; o++) {
            const int32_t *k = t->k + (size_t)o * t->ksize;
            const uint8_t *src = in + l * in_line + t->first[o] * in_px;
            for (int c = 0; c < 3; c++) {
                int32_t ss = 1 << (PIL_PRECISION_BITS - 1);  // the rounding half
                for (int j = 0; j < t->count[o]; j++) ss += src[j * in_px + c] * k[j];
                out[l * out_line + o * out_px + c] = pil_clip8(ss);
            }
        }
    }
}

void bc_resize_pil_bicubic(const uint8_t *rgb, int w, int h, int out_w, int out_h, uint8_t *out) {
    if (out_w == w && out_h == h) {
        memcpy(out, rgb, (size_t)w * h * 3);
        return;
    }
    // Two passes, each rounded to uint8; an axis whose size does not change is
    // not touched. Pillow 13 (ImagingResampleInner) runs the vertical pass
    // first when the height shrinks by more than twice as many pixels as the
    // width does, horizontal first otherwise; Pillow <= 12 always went
    // horizontal first. The two agree whenever that condition is false, e.g.
    // for square images resized to squares.
    int vertical_first = h - out_h > 0 && h - out_h > (w - out_w) * 2;
    pil_taps tx = pil_taps_make(w, out_w), ty = pil_taps_make(h, out_h);
    // The horizontal pass works on rows: pixel i of row l at l·(row bytes) + i·3;
    // the vertical one on columns: pixel i of column l at l·3 + i·(row bytes).
    if (vertical_first) {
        uint8_t *dst = out_w != w ? bc_malloc((size_t)out_h * w * 3) : out;  // [out_h, w, 3]
        pil_pass(rgb, 3, (ptrdiff_t)w * 3, dst, 3, (ptrdiff_t)w * 3, w, out_h, &ty);
        if (out_w != w) {
            pil_pass(dst, (ptrdiff_t)w * 3, 3, out, (ptrdiff_t)out_w * 3, 3, out_h, out_w, &tx);
            free(dst);
        }
    } else {
        const uint8_t *src = rgb;
        uint8_t *tmp = NULL;  // [h, out_w, 3] when both passes run
        if (out_w != w) {
            uint8_t *dst = out_h != h ? (tmp = bc_malloc((size_t)h * out_w * 3)) : out;
            pil_pass(rgb, (ptrdiff_t)w * 3, 3, dst, (ptrdiff_t)out_w * 3, 3, h, out_w, &tx);
            src = dst;
        }
        if (out_h != h) pil_pass(src, 3, (ptrdiff_t)out_w * 3, out, 3, (ptrdiff_t)out_w * 3, out_w, out_h, &ty);
        free(tmp);
    }
    pil_taps_free(&tx);
    pil_taps_free(&ty);
}

// ---------------------------------------------------------------------------
// torch bicubic on float32

// cubic_convolution1/2 of UpSample.h, in float: |x| <= 1 and 1 < |x| < 2.
static float cubic1(float x, float A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static float cubic2(float x, float A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

// HelperInterpCubic::aa_filter<float> (a = -0.5 on the antialiased path).
static float torch_aa_filter(float x) {
    const float a = -0.5f;
    x = fabsf(x);
    if (x < 1.0f) return cubic1(x, a);
    if (x < 2.0f) return cubic2(x, a);
    return 0.0f;
}

// One axis' taps: output o = Σ_j w[o·ksize + j]·in[idx[o·ksize + j]], j < count[o].
typedef struct {
    int ksize;
    int *idx, *count;
    float *w;
} torch_taps;

static torch_taps torch_taps_make(int in_size, int out_size, int antialias) {
    torch_taps t;
    // area_pixel_compute_scale<float> with no scale given: float division.
    float scale = (float)in_size / (float)out_size;
    if (antialias) {
        // _compute_index_ranges_weights / _compute_indices_min_size_weights_aa:
        // PIL's scheme in float, with the promotions to double that torch's
        // mixed float/double expressions make (marked (double) below).
        float support = scale >= 1.0f ? (float)(2.0 * scale) : 2.0f;  // interp_size 4 · 0.5 · scale
        t.ksize = (int)ceilf(support) * 2 + 1;
        t.idx = bc_malloc((size_t)out_size * t.ksize * sizeof(int));
        t.count = bc_malloc((size_t)out_size * sizeof(int));
        t.w = bc_calloc((size_t)out_size * t.ksize, sizeof(float));
        float invscale = scale >= 1.0f ? (float)(1.0 / (double)scale) : 1.0f;
        for (int o = 0; o < out_size; o++) {
            float center = (float)((double)scale * (o + 0.5));
            long xmin = (long)((double)(center - support) + 0.5);
            if (xmin < 0) xmin = 0;
            long xend = (long)((double)(center + support) + 0.5);
            if (xend > in_size) xend = in_size;
            long xsize = xend - xmin;
            if (xsize < 0) xsize = 0;
            if (xsize > t.ksize) xsize = t.ksize;
            float *w = t.w + (size_t)o * t.ksize;
            float total = 0.0f;
            for (long j = 0; j < xsize; j++) {
                float arg = (float)(((double)((float)(j + xmin) - center) + 0.5) * (double)invscale);
                w[j] = torch_aa_filter(arg);
                total += w[j];
            }
            if (total != 0.0f)
                for (long j = 0; j < xsize; j++) w[j] /= total;
            for (long j = 0; j < xsize; j++) t.idx[(size_t)o * t.ksize + j] = (int)(xmin + j);
            t.count[o] = (int)xsize;
        }
    } else {
        // HelperInterpCubic::compute_indices_weights: 4 taps around
        // floor(src), Keys' cubic with a = -0.75, edge indices clamped.
        t.ksize = 4;
        t.idx = bc_malloc((size_t)out_size * 4 * sizeof(int));
        t.count = bc_malloc((size_t)out_size * sizeof(int));
        t.w = bc_malloc((size_t)out_size * 4 * sizeof(float));
        const float A = -0.75f;
        for (int o = 0; o < out_size; o++) {
            float real = scale * ((float)o + 0.5f) - 0.5f;  // area_pixel_compute_source_index, cubic: no clamp at 0
            long index = (long)floorf(real);
            if (index > in_size - 1) index = in_size - 1;
            float lambda = real - (float)index;
            if (lambda < 0.0f) lambda = 0.0f;
            if (lambda > 1.0f) lambda = 1.0f;
            float *w = t.w + (size_t)o * 4;
            w[0] = cubic2(lambda + 1.0f, A);
            w[1] = cubic1(lambda, A);
            w[2] = cubic1(1.0f - lambda, A);
            w[3] = cubic2((1.0f - lambda) + 1.0f, A);
            for (int j = 0; j < 4; j++) {
                long i = index - 1 + j;
                if (i > in_size - 1) i = in_size - 1;
                if (i < 0) i = 0;
                t.idx[(size_t)o * 4 + j] = (int)i;
            }
            t.count[o] = 4;
        }
    }
    return t;
}

static void torch_taps_free(torch_taps *t) {
    free(t->idx);
    free(t->count);
    free(t->w);
}

// One pass along an axis: n_lines lines, out_len outputs each; element i of
// line l is at l·line + i·step (in elements) in each array.
static void torch_pass(const float *in, ptrdiff_t in_line, ptrdiff_t in_step, float *out, ptrdiff_t out_line,
                       ptrdiff_t out_step, long n_lines, int out_len, const torch_taps *t) {
    for (long l = 0; l < n_lines; l++) {
        const float *src = in + l * in_line;
        for (int o = 0; o < out_len; o++) {
            const float *w = t->w + (size_t)o * t->ksize;
            const int *idx = t->idx + (size_t)o * t->ksize;
            // torch starts from the first product, then adds in tap order.
            float acc = t->count[o] > 0 ? w[0] * src[idx[0] * in_step] : 0.0f;
            for (int j = 1; j < t->count[o]; j++) acc += w[j] * src[idx[j] * in_step];
            out[l * out_line + o * out_step] = acc;
        }
    }
}

void bc_resize_torch_bicubic(const float *chw, int C, int h, int w, int out_h, int out_w, int antialias,
                             float *out) {
    // Width first, then height, as torch's separable (antialiased) kernel
    // does. The non-antialiased kernel is written as one 4×4 sum, but it
    // evaluates Σ_y w_y·(Σ_x w_x·in): the same float operations in the same
    // order. A dimension whose size does not change is skipped (its weights
    // would be exactly {0, 1, 0, 0}).
    const float *src = chw;
    float *tmp = NULL;  // [C, h, out_w]
    if (out_w != w) {
        torch_taps tx = torch_taps_make(w, out_w, antialias);
        float *dst = out_h != h ? (tmp = bc_malloc((size_t)C * h * out_w * sizeof(float))) : out;
        torch_pass(src, w, 1, dst, out_w, 1, (long)C * h, out_w, &tx);
        torch_taps_free(&tx);
        src = dst;
    }
    if (out_h != h) {
        torch_taps ty = torch_taps_make(h, out_h, antialias);
        for (int c = 0; c < C; c++)
            torch_pass(src + (size_t)c * h * out_w, 1, out_w, out + (size_t)c * out_h * out_w, 1, out_w, out_w,
                       out_h, &ty);
        torch_taps_free(&ty);
    }
    if (out_w == w && out_h == h) memcpy(out, chw, (size_t)C * h * w * sizeof(float));
    free(tmp);
}

// ---------------------------------------------------------------------------
// CLIPImageProcessor

void bc_image_config_clip(bc_image_config *cfg, int size) {
    memset(cfg, 0, sizeof *cfg);
    cfg->do_resize = cfg->do_center_crop = cfg->do_rescale = cfg->do_normalize = 1;
    cfg->shortest_edge = size;
    cfg->crop_h = cfg->crop_w = size;
    cfg->rescale_factor = 1.0 / 255.0;
    for (int c = 0; c < 3; c++) {
        cfg->mean[c] = bc_clip_mean[c];
        cfg->std[c] = bc_clip_std[c];
    }
}

static int json_flag(json_t *root, const char *key, int *dst, bc_err *err) {
    json_t *v = json_object_get(root, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) return bc_fail(err, "%s: expected true or false", key);
    *dst = json_is_true(v);
    return 0;
}

static int json_positive_int(json_t *v, const char *what, int *dst, bc_err *err) {
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65536)
        return bc_fail(err, "%s: expected a positive integer", what);
    *dst = (int)json_integer_value(v);
    return 0;
}

// A size entry: an int N, {"shortest_edge": N} (only when allowed), or
// {"height": H, "width": W}.
static int json_size(json_t *v, const char *key, int allow_shortest, int *shortest, int *hh, int *ww,
                     bc_err *err) {
    if (json_is_integer(v)) {
        int n;
        if (json_positive_int(v, key, &n, err) < 0) return -1;
        // transformers' get_size_dict: an int size means the shortest edge
        // for CLIP (default_to_square False), a square for crop_size.
        if (allow_shortest) {
            *shortest = n;
        } else {
            *hh = *ww = n;
        }
        return 0;
    }
    if (!json_is_object(v)) return bc_fail(err, "%s: expected an integer or an object", key);
    json_t *se = json_object_get(v, "shortest_edge");
    if (se && allow_shortest) {
        if (json_object_get(v, "longest_edge"))
            return bc_fail(err, "%s: longest_edge is not supported", key);
        return json_positive_int(se, "size.shortest_edge", shortest, err);
    }
    json_t *jh = json_object_get(v, "height"), *jw = json_object_get(v, "width");
    if (!jh || !jw)
        return bc_fail(err, "%s: expected %s{\"height\", \"width\"}", key,
                       allow_shortest ? "{\"shortest_edge\"} or " : "");
    if (json_positive_int(jh, key, hh, err) < 0 || json_positive_int(jw, key, ww, err) < 0) return -1;
    if (allow_shortest) *shortest = 0;
    return 0;
}

static int json_triple(json_t *root, const char *key, double dst[3], bc_err *err) {
    json_t *v = json_object_get(root, key);
    if (!v) return 0;
    if (json_is_number(v)) {  // a single value applies to every channel
        dst[0] = dst[1] = dst[2] = json_number_value(v);
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) != 3) return bc_fail(err, "%s: expected 3 numbers", key);
    for (int c = 0; c < 3; c++) {
        json_t *x = json_array_get(v, c);
        if (!json_is_number(x)) return bc_fail(err, "%s[%d]: expected a number", key, c);
        dst[c] = json_number_value(x);
    }
    return 0;
}

static int image_config_from_json(bc_image_config *cfg, json_t *root, bc_err *err) {
    if (!json_is_object(root)) return bc_fail(err, "expected a JSON object");
    if (json_flag(root, "do_resize", &cfg->do_resize, err) < 0 ||
        json_flag(root, "do_center_crop", &cfg->do_center_crop, err) < 0 ||
        json_flag(root, "do_rescale", &cfg->do_rescale, err) < 0 ||
        json_flag(root, "do_normalize", &cfg->do_normalize, err) < 0)
        return -1;
    json_t *v;
    if ((v = json_object_get(root, "size")) &&
        json_size(v, "size", 1, &cfg->shortest_edge, &cfg->size_h, &cfg->size_w, err) < 0)
        return -1;
    if ((v = json_object_get(root, "crop_size")) &&
        json_size(v, "crop_size", 0, NULL, &cfg->crop_h, &cfg->crop_w, err) < 0)
        return -1;
    if ((v = json_object_get(root, "rescale_factor"))) {
        if (!json_is_number(v)) return bc_fail(err, "rescale_factor: expected a number");
        cfg->rescale_factor = json_number_value(v);
    }
    if (json_triple(root, "image_mean", cfg->mean, err) < 0 || json_triple(root, "image_std", cfg->std, err) < 0)
        return -1;
    if ((v = json_object_get(root, "resample")) && !(json_is_integer(v) && json_integer_value(v) == 3))
        return bc_fail(err, "resample: only 3 (bicubic) is supported");
    return 0;
}

int bc_image_config_read(bc_image_config *cfg, const char *path, bc_err *err) {
    bc_image_config_clip(cfg, 224);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) return bc_fail(err, "%s:%d: %s", path, jerr.line, jerr.text);
    int rc = image_config_from_json(cfg, root, err);
    json_decref(root);
    if (rc < 0) bc_err_prefix(err, "%s", path);
    return rc;
}

// transformers' get_resize_output_image_size(default_to_square=False) or an
// explicit {height, width}.
static void clip_resized_size(const bc_image_config *cfg, int w, int h, int *rh, int *rw) {
    if (!cfg->do_resize) {
        *rh = h, *rw = w;
    } else if (cfg->shortest_edge > 0) {
        int shorter = w <= h ? w : h, longer = w <= h ? h : w;
        // int(S * long / short): Python's true division is one correctly
        // rounded double division of the exact integer product.
        int new_long = (int)((double)((long long)cfg->shortest_edge * longer) / shorter);
        if (w <= h) {
            *rh = new_long, *rw = cfg->shortest_edge;
        } else {
            *rh = cfg->shortest_edge, *rw = new_long;
        }
    } else {
        *rh = cfg->size_h, *rw = cfg->size_w;
    }
}

void bc_preprocess_clip_size(const bc_image_config *cfg, int w, int h, int *out_h, int *out_w) {
    clip_resized_size(cfg, w, h, out_h, out_w);
    if (cfg->do_center_crop) *out_h = cfg->crop_h, *out_w = cfg->crop_w;
}

// transformers' center_crop offset along one axis: output index o reads
// input o + offset. A crop that fits starts at (in - crop)//2; a larger crop
// pads with zeros, the image starting at ceil((crop - in)/2).
static int crop_offset(int in, int crop) { return in >= crop ? (in - crop) / 2 : -((crop - in + 1) / 2); }

void bc_preprocess_clip(const bc_image_config *cfg, const uint8_t *rgb, int w, int h, float *out) {
    int rh, rw;
    clip_resized_size(cfg, w, h, &rh, &rw);
    uint8_t *resized = NULL;  // [rh, rw, 3]
    const uint8_t *img = rgb;
    if (rh != h || rw != w) {
        resized = bc_malloc((size_t)rh * rw * 3);
        bc_resize_pil_bicubic(rgb, w, h, rw, rh, resized);
        img = resized;
    }
    int oh, ow;
    bc_preprocess_clip_size(cfg, w, h, &oh, &ow);
    int oy0 = cfg->do_center_crop ? crop_offset(rh, oh) : 0, ox0 = cfg->do_center_crop ? crop_offset(rw, ow) : 0;
    for (int c = 0; c < 3; c++) {
        float mean = (float)cfg->mean[c], std = (float)cfg->std[c];  // np.array(mean, dtype=float32)
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sy = y + oy0, sx = x + ox0;
                uint8_t v = sy >= 0 && sy < rh && sx >= 0 && sx < rw ? img[((size_t)sy * rw + sx) * 3 + c] : 0;
                // rescale: float64 multiply, then float32; normalize in float32.
                float f = cfg->do_rescale ? (float)((double)v * cfg->rescale_factor) : (float)v;
                if (cfg->do_normalize) f = (f - mean) / std;
                out[((size_t)c * oh + y) * ow + x] = f;
            }
        }
    }
    free(resized);
}

// ---------------------------------------------------------------------------
// HPSv2

void bc_preprocess_hps(const uint8_t *rgb, int w, int h, int size, const double mean[3], const double std[3],
                       float *out) {
    // ToTensor: CHW float32, v / 255 (torch's true division).
    float *x = bc_malloc((size_t)3 * h * w * sizeof(float));  // [3, h, w]
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < (size_t)h * w; i++) x[(size_t)c * h * w + i] = (float)rgb[i * 3 + c] / 255.0f;

    // ResizeMaxSize: Python's round() is round-half-to-even, which is what
    // nearbyint does in the default rounding mode.
    double scale = (double)size / (double)(h > w ? h : w);
    int nh = h, nw = w;
    if (scale != 1.0) {
        nh = (int)nearbyint(h * scale);
        nw = (int)nearbyint(w * scale);
    }
    float *r = x;  // [3, nh, nw]
    if (nh != h || nw != w) {
        r = bc_malloc((size_t)3 * nh * nw * sizeof(float));
        bc_resize_torch_bicubic(x, 3, h, w, nh, nw, 1, r);
    }
    // Centred zero pad (left/top get pad//2), then Normalize. With scale 1 on
    // a non-square image the reference would return h×w unpadded; we pad
    // (the model needs size×size anyway).
    int top = (size - nh) / 2, left = (size - nw) / 2;
    for (int c = 0; c < 3; c++) {
        float m = (float)mean[c], s = (float)std[c];
        for (int y = 0; y < size; y++) {
            for (int xx = 0; xx < size; xx++) {
                int sy = y - top, sx = xx - left;
                float v = sy >= 0 && sy < nh && sx >= 0 && sx < nw ? r[((size_t)c * nh + sy) * nw + sx] : 0.0f;
                out[((size_t)c * size + y) * size + xx] = (v - m) / s;
            }
        }
    }
    if (r != x) free(r);
    free(x);
}
