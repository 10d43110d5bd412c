// gen-tokens, plan-cot and vq-decode end to end on tests/golden/tiny-janus,
// against tests/golden/tiny-janus-ref (make_tiny_janus.py: transformers'
// modules in float32, the same templates, tokenizer and per-record RNG
// stream as ours). The programs in bin/ run as a user runs them.
//
// Tolerances: tokens, ids and the decoded text must be equal; log-probs
// within 1e-4 (float32 logits against the float32 reference: 1.4e-6 to
// 1.1e-5 seen); pixels within 1 level (truncation of values that fall on an
// integer boundary in one implementation and not the other).
#include <jansson.h>
#include <sys/stat.h>

#include "check.h"
#include "io/stream.h"
#include "util.h"

#define MODEL "tests/golden/tiny-janus"
#define REF "tests/golden/tiny-janus-ref/"

static char tmpdir[] = "/tmp/bicot-generate-XXXXXX";

// Writes records {id, prompt[, cot]} of a run to a msgpack file.
static void write_inputs(const char *path, json_t *records) {
    FILE *f = fopen(path, "wb");
    bc_writer *w = bc_writer_new(f, 0);
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) {
        bc_record rec;
        bc_record_init(&rec);
        const char *keys[] = {"id", "prompt", "cot"};
        for (int k = 0; k < 3; k++) {
            json_t *v = json_object_get(r, keys[k]);
            if (v) bc_record_set(&rec, keys[k], bc_obj_cstr(&rec, json_string_value(v)));
        }
        bc_writer_put(w, &rec, NULL);
        bc_record_free(&rec);
    }
    bc_writer_close(w, NULL);
    fclose(f);
}

// Runs a shell command; reads its output stream into recs (max n).
static size_t run(const char *cmd, const char *out_path, bc_record *recs, size_t n) {
    int rc = system(cmd);
    if (!CHECK(rc == 0, "runs: %s", cmd)) return 0;
    FILE *f = fopen(out_path, "rb");
    bc_reader *r = bc_reader_new(f, out_path);
    size_t got = 0;
    bc_err err;
    while (got < n && bc_reader_next(r, &recs[got], &err) > 0) got++;
    bc_reader_free(r);
    fclose(f);
    return got;
}

static double max_diff(const float *ours, json_t *ref, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(ours[i] - json_number_value(json_array_get(ref, i)));
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

static int ints_equal(const int32_t *ours, size_t n, json_t *ref) {
    if (n != json_array_size(ref)) return 0;
    for (size_t i = 0; i < n; i++)
        if (ours[i] != json_integer_value(json_array_get(ref, i))) return 0;
    return 1;
}

static void test_gen_tokens(void) {
    json_error_t je;
    json_t *root = json_load_file(REF "gen-tokens.json", 0, &je);
    if (!CHECK(root != NULL, "gen-tokens.json loads")) return;
    size_t ri;
    json_t *run_ref;
    json_array_foreach(json_object_get(root, "runs"), ri, run_ref) {
        json_t *o = json_object_get(run_ref, "options"), *records = json_object_get(run_ref, "records");
        char in[300], out[300], cmd[2048];
        snprintf(in, sizeof in, "%s/gen-in-%zu.msgpack", tmpdir, ri);
        snprintf(out, sizeof out, "%s/gen-out-%zu.msgpack", tmpdir, ri);
        write_inputs(in, records);
        // odd batch and thread counts: results must not depend on them
        snprintf(cmd, sizeof cmd,
                 "bin/gen-tokens --model " MODEL " --template %s --seed %lld --cfg %g --temperature %g --top-k %lld "
                 "--top-p %g --batch %d --threads %d < %s > %s",
                 json_string_value(json_object_get(o, "template")), json_integer_value(json_object_get(o, "seed")),
                 json_number_value(json_object_get(o, "cfg")), json_number_value(json_object_get(o, "temperature")),
                 json_integer_value(json_object_get(o, "top_k")), json_number_value(json_object_get(o, "top_p")),
                 (int)ri % 3 + 1, (int)ri % 2 + 1, in, out);
        bc_record recs[16];
        size_t n = run(cmd, out, recs, 16);
        CHECK(n == json_array_size(records), "gen-tokens run %zu: %zu records out", ri, n);
        for (size_t i = 0; i < n; i++) {
            json_t *want = json_array_get(records, i);
            int32_t *tokens;
            float *logp;
            size_t nt, nl;
            bc_err err;
            int ok = bc_get_int_array(&recs[i], "image_tokens", &tokens, &nt, &err) == 0 &&
                     bc_get_float_array(&recs[i], "image_logp", &logp, &nl, &err) == 0;
            if (!CHECK(ok, "run %zu record %zu has image_tokens and image_logp", ri, i)) continue;
            CHECK(ints_equal(tokens, nt, json_object_get(want, "image_tokens")),
                  "run %zu %s: the %zu image tokens equal the reference's", ri,
                  json_string_value(json_object_get(want, "id")), nt);
            double d = max_diff(logp, json_object_get(want, "image_logp"), nl);
            CHECK(d < 1e-4, "run %zu %s: image_logp within 1e-4 (max %.1e)", ri,
                  json_string_value(json_object_get(want, "id")), d);
            free(tokens);
            free(logp);
            bc_record_free(&recs[i]);
        }
        // run 0 again with --logp cfg, and through vq-decode to pixels
        if (ri == 0) {
            char pix[300];
            snprintf(pix, sizeof pix, "%s/pixels", tmpdir);
            snprintf(cmd, sizeof cmd,
                     "bin/gen-tokens --model " MODEL " --logp cfg < %s | bin/vq-decode --model " MODEL
                     " --pixels-dir %s > %s",
                     in, pix, out);
            n = run(cmd, out, recs, 16);
            for (size_t i = 0; i < n; i++) {
                json_t *want = json_array_get(records, i);
                const char *id = json_string_value(json_object_get(want, "id"));
                float *logp;
                size_t nl;
                bc_err err;
                if (bc_get_float_array(&recs[i], "image_logp", &logp, &nl, &err) == 0) {
                    double d = max_diff(logp, json_object_get(want, "image_logp_cfg"), nl);
                    CHECK(d < 1e-4, "%s: --logp cfg gives the sampled distribution's log-probs (max %.1e)", id, d);
                    free(logp);
                }
                bc_record_free(&recs[i]);
                json_t *px = json_object_get(want, "pixels");
                if (!px) continue;
                char path[400];
                snprintf(path, sizeof path, "%s/%s.rgb", pix, id);
                uint8_t *data;
                size_t len;
                if (!CHECK(bc_read_file(path, &data, &len, &err) == 0 && len == json_array_size(px),
                           "%s: vq-decode wrote %zu pixel bytes", id, json_array_size(px)))
                    continue;
                int worst = 0, off = 0;
                for (size_t k = 0; k < len; k++) {
                    int dd = abs((int)data[k] - (int)json_integer_value(json_array_get(px, k)));
                    if (dd > worst) worst = dd;
                    off += dd != 0;
                }
                CHECK(worst <= 1, "%s: pixels of the whole pipeline within 1 level of the reference (%d of %zu off)",
                      id, off, len);
                free(data);
            }
        }
    }
    json_decref(root);
}

static void test_plan_cot(void) {
    json_error_t je;
    json_t *root = json_load_file(REF "plan-cot.json", 0, &je);
    if (!CHECK(root != NULL, "plan-cot.json loads")) return;
    size_t ri;
    json_t *run_ref;
    json_array_foreach(json_object_get(root, "runs"), ri, run_ref) {
        json_t *o = json_object_get(run_ref, "options"), *records = json_object_get(run_ref, "records");
        char in[300], out[300], cmd[2048];
        snprintf(in, sizeof in, "%s/plan-in-%zu.msgpack", tmpdir, ri);
        snprintf(out, sizeof out, "%s/plan-out-%zu.msgpack", tmpdir, ri);
        write_inputs(in, records);
        snprintf(cmd, sizeof cmd,
                 "bin/plan-cot --model " MODEL " --template %s --seed %lld -n %lld --temperature %g --top-k %lld "
                 "--top-p %g --max-tokens %lld --threads %d < %s > %s",
                 json_string_value(json_object_get(o, "template")), json_integer_value(json_object_get(o, "seed")),
                 json_integer_value(json_object_get(o, "n")), json_number_value(json_object_get(o, "temperature")),
                 json_integer_value(json_object_get(o, "top_k")), json_number_value(json_object_get(o, "top_p")),
                 json_integer_value(json_object_get(o, "max_new_tokens")), (int)ri % 2 + 1, in, out);
        bc_record recs[32];
        size_t n = run(cmd, out, recs, 32), k = 0;
        size_t i;
        json_t *prompt;
        json_array_foreach(records, i, prompt) {
            size_t s;
            json_t *want;
            json_array_foreach(json_object_get(prompt, "samples"), s, want) {
                const char *id = json_string_value(json_object_get(want, "id"));
                if (!CHECK(k < n, "plan-cot run %zu: a record for %s", ri, id)) continue;
                bc_record *r = &recs[k++];
                char got_id[128];
                bc_record_id(r, got_id, sizeof got_id);
                int32_t *ids;
                float *logp;
                size_t ni, nl;
                const char *cot;
                size_t cot_len;
                bc_err err;
                int ok = bc_get_int_array(r, "cot_ids", &ids, &ni, &err) == 0 &&
                         bc_get_float_array(r, "cot_logp", &logp, &nl, &err) == 0 &&
                         bc_get_str(r, "cot", &cot, &cot_len, &err) == 0;
                if (!CHECK(ok && strcmp(got_id, id) == 0, "run %zu: record %s in order with its keys", ri, id)) continue;
                CHECK(ints_equal(ids, ni, json_object_get(want, "cot_ids")), "run %zu %s: %zu cot ids equal", ri, id, ni);
                double d = max_diff(logp, json_object_get(want, "cot_logp"), nl);
                CHECK(d < 1e-4, "run %zu %s: cot_logp within 1e-4 (max %.1e)", ri, id, d);
                const char *want_cot = json_string_value(json_object_get(want, "cot"));
                CHECK(cot_len == strlen(want_cot) && memcmp(cot, want_cot, cot_len) == 0,
                      "run %zu %s: the decoded cot equals the tokenizers library's", ri, id);
                const msgpack_object *g = bc_record_get(r, "group");
                CHECK(g && bc_obj_is_str(g, json_string_value(json_object_get(prompt, "id"))), "run %zu %s: group", ri, id);
                free(ids), free(logp);
            }
        }
        CHECK(k == n, "plan-cot run %zu: %zu records, as many as the reference's samples", ri, n);
        for (size_t j = 0; j < n; j++) bc_record_free(&recs[j]);
    }
    json_decref(root);
}

int main(void) {
    if (!mkdtemp(tmpdir)) return 1;
    test_gen_tokens();
    test_plan_cot();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return check_done();
}
