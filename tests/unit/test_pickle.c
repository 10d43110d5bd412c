// test_pickle.c: the restricted unpickler on pickles written by CPython
// (tests/golden/torch/values_p{2,3,4,5}.pkl, made by make_torch.py from its
// VALUES list, which the checks below spell out again), on hand-made
// malicious or broken opcode sequences, and bc_pickle_tensor_data on
// hand-built tensors.
#include "check.h"
#include "io/pickle.h"

#define FIXTURES "tests/golden/torch/"

static const bc_pk_value *item(const bc_pk_value *seq, size_t i) {
    return seq && (seq->type == BC_PK_LIST || seq->type == BC_PK_TUPLE) && i < seq->seq.n ? seq->seq.items[i] : NULL;
}

static int is_int(const bc_pk_value *v, int64_t i) { return v && v->type == BC_PK_INT && v->i == i; }
static int is_str(const bc_pk_value *v, const char *s) {
    return v && v->type == BC_PK_STR && v->str.len == strlen(s) && memcmp(v->str.data, s, v->str.len) == 0;
}
static int is_seq(const bc_pk_value *v, bc_pk_type type, size_t n) { return v && v->type == type && v->seq.n == n; }

// The VALUES of make_torch.py, then b"\0by" (protocol >= 3), then [shared, shared].
static void check_values(int proto) {
    char *path = bc_asprintf(FIXTURES "values_p%d.pkl", proto);
    uint8_t *buf;
    size_t len;
    bc_err err = {{0}};
    if (!CHECK(bc_read_file(path, &buf, &len, &err) == 0, "read %s (%s)", path, err.msg)) {
        free(path);
        return;
    }
    bc_pickle *p = bc_pickle_load(buf, len, &err);
    if (!CHECK(p != NULL, "protocol %d: unpickles (%s)", proto, err.msg)) {
        free(buf);
        free(path);
        return;
    }
    const bc_pk_value *l = bc_pickle_root(p);
    size_t n = proto >= 3 ? 30 : 29;
    CHECK(is_seq(l, BC_PK_LIST, n), "protocol %d: a list of %zu values", proto, n);
    static const int64_t ints[] = {0,      1,        -1, 255, 256, 65535, 65536, -2147483648LL, 2147483648LL,
                                   1LL << 40, INT64_MIN, INT64_MAX};
    int ints_ok = 1;
    for (size_t i = 0; i < 12; i++) ints_ok &= is_int(item(l, i), ints[i]);
    CHECK(ints_ok, "protocol %d: ints (BININT1/2, BININT, LONG1 up to 64 bits)", proto);
    const bc_pk_value *f1 = item(l, 12), *f2 = item(l, 13);
    CHECK(f1 && f1->type == BC_PK_FLOAT && f1->f == 1.5 && f2 && f2->type == BC_PK_FLOAT && f2->f == 0 &&
              signbit(f2->f),
          "protocol %d: floats 1.5, -0.0", proto);
    CHECK(is_str(item(l, 14), "x") && is_str(item(l, 15), "h\xc3\xa9llo") && is_str(item(l, 16), ""),
          "protocol %d: str (UTF-8 bytes kept)", proto);
    CHECK(item(l, 17) && item(l, 17)->type == BC_PK_NONE, "protocol %d: None", proto);
    CHECK(item(l, 18) && item(l, 18)->type == BC_PK_BOOL && item(l, 18)->i == 1 && item(l, 19) &&
              item(l, 19)->type == BC_PK_BOOL && item(l, 19)->i == 0,
          "protocol %d: True, False", proto);
    int tuples_ok = 1;
    for (size_t k = 0; k <= 4; k++) {
        tuples_ok &= is_seq(item(l, 20 + k), BC_PK_TUPLE, k);
        for (size_t j = 0; j < k; j++) tuples_ok &= is_int(item(item(l, 20 + k), j), (int64_t)j + 1);
    }
    CHECK(tuples_ok, "protocol %d: tuples of 0 to 4 items", proto);
    CHECK(is_seq(item(l, 25), BC_PK_LIST, 0), "protocol %d: empty list", proto);
    const bc_pk_value *d0 = item(l, 26), *d = item(l, 27);
    CHECK(d0 && d0->type == BC_PK_DICT && d0->dict.n == 0, "protocol %d: empty dict", proto);
    CHECK(d && d->type == BC_PK_DICT && d->dict.n == 2 && is_str(d->dict.keys[0], "a") &&
              is_seq(d->dict.vals[0], BC_PK_LIST, 1) && is_int(item(d->dict.vals[0], 0), 1) &&
              is_str(d->dict.keys[1], "b") && is_seq(d->dict.vals[1], BC_PK_TUPLE, 1),
          "protocol %d: {'a': [1], 'b': (2,)}", proto);
    if (proto >= 3) {
        const bc_pk_value *b = item(l, 28);
        CHECK(b && b->type == BC_PK_BYTES && b->str.len == 3 && memcmp(b->str.data, "\0by", 3) == 0,
              "protocol %d: bytes with a NUL", proto);
    }
    const bc_pk_value *shared = item(l, n - 1);
    CHECK(is_seq(shared, BC_PK_LIST, 2) && item(shared, 0) == item(shared, 1) && is_seq(item(shared, 0), BC_PK_LIST, 1),
          "protocol %d: a memo reference is the same value", proto);
    bc_pickle_free(p);
    free(buf);
    free(path);
}

// Unpickling these bytes fails with a message containing `want`.
static void refused(const char *what, const char *bytes, size_t len, const char *want) {
    bc_err err = {{0}};
    bc_pickle *p = bc_pickle_load((const uint8_t *)bytes, len, &err);
    CHECK(p == NULL, "%s: refused", what);
    CHECK_CONTAINS(err.msg, want, "%s: message", what);
    bc_pickle_free(p);
}
#define REFUSED(what, lit, want) refused(what, lit, sizeof lit - 1, want)

static void test_refusals(void) {
    REFUSED("GLOBAL os.system", "\x80\x02" "cos\nsystem\n" "X\x04\x00\x00\x00" "echo\x85R.",
            "pickle: refusing to import os.system (only tensors and dicts are allowed)");
    REFUSED("GLOBAL posix.system", "cposix\nsystem\n)R.", "refusing to import posix.system");
    REFUSED("STACK_GLOBAL builtins.eval", "\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93)R.",
            "refusing to import builtins.eval");
    REFUSED("GLOBAL torch.load", "ctorch\nload\n.", "refusing to import torch.load");
    REFUSED("a name with control bytes", "cos\x01\nsy\x7fstem\n.", "refusing to import os?.sy?stem");
    REFUSED("INST", "(ios\nsystem\n.", "refusing opcode INST");
    REFUSED("OBJ", "(ccollections\nOrderedDict\no.", "refusing opcode OBJ");
    REFUSED("NEWOBJ", "\x80\x02" "ccollections\nOrderedDict\n)\x81.", "refusing opcode NEWOBJ");
    REFUSED("NEWOBJ_EX", "\x80\x04" "ccollections\nOrderedDict\n)}\x92.", "refusing opcode NEWOBJ_EX");
    REFUSED("EXT1", "\x82\x01.", "refusing opcode EXT");
    REFUSED("PERSID", "P0\n.", "refusing opcode PERSID");
    REFUSED("calling a storage type", "ctorch\nFloatStorage\n)R.", "refusing to call torch.FloatStorage");
    REFUSED("unsupported storage type", "ctorch\nComplexFloatStorage\n.", "unsupported storage type torch.ComplexFloatStorage");
    REFUSED("REDUCE on a str", "X\x01\x00\x00\x00x)R.", "REDUCE on a str");
    REFUSED("OrderedDict with arguments", "ccollections\nOrderedDict\n]\x85R.", "expected none");
    REFUSED("BUILD on a list", "]}b.", "refusing BUILD on a list");
    REFUSED("APPEND to a dict", "}Na.", "APPEND to a dict");
    REFUSED("SETITEM on a list", "]NNs.", "SETITEM on a list");
    REFUSED("persistent id of the wrong shape", "NQ.", "persistent id is not");
    REFUSED("tensor without a storage", "ctorch._utils\n_rebuild_tensor_v2\n(NK\x00)))tR.",
            "expected a storage");
    REFUSED("unset memo entry", "h\x05.", "memo entry 5 was never stored");
    REFUSED("memo index past the pickle's size", "Nr\x00\x00\x01\x00.", "memo index 65536 out of range");
    REFUSED("stack underflow", "0.", "stack underflow");
    REFUSED("pop below a MARK", "N(0.", "stack underflow");
    REFUSED("TUPLE without MARK", "t.", "no MARK");
    REFUSED("truncated string", "\x80\x02X\xff\x00\x00\x00" "ab", "truncated");
    REFUSED("BINUNICODE8 longer than the input", "\x8d\xff\xff\xff\xff\xff\xff\xff\xff.", "truncated");
    REFUSED("no STOP", "\x80\x02N", "no STOP");
    REFUSED("empty input", "", "no STOP");
    REFUSED("integer over 64 bits", "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", "does not fit in 64 bits");
    REFUSED("protocol 6", "\x80\x06N.", "newer than 5");
    REFUSED("text-mode opcode", "I1\n.", "text-mode pickles are not supported");
    REFUSED("unknown opcode", "\xff.", "unsupported opcode 0xff");
    REFUSED("odd SETITEMS", "}(Nu.", "odd number");
    REFUSED("frame past the end", "\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", "FRAME");
}

static void test_small_values(void) {
    bc_err err = {{0}};
    // LONG1 with 0 bytes is 0, with 1 byte 0xff is -1; BININT is signed
    static const char lit[] = "(\x8a\x00\x8a\x01\xffJ\xfe\xff\xff\xffl.";
    bc_pickle *p = bc_pickle_load((const uint8_t *)lit, sizeof lit - 1, &err);
    const bc_pk_value *l = p ? bc_pickle_root(p) : NULL;
    CHECK(is_seq(l, BC_PK_LIST, 3) && is_int(item(l, 0), 0) && is_int(item(l, 1), -1) && is_int(item(l, 2), -2),
          "LONG1 of 0 and 1 bytes, negative BININT (%s)", err.msg);
    bc_pickle_free(p);
    // STOP takes the top value; trailing bytes after STOP are ignored
    p = bc_pickle_load((const uint8_t *)"K\x07.garbage", 10, &err);
    CHECK(p && is_int(bc_pickle_root(p), 7), "trailing bytes after STOP ignored");
    bc_pickle_free(p);
}

// A hand-built tensor over a storage of `numel` float32s.
static bc_pk_storage storage_f32 = {BC_DT_F32, "0", 12};

static bc_pk_tensor make_tensor(int64_t offset, int ndim, const int64_t *shape, const int64_t *stride) {
    bc_pk_tensor t = {&storage_f32, offset, ndim, {0}, {0}};
    for (int d = 0; d < ndim; d++) t.shape[d] = shape[d], t.stride[d] = stride[d];
    return t;
}

static void test_tensor_data(void) {
    float s[12];
    for (int i = 0; i < 12; i++) s[i] = (float)i;
    const uint8_t *storage = (const uint8_t *)s;
    bc_err err = {{0}};
    const void *data;
    void *copy;

    bc_pk_tensor t = make_tensor(2, 2, (int64_t[]){2, 3}, (int64_t[]){3, 1});
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) == 0 && copy == NULL &&
              data == (const void *)(s + 2),
          "contiguous view at an offset: zero copy into the storage");

    t = make_tensor(0, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4});  // a (3, 4) transposed
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) == 0 && copy != NULL,
          "transpose: copied");
    const float want_t[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    CHECK(copy && memcmp(data, want_t, sizeof want_t) == 0, "transpose: elements in row-major order");
    free(copy);

    t = make_tensor(1, 2, (int64_t[]){2, 3}, (int64_t[]){0, 2});  // expanded rows, every other element
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) == 0 && copy != NULL, "stride 0: copied");
    const float want_e[6] = {1, 3, 5, 1, 3, 5};
    CHECK(copy && memcmp(data, want_e, sizeof want_e) == 0, "stride 0: rows repeat");
    free(copy);

    t = make_tensor(11, 0, NULL, NULL);
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) == 0 && data == (const void *)(s + 11),
          "0-d tensor at the last element");
    t = make_tensor(12, 0, NULL, NULL);
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) < 0, "0-d tensor past the storage refused");
    CHECK_CONTAINS(err.msg, "reaches past the end of storage '0'", "past the storage: message");
    t = make_tensor(0, 2, (int64_t[]){4, 4}, (int64_t[]){4, 1});
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) < 0, "16 elements in a storage of 12 refused");
    t = make_tensor(0, 3, (int64_t[]){1 << 20, 1 << 20, 2}, (int64_t[]){0, 0, 1});
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) < 0, "expanding 2 elements to 2^41 refused");
    CHECK_CONTAINS(err.msg, "too large to copy", "huge expansion: message");
    t = make_tensor(0, 2, (int64_t[]){2, 2}, (int64_t[]){INT64_MAX, 1});
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) < 0, "huge stride refused (no overflow)");
    t = make_tensor(0, 3, (int64_t[]){INT64_MAX, INT64_MAX, 0}, (int64_t[]){1, 1, 1});
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s, 0, &data, &copy, &err) == 0 && copy == NULL,
          "a zero dimension makes an empty tensor whatever the others");
    t = make_tensor(0, 1, (int64_t[]){3}, (int64_t[]){1});
    CHECK(bc_pickle_tensor_data(&t, storage, sizeof s - 4, 0, &data, &copy, &err) < 0, "storage size mismatch refused");
    CHECK_CONTAINS(err.msg, "holds 44 bytes, expected 12 elements of F32", "storage size mismatch: message");

    // big-endian storages come back swapped
    t = make_tensor(0, 1, (int64_t[]){2}, (int64_t[]){1});
    uint32_t be[12] = {0};
    be[0] = 0x0000803f;  // 1.0f stored big-endian, read on a little-endian host
    be[1] = 0x00000040;  // 2.0f
    CHECK(bc_pickle_tensor_data(&t, (const uint8_t *)be, sizeof be, 1, &data, &copy, &err) == 0 && copy != NULL &&
              ((const float *)data)[0] == 1.0f && ((const float *)data)[1] == 2.0f,
          "big-endian: copied and swapped");
    free(copy);

    // misaligned storage: copied so float loads are aligned
    uint8_t raw[sizeof s + 1];
    memcpy(raw + 1, s, sizeof s);
    t = make_tensor(0, 1, (int64_t[]){3}, (int64_t[]){1});
    CHECK(bc_pickle_tensor_data(&t, raw + 1, sizeof s, 0, &data, &copy, &err) == 0 && copy != NULL &&
              ((const float *)data)[2] == 2.0f,
          "misaligned storage: aligned copy");
    free(copy);
}

int main(void) {
    for (int proto = 2; proto <= 5; proto++) check_values(proto);
    test_refusals();
    test_small_values();
    test_tensor_data();
    return check_done();
}
