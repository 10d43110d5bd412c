// test_preprocess.c: image resizing and the scorers' preprocessing against the
// references of tests/golden/make_preprocess.py (tests/golden/preprocess/):
// PIL bicubic (bit-exact), torch bicubic with and without antialias,
// transformers' CLIPImageProcessor (PIL backend), HPSv2's open_clip val
// transform, and preprocessor_config.json reading.
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nn/preprocess.h"
#include "util.h"

#define DIR "tests/golden/preprocess"

static void *read_fixture(const char *name, size_t *len) {
    return fixture_bytes(DIR, name, len);
}

static int jint(json_t *o, const char *key) { return (int)json_integer_value(json_object_get(o, key)); }
static const char *jstr(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

// make_preprocess.py's formula_pixel: the large inputs are generated, not stored.
static uint8_t formula_pixel(int x, int y, int c) {
    return (uint8_t)((x * x * 3 + y * 7 + c * 85 + ((x ^ y) & 63) * 2 + (x * y) % 17) & 255);
}

// A case's uint8 input image [h, w, 3], from its file or the formula.
static uint8_t *load_rgb(json_t *spec, int *w, int *h) {
    *w = jint(spec, "w"), *h = jint(spec, "h");
    size_t n = (size_t)*w * *h * 3, len = 0;
    if (json_is_true(json_object_get(spec, "formula"))) {
        uint8_t *img = bc_malloc(n);
        for (int y = 0; y < *h; y++)
            for (int x = 0; x < *w; x++)
                for (int c = 0; c < 3; c++) img[((size_t)y * *w + x) * 3 + c] = formula_pixel(x, y, c);
        return img;
    }
    uint8_t *img = read_fixture(jstr(spec, "file"), &len);
    if (img && len != n) {
        printf("# %s: %zu bytes, expected %zu\n", jstr(spec, "file"), len, n);
        free(img);
        img = NULL;
    }
    return img;
}

// Float comparison over `n` values: |got - want| <= atol + rtol·|want|.
typedef struct {
    double max_err;
    size_t outside, inexact;
} cmp_result;

static cmp_result compare_f32(const float *got, const float *want, size_t n, double atol, double rtol) {
    cmp_result r = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - want[i]);
        if (!(e <= atol + rtol * fabs(want[i]))) r.outside++;
        if (got[i] != want[i]) r.inexact++;
        if (!(e <= r.max_err)) r.max_err = e;
    }
    return r;
}

// Keeps every step-th row of a [C, H, W] float image (the fixtures store a
// subset of the rows of large outputs).
static float *rows_f32(const float *img, int C, int H, int W, int step, int *kept) {
    int k = (H + step - 1) / step;
    float *o = bc_malloc((size_t)C * k * W * sizeof(float));
    for (int c = 0; c < C; c++)
        for (int i = 0; i < k; i++)
            memcpy(o + ((size_t)c * k + i) * W, img + ((size_t)c * H + (size_t)i * step) * W, (size_t)W * sizeof(float));
    *kept = k;
    return o;
}

static void test_pil(json_t *cases) {
    size_t i;
    json_t *cs;
    json_array_foreach(cases, i, cs) {
        int w, h, ow = jint(cs, "out_w"), oh = jint(cs, "out_h"), step = jint(cs, "row_step");
        uint8_t *in = load_rgb(json_object_get(cs, "input"), &w, &h);
        size_t ref_len = 0;
        uint8_t *ref = read_fixture(jstr(cs, "ref"), &ref_len);
        int kept = (oh + step - 1) / step;
        if (!CHECK(in && ref && ref_len == (size_t)kept * ow * 3, "pil %dx%d -> %dx%d: fixture loads", w, h, ow, oh))
            goto next;
        uint8_t *out = bc_malloc((size_t)ow * oh * 3);
        bc_resize_pil_bicubic(in, w, h, ow, oh, out);
        size_t bad = 0, maxd = 0;
        for (int r = 0; r < kept; r++)
            for (int j = 0; j < ow * 3; j++) {
                int d = abs(out[((size_t)r * step) * ow * 3 + j] - ref[(size_t)r * ow * 3 + j]);
                if (d) bad++;
                if ((size_t)d > maxd) maxd = (size_t)d;
            }
        CHECK(bad == 0, "pil bicubic %dx%d -> %dx%d: bit-exact (%zu of %zu bytes differ, max %zu)", w, h, ow, oh, bad,
              (size_t)kept * ow * 3, maxd);
        free(out);
    next:
        free(in);
        free(ref);
    }
}

// torch's CPU kernels are compiled with FMA contraction and leave the
// summation order to the compiler; ours are plain float32 in tap order with
// the same weights (bit-equal where checked on unit impulses, interior taps).
// The sums then differ by a few ulps per pass, amplified by the cubic's
// weights (Σ|w| up to ~1.4 per pass) and the values (the randn input reaches
// ~3). Seen: up to 2.2e-6 on [0, 1] noise without antialias, 1.4e-6 on
// randn; tolerance 3e-6 + 1e-6·|ref|.
static const double TORCH_ATOL = 3e-6, TORCH_RTOL = 1e-6;

static void test_torch(json_t *cases) {
    size_t i;
    json_t *cs;
    json_array_foreach(cases, i, cs) {
        json_t *spec = json_object_get(cs, "input");
        int C = jint(spec, "c"), h = jint(spec, "h"), w = jint(spec, "w");
        int oh = jint(cs, "out_h"), ow = jint(cs, "out_w"), aa = jint(cs, "antialias");
        size_t in_len = 0, ref_len = 0;
        float *in = read_fixture(jstr(spec, "file"), &in_len);
        float *ref = read_fixture(jstr(cs, "ref"), &ref_len);
        size_t n = (size_t)C * oh * ow;
        if (!CHECK(in && ref && in_len == (size_t)C * h * w * 4 && ref_len == n * 4,
                   "torch %dx%d -> %dx%d aa=%d: fixture loads", w, h, ow, oh, aa))
            goto next;
        float *out = bc_malloc(n * sizeof(float));
        bc_resize_torch_bicubic(in, C, h, w, oh, ow, aa, out);
        cmp_result r = compare_f32(out, ref, n, TORCH_ATOL, TORCH_RTOL);
        CHECK(r.outside == 0, "torch bicubic %dx%d -> %dx%d antialias=%d: within %.0e + %.0e|ref| (max |err| %.2e, %zu of %zu not bit-equal)",
              w, h, ow, oh, aa, TORCH_ATOL, TORCH_RTOL, r.max_err, r.inexact, n);
        free(out);
    next:
        free(in);
        free(ref);
    }
}

static void test_clip(json_t *cases) {
    size_t i;
    json_t *cs;
    json_array_foreach(cases, i, cs) {
        int w, h, step = jint(cs, "row_step");
        uint8_t *in = load_rgb(json_object_get(cs, "input"), &w, &h);
        bc_image_config cfg;
        bc_image_config_clip(&cfg, jint(cs, "shortest_edge"));
        cfg.crop_h = jint(cs, "crop_h"), cfg.crop_w = jint(cs, "crop_w");
        for (int c = 0; c < 3; c++) {
            cfg.mean[c] = json_real_value(json_array_get(json_object_get(cs, "mean"), c));
            cfg.std[c] = json_real_value(json_array_get(json_object_get(cs, "std"), c));
        }
        int oh, ow, kept;
        bc_preprocess_clip_size(&cfg, w, h, &oh, &ow);
        size_t ref_len = 0;
        float *ref = read_fixture(jstr(cs, "ref"), &ref_len);
        kept = (oh + step - 1) / step;
        if (!CHECK(in && ref && oh == cfg.crop_h && ow == cfg.crop_w && ref_len == (size_t)3 * kept * ow * 4,
                   "clip %dx%d size %d crop %dx%d: fixture loads", w, h, cfg.shortest_edge, ow, oh))
            goto next;
        float *out = bc_malloc((size_t)3 * oh * ow * sizeof(float));
        bc_preprocess_clip(&cfg, in, w, h, out);
        float *sub = rows_f32(out, 3, oh, ow, step, &kept);
        // PIL's pixels are exact and the rest is the same float32 arithmetic
        // as numpy's: bit-equal.
        cmp_result r = compare_f32(sub, ref, (size_t)3 * kept * ow, 0, 0);
        CHECK(r.inexact == 0, "clip preprocess %dx%d size %d crop %dx%d: bit-equal (%zu differ, max |err| %.2e)", w,
              h, cfg.shortest_edge, ow, oh, r.inexact, r.max_err);
        free(sub);
        free(out);
    next:
        free(in);
        free(ref);
    }
}

static void test_hps(json_t *cases) {
    size_t i;
    json_t *cs;
    json_array_foreach(cases, i, cs) {
        int w, h, size = jint(cs, "size"), step = jint(cs, "row_step"), kept = (size + step - 1) / step;
        uint8_t *in = load_rgb(json_object_get(cs, "input"), &w, &h);
        size_t ref_len = 0;
        float *ref = read_fixture(jstr(cs, "ref"), &ref_len);
        if (!CHECK(in && ref && ref_len == (size_t)3 * kept * size * 4, "hps %dx%d size %d: fixture loads", w, h, size))
            goto next;
        float *out = bc_malloc((size_t)3 * size * size * sizeof(float));
        bc_preprocess_hps(in, w, h, size, bc_clip_mean, bc_clip_std, out);
        float *sub = rows_f32(out, 3, size, size, step, &kept);
        // The torch resize's tolerance (values in [0, 1]), amplified by
        // 1/std (< 3.9) in the normalisation: 1.2e-5.
        cmp_result r = compare_f32(sub, ref, (size_t)3 * kept * size, 1.2e-5, 0);
        CHECK(r.outside == 0, "hps preprocess %dx%d -> %d: within 1.2e-05 (max |err| %.2e, %zu not bit-equal)",
              w, h, size, r.max_err, r.inexact);
        free(sub);
        free(out);
    next:
        free(in);
        free(ref);
    }
}

// Writes text to a temporary file and reads it as a preprocessor config.
static int read_config_text(const char *text, bc_image_config *cfg, bc_err *err) {
    char path[] = "/tmp/bicot-test-preprocess-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return bc_fail(err, "mkstemp failed");
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    int rc = bc_image_config_read(cfg, path, err);
    unlink(path);
    return rc;
}

static void test_config(void) {
    bc_image_config cfg;
    bc_err err;
    int rc = bc_image_config_read(&cfg, DIR "/clip_config/preprocessor_config.json", &err);
    if (!CHECK(rc == 0, "preprocessor_config.json (CLIPImageProcessorPil.save_pretrained) reads")) printf("# %s\n", err.msg);
    CHECK(cfg.shortest_edge == 30 && cfg.crop_h == 24 && cfg.crop_w == 28, "config: size %d, crop %dx%d",
          cfg.shortest_edge, cfg.crop_w, cfg.crop_h);
    CHECK(cfg.mean[0] == 0.5 && cfg.mean[1] == 0.25 && cfg.mean[2] == 0.125 && cfg.std[0] == 0.2 &&
              cfg.std[1] == 0.3 && cfg.std[2] == 0.4,
          "config: image_mean and image_std");
    CHECK(cfg.do_resize && cfg.do_center_crop && cfg.do_rescale && cfg.do_normalize &&
              cfg.rescale_factor == 1.0 / 255.0,
          "config: flags and rescale_factor");

    // Older configs: int size (= shortest edge) and int crop_size (= square).
    rc = read_config_text("{\"size\": 40, \"crop_size\": 32, \"do_center_crop\": false}", &cfg, &err);
    CHECK(rc == 0 && cfg.shortest_edge == 40 && cfg.crop_h == 32 && cfg.crop_w == 32 && !cfg.do_center_crop,
          "config: int size and crop_size");
    int oh, ow;
    bc_preprocess_clip_size(&cfg, 30, 20, &oh, &ow);
    CHECK(oh == 40 && ow == 60, "config: no center crop keeps the resized size (%dx%d)", ow, oh);
    rc = read_config_text("{\"size\": {\"height\": 20, \"width\": 30}}", &cfg, &err);
    CHECK(rc == 0 && cfg.shortest_edge == 0 && cfg.size_h == 20 && cfg.size_w == 30, "config: size {height, width}");
    // CLIP defaults stay where a key is absent.
    rc = read_config_text("{}", &cfg, &err);
    CHECK(rc == 0 && cfg.shortest_edge == 224 && cfg.crop_h == 224 && cfg.mean[0] == bc_clip_mean[0] &&
              cfg.std[2] == bc_clip_std[2],
          "config: {} gives CLIPImageProcessor's defaults");

    rc = read_config_text("{\"resample\": 2}", &cfg, &err);
    CHECK(rc < 0, "config: bilinear resample is refused") && CHECK_CONTAINS(err.msg, "resample", "  message names resample");
    rc = read_config_text("{\"image_mean\": [0.5, 0.5]}", &cfg, &err);
    CHECK(rc < 0, "config: 2-element image_mean is refused") && CHECK_CONTAINS(err.msg, "image_mean", "  message names image_mean");
    rc = read_config_text("{\"size\": {\"shortest_edge\": 0}}", &cfg, &err);
    CHECK(rc < 0, "config: zero shortest_edge is refused") && CHECK_CONTAINS(err.msg, "shortest_edge", "  message names shortest_edge");
    rc = read_config_text("{\"size\": ", &cfg, &err);
    CHECK(rc < 0, "config: truncated JSON is refused") && CHECK_CONTAINS(err.msg, "/tmp/bicot-test-preprocess", "  message names the file");
    rc = bc_image_config_read(&cfg, DIR "/no-such-file.json", &err);
    CHECK(rc < 0, "config: missing file is an error") && CHECK_CONTAINS(err.msg, "no-such-file.json", "  message names the file");
}

int main(void) {
    size_t len = 0;
    char *text = read_fixture("cases.json", &len);
    json_error_t jerr;
    json_t *root = text ? json_loads(text, 0, &jerr) : NULL;
    if (!CHECK(root != NULL, "cases.json loads")) return check_done();
    test_pil(json_object_get(root, "pil"));
    test_torch(json_object_get(root, "torch"));
    test_clip(json_object_get(root, "clip"));
    test_hps(json_object_get(root, "hps"));
    test_config();
    json_decref(root);
    free(text);
    return check_done();
}
