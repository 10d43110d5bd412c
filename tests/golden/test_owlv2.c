// lib/nn/owlv2.c against transformers' Owlv2ForObjectDetection on the tiny
// random model of tests/golden/make_owlv2.py (bf16 weights, float32 compute
// on both sides), and lib/nn/owlv2_preprocess.c against
// Owlv2ImageProcessorPil (scipy gaussian_filter + zoom).
// Tolerances |ours − ref| ≤ atol + rtol·|ref|, per tensor below.
#include <jansson.h>

#include "check.h"
#include "io/image.h"
#include "nn/owlv2.h"

#define DIR "tests/golden/owlv2/"

// Reads n float32 values of DIR name; NULL (after a "#" line) when the size differs.
static float *ref_f32(const char *name, size_t n) {
    size_t len;
    float *v = fixture_bytes(DIR, name, &len);
    if (v && len != n * sizeof(float)) {
        printf("# %s: %zu bytes, expected %zu\n", name, len, n * sizeof(float));
        free(v);
        v = NULL;
    }
    return v;
}

// Compares n values; prints and checks the worst excess over the tolerance.
static void compare(const char *what, const float *got, const float *want, size_t n, double atol, double rtol) {
    if (!CHECK(want != NULL, "%s: reference present", what)) return;
    double worst = 0, worst_excess = -1;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        double excess = d - (atol + rtol * fabs(want[i]));
        if (!(d <= worst)) worst = d;  // NaN sticks
        if (!(excess <= worst_excess)) worst_excess = excess, at = i;
    }
    CHECK(worst_excess <= 0, "%s: %zu values within %.0e + %.0e·|ref| (max error %.2e)", what, n, atol, rtol, worst);
    if (worst_excess > 0) printf("#   worst at %zu: got %.8g want %.8g\n", at, got[at], want[at]);
}

int main(void) {
    json_error_t je;
    json_t *cases = json_load_file(DIR "cases.json", 0, &je);
    if (!CHECK(cases != NULL, "cases.json loads")) return check_done();
    bc_err err;
    bc_owlv2 *m = bc_owlv2_open(DIR "model", &err);
    if (!CHECK(m != NULL, "the tiny Owlv2ForObjectDetection opens")) {
        printf("# %s\n", err.msg);
        return check_done();
    }
    const bc_owlv2_config *c = bc_owlv2_config_of(m);
    CHECK(c->image_size == 48 && c->patch_size == 8 && c->grid == 6 && c->vision_width == 32 && c->embed_dim == 24 &&
              c->context_length == 16,
          "config: 48 px, patch 8, 6x6 grid, width 32, embed 24, 16 text positions");
    int S = c->image_size, n = c->grid * c->grid, W = c->vision_width, E = c->embed_dim, L = c->context_length;

    // queries: ids as Owlv2Processor makes them (pad 0 to 16), normalised embeddings
    json_t *queries = json_object_get(cases, "queries"), *ids_ref = json_object_get(cases, "ids");
    int nq = (int)json_array_size(queries);
    float *qemb = bc_malloc((size_t)nq * E * sizeof *qemb);  // [nq, E]
    int ids_ok = 1, query_ok = 1;
    for (int q = 0; q < nq; q++) {
        int32_t ids[16];
        if (bc_owlv2_query_text(m, json_string_value(json_array_get(queries, q)), ids, qemb + (size_t)q * E, &err) < 0) {
            printf("# query %d: %s\n", q, err.msg);
            query_ok = 0;
            continue;
        }
        for (int i = 0; i < L; i++)
            if (ids[i] != json_integer_value(json_array_get(json_array_get(ids_ref, q), i))) ids_ok = 0;
    }
    CHECK(query_ok && ids_ok, "%d queries tokenize to the processor's ids (padded with 0)", nq);
    // text tower in float32 on bf16 weights on both sides: summation order only (1.8e-7 seen)
    float *text_ref = ref_f32("text_embeds.f32", (size_t)nq * E);
    compare("text_embeds", qemb, text_ref, (size_t)nq * E, 1e-5, 1e-5);
    free(text_ref);

    const char *names[] = {"wide", "square", "tall"};
    float *pixels = bc_malloc((size_t)3 * S * S * sizeof *pixels);
    float *logits = bc_malloc((size_t)n * nq * sizeof *logits);
    char name[64];
    for (int k = 0; k < 3; k++) {
        json_t *info = json_object_get(json_object_get(cases, "images"), names[k]);
        size_t len;
        snprintf(name, sizeof name, "%s.png", names[k]);
        uint8_t *png = fixture_bytes(DIR, name, &len);
        bc_image img;
        if (!CHECK(png && bc_image_decode(png, len, &img, &err) == 0, "%s: PNG decodes", name)) continue;
        free(png);
        int w = img.w, h = img.h;
        // preprocessing: scipy computes in double and stores float32 as we do,
        // so values agree to the bit but for double-rounding ties (1.2e-7 = one
        // float32 ulp seen once); 1e-5 leaves room for another libm's exp()
        bc_owlv2_preprocess(m, img.rgb, w, h, pixels);
        snprintf(name, sizeof name, "%s.pixels.f32", names[k]);
        float *ref = ref_f32(name, (size_t)3 * S * S);
        char what[96];
        snprintf(what, sizeof what, "%s (%dx%d): preprocessing", names[k], w, h);
        compare(what, pixels, ref, (size_t)3 * S * S, 1e-5, 0);
        bc_image_free(&img);
        if (!ref) continue;
        // the model on the reference pixels, so that each stage is judged alone
        bc_owlv2_image *im = bc_owlv2_encode_image(m, ref, 1);
        free(ref);
        struct {
            const char *suffix;
            const float *got;
            size_t count;
            double atol, rtol;
        } outs[] = {
            // two float32 vision towers (2 layers) + LayerNorms of O(1) values:
            // summation order differs (max 3.0e-6 seen)
            {"embeds", im->embeds, (size_t)n * W, 1e-4, 1e-4},
            // sigmoid outputs in [0, 1] (1.8e-7 seen)
            {"boxes", im->boxes, (size_t)n * 4, 1e-5, 1e-4},
            // logits of O(1) (5.7e-7 seen)
            {"objectness", im->objectness, (size_t)n, 1e-4, 1e-4},
            // unit vectors (4.6e-7 seen)
            {"class", im->class_emb, (size_t)n * E, 1e-5, 1e-4},
        };
        for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
            snprintf(name, sizeof name, "%s.%s.f32", names[k], outs[o].suffix);
            float *want = ref_f32(name, outs[o].count);
            snprintf(what, sizeof what, "%s: %s", names[k], outs[o].suffix);
            compare(what, outs[o].got, want, outs[o].count, outs[o].atol, outs[o].rtol);
            free(want);
        }
        bc_owlv2_logits(im, qemb, nq, logits);
        snprintf(name, sizeof name, "%s.logits.f32", names[k]);
        float *want = ref_f32(name, (size_t)n * nq);
        // (cos + shift)·scale of O(1..10) (3.8e-6 seen)
        snprintf(what, sizeof what, "%s: logits [%d, %d]", names[k], n, nq);
        compare(what, logits, want, (size_t)n * nq, 1e-4, 1e-4);
        free(want);

        // post_process_object_detection(threshold, target_sizes=[(h, w)]):
        // score = sigmoid(max_q logit), label = argmax, xyxy × max(h, w)
        json_t *pp = json_object_get(info, "post_process");
        json_t *scores = json_object_get(pp, "scores"), *labels = json_object_get(pp, "labels"),
               *boxes = json_object_get(pp, "boxes");
        double thr = json_number_value(json_object_get(cases, "threshold"));
        size_t kept = 0;
        int labels_ok = 1;
        double score_err = 0, box_err = 0;
        float side = (float)(w > h ? w : h);
        for (int p = 0; p < n; p++) {
            int best = 0;
            for (int q = 1; q < nq; q++)
                if (logits[(size_t)p * nq + q] > logits[(size_t)p * nq + best]) best = q;
            float s = 1.0f / (1.0f + expf(-logits[(size_t)p * nq + best]));
            if (!(s > thr)) continue;
            if (kept < json_array_size(scores)) {
                if (best != json_integer_value(json_array_get(labels, kept))) labels_ok = 0;
                score_err = fmax(score_err, fabs(s - json_number_value(json_array_get(scores, kept))));
                const float *b = im->boxes + (size_t)p * 4;
                float xyxy[4] = {(b[0] - b[2] / 2) * side, (b[1] - b[3] / 2) * side, (b[0] + b[2] / 2) * side,
                                 (b[1] + b[3] / 2) * side};
                for (int i = 0; i < 4; i++)
                    box_err = fmax(box_err, fabs(xyxy[i] - json_number_value(json_array_get(json_array_get(boxes, kept), i))));
            }
            kept++;
        }
        CHECK(kept == json_array_size(scores) && labels_ok, "%s: post-processing keeps the same %zu boxes, same labels",
              names[k], kept);
        // sigmoid of the logits above (6e-7 seen); boxes in pixels of images
        // up to 100 px (1.5e-5 px seen)
        CHECK(score_err < 1e-5 && box_err < 1e-2, "%s: post-processed scores (max error %.1e) and xyxy boxes (%.1e px)",
              names[k], score_err, box_err);
        bc_owlv2_image_free(im);
    }

    // the resize alone: same size is the identity (σ 0, zoom 1)
    float src[5 * 3 * 2], dst[5 * 3 * 2];
    for (int i = 0; i < 30; i++) src[i] = (float)i / 7.0f;
    bc_owlv2_resize(src, 5, 3, 2, 5, 3, dst);
    CHECK(memcmp(src, dst, sizeof src) == 0, "resize to the same size is the identity");

    // the same weights as a PyTorch pickle (bin/pytorch_model.bin): the same
    // image outputs, bit for bit
    bc_owlv2 *mb = bc_owlv2_open(DIR "bin", &err);
    if (CHECK(mb != NULL, "bin/pytorch_model.bin opens%s%s", mb ? "" : ": ", mb ? "" : err.msg)) {
        float *ref = ref_f32("square.pixels.f32", (size_t)3 * S * S);
        bc_owlv2_image *a = ref ? bc_owlv2_encode_image(m, ref, 1) : NULL, *b = ref ? bc_owlv2_encode_image(mb, ref, 1) : NULL;
        CHECK(a && b && memcmp(a->boxes, b->boxes, (size_t)n * 4 * sizeof(float)) == 0 &&
                  memcmp(a->class_emb, b->class_emb, (size_t)n * E * sizeof(float)) == 0 &&
                  memcmp(a->objectness, b->objectness, (size_t)n * sizeof(float)) == 0,
              "pytorch_model.bin: the same boxes, class embeddings and objectness as model.safetensors");
        bc_owlv2_image_free(a), bc_owlv2_image_free(b);
        free(ref);
        bc_owlv2_free(mb);
    }

    // a CLIP directory is refused with a message saying so
    bc_owlv2 *bad = bc_owlv2_open("tests/golden/tiny-clip", &err);
    CHECK(bad == NULL, "a CLIPModel directory is refused");
    if (!bad) CHECK_CONTAINS(err.msg, "not an OWLv2 model", "and the message says why");
    bc_owlv2_free(bad);

    free(pixels);
    free(logits);
    free(qemb);
    bc_owlv2_free(m);
    json_decref(cases);
    return check_done();
}
