// test_vqdec.c: the VQ-16 decoder against transformers' JanusVQVAE on the
// tiny random models of tests/golden/make_vqdec.py (tests/golden/vqdec/):
// float output and pixels for several configs and grids, both tensor
// namings (safetensors and a torch pickle), f32 and bf16-stored weights,
// and the errors for bad input.
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "io/weights.h"
#include "nn/vqdec.h"
#include "util.h"

#define DIR "tests/golden/vqdec"

static void *read_all(const char *name, size_t *len) {
    return fixture_bytes(DIR, name, len);
}

// One case of cases.json: decode its tokens, compare with the reference.
static void check_case(json_t *cs, bc_vqdec_state *st) {
    const char *mname = json_string_value(json_object_get(cs, "model"));
    json_t *grid = json_object_get(cs, "grid"), *toks = json_object_get(cs, "tokens");
    int h = (int)json_integer_value(json_array_get(grid, 0)), w = (int)json_integer_value(json_array_get(grid, 1));
    size_t n = json_array_size(toks);
    int32_t *tokens = bc_malloc(n * sizeof *tokens);
    for (size_t i = 0; i < n; i++) tokens[i] = (int32_t)json_integer_value(json_array_get(toks, i));

    char *mdir = bc_path_join(DIR, mname);
    bc_err err;
    bc_vqdec *m = bc_vqdec_open(mdir, &err);
    if (!CHECK(m != NULL, "%s: model loads", mname)) printf("# %s\n", err.msg);
    free(mdir);
    size_t ref_len = 0, px_len = 0;
    float *ref = read_all(json_string_value(json_object_get(cs, "out")), &ref_len);           // [3, H, W]
    uint8_t *ref_px = read_all(json_string_value(json_object_get(cs, "pixels")), &px_len);   // [H, W, 3]
    if (!m || !ref || !ref_px) goto done;

    int H, W;
    bc_vqdec_out_size(m, h, w, &H, &W);
    size_t npx = (size_t)H * W;
    CHECK(ref_len == 3 * npx * sizeof(float) && px_len == 3 * npx, "%s %dx%d: output is 3x%dx%d", mname, h, w, H, W);
    if (ref_len != 3 * npx * sizeof(float) || px_len != 3 * npx) goto done;
    float *out = bc_malloc(3 * npx * sizeof(float));
    int rc = bc_vqdec_decode(m, st, tokens, n, h, w, out, &err);
    if (!CHECK(rc == 0, "%s %dx%d: decodes", mname, h, w)) printf("# %s\n", err.msg);

    // Float32 throughout, as the reference; the differences are summation
    // order (GEMM vs torch's conv kernels, double-accumulated GroupNorm
    // statistics) compounding over ~20 layers: a few 1e-6 relative seen,
    // tolerance 1e-5 + 1e-5·|ref| (values are O(1)).
    double atol = 1e-5, rtol = 1e-5, max_err = 0;
    size_t bad = 0;
    for (size_t i = 0; i < 3 * npx; i++) {
        double e = fabs((double)out[i] - ref[i]);
        if (!(e <= atol + rtol * fabs(ref[i]))) bad++;
        if (!(e <= max_err)) max_err = e;
    }
    CHECK(bad == 0, "%s %dx%d: float output within %.0e + %.0e|ref| (max |err| %.2e, %zu outside)", mname, h, w,
          atol, rtol, max_err, bad);

    // Pixels: exact, except one level where the reference float lies within
    // 1e-4 of a truncation boundary (x where (x + 1)/2·255 is an integer),
    // which the float tolerance above can legitimately straddle.
    uint8_t *px = bc_malloc(3 * npx);
    bc_vqdec_to_rgb(out, H, W, px);
    size_t exact = 0, boundary = 0, wrong = 0;
    for (size_t i = 0; i < npx; i++) {
        for (int ch = 0; ch < 3; ch++) {
            int got = px[i * 3 + ch], want = ref_px[i * 3 + ch];
            double v = ((double)ref[(size_t)ch * npx + i] + 1) / 2 * 255;
            double dist = fabs(v - nearbyint(v)) / 127.5;  // in units of x
            if (got == want) exact++;
            else if (abs(got - want) == 1 && dist <= 1e-4) boundary++;
            else wrong++;
        }
    }
    CHECK(wrong == 0, "%s %dx%d: pixels: %zu exact, %zu one level off at a rounding boundary, %zu wrong", mname, h, w,
          exact, boundary, wrong);
    free(px);
    free(out);
done:
    bc_vqdec_free(m);
    free(ref);
    free(ref_px);
    free(tokens);
}

// The same bf16 weights in both namings decode to bit-identical images.
static void check_namings_agree(void) {
    bc_err err;
    bc_vqdec *a = bc_vqdec_open(DIR "/hf_bf16", &err), *b = bc_vqdec_open(DIR "/orig_bf16", &err);
    if (!CHECK(a && b, "both namings load")) {
        printf("# %s\n", err.msg);
    } else {
        int32_t tokens[12] = {0, 63, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
        int H, W;
        bc_vqdec_out_size(a, 3, 4, &H, &W);
        float *oa = bc_malloc(3 * (size_t)H * W * sizeof(float)), *ob = bc_malloc(3 * (size_t)H * W * sizeof(float));
        bc_vqdec_state *s = bc_vqdec_state_new();
        int ra = bc_vqdec_decode(a, s, tokens, 12, 3, 4, oa, &err);
        int rb = bc_vqdec_decode(b, s, tokens, 12, 3, 4, ob, &err);
        CHECK(ra == 0 && rb == 0 && memcmp(oa, ob, 3 * (size_t)H * W * sizeof(float)) == 0,
              "transformers and original namings give identical 3x4-grid images (%dx%d)", H, W);
        bc_vqdec_state_free(s);
        free(oa);
        free(ob);
    }
    bc_vqdec_free(a);
    bc_vqdec_free(b);
}

static void check_errors(void) {
    bc_err err;
    bc_vqdec *m = bc_vqdec_open(DIR "/hf_f32", &err);
    if (!CHECK(m != NULL, "hf_f32 loads")) return;
    bc_vqdec_state *s = bc_vqdec_state_new();
    float out[3 * 8 * 8];
    int32_t tokens[6] = {1, 2, 3, 64, 5, 6};
    err.msg[0] = 0;
    CHECK(bc_vqdec_decode(m, s, tokens, 6, 2, 3, out, &err) < 0, "token 64 with a 64-code book fails");
    CHECK_CONTAINS(err.msg, "token 64 at index 3 is outside the codebook [0, 64)", "message names token and index");
    tokens[3] = -1;
    CHECK(bc_vqdec_decode(m, s, tokens, 6, 2, 3, out, &err) < 0, "token -1 fails");
    tokens[3] = 4;
    CHECK(bc_vqdec_decode(m, s, tokens, 5, 2, 3, out, &err) < 0, "5 tokens for a 2x3 grid fail");
    CHECK_CONTAINS(err.msg, "grid 2x3 needs 6 tokens, got 5", "message names grid and count");
    CHECK(bc_vqdec_decode(m, s, tokens, 6, 2, 3, out, &err) == 0, "the fixed record decodes");
    bc_vqdec_state_free(s);
    bc_vqdec_free(m);

    // A checkpoint missing one decoder tensor: copy every tensor but one.
    bc_weights *full = bc_weights_open(DIR "/hf_f32", &err);
    bc_config *cfg = bc_config_load(DIR "/hf_f32", &err);
    if (!CHECK(full && cfg, "hf_f32 weights and config open")) return;
    const char *drop = "model.vqmodel.decoder.up.1.block.1.conv2.bias";
    bc_weights *part = bc_weights_new("partial-checkpoint");
    for (size_t i = 0; i < bc_weights_count(full); i++) {
        const bc_tensor *t = bc_weights_at(full, i);
        if (strcmp(t->name, drop) != 0) bc_weights_add(part, t->name, t->dtype, t->ndim, t->shape, t->data, 0, &err);
    }
    bc_vqdec_config c;
    CHECK(bc_vqdec_config_read(cfg, &c, &err) == 0 && c.n_levels == 2 && c.num_res_blocks == 1 && c.codebook_size == 64,
          "vq_config read: 2 levels, 1+1 res blocks, 64 codes");
    m = bc_vqdec_new(part, &c, &err);
    CHECK(m == NULL, "a missing decoder tensor fails the load");
    CHECK_CONTAINS(err.msg, drop, "message names the missing tensor");
    bc_vqdec_free(m);
    // A wrong shape (the config claims 128 codes) names tensor and shapes.
    c.codebook_size = 128;
    m = bc_vqdec_new(full, &c, &err);
    CHECK(m == NULL, "a codebook of the wrong size fails the load");
    CHECK_CONTAINS(err.msg, "quantize.embedding.weight' in " DIR "/hf_f32: expected shape [128, 8], got [64, 8]",
                   "message names the tensor and both shapes");
    bc_vqdec_free(m);
    bc_weights_close(part);
    bc_weights_close(full);
    bc_config_free(cfg);

    // The original layout's config with no tiny-model keys means VQ-16.
    const char *orig = "{\"gen_vision_config\": {\"cls\": \"VQ-16\", \"params\": {\"image_token_size\": 16384, "
                       "\"n_embed\": 8}}}";
    cfg = bc_config_parse(orig, strlen(orig), "config.json", &err);
    if (cfg) {
        CHECK(bc_vqdec_config_read(cfg, &c, &err) == 0 && c.codebook_size == 16384 && c.base_channels == 128 &&
                  c.n_levels == 5 && c.channel_multiplier[4] == 4 && c.num_res_blocks == 2 && c.latent_channels == 256,
              "original config: the VQ-16 constants");
        bc_config_free(cfg);
    }
}

int main(void) {
    size_t len;
    char *text = read_all("cases.json", &len);
    json_error_t jerr;
    json_t *cases = text ? json_loadb(text, len, 0, &jerr) : NULL;
    if (!CHECK(json_is_array(cases), "cases.json parses")) return check_done();
    // One state for every case: it must grow and shrink across grids and models.
    bc_vqdec_state *st = bc_vqdec_state_new();
    for (size_t i = 0; i < json_array_size(cases); i++) check_case(json_array_get(cases, i), st);
    bc_vqdec_state_free(st);
    json_decref(cases);
    free(text);
    check_namings_agree();
    check_errors();
    return check_done();
}
