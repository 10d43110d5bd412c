// Record streams against the reference streams of tests/golden/make_streams.py
// (written by the msgpack and zstandard Python packages).
#include "check.h"
#include "io/json.h"
#include "io/stream.h"

static const char *dir = "tests/golden/streams/";

static uint8_t *load(const char *name, size_t *len) {
    char path[256];
    snprintf(path, sizeof path, "%s%s", dir, name);
    uint8_t *data;
    bc_err err;
    if (bc_read_file(path, &data, len, &err) < 0) {
        printf("# %s\n", err.msg);
        exit(1);
    }
    return data;
}

// Reads every record of a file through a FILE (so the chunked fill path
// runs) and re-packs them with our writer. Returns the bytes, NULL on error.
static uint8_t *read_and_repack(const char *name, size_t *n_records, size_t *out_len, bc_err *err) {
    char path[256];
    snprintf(path, sizeof path, "%s%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    bc_reader *r = bc_reader_new(f, name);
    bc_writer *w = bc_writer_new_mem(0);
    bc_record rec;
    int got;
    *n_records = 0;
    while ((got = bc_reader_next(r, &rec, err)) > 0) {
        bc_writer_put(w, &rec, NULL);
        bc_record_free(&rec);
        (*n_records)++;
    }
    bc_reader_free(r);
    fclose(f);
    uint8_t *bytes = bc_writer_take_mem(w, out_len);
    if (got < 0) {
        free(bytes);
        return NULL;
    }
    return bytes;
}

static void test_reference_records(void) {
    size_t len;
    uint8_t *data = load("records.msgpack", &len);
    bc_reader *r = bc_reader_new_mem(data, len, "records.msgpack");
    bc_record rec;
    bc_err err;
    char id[64];

    CHECK(bc_reader_next(r, &rec, &err) == 1, "record 0 reads");
    CHECK_STR(bc_record_id(&rec, id, sizeof id), "p0", "record 0 id");
    CHECK(rec.n == 4 && bc_obj_is_str(&rec.keys[3], "attr_nouns"), "record 0 keeps its 4 keys in order");
    CHECK(bc_record_get(&rec, "attr_nouns")->type == MSGPACK_OBJECT_NIL, "null reads as nil");
    bc_record_free(&rec);

    CHECK(bc_reader_next(r, &rec, &err) == 1, "record 1 reads");
    CHECK(rec.index == 1, "record index counts from 0");
    int32_t *ids;
    size_t n;
    CHECK(bc_get_int_array(&rec, "cot_ids", &ids, &n, &err) == 0 && n == 4 && ids[0] == 100000 && ids[3] == 102399,
          "cot_ids as int32");
    free(ids);
    float *logp;
    CHECK(bc_get_float_array(&rec, "cot_logp", &logp, &n, &err) == 0 && n == 4 && logp[1] == -1.25f &&
              logp[2] == (float)-3.0e-7,
          "cot_logp as float");
    free(logp);
    const char *s;
    size_t slen;
    CHECK(bc_get_str(&rec, "cot", &s, &slen, &err) == 0 && slen == strlen("An apple été ☃ \"quoted\"\n\ttab") &&
              memcmp(s, "An apple été ☃ \"quoted\"\n\ttab", slen) == 0,
          "UTF-8 string bytes");
    bc_record_free(&rec);

    CHECK(bc_reader_next(r, &rec, &err) == 1, "record 2 reads");
    const uint8_t *bin;
    size_t blen;
    CHECK(bc_get_bin(&rec, "image", &bin, &blen, &err) == 0 && blen == 31 && bin[0] == 0x89 && bin[30] == 0xff,
          "bin bytes");
    double hps;
    const msgpack_object *rw = bc_record_get(&rec, "rewards");
    CHECK(rw && rw->type == MSGPACK_OBJECT_MAP && rw->via.map.size == 3, "rewards map");
    bc_record_set_reward(&rec, "det", 0.5);
    bc_record_set_reward(&rec, "orm", -1.0);
    rw = bc_record_get(&rec, "rewards");
    CHECK(rw->via.map.size == 4 && bc_obj_is_str(&rw->via.map.ptr[1].key, "det") && rw->via.map.ptr[1].val.via.f64 == 0.5 &&
              bc_obj_is_str(&rw->via.map.ptr[3].key, "orm"),
          "set_reward replaces in place and appends new experts");
    CHECK(bc_get_float(&rec, "grid", &hps, &err) < 0, "get_float on an array fails");
    CHECK_STR(err.msg, "key 'grid': expected a number, got array", "its message");
    bc_record_free(&rec);

    CHECK(bc_reader_next(r, &rec, &err) == 1, "record 3 reads");
    const msgpack_object *ints = bc_record_get(&rec, "ints");
    CHECK(ints && ints->via.array.size == 20 && ints->via.array.ptr[9].via.u64 == 9223372036854775807ull &&
              ints->via.array.ptr[19].via.i64 == INT64_MIN,
          "int extremes");
    int32_t *iv;
    CHECK(bc_get_int_array(&rec, "ints", &iv, &n, &err) < 0, "ints beyond int32 are refused");
    CHECK_STR(err.msg, "key 'ints': item 8 does not fit in 32 bits", "its message");
    int64_t i64;
    CHECK(bc_get_int(&rec, "t", &i64, &err) < 0, "bool is not an int");
    CHECK_STR(err.msg, "key 't': expected int, got bool", "its message");
    bc_record_free(&rec);

    CHECK(bc_reader_next(r, &rec, &err) == 1, "record 4 (70 kB string, 77 kB bin) reads");
    CHECK(bc_get_str(&rec, "long", &s, &slen, &err) == 0 && slen == 70000, "long string");
    CHECK(bc_get_bin(&rec, "bin_empty", &bin, &blen, &err) == 0 && blen == 0, "empty bin");
    bc_record_free(&rec);

    CHECK(bc_reader_next(r, &rec, &err) == 0, "clean end after the last record");
    CHECK(bc_reader_count(r) == 5, "5 records counted");
    bc_reader_free(r);
    free(data);
}

static void test_repack_is_identical(void) {
    size_t len, n, out_len;
    bc_err err;
    uint8_t *ref = load("records.msgpack", &len);
    const char *inputs[] = {"records.msgpack", "records.msgpack.zst", "records.2frames.zst"};
    for (int i = 0; i < 3; i++) {
        uint8_t *out = read_and_repack(inputs[i], &n, &out_len, &err);
        CHECK(out && n == 5 && out_len == len && memcmp(out, ref, len) == 0,
              "%s: read + write gives msgpack-python's bytes", inputs[i]);
        free(out);
    }
    // our zstd writer, read back
    bc_reader *r = bc_reader_new_mem(ref, len, "ref");
    bc_writer *w = bc_writer_new_mem(3);
    bc_record rec;
    while (bc_reader_next(r, &rec, &err) > 0) {
        bc_writer_put(w, &rec, NULL);
        bc_record_free(&rec);
    }
    bc_reader_free(r);
    size_t zlen;
    uint8_t *z = bc_writer_take_mem(w, &zlen);
    CHECK(zlen > 4 && z[0] == 0x28 && z[1] == 0xb5 && z[2] == 0x2f && z[3] == 0xfd, "zstd writer writes a zstd frame");
    CHECK(zlen < len / 10, "and compresses (%zu -> %zu bytes)", len, zlen);
    r = bc_reader_new_mem(z, zlen, "z");
    bc_writer *w2 = bc_writer_new_mem(0);
    while (bc_reader_next(r, &rec, &err) > 0) {
        bc_writer_put(w2, &rec, NULL);
        bc_record_free(&rec);
    }
    bc_reader_free(r);
    size_t plen;
    uint8_t *plain = bc_writer_take_mem(w2, &plen);
    CHECK(plen == len && memcmp(plain, ref, len) == 0, "zstd round trip gives the same records");
    free(plain);
    free(z);
    free(ref);
}

static void test_bad_streams(void) {
    struct {
        const char *file;
        size_t good;        // complete records before the error
        const char *message;
    } cases[] = {
        {"bad/truncated.msgpack", 1, "truncated record at byte 51 (after 1 complete records)"},
        {"bad/garbage.msgpack", 1, "invalid msgpack at byte 51"},
        {"bad/not-a-map.msgpack", 1, "record 1 (byte 51): expected a map (a record), got array"},
        {"bad/int-key.msgpack", 1, "key 0 of the record is int, expected str"},
        {"bad/huge-array.msgpack", 0, "truncated record at byte 0"},
        {"bad/truncated.zst", 0, "truncated zstd frame"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        uint8_t *data = load(cases[i].file, &len);
        bc_reader *r = bc_reader_new_mem(data, len, cases[i].file);
        bc_record rec;
        bc_err err = {{0}};
        int got;
        size_t n = 0;
        while ((got = bc_reader_next(r, &rec, &err)) > 0) {
            bc_record_free(&rec);
            n++;
        }
        if (strcmp(cases[i].file, "bad/truncated.zst") == 0) n = 0;  // records before the cut may decode; not asserted
        CHECK(got == -1 && n == cases[i].good, "%s: error after %zu good records", cases[i].file, cases[i].good);
        CHECK_CONTAINS(err.msg, cases[i].message, "%s: message", cases[i].file);
        bc_reader_free(r);
        free(data);
    }
}

static void test_record_editing(void) {
    bc_record rec;
    bc_record_init(&rec);
    bc_err err;
    char line[512], id[32];
    bc_record_set(&rec, "id", bc_obj_cstr(&rec, "p3#1"));
    bc_record_set(&rec, "a", bc_obj_int(1));
    bc_record_set(&rec, "b", bc_obj_int(2));
    bc_record_set(&rec, "a", bc_obj_int(-5));
    CHECK(rec.n == 3 && bc_obj_is_str(&rec.keys[1], "a") && rec.vals[1].via.i64 == -5, "set replaces in place");
    CHECK(bc_record_del(&rec, "a") == 1 && rec.n == 2 && bc_obj_is_str(&rec.keys[1], "b"), "del keeps order");
    CHECK(bc_record_del(&rec, "zz") == 0, "del of a missing key");
    const uint8_t *bin;
    size_t blen;
    CHECK(bc_get_bin(&rec, "id", &bin, &blen, &err) < 0, "str is not bin");
    bc_record_error_line(&rec, err.msg, line, sizeof line);
    bc_progname = "vq-decode";
    bc_record_error_line(&rec, err.msg, line, sizeof line);
    CHECK_STR(line, "vq-decode: record 0 (id \"p3#1\"): key 'id': expected bin, got str", "the DESIGN.md message shape");
    CHECK(bc_get_bin(&rec, "image", &bin, &blen, &err) < 0, "missing key");
    CHECK_STR(err.msg, "missing key 'image'", "missing key message");
    bc_record_add_error(&rec, "vq-decode", "first");
    bc_record_add_error(&rec, "score-hps", "second");
    const msgpack_object *e = bc_record_get(&rec, "errors");
    CHECK(e && e->via.array.size == 2 && bc_obj_is_str(&e->via.array.ptr[1].via.map.ptr[0].val, "score-hps"),
          "errors accumulate");
    bc_record_set(&rec, "id", bc_obj_int(42));
    CHECK_STR(bc_record_id(&rec, id, sizeof id), "42", "integer ids print");
    bc_record_free(&rec);
}

// JSON keys are strings: a non-string map key is written as its JSON text;
// a container key inside such a text is abbreviated, because each level of
// keys in keys would escape the text again (fuzz_stream found a 2.5 KB stream
// giving 108 MB of JSON).
static void test_json_keys(void) {
    bc_record rec;
    bc_record_init(&rec);
    msgpack_object inner = bc_obj_map(&rec, 1);  // {[1]: 2}
    inner.via.map.ptr[0].key = bc_obj_array(&rec, 1);
    inner.via.map.ptr[0].key.via.array.ptr[0] = bc_obj_int(1);
    inner.via.map.ptr[0].val = bc_obj_int(2);
    msgpack_object outer = bc_obj_map(&rec, 2);  // {{[1]: 2}: 3, 7: "x"}
    outer.via.map.ptr[0].key = inner;
    outer.via.map.ptr[0].val = bc_obj_int(3);
    outer.via.map.ptr[1].key = bc_obj_int(7);
    outer.via.map.ptr[1].val = bc_obj_cstr(&rec, "x");
    bc_record_set(&rec, "m", outer);
    bc_buf out = {0};
    bc_json_write_record(&out, &rec, 0);
    bc_buf_putc(&out, 0);
    CHECK_STR(out.data, "{\"m\":{\"{\\\"<array of 1>\\\":2}\":3,\"7\":\"x\"}}",
              "a container key's JSON text, and a container key inside it abbreviated");
    bc_buf_free(&out);
    bc_record_free(&rec);
}

int main(void) {
    test_json_keys();
    test_reference_records();
    test_repack_is_identical();
    test_bad_streams();
    test_record_editing();
    return check_done();
}
