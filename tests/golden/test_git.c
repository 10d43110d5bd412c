// test_git.c: GIT's forward pass (lib/nn/git.c) against transformers'
// GitForCausalLM on the tiny random model of tests/golden/make_git.py
// (tests/golden/git/): preprocessing from preprocessor_config.json, the image
// encoder's output and its projection, the last position's logits of each
// question (through the cached image keys/values), T2I-R1's p_yes, and the
// errors for a non-GIT checkpoint, a missing tensor and bad ids.
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "io/image.h"
#include "nn/git.h"
#include "nn/preprocess.h"
#include "util.h"

#define DIR "tests/golden/git"
#define MODEL DIR "/model"

// Reference and ours are both float32 on the same float32 weights: what is
// left is summation order (BLAS vs torch) through 2 + 2 layers of width 32
// and 4 LayerNorms, on values of a few units: a few ulps, ~1e-6 seen. 1e-5
// absolute + 1e-5 relative leaves room for that and catches any real mistake
// (a wrong mask, eps, activation or position moves logits by 1e-3 or more).
#define ATOL 1e-5f
#define RTOL 1e-5f

static float *read_f32(const char *name, size_t want) {
    size_t len = 0;
    float *data = fixture_bytes(DIR, name, &len);
    if (data && len != want * sizeof(float)) {
        printf("# %s: %zu bytes, expected %zu\n", name, len, want * sizeof(float));
        free(data);
        data = NULL;
    }
    return data;
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

// CLIPImageProcessor from the model's preprocessor_config.json on the two
// PNGs gives the reference pixel values (PIL bicubic is reproduced exactly,
// then float32 rescale/normalise: equal to the last bit or so).
static void test_preprocess(int S, const float *ref) {
    bc_image_config ic;
    bc_err err;
    if (!CHECK(bc_image_config_read(&ic, MODEL "/preprocessor_config.json", &err) == 0, "preprocessor_config.json reads"))
        return;
    float *px = bc_malloc((size_t)3 * S * S * sizeof(float));
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "img%d.png", i);
        size_t len;
        uint8_t *png = fixture_bytes(DIR, name, &len);
        bc_image img;
        if (!CHECK(png && bc_image_decode(png, len, &img, &err) == 0, "%s decodes", name)) {
            free(png);
            continue;
        }
        int oh, ow;
        bc_preprocess_clip_size(&ic, img.w, img.h, &oh, &ow);
        CHECK(oh == S && ow == S, "%s: %dx%d preprocesses to %dx%d (model: %d)", name, img.w, img.h, ow, oh, S);
        bc_preprocess_clip(&ic, img.rgb, img.w, img.h, px);
        float worst = 0;
        for (size_t j = 0; j < (size_t)3 * S * S; j++) worst = fmaxf(worst, fabsf(px[j] - ref[(size_t)i * 3 * S * S + j]));
        CHECK(worst <= 1e-6f, "%s: pixel values as CLIPImageProcessor's (max err %.1e)", name, worst);
        bc_image_free(&img);
        free(png);
    }
    free(px);
}

// Image encoder output (post LayerNorm, all tokens) and the visual projection.
static void test_image_features(const bc_git *m, const float *pixels) {
    const bc_git_config *c = bc_git_config_of(m);
    int T = c->image_tokens, Wv = c->vision.vision.width, D = c->hidden, S = c->vision.image_size;
    float *vis_ref = read_f32("vision.f32", (size_t)2 * T * Wv), *proj_ref = read_f32("projected.f32", (size_t)2 * T * D);
    float *vis = bc_malloc((size_t)T * Wv * sizeof(float)), *proj = bc_malloc((size_t)T * D * sizeof(float));
    if (CHECK(vis_ref && proj_ref, "vision.f32 and projected.f32 read")) {
        for (int i = 0; i < 2; i++) {
            bc_git_image_features(m, pixels + (size_t)i * 3 * S * S, vis, proj);
            int ok = 1;
            float e = max_err(vis, vis_ref + (size_t)i * T * Wv, (size_t)T * Wv, &ok);
            CHECK(ok, "image %d: image encoder output [%d, %d] (max err %.1e)", i, T, Wv, e);
            ok = 1;
            e = max_err(proj, proj_ref + (size_t)i * T * D, (size_t)T * D, &ok);
            CHECK(ok, "image %d: projected image rows [%d, %d] (max err %.1e)", i, T, D, e);
        }
    }
    free(vis), free(proj), free(vis_ref), free(proj_ref);
}

// Every case of cases.json: full last-position logits, the two selected rows,
// and p_yes.
static void test_cases(const bc_git *m, const float *pixels, json_t *root) {
    const bc_git_config *c = bc_git_config_of(m);
    int S = c->vision.image_size, V = c->vocab_size;
    json_t *cases = json_object_get(root, "cases");
    size_t n_cases = json_array_size(cases);
    int32_t yes = (int32_t)json_integer_value(json_object_get(root, "yes"));
    int32_t no = (int32_t)json_integer_value(json_object_get(root, "no"));
    float *ref = read_f32("logits.f32", n_cases * V);
    if (!CHECK(ref && n_cases > 0, "logits.f32 read (%zu cases)", n_cases)) return;
    bc_git_image_state *state[2] = {bc_git_encode_image(m, pixels), bc_git_encode_image(m, pixels + (size_t)3 * S * S)};
    float *logits = bc_malloc((size_t)V * sizeof(float));
    int ok_full = 1, ok_rows = 1, ok_p = 1;
    float worst_full = 0, worst_rows = 0;
    double worst_p = 0;
    bc_err err;
    for (size_t k = 0; k < n_cases; k++) {
        json_t *cs = json_array_get(cases, k);
        json_t *ja = json_object_get(cs, "ids");
        int n = (int)json_array_size(ja);
        int32_t ids[64];
        if (n > 64) n = 64;  // the fixture's longest question has 18 ids
        for (int i = 0; i < n; i++) ids[i] = (int32_t)json_integer_value(json_array_get(ja, (size_t)i));
        const bc_git_image_state *s = state[json_integer_value(json_object_get(cs, "image"))];
        const char *q = json_string_value(json_object_get(cs, "question"));
        double p = -1, p_ref = json_number_value(json_object_get(cs, "p_yes"));
        int32_t rows[2] = {yes, no};
        float two[2], want[2] = {ref[k * V + yes], ref[k * V + no]};
        if (bc_git_last_logits(m, s, ids, n, NULL, 0, logits, &err) < 0 ||
            bc_git_last_logits(m, s, ids, n, rows, 2, two, &err) < 0 ||
            bc_git_yes_prob(m, s, ids, n, yes, no, &p, &err) < 0) {
            printf("# '%s': %s\n", q, err.msg);
            ok_full = ok_rows = ok_p = 0;
            continue;
        }
        int ok = 1;
        worst_full = fmaxf(worst_full, max_err(logits, ref + k * V, (size_t)V, &ok));
        if (!ok) printf("# '%s': logits out of tolerance\n", q), ok_full = 0;
        ok = 1;
        worst_rows = fmaxf(worst_rows, max_err(two, want, 2, &ok));
        ok_rows &= ok;
        // p_yes is a sigmoid of the logit difference: its error is at most a
        // quarter of the logits' (2e-5 of them at most), so 1e-5 absolute.
        if (!(fabs(p - p_ref) <= 1e-5)) ok_p = 0;
        worst_p = fmax(worst_p, fabs(p - p_ref));
    }
    CHECK(ok_full, "%zu questions: last-position logits [%d] (max err %.1e)", n_cases, V, worst_full);
    CHECK(ok_rows, "yes/no rows alone as the full logits (max err %.1e)", worst_rows);
    CHECK(ok_p, "p_yes = softmax[yes] / (softmax[yes] + softmax[no]) (max err %.1e)", worst_p);

    // Bad ids and lengths fail with a message.
    int32_t bad[2] = {2, (int32_t)V};
    CHECK(bc_git_last_logits(m, state[0], bad, 2, NULL, 0, logits, &err) < 0 &&
          strstr(err.msg, "outside the vocabulary"), "an id >= vocab_size is refused: %s", err.msg);
    int n_long = c->max_positions + 1;
    int32_t *long_ids = bc_calloc((size_t)n_long, sizeof *long_ids);
    CHECK(bc_git_last_logits(m, state[0], long_ids, n_long, NULL, 0, logits, &err) < 0 &&
          strstr(err.msg, "max_position_embeddings"), "too many ids are refused: %s", err.msg);
    CHECK(bc_git_last_logits(m, state[0], long_ids, 0, NULL, 0, logits, &err) < 0, "no ids are refused: %s", err.msg);
    free(long_ids);
    free(logits);
    free(ref);
    bc_git_image_state_free(state[0]);
    bc_git_image_state_free(state[1]);
}

// The same weights as a PyTorch pickle (pytorch_model.bin, what T2I-R1
// loads) give the same numbers, bit for bit.
static void test_pickle(const bc_git *m, const float *pixels, json_t *root) {
    bc_err err;
    bc_git *mb = bc_git_open(DIR "/bin", &err);
    if (!CHECK(mb != NULL, "pytorch_model.bin opens%s%s", mb ? "" : ": ", mb ? "" : err.msg)) return;
    json_t *cs = json_array_get(json_object_get(root, "cases"), 0);
    json_t *ja = json_object_get(cs, "ids");
    int n = (int)json_array_size(ja), V = bc_git_config_of(m)->vocab_size;
    int32_t ids[64];
    for (int i = 0; i < n && i < 64; i++) ids[i] = (int32_t)json_integer_value(json_array_get(ja, (size_t)i));
    bc_git_image_state *a = bc_git_encode_image(m, pixels), *b = bc_git_encode_image(mb, pixels);
    float *la = bc_malloc((size_t)V * sizeof(float)), *lb = bc_malloc((size_t)V * sizeof(float));
    CHECK(bc_git_last_logits(m, a, ids, n, NULL, 0, la, &err) == 0 &&
          bc_git_last_logits(mb, b, ids, n, NULL, 0, lb, &err) == 0 && memcmp(la, lb, (size_t)V * sizeof(float)) == 0,
          "pytorch_model.bin: the same logits as model.safetensors");
    free(la), free(lb);
    bc_git_image_state_free(a), bc_git_image_state_free(b);
    bc_git_free(mb);
}

// A CLIP directory, and a GIT config over weights that are not GIT's.
static void test_errors(void) {
    bc_err err;
    bc_git *m = bc_git_open("tests/golden/tiny-clip", &err);
    CHECK(!m && strstr(err.msg, "model_type") && strstr(err.msg, "git"), "a CLIP directory is refused: %s", err.msg);
    bc_git_free(m);
    char dir[] = "/tmp/bicot-git-XXXXXX";
    if (!mkdtemp(dir)) return;
    char *cfg = bc_path_join(dir, "config.json"), *st = bc_path_join(dir, "model.safetensors");
    char *src = realpath("tests/golden/tiny-clip/model.safetensors", NULL);
    size_t len;
    uint8_t *text = fixture_bytes(MODEL, "config.json", &len);
    if (text && src && bc_write_file_atomic(cfg, text, len, &err) == 0 && symlink(src, st) == 0) {
        m = bc_git_open(dir, &err);
        CHECK(!m && strstr(err.msg, "git.image_encoder.vision_model."), "missing GIT tensors are named: %s", err.msg);
        bc_git_free(m);
    }
    unlink(st), unlink(cfg), rmdir(dir);
    free(text), free(src), free(cfg), free(st);
}

int main(void) {
    bc_err err;
    bc_git *m = bc_git_open(MODEL, &err);
    if (!CHECK(m != NULL, "tiny GIT opens%s%s", m ? "" : ": ", m ? "" : err.msg)) return check_done();
    const bc_git_config *c = bc_git_config_of(m);
    // config.json leaves the vision activation and eps to GitVisionConfig's defaults.
    CHECK(c->vision.vision.quick_gelu == 1 && fabsf(c->vision.vision.eps - 1e-5f) < 1e-12f,
          "vision tower: GitVisionConfig's defaults quick_gelu, eps 1e-5");
    CHECK(c->image_tokens == 17 && c->vision.image_size == 32 && c->vision.patch_size == 8,
          "vision tower: 32 px, patch 8, 17 tokens");
    CHECK(c->layers == 2 && c->hidden == 32 && c->heads == 4 && c->quick_gelu == 0 && c->eps == 1e-12f,
          "text decoder: 2 layers, 32 wide, 4 heads, gelu, eps 1e-12");

    json_error_t je;
    json_t *root = json_load_file(DIR "/cases.json", 0, &je);
    int S = c->vision.image_size;
    float *pixels = read_f32("pixels.f32", (size_t)2 * 3 * S * S);
    if (CHECK(root && pixels, "cases.json and pixels.f32 read")) {
        CHECK(json_integer_value(json_object_get(root, "vocab_size")) == c->vocab_size, "vocab size as the reference");
        test_preprocess(S, pixels);
        test_image_features(m, pixels);
        test_cases(m, pixels, root);
        test_pickle(m, pixels, root);
    }
    free(pixels);
    json_decref(root);
    bc_git_free(m);
    test_errors();
    return check_done();
}
