// test_torch.c: bc_torch_load on checkpoints written by torch.save
// (tests/golden/torch, made by tests/golden/make_torch.py). Every tensor must
// come back with torch's name, dtype, shape and exactly the bytes of
// t.contiguous() (expected.json); malicious, corrupt and legacy files must be
// refused with a message saying why, and the malicious ones must not run
// anything.
#include <jansson.h>
#include <unistd.h>

#include "check.h"
#include "io/weights.h"

#define FIXTURES "tests/golden/torch/"
// What evil_*.pt try to create (make_torch.py's PWN_MARKER).
#define PWN_MARKER "/tmp/bicot-torch-pwned"

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Whether the n bytes at p are spelled by hex.
static int same_as_hex(const uint8_t *p, size_t n, const char *hex) {
    if (strlen(hex) != 2 * n) return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]))) return 0;
    return 1;
}

// Checks every tensor of `w` against the expected list: count, name, dtype,
// shape, bytes.
static void check_tensors(const char *what, const bc_weights *w, json_t *want) {
    CHECK(bc_weights_count(w) == json_array_size(want), "%s: %zu tensors (want %zu)", what, bc_weights_count(w),
          json_array_size(want));
    size_t i;
    json_t *e;
    json_array_foreach(want, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        const bc_tensor *t = bc_weights_find(w, name);
        if (!CHECK(t != NULL, "%s: '%s' present", what, name)) continue;
        const char *dtype = json_string_value(json_object_get(e, "dtype"));
        json_t *shape = json_object_get(e, "shape");
        int shape_ok = t->ndim == (int)json_array_size(shape);
        for (int d = 0; shape_ok && d < t->ndim; d++)
            shape_ok = t->shape[d] == json_integer_value(json_array_get(shape, (size_t)d));
        int bytes_ok = same_as_hex(t->data, t->nbytes, json_string_value(json_object_get(e, "hex")));
        CHECK(strcmp(bc_dtype_name(t->dtype), dtype) == 0 && shape_ok && bytes_ok,
              "%s: '%s' %s, shape and %zu bytes as torch's (dtype %s%s%s)", what, name, dtype, t->nbytes,
              bc_dtype_name(t->dtype), shape_ok ? "" : ", shape differs", bytes_ok ? "" : ", bytes differ");
    }
}

static void check_file(const char *file, json_t *want) {
    char *path = bc_asprintf(FIXTURES "%s", file);
    bc_weights *w = bc_weights_new(path);
    bc_err err = {{0}};
    if (CHECK(bc_torch_load(w, path, &err) == 0, "%s: loads (%s)", file, err.msg)) {
        check_tensors(file, w, want);
        CHECK(bc_weights_file_count(w) == 1 && strcmp(bc_weights_file(w, 0), path) == 0, "%s: file recorded", file);
    }
    bc_weights_close(w);
    free(path);
}

// Loading `file` fails with a message containing `want` (and the path).
static void check_refused(const char *file, const char *want) {
    char *path = bc_asprintf(FIXTURES "%s", file);
    bc_weights *w = bc_weights_new(path);
    bc_err err = {{0}};
    CHECK(bc_torch_load(w, path, &err) < 0, "%s: refused", file);
    CHECK_CONTAINS(err.msg, want, "%s: message says why", file);
    CHECK_CONTAINS(err.msg, path, "%s: message names the file", file);
    bc_weights_close(w);
    free(path);
}

static void test_malicious(void) {
    unlink(PWN_MARKER);
    check_refused("evil_system.pt", "pickle: refusing to import posix.system (only tensors and dicts are allowed)");
    check_refused("evil_eval.pt", "pickle: refusing to import builtins.eval");
    CHECK(access(PWN_MARKER, F_OK) != 0, "nothing ran: %s was not created", PWN_MARKER);
}

// The sharded fixture through bc_weights_open (model_files.c): the index
// names both shards.
static void test_sharded_dir(json_t *tensors) {
    bc_err err = {{0}};
    bc_weights *w = bc_weights_open(FIXTURES "sharded", &err);
    if (!CHECK(w != NULL, "sharded dir opens through bc_weights_open (%s)", err.msg)) return;
    json_t *all = json_array();
    json_array_extend(all, json_object_get(tensors, "sharded/pytorch_model-00001-of-00002.bin"));
    json_array_extend(all, json_object_get(tensors, "sharded/pytorch_model-00002-of-00002.bin"));
    check_tensors("sharded dir", w, all);
    CHECK(bc_weights_file_count(w) == 2, "sharded dir: two files read");
    json_decref(all);
    bc_weights_close(w);
}

int main(void) {
    json_error_t jerr;
    json_t *exp = json_load_file(FIXTURES "expected.json", 0, &jerr);
    if (!CHECK(exp != NULL, "expected.json loads (%s)", jerr.text)) return check_done();
    json_t *tensors = json_object_get(exp, "tensors");
    const char *file;
    json_t *want;
    json_object_foreach(tensors, file, want) check_file(file, want);
    CHECK(json_object_size(tensors) >= 10, "expected.json lists the fixtures");

    test_malicious();
    check_refused("legacy.pt", "legacy PyTorch format");
    check_refused("truncated.pt", "no end of central directory record");
    check_refused("lying_offset.pt", "local header offset");
    check_refused("lying_size.pt", "run past the entries' end");
    check_refused("lying_count.pt", "the central directory holds more");
    check_refused("lying_name.pt", "the local header names");
    check_refused("deflated.pt", "compressed (method 8, deflate)");
    check_refused("no_tensors.pt", "no tensors found");
    check_refused("expected.json", "not a PyTorch checkpoint");
    check_refused("does-not-exist.pt", "No such file");
    test_sharded_dir(tensors);
    json_decref(exp);
    return check_done();
}
