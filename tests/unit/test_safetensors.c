// test_safetensors.c: the safetensors reader and bc_weights_open against the
// fixtures of tests/golden/make_safetensors.py: every dtype byte for byte as
// torch wrote it, F16/BF16 -> f32 as torch converts, sharded models through
// their index, aliases, shape checks, and each broken file's message.
#include <jansson.h>
#include <stdint.h>

#include "check.h"
#include "io/safetensors.h"
#include "io/weights.h"

#define FIX "tests/golden/safetensors/"

// Hex text -> bytes (a fresh buffer, *n bytes).
static uint8_t *unhex(const char *s, size_t *n) {
    size_t len = strlen(s) / 2;
    uint8_t *out = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *n = len;
    return out;
}

static int shape_matches(const bc_tensor *t, const json_t *shape) {
    if (t->ndim != (int)json_array_size(shape)) return 0;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] != json_integer_value(json_array_get(shape, (size_t)d))) return 0;
    return 1;
}

// The float32 values equal the reference's bits, except that any NaN matches
// any NaN: torch turns an f16 NaN into 0x7fffffff, the hardware's conversion
// (which ours follows) into 0x7fc00000; NaN payloads carry no meaning here.
static int same_f32(const float *got, const uint8_t *want, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float w;
        memcpy(&w, want + 4 * i, 4);
        if (isnan(w) ? !isnan(got[i]) : memcmp(&got[i], &w, 4) != 0) return 0;
    }
    return 1;
}

// Every tensor of expected.json is in w with its dtype, shape and bytes; for
// floating dtypes bc_tensor_to_f32 gives torch's float32 bits.
static void check_against_reference(const bc_weights *w, const char *expected_path) {
    json_error_t jerr;
    json_t *ref = json_load_file(expected_path, 0, &jerr);
    if (!CHECK(ref != NULL, "%s loads", expected_path)) return;
    CHECK(bc_weights_count(w) == json_object_size(ref), "%s: %zu tensors, as the reference", expected_path,
          json_object_size(ref));
    const char *name;
    json_t *e;
    json_object_foreach(ref, name, e) {
        const bc_tensor *t = bc_weights_find(w, name);
        if (!CHECK(t != NULL, "tensor %s found", name)) continue;
        CHECK_STR(bc_dtype_name(t->dtype), json_string_value(json_object_get(e, "dtype")), "%s: dtype", name);
        CHECK(shape_matches(t, json_object_get(e, "shape")), "%s: shape", name);
        size_t n;
        uint8_t *bytes = unhex(json_string_value(json_object_get(e, "hex")), &n);
        CHECK(t->nbytes == n && (n == 0 || memcmp(t->data, bytes, n) == 0), "%s: %zu bytes equal the reference's",
              name, n);
        free(bytes);
        const char *f32_hex = json_string_value(json_object_get(e, "f32_hex"));
        if (f32_hex) {
            uint8_t *want = unhex(f32_hex, &n);
            float *got = malloc(t->numel * sizeof(float) + 1);
            bc_err err = {""};
            int rc = bc_tensor_to_f32(t, got, &err);
            CHECK(rc == 0 && n == t->numel * sizeof(float) && same_f32(got, want, t->numel),
                  "%s: to_f32 gives torch's float32 bits", name);
            free(got);
            free(want);
        }
    }
    json_decref(ref);
}

static void test_dtypes(void) {
    bc_err err = {""};
    bc_weights *w = bc_weights_open(FIX "dtypes", &err);
    if (!CHECK(w != NULL, "open the dtypes directory: %s", err.msg)) return;
    check_against_reference(w, FIX "dtypes/expected.json");
    CHECK(bc_weights_file_count(w) == 1, "one file");
    CHECK_STR(bc_weights_file(w, 0), FIX "dtypes/model.safetensors", "the file chosen");
    const bc_tensor *s = bc_weights_find(w, "f32.scalar");
    CHECK(s && s->ndim == 0 && s->numel == 1 && s->nbytes == 4, "0-d scalar: ndim 0, one element");
    const bc_tensor *e = bc_weights_find(w, "f32.empty");
    CHECK(e && e->ndim == 2 && e->numel == 0 && e->nbytes == 0, "empty tensor: [0, 3], no bytes");
    CHECK(bc_weights_find(w, "__metadata__") == NULL, "__metadata__ is not a tensor");
    float f;
    CHECK(bc_tensor_to_f32(bc_weights_find(w, "i32.mat"), &f, &err) < 0, "to_f32 refuses an integer tensor");
    CHECK_CONTAINS(err.msg, "not floating point", "  and says why");
    bc_weights_close(w);

    // The same file named directly.
    w = bc_weights_open(FIX "dtypes/model.safetensors", &err);
    if (CHECK(w != NULL, "open the file directly: %s", err.msg))
        check_against_reference(w, FIX "dtypes/expected.json");
    bc_weights_close(w);
}

static void test_sharded(void) {
    bc_err err = {""};
    bc_weights *w = bc_weights_open(FIX "sharded", &err);
    if (!CHECK(w != NULL, "open the sharded directory: %s", err.msg)) return;
    check_against_reference(w, FIX "sharded/expected.json");
    CHECK(bc_weights_file_count(w) == 2, "two shards read");
    const bc_tensor *t = bc_weights_find(w, "model.language_model.norm.weight");
    CHECK(t && t->file == 1, "norm.weight comes from the second shard");
    CHECK_STR(bc_weights_path(w), FIX "sharded", "path as given");

    // The original naming finds the transformers-port names through an alias.
    CHECK(bc_weights_find(w, "language_model.model.norm.weight") == NULL, "no alias yet: original name absent");
    bc_weights_alias(w, "language_model.model.", "model.language_model.");
    CHECK(bc_weights_find(w, "language_model.model.norm.weight") == t, "alias: original name finds the port's");
    CHECK(bc_weights_find(w, "language_model.model.nope") == NULL, "alias: absent stays absent");

    // bc_weights_need: shape checks and messages.
    int64_t want_ok[2] = {16, -1}, want_bad[2] = {8, 16};
    CHECK(bc_weights_need(w, "language_model.model.embed_tokens.weight", 2, want_ok, &err) != NULL,
          "need [16, -1] matches [16, 8]");
    CHECK(bc_weights_need(w, "model.language_model.embed_tokens.weight", 2, want_bad, &err) == NULL,
          "need [8, 16] fails on [16, 8]");
    CHECK_CONTAINS(err.msg, "expected shape [8, 16], got [16, 8]", "  message gives both shapes");
    CHECK(bc_weights_need(w, "model.language_model.embed_tokens.weight", 1, want_ok, &err) == NULL,
          "need with the wrong rank fails");
    CHECK(bc_weights_need(w, "lm_head.weight", 0, NULL, &err) == NULL, "need of an absent tensor fails");
    CHECK_CONTAINS(err.msg, "tensor 'lm_head.weight' not found in " FIX "sharded", "  message names it");
    bc_weights_close(w);

    // The index named directly.
    w = bc_weights_open(FIX "sharded/model.safetensors.index.json", &err);
    if (CHECK(w != NULL, "open the index json directly: %s", err.msg)) {
        check_against_reference(w, FIX "sharded/expected.json");
        CHECK_STR(bc_weights_file(w, 0), FIX "sharded/model-00001-of-00002.safetensors", "shard paths beside the index");
    }
    bc_weights_close(w);
}

// Each broken file fails to open with a message containing `want`.
static void test_bad_files(void) {
    static const struct {
        const char *path, *want;
    } cases[] = {
        {FIX "bad/truncated.safetensors",
         FIX "bad/truncated.safetensors: tensor 'u8.mat': data_offsets [713, 728] go past the end of the data "
             "section (725 bytes)"},
        {FIX "bad/short.safetensors", "file is 5 bytes, too short for the 8-byte header length"},
        {FIX "bad/header_past_end.safetensors", "header length 1048576 goes past the end of the file (13 bytes)"},
        {FIX "bad/offsets_past_end.safetensors",
         "offsets_past_end.safetensors: tensor 'a.weight': data_offsets [0, 400] go past the end of the data section "
         "(256 bytes)"},
        {FIX "bad/shape_mismatch.safetensors",
         "tensor 'w': data_offsets [0, 40] hold 40 bytes, but F32 shape of 12 elements needs 48"},
        {FIX "bad/unknown_dtype.safetensors", "tensor 'w': unknown dtype 'F8_E4M3'"},
        {FIX "bad/not_json.safetensors", "not_json.safetensors: header is not valid JSON"},
        {FIX "bad/offsets_reversed.safetensors", "tensor 'w': data_offsets [8, 4] end before they begin"},
        {FIX "bad/negative_shape.safetensors",
         "tensor 'w': shape[0] should be a non-negative integer, got integer -1"},
        {FIX "bad/header_array.safetensors", "header should be a JSON object, got an array"},
        {FIX "bad/no_dtype.safetensors", "tensor 'w': no 'dtype' in its header entry"},
        {FIX "bad_index",
         "model.safetensors.index.json: tensor 'y' is listed in shard 'model-00001-of-00001.safetensors', but that "
         "shard does not hold it"},
        {FIX "wrong_shard",
         "tensor 'x' is listed in shard 'model-00001-of-00002.safetensors', but was found in " FIX
         "wrong_shard/model-00002-of-00002.safetensors"},
        {FIX "missing_shard", FIX "missing_shard/model-00002-of-00002.safetensors: No such file or directory"},
        {FIX "janus_orig", "janus_orig: no weights found (looked for"},
        {FIX "janus_orig/config.json", "unknown weights format"},
        {FIX "does_not_exist", FIX "does_not_exist: No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_err err = {""};
        bc_weights *w = bc_weights_open(cases[i].path, &err);
        CHECK(w == NULL, "%s does not open", cases[i].path);
        CHECK_CONTAINS(err.msg, cases[i].want, "  message");
        bc_weights_close(w);
    }
    bc_err err = {""};
    CHECK(bc_weights_open(FIX "janus_orig", &err) == NULL && strstr(err.msg, "it holds: config.json"),
          "a directory without weights lists what it holds");
}

// bc_safetensors_parse on buffers built here: the cases the files above do not cover.
static int parse_buf(const char *header, size_t data_len, bc_err *err) {
    size_t hlen = strlen(header), len = 8 + hlen + data_len;
    uint8_t *buf = calloc(1, len);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    memcpy(buf + 8, header, hlen);
    bc_weights *w = bc_weights_new("mem");
    int file = bc_weights_add_file(w, "mem.safetensors", NULL, 0);
    int rc = bc_safetensors_parse(w, buf, len, file, err);
    bc_weights_close(w);
    free(buf);
    return rc;
}

static void test_parse_memory(void) {
    bc_err err = {""};
    CHECK(parse_buf("{}", 0, &err) == 0, "an empty header is a file with no tensors");
    CHECK(parse_buf("{\"__metadata__\":{\"a\":\"b\"},\"x\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,4]}}  ",
                    4, &err) == 0,
          "metadata skipped, trailing spaces in the header accepted: %s", err.msg);
    CHECK(parse_buf("{\"x\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, &err) < 0,
          "nine dimensions refused");
    CHECK_CONTAINS(err.msg, "9 dimensions (at most 8 supported)", "  message");
    CHECK(parse_buf("{\"x\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
                    &err) < 0,
          "an overflowing shape refused");
    CHECK_CONTAINS(err.msg, "overflows", "  message");
    CHECK(parse_buf("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                    "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                    1, &err) < 0,
          "a duplicate name refused");
    CHECK(parse_buf("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1, &err) < 0,
          "one data offset refused");
    CHECK_CONTAINS(err.msg, "'data_offsets' should be two non-negative integers", "  message");
    CHECK(parse_buf("{\"x\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1, &err) < 0,
          "a real in the shape refused");
    CHECK(parse_buf("{\"x\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, &err) < 0, "dtype 7 refused");
    CHECK_CONTAINS(err.msg, "'dtype' should be a string, got integer 7", "  message");
    CHECK(parse_buf("{\"x\":[]}", 0, &err) < 0, "an entry that is not an object refused");
}

static void test_index_parse(void) {
    bc_err err = {""};
    bc_weight_index ix;
    const char *good = "{\"weight_map\":{\"a\":\"s2\",\"b\":\"s1\",\"c\":\"s2\"}}";
    if (CHECK(bc_weight_index_parse(&ix, good, strlen(good), "i.json", &err) == 0, "index parses: %s", err.msg)) {
        CHECK(ix.n == 3 && ix.nshards == 2, "3 tensors in 2 shards");
        CHECK(ix.nshards == 2 && strcmp(ix.shards[0], "s1") == 0 && strcmp(ix.shards[1], "s2") == 0,
              "shards sorted");
        CHECK(ix.n == 3 && ix.shard[0] == 1 && ix.shard[1] == 0 && ix.shard[2] == 1, "each tensor's shard");
        bc_weight_index_free(&ix);
    }
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{\"weight_map\":{}}", "the weight_map is empty"},
        {"{\"metadata\":{}}", "'weight_map' should be an object"},
        {"{\"weight_map\":{\"a\":\"../x.safetensors\"}}", "tensor 'a': the shard should be a file name relative"},
        {"{\"weight_map\":{\"a\":\"/etc/passwd\"}}", "relative to the index"},
        {"{\"weight_map\":{\"a\":3}}", "got integer 3"},
        {"[", "i.json: not valid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(bc_weight_index_parse(&ix, bad[i].text, strlen(bad[i].text), "i.json", &err) < 0, "index %s refused",
              bad[i].text);
        CHECK_CONTAINS(err.msg, bad[i].want, "  message");
    }
}

int main(void) {
    test_dtypes();
    test_sharded();
    test_bad_files();
    test_parse_memory();
    test_index_parse();
    return check_done();
}
