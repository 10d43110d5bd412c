// score-hps end to end on tests/golden/tiny-clip against the references of
// make_score_hps.py: transformers (CLIPProcessor + CLIPModel) for a
// CLIPModel directory, open_clip's tokenizer + HPSv2's transform for an
// open_clip checkpoint. Tolerance: 1e-5 on the cosine (float32 towers on
// bf16 weights against the float32 reference: about 2e-7 seen).
#include <jansson.h>

#include "check.h"
#include "io/stream.h"

#define REF "tests/golden/tiny-clip-ref/"

static char tmpdir[] = "/tmp/bicot-score-XXXXXX";

// One record per (image, prompt) pair, image-major.
static int write_inputs(const char *path, json_t *images, json_t *prompts) {
    FILE *f = fopen(path, "wb");
    bc_writer *w = bc_writer_new(f, 0);
    size_t i, j;
    json_t *im, *pr;
    json_array_foreach(images, i, im) {
        size_t len;
        uint8_t *png = fixture_bytes(REF, json_string_value(im), &len);
        if (!png) return -1;
        json_array_foreach(prompts, j, pr) {
            bc_record rec;
            bc_record_init(&rec);
            char id[64];
            snprintf(id, sizeof id, "i%zu-p%zu", i, j);
            bc_record_set(&rec, "id", bc_obj_cstr(&rec, id));
            bc_record_set(&rec, "prompt", bc_obj_cstr(&rec, json_string_value(pr)));
            bc_record_set(&rec, "image", bc_obj_bin(&rec, png, len));
            bc_writer_put(w, &rec, NULL);
            bc_record_free(&rec);
        }
        free(png);
    }
    bc_writer_close(w, NULL);
    fclose(f);
    return 0;
}

// Runs cmd on the inputs and compares rewards.hps with want[image][prompt].
static void check_path(const char *what, const char *cmd, const char *in, json_t *want, size_t n_prompts) {
    char full[2048], out[300];
    snprintf(out, sizeof out, "%s/out.msgpack", tmpdir);
    snprintf(full, sizeof full, "%s < %s > %s", cmd, in, out);
    if (!CHECK(system(full) == 0, "%s: runs", what)) return;
    FILE *f = fopen(out, "rb");
    bc_reader *r = bc_reader_new(f, out);
    bc_record rec;
    bc_err err;
    size_t k = 0, n = 0;
    double worst = 0;
    while (bc_reader_next(r, &rec, &err) > 0) {
        const msgpack_object *rw = bc_record_get(&rec, "rewards");
        double ref = json_number_value(json_array_get(json_array_get(want, k / n_prompts), k % n_prompts));
        if (rw && rw->type == MSGPACK_OBJECT_MAP && rw->via.map.size == 1 && bc_obj_is_str(&rw->via.map.ptr[0].key, "hps")) {
            double d = fabs(rw->via.map.ptr[0].val.via.f64 - ref);
            if (!(d <= worst)) worst = d;
            n++;
        }
        k++;
        bc_record_free(&rec);
    }
    bc_reader_free(r);
    fclose(f);
    CHECK(n == k && k == json_array_size(want) * n_prompts, "%s: rewards.hps on all %zu records", what, k);
    CHECK(worst < 1e-5, "%s: within 1e-5 of the reference (max %.1e)", what, worst);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    json_error_t je;
    json_t *root = json_load_file(REF "scores.json", 0, &je);
    if (!CHECK(root != NULL, "scores.json loads")) return check_done();
    json_t *prompts = json_object_get(root, "prompts");
    char in[300];
    snprintf(in, sizeof in, "%s/in.msgpack", tmpdir);
    if (!CHECK(write_inputs(in, json_object_get(root, "images"), prompts) == 0, "inputs written")) return check_done();
    size_t np = json_array_size(prompts);
    json_t *hf = json_object_get(root, "hf"), *hps = json_object_get(root, "hps");
    check_path("CLIPModel directory (CLIPImageProcessor, CLIPTokenizer), cosine", "bin/score-hps --model tests/golden/tiny-clip",
               in, json_object_get(hf, "cosine"), np);
    check_path("CLIPModel directory, --score logit", "bin/score-hps --model tests/golden/tiny-clip --score logit", in,
               json_object_get(hf, "logit"), np);
    check_path("open_clip checkpoint, HPSv2 transform and tokenizer",
               "bin/score-hps --model tests/golden/tiny-clip/open_clip.pt --tokenizer "
               "tests/golden/clip_tokenizer/bpe_simple_vocab_reduced.txt --preprocess hps --vision-heads 4 --text-heads 3",
               in, json_object_get(hps, "cosine"), np);
    // a record without an image passes on with an error under --keep-going
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "printf '{\"id\":\"x\",\"prompt\":\"p\"}\\n' | bin/bicot-json | bin/score-hps --model tests/golden/tiny-clip "
             "--keep-going 2>%s/err | bin/bicot-json -r > %s/out.jsonl; test $? -eq 0",
             tmpdir, tmpdir);
    CHECK(system(cmd) == 0, "a record without image runs through under --keep-going");
    size_t len;
    char *err = fixture_bytes(tmpdir, "err", &len);
    CHECK(err && strstr(err, "score-hps: record 0 (id \"x\"): missing key 'image'"), "and the message names the key");
    free(err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    json_decref(root);
    if (system(cmd) != 0) return 1;
    return check_done();
}
