// test_clip.c: the CLIP forward pass against transformers' CLIPModel and
// open_clip's CLIP on the tiny random models of tests/golden/make_clip.py
// (tests/golden/clip/): image and text features and their cosine, in both
// tensor namings (transformers safetensors; open_clip pickles with and
// without the 'module.' prefix), f32 and bf16-stored weights, gelu and
// quick_gelu; the two namings must agree with each other too; and the
// errors for bad input.
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "nn/clip.h"
#include "util.h"

#define DIR "tests/golden/clip"

// Reference and ours are both float32 with the same weights: what is left is
// summation order (BLAS vs torch) through a few layers of width <= 48, a
// few ulps of values up to ~3. 1e-5 absolute + 1e-5 relative leaves room
// for that and catches any real mistake (a wrong head split, activation or
// eps moves the features by 1e-3 or more).
#define ATOL 1e-5f
#define RTOL 1e-5f

static float *read_f32(const char *name, size_t want) {
    char *path = bc_path_join(DIR, name);
    uint8_t *data = NULL;
    size_t len = 0;
    bc_err err;
    int rc = bc_read_file(path, &data, &len, &err);
    free(path);
    if (rc < 0 || len != want * sizeof(float)) {
        printf("# %s: %s\n", name, rc < 0 ? err.msg : "unexpected size");
        free(data);
        return NULL;
    }
    return (float *)data;
}

// Max |got - want| over n values; *ok cleared when one is out of tolerance.
static float max_err(const float *got, const float *want, size_t n, int *ok) {
    float worst = 0;
    for (size_t i = 0; i < n; i++) {
        float e = fabsf(got[i] - want[i]);
        if (!(e <= ATOL + RTOL * fabsf(want[i]))) *ok = 0;
        if (!(e <= worst)) worst = e;
    }
    return worst;
}

// The ids of case text j.
static int32_t *case_ids(json_t *cs, size_t j, int *len) {
    json_t *a = json_array_get(json_object_get(cs, "ids"), j);
    *len = (int)json_array_size(a);
    int32_t *ids = bc_malloc((size_t)*len * sizeof *ids);
    for (int i = 0; i < *len; i++) ids[i] = (int32_t)json_integer_value(json_array_get(a, (size_t)i));
    return ids;
}

// Runs one model over a case; returns [image features | text features] or NULL.
static float *run(bc_clip *m, json_t *cs, const char *label) {
    int S = (int)json_integer_value(json_object_get(cs, "image_size"));
    int E = (int)json_integer_value(json_object_get(cs, "embed_dim"));
    int n_img = (int)json_integer_value(json_object_get(cs, "n_images"));
    size_t n_txt = json_array_size(json_object_get(cs, "ids"));
    const bc_clip_config *c = bc_clip_config_of(m);
    CHECK(c->image_size == S && c->embed_dim == E, "%s: image size %d (want %d), embed %d (want %d)", label,
          c->image_size, S, c->embed_dim, E);
    if (c->image_size != S || c->embed_dim != E) return NULL;
    float *pixels = read_f32(json_string_value(json_object_get(cs, "pixels")), (size_t)n_img * 3 * S * S);
    if (!pixels) return NULL;
    float *feats = bc_malloc(((size_t)n_img + n_txt) * (size_t)E * sizeof *feats);
    bc_clip_encode_image(m, pixels, n_img, feats);
    free(pixels);
    for (size_t j = 0; j < n_txt; j++) {
        int len;
        int32_t *ids = case_ids(cs, j, &len);
        bc_err err;
        int rc = bc_clip_encode_text(m, ids, len, feats + ((size_t)n_img + j) * (size_t)E, &err);
        free(ids);
        if (!CHECK(rc == 0, "%s: text %zu encodes", label, j)) {
            printf("# %s\n", err.msg);
            free(feats);
            return NULL;
        }
    }
    return feats;
}

// Image and text features and the cosine matrix against the reference.
static void compare(const float *feats, json_t *cs, const char *label) {
    int E = (int)json_integer_value(json_object_get(cs, "embed_dim"));
    int n_img = (int)json_integer_value(json_object_get(cs, "n_images"));
    int n_txt = (int)json_array_size(json_object_get(cs, "ids"));
    float *image = read_f32(json_string_value(json_object_get(cs, "image")), (size_t)n_img * E);
    float *text = read_f32(json_string_value(json_object_get(cs, "text")), (size_t)n_txt * E);
    float *cosine = read_f32(json_string_value(json_object_get(cs, "cosine")), (size_t)n_img * n_txt);
    if (CHECK(image && text && cosine, "%s: reference files read", label)) {
        int ok = 1;
        float e = max_err(feats, image, (size_t)n_img * E, &ok);
        CHECK(ok, "%s: image features (max |err| %.2e)", label, e);
        ok = 1;
        e = max_err(feats + (size_t)n_img * E, text, (size_t)n_txt * E, &ok);
        CHECK(ok, "%s: text features (max |err| %.2e)", label, e);
        float *cos = bc_malloc((size_t)n_img * n_txt * sizeof *cos);
        for (int i = 0; i < n_img; i++)
            for (int j = 0; j < n_txt; j++)
                cos[i * n_txt + j] = bc_clip_cosine(feats + (size_t)i * E, feats + (size_t)(n_img + j) * E, E);
        ok = 1;
        e = max_err(cos, cosine, (size_t)n_img * n_txt, &ok);
        CHECK(ok, "%s: cosine matrix (max |err| %.2e)", label, e);
        free(cos);
    }
    free(image);
    free(text);
    free(cosine);
}

static void check_case(json_t *cs) {
    const char *name = json_string_value(json_object_get(cs, "model"));
    int E = (int)json_integer_value(json_object_get(cs, "embed_dim"));
    size_t n = ((size_t)json_integer_value(json_object_get(cs, "n_images")) +
                json_array_size(json_object_get(cs, "ids"))) * (size_t)E;
    bc_err err;

    // transformers naming: everything from config.json
    char *dir = bc_path_join(DIR, name);
    bc_clip *hf = bc_clip_open(dir, NULL, &err);
    free(dir);
    char label[64];
    snprintf(label, sizeof label, "%s (transformers)", name);
    float *a = NULL, *b = NULL;
    if (CHECK(hf, "%s: opens", label)) {
        CHECK(!bc_clip_config_of(hf)->open_clip_naming, "%s: naming detected", label);
        if ((a = run(hf, cs, label))) compare(a, cs, label);
        bc_clip_free(hf);
    } else {
        printf("# %s\n", err.msg);
    }

    // open_clip naming: sizes from the shapes; head counts and activation are
    // what open_clip's model config would say
    bc_clip_options opt = {
        .vision_heads = (int)json_integer_value(json_object_get(cs, "vision_heads")),
        .text_heads = (int)json_integer_value(json_object_get(cs, "text_heads")),
        .quick_gelu = json_is_true(json_object_get(cs, "quick_gelu")) ? 1 : -1,
    };
    char *pt = bc_path_join(DIR, json_string_value(json_object_get(cs, "open_clip")));
    bc_clip *oc = bc_clip_open(pt, &opt, &err);
    free(pt);
    snprintf(label, sizeof label, "%s (open_clip)", name);
    if (CHECK(oc, "%s: opens", label)) {
        CHECK(bc_clip_config_of(oc)->open_clip_naming, "%s: naming detected", label);
        if ((b = run(oc, cs, label))) compare(b, cs, label);
        bc_clip_free(oc);
    } else {
        printf("# %s\n", err.msg);
    }
    if (a && b) {
        int ok = 1;
        float e = max_err(a, b, n, &ok);
        CHECK(ok, "%s: both namings agree (max |diff| %.2e)", name, e);
    }
    free(a);
    free(b);
}

// A weights file instead of the directory: config.json is read beside it.
static void check_file_path(void) {
    bc_err err;
    bc_clip *d = bc_clip_open(DIR "/gelu", NULL, &err), *f = bc_clip_open(DIR "/gelu/model.safetensors", NULL, &err);
    if (CHECK(d && f, "a transformers model opens from its weights file too")) {
        const bc_clip_config *a = bc_clip_config_of(d), *b = bc_clip_config_of(f);
        CHECK(memcmp(a, b, sizeof *a) == 0, "  ... with the same config");
        int32_t ids[] = {62, 5, 63};
        float x[16], y[16];
        CHECK(bc_clip_encode_text(d, ids, 3, x, &err) == 0 && bc_clip_encode_text(f, ids, 3, y, &err) == 0 &&
                  memcmp(x, y, sizeof x) == 0,
              "  ... and the same features");
    }
    bc_clip_free(d);
    bc_clip_free(f);
}

static void check_errors(void) {
    bc_err err;
    bc_clip *m = bc_clip_open(DIR "/gelu", NULL, &err);
    if (!CHECK(m, "gelu opens for the error checks")) return;
    float out[64];
    int32_t no_eot[] = {62, 5, 6};
    CHECK(bc_clip_encode_text(m, no_eot, 3, out, &err) < 0, "ids without EOT fail");
    CHECK_CONTAINS(err.msg, "no end-of-text id 63", "  ... naming the EOT id");
    int32_t bad[] = {62, 64, 63};
    CHECK(bc_clip_encode_text(m, bad, 3, out, &err) < 0, "an id outside the vocabulary fails");
    CHECK_CONTAINS(err.msg, "id 64 at position 1", "  ... naming it");
    int32_t too_long[20];
    for (int i = 0; i < 20; i++) too_long[i] = i < 19 ? 1 : 63;
    CHECK(bc_clip_encode_text(m, too_long, 20, out, &err) < 0, "EOT beyond the context fails");
    CHECK_CONTAINS(err.msg, "context length 16", "  ... naming the context length");
    CHECK(bc_clip_encode_text(m, bad, 0, out, &err) < 0, "an empty sequence fails");
    bc_clip_free(m);

    CHECK(!bc_clip_open(DIR "/nonexistent", NULL, &err), "a missing model fails");
    CHECK(!bc_clip_open("tests/golden/vqdec/hf_f32", NULL, &err), "a model that is not CLIP fails");
    CHECK_CONTAINS(err.msg, "not a CLIP model", "  ... saying so");
    bc_clip_options opt = {.vision_heads = 5};
    CHECK(!bc_clip_open(DIR "/gelu_open_clip.pt", &opt, &err), "heads that do not divide the width fail");
    CHECK_CONTAINS(err.msg, "multiples of the head counts", "  ... saying so");

    // The tolerance means something: the gelu model run with quick_gelu (or
    // with open_clip's default head count) misses the reference by far more.
    json_error_t jerr;
    json_t *cases = json_load_file(DIR "/cases.json", 0, &jerr);
    json_t *cs = json_array_get(cases, 0);
    bc_clip_options wrong[2] = {{.vision_heads = 2, .text_heads = 4, .quick_gelu = 1}, {.quick_gelu = -1}};
    const char *what[2] = {"quick_gelu instead of gelu", "default heads (one of 32) instead of 2 and 4"};
    for (int i = 0; i < 2 && cs; i++) {
        bc_clip *w = bc_clip_open(DIR "/gelu_open_clip.pt", &wrong[i], &err);
        float *feats = w ? run(w, cs, what[i]) : NULL;
        float *image = read_f32(json_string_value(json_object_get(cs, "image")), 2 * 16);
        if (CHECK(feats && image, "%s: runs", what[i])) {
            int ok = 1;
            float e = max_err(feats, image, 2 * 16, &ok);
            CHECK(!ok && e > 1e-3f, "%s: image features off by %.2e", what[i], e);
        }
        free(feats);
        free(image);
        bc_clip_free(w);
    }
    json_decref(cases);
}

int main(void) {
    json_error_t jerr;
    json_t *cases = json_load_file(DIR "/cases.json", 0, &jerr);
    if (!CHECK(cases && json_array_size(cases) == 2, "cases.json holds two models")) return check_done();
    for (size_t i = 0; i < json_array_size(cases); i++) check_case(json_array_get(cases, i));
    json_decref(cases);
    check_file_path();
    check_errors();
    return check_done();
}
