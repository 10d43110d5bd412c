// test_zip.c: the zip directory reader against archives written by torch.save,
// by hand as ZIP64 and with a comment, and by Python's zipfile (deflate);
// every entry's name, size, method and CRC-32 come from Python's zipfile
// (tests/golden/torch/expected.json, made by tests/golden/make_torch.py).
// Then archives whose directory lies, and small hand-made buffers.
#include <jansson.h>

#include "check.h"
#include "io/zip.h"

#define FIXTURES "tests/golden/torch/"

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

// Every entry of `file` as Python's zipfile lists it: same order, name, size,
// method; the stored ones' bytes by CRC-32.
static void check_entries(const char *file, json_t *want) {
    char *path = bc_asprintf(FIXTURES "%s", file);
    uint8_t *buf;
    size_t len;
    bc_err err = {{0}};
    bc_zip z;
    CHECK(bc_read_file(path, &buf, &len, &err) == 0, "%s: read (%s)", file, err.msg);
    if (!CHECK(bc_zip_open(&z, buf, len, &err) == 0, "%s: zip opens (%s)", file, err.msg)) {
        free(buf);
        free(path);
        return;
    }
    CHECK(z.n == json_array_size(want), "%s: %zu entries (want %zu)", file, z.n, json_array_size(want));
    int names_ok = 1, sizes_ok = 1, crc_ok = 1, find_ok = 1;
    for (size_t i = 0; i < z.n && i < json_array_size(want); i++) {
        json_t *w = json_array_get(want, i);
        const bc_zip_entry *e = &z.entries[i];
        names_ok &= strcmp(e->name, json_string_value(json_array_get(w, 0))) == 0;
        sizes_ok &= e->raw_size == (uint64_t)json_integer_value(json_array_get(w, 1)) &&
                    e->method == json_integer_value(json_array_get(w, 2));
        find_ok &= bc_zip_find(&z, e->name) == e;
        const uint8_t *data;
        uint64_t n;
        if (e->method == 0 && bc_zip_data(e, &data, &n, &err) == 0)
            crc_ok &= crc32_of(data, n) == (uint32_t)json_integer_value(json_array_get(w, 3));
    }
    CHECK(names_ok, "%s: entry names in order", file);
    CHECK(sizes_ok, "%s: entry sizes and methods", file);
    CHECK(crc_ok, "%s: stored entries' bytes (CRC-32)", file);
    CHECK(find_ok, "%s: bc_zip_find finds every entry", file);
    CHECK(bc_zip_find(&z, "no/such/entry") == NULL, "%s: absent name -> NULL", file);
    bc_zip_close(&z);
    free(buf);
    free(path);
}

// Opening `file` fails with a message containing `want`.
static void check_refused(const char *file, const char *want) {
    char *path = bc_asprintf(FIXTURES "%s", file);
    uint8_t *buf;
    size_t len;
    bc_err err = {{0}};
    bc_zip z;
    if (CHECK(bc_read_file(path, &buf, &len, &err) == 0, "%s: read (%s)", file, err.msg)) {
        CHECK(bc_zip_open(&z, buf, len, &err) < 0, "%s: refused", file);
        CHECK_CONTAINS(err.msg, want, "%s: message says why", file);
        free(buf);
    }
    free(path);
}

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }

static void test_handmade(void) {
    bc_err err = {{0}};
    bc_zip z;
    CHECK(bc_zip_open(&z, (const uint8_t *)"", 0, &err) < 0, "empty buffer refused");
    CHECK_CONTAINS(err.msg, "too short", "empty buffer: message");

    // an empty archive: just the end record
    uint8_t end[22] = {0};
    put32(end, 0x06054b50);
    CHECK(bc_zip_open(&z, end, sizeof end, &err) == 0, "empty archive opens (%s)", err.msg);
    CHECK(z.n == 0 && bc_zip_find(&z, "x") == NULL, "empty archive has no entries");
    bc_zip_close(&z);

    // an end record claiming 1000 entries in a 0-byte directory
    put16(end + 8, 1000);
    put16(end + 10, 1000);
    CHECK(bc_zip_open(&z, end, sizeof end, &err) < 0, "count larger than the directory refused");
    CHECK_CONTAINS(err.msg, "holds at most 0", "count: message");

    // a directory said to start past the end of the buffer
    put16(end + 8, 0);
    put16(end + 10, 0);
    put32(end + 12, 46);
    put32(end + 16, 0x7fffffff);
    CHECK(bc_zip_open(&z, end, sizeof end, &err) < 0, "directory past the end refused");
    CHECK_CONTAINS(err.msg, "runs past its end", "directory past the end: message");

    // an end record whose comment length reaches past the buffer is not one
    put32(end + 12, 0);
    put32(end + 16, 0);
    put16(end + 20, 5);
    CHECK(bc_zip_open(&z, end, sizeof end, &err) < 0, "comment length past the end refused");
    CHECK_CONTAINS(err.msg, "no end of central directory", "comment length: message");

    // saturated 32-bit fields without a ZIP64 locator
    put16(end + 20, 0);
    put32(end + 16, 0xffffffff);
    CHECK(bc_zip_open(&z, end, sizeof end, &err) < 0, "ZIP64 markers without a locator refused");
    CHECK_CONTAINS(err.msg, "no ZIP64 locator", "ZIP64 markers: message");
}

static void test_deflated(void) {
    uint8_t *buf;
    size_t len;
    bc_err err = {{0}};
    bc_zip z;
    if (bc_read_file(FIXTURES "deflated.pt", &buf, &len, &err) < 0 || bc_zip_open(&z, buf, len, &err) < 0) {
        CHECK(0, "deflated.pt opens (%s)", err.msg);
        return;
    }
    const bc_zip_entry *e = NULL;
    for (size_t i = 0; i < z.n && !e; i++)
        if (strstr(z.entries[i].name, "data.pkl")) e = &z.entries[i];
    const uint8_t *data;
    uint64_t n;
    CHECK(e && e->method == 8, "deflated.pt: data.pkl is deflated");
    CHECK(e && bc_zip_data(e, &data, &n, &err) < 0, "deflated entry refused by bc_zip_data");
    CHECK_CONTAINS(err.msg, "compressed (method 8, deflate)", "deflated: message");
    bc_zip_close(&z);
    free(buf);
}

int main(void) {
    json_error_t jerr;
    json_t *exp = json_load_file(FIXTURES "expected.json", 0, &jerr);
    if (!CHECK(exp != NULL, "expected.json loads (%s)", jerr.text)) return check_done();
    json_t *entries = json_object_get(exp, "zip_entries");
    const char *file;
    json_t *want;
    json_object_foreach(entries, file, want) check_entries(file, want);
    CHECK(json_object_size(entries) >= 3, "expected.json lists the archives");
    json_decref(exp);

    test_deflated();
    check_refused("lying_offset.pt", "local header offset");
    check_refused("lying_size.pt", "run past the entries' end");
    check_refused("lying_count.pt", "the central directory holds more");
    check_refused("lying_name.pt", "the local header names");
    check_refused("truncated.pt", "no end of central directory record");
    check_refused("legacy.pt", "no end of central directory record");
    test_handmade();
    return check_done();
}
