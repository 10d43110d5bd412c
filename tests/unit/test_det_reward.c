// The detector reward (lib/reward/det_reward.c) against T2I-R1's own reward
// code: tests/golden/det_reward/cases.json, made by
// tests/golden/make_det_reward.py, which runs reward_gdino.py's GDino.__call__
// on hand-made detection lists (mask 0 = T2I-R1) and gives hand-computed
// values for the fixed modes.
//
// Each case's query goes through the whole path a scorer takes: JSON ->
// record (lib/io/json.h) -> bc_reward_meta_read -> bc_det_query ->
// bc_det_phrases (checked against the script's list) -> bc_det_reward, for
// all 16 fix masks; the expected value of a mask is the case's value for
// mask & bits (the bits that change it), so a bit that moved another defect's
// numbers fails here.
//
// Tolerance 1e-6 on rewards: T2I-R1 computes centres, IoU and 0.1/IoU on
// float32 tensors and so do we, but torch's kernels may round in another
// order (reciprocal then multiply, vectorised sums): float32 rounding of a
// locality score / 2 is ~3e-8. Every other quantity (0.2 steps, 1/len
// weights) is a double sum in both. 1e-6 is far below the smallest reward
// step (0.2 · 1/8 · 0.2 = 0.005). NMS keep lists must match exactly.
#include <jansson.h>

#include "check.h"
#include "io/json.h"
#include "reward/det_reward.h"
#include "reward/meta.h"

#define CASES "tests/golden/det_reward/cases.json"

static double worst_error;

static void run_case(json_t *c) {
    const char *name = json_string_value(json_object_get(c, "name"));
    bc_record rec;
    bc_record_init(&rec);
    bc_err err;
    bc_reward_meta meta;
    if (!CHECK(bc_record_from_json(&rec, json_object_get(c, "query"), NULL, &err) == 0 &&
                   bc_reward_meta_read(&rec, &meta, &err) == 0,
               "%s: metadata reads", name)) {
        printf("#   %s\n", err.msg);
        bc_record_free(&rec);
        return;
    }
    bc_det_query q = bc_reward_meta_det_query(&meta);

    const char **phrases;
    int n_phrases = bc_det_phrases(&q, &phrases);
    json_t *want_phrases = json_object_get(c, "phrases");
    int phrases_ok = n_phrases == (int)json_array_size(want_phrases);
    for (int i = 0; phrases_ok && i < n_phrases; i++)
        phrases_ok = strcmp(phrases[i], json_string_value(json_array_get(want_phrases, i))) == 0;
    CHECK(phrases_ok, "%s: %d detector phrases", name, n_phrases);

    json_t *rows = json_object_get(c, "detections");
    int n = (int)json_array_size(rows);
    bc_detection *d = bc_malloc((size_t)(n ? n : 1) * sizeof *d);
    for (int k = 0; k < n; k++) {
        json_t *r = json_array_get(rows, k);
        d[k].cx = (float)json_number_value(json_array_get(r, 0));
        d[k].cy = (float)json_number_value(json_array_get(r, 1));
        d[k].w = (float)json_number_value(json_array_get(r, 2));
        d[k].h = (float)json_number_value(json_array_get(r, 3));
        d[k].score = (float)json_number_value(json_array_get(r, 4));
        d[k].phrase = (int)json_integer_value(json_array_get(r, 5));
    }

    int bits = (int)json_integer_value(json_object_get(c, "bits"));
    json_t *expect = json_object_get(c, "expect");
    int all_ok = 1;
    for (int mask = 0; mask < 16; mask++) {
        char key[8];
        snprintf(key, sizeof key, "%d", mask & bits);
        double want = json_number_value(json_object_get(expect, key));
        bc_det_options opt = bc_det_default_options();
        opt.fixes = mask;
        double got = bc_det_reward(&q, phrases, n_phrases, d, n, &opt);
        double e = fabs(got - want);
        if (!(e <= worst_error)) worst_error = e;
        if (!(e <= 1e-6)) {
            printf("#   %s, fixes %d: got %.9g, want %.9g\n", name, mask, got, want);
            all_ok = 0;
        }
    }
    json_t *raises = json_object_get(c, "t2i_r1_raises");
    char all_bits[8];
    snprintf(all_bits, sizeof all_bits, "%d", bits);
    CHECK(all_ok, "%s: T2I-R1 %.6g, fixed %.6g%s", name, json_number_value(json_object_get(expect, "0")),
          json_number_value(json_object_get(expect, all_bits)), raises ? " (T2I-R1 raises: we give 0)" : "");
    free(d);
    free(phrases);
    bc_reward_meta_free(&meta);
    bc_record_free(&rec);
}

static void run_nms(json_t *set, int index) {
    json_t *boxes = json_object_get(set, "boxes");
    int n = (int)json_array_size(boxes);
    bc_detection *d = bc_malloc((size_t)n * sizeof *d);
    int *keep = bc_malloc((size_t)n * sizeof *keep);
    for (int k = 0; k < n; k++) {
        json_t *r = json_array_get(boxes, k);
        d[k] = (bc_detection){(float)json_number_value(json_array_get(r, 0)), (float)json_number_value(json_array_get(r, 1)),
                              (float)json_number_value(json_array_get(r, 2)), (float)json_number_value(json_array_get(r, 3)),
                              (float)json_number_value(json_array_get(r, 4)), 0};
    }
    float iou = (float)json_number_value(json_object_get(set, "iou"));
    const char *keys[2] = {"xyxy_keep", "cxcywh_as_xyxy_keep"};
    for (int as_xyxy = 0; as_xyxy < 2; as_xyxy++) {
        json_t *want = json_object_get(set, keys[as_xyxy]);
        int kept = bc_det_nms(d, n, iou, as_xyxy, keep);
        int ok = kept == (int)json_array_size(want);
        for (int i = 0; ok && i < kept; i++) ok = keep[i] == (int)json_integer_value(json_array_get(want, i));
        CHECK(ok, "nms set %d, %s: %d kept of %d, same indexes in the same order", index, keys[as_xyxy], kept, n);
    }
    free(d);
    free(keep);
}

int main(void) {
    json_error_t jerr;
    json_t *root = json_load_file(CASES, 0, &jerr);
    if (!CHECK(root != NULL, "reads %s", CASES)) {
        printf("#   %s\n", jerr.text);
        return check_done();
    }
    json_t *c;
    size_t i;
    json_array_foreach(json_object_get(root, "cases"), i, c) run_case(c);
    CHECK(worst_error <= 1e-6, "max |ours - T2I-R1/hand| over every case and mask: %.3g (tolerance 1e-6)", worst_error);
    json_array_foreach(json_object_get(root, "nms"), i, c) run_nms(c, (int)i);
    json_decref(root);

    // The options.
    bc_det_options def = bc_det_default_options(), compat = bc_det_compat_options();
    CHECK(def.fixes == BC_DET_FIX_ALL && compat.fixes == 0, "defaults fix everything, compat nothing");
    CHECK(def.box_threshold == 0.3f && def.nms_iou == 0.5f && def.iou_threshold == 0.1f &&
              compat.box_threshold == 0.3f && compat.nms_iou == 0.5f && compat.iou_threshold == 0.1f,
          "T2I-R1's thresholds in both");

    // Out-of-range phrase indexes are ignored, not read.
    const char *nouns[] = {"cat"};
    bc_det_query q = {.task_type = "color", .nouns = nouns, .n_nouns = 1};
    bc_detection bad[] = {{.5f, .5f, .2f, .2f, .9f, 3}, {.5f, .5f, .2f, .2f, .9f, -1}};
    CHECK(bc_det_reward(&q, nouns, 1, bad, 2, &def) == 0 && bc_det_reward(&q, nouns, 1, bad, 2, &compat) == 0,
          "detections with out-of-range phrase indexes are ignored");
    // Phrases: nouns, then obj1/obj2 and numeracy names not among them.
    const char *names[] = {"cat", "dog"};
    const int counts[] = {2, 1};
    bc_det_query q2 = {.nouns = nouns, .n_nouns = 1, .obj1 = "dog", .obj2 = "cat", .locality = "near",
                       .num_names = names, .num_counts = counts, .n_num = 2};
    const char **ph;
    int np = bc_det_phrases(&q2, &ph);
    CHECK(np == 2 && strcmp(ph[0], "cat") == 0 && strcmp(ph[1], "dog") == 0, "phrases deduplicated in order");
    free(ph);
    bc_det_query empty = {0};
    CHECK(bc_det_phrases(&empty, &ph) == 0 && ph == NULL, "no phrases for an empty query");
    CHECK(bc_det_reward(&empty, NULL, 0, NULL, 0, &def) == 1, "no nouns: reward 1");
    return check_done();
}
