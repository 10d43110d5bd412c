// lib/util: base64 (RFC 4648 §10 vectors), atomic file writes, hashing, the
// RNG, growable buffers, error prefixes.
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "util.h"

static void test_base64(void) {
    // RFC 4648 section 10 test vectors
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        size_t n;
        char *e = bc_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), &n);
        CHECK_STR(e, coded[i], "base64 encode \"%s\"", plain[i]);
        uint8_t *d;
        size_t dn;
        CHECK(bc_base64_decode(coded[i], strlen(coded[i]), &d, &dn) == 0 && dn == strlen(plain[i]) &&
                  memcmp(d, plain[i], dn) == 0,
              "base64 decode \"%s\"", coded[i]);
        free(e);
        free(d);
    }
    uint8_t *d;
    size_t dn;
    CHECK(bc_base64_decode("Zm9", 3, &d, &dn) < 0, "base64: length not a multiple of 4 is refused");
    CHECK(bc_base64_decode("Zm9v!A==", 8, &d, &dn) < 0, "base64: a character outside the alphabet is refused");
    CHECK(bc_base64_decode("Z=9v", 4, &d, &dn) < 0, "base64: padding in the middle is refused");
}

static void test_atomic_write(void) {
    char dir[] = "/tmp/bicot-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char *path = bc_path_join(dir, "f.bin");
    bc_err err;
    CHECK(bc_write_file_atomic(path, "hello", 5, &err) == 0, "atomic write");
    CHECK(bc_write_file_atomic(path, "bye", 3, &err) == 0, "atomic overwrite");
    uint8_t *data;
    size_t len;
    CHECK(bc_read_file(path, &data, &len, &err) == 0 && len == 3 && memcmp(data, "bye", 3) == 0, "reads back");
    free(data);
    char *tmp = bc_asprintf("%s.tmp.%ld", path, (long)getpid());
    struct stat st;
    CHECK(stat(tmp, &st) != 0, "no temporary file left behind");
    char *bad = bc_path_join(dir, "no/such/dir/f");
    CHECK(bc_write_file_atomic(bad, "x", 1, &err) < 0, "a write into a missing directory fails");
    CHECK_CONTAINS(err.msg, "No such file or directory", "and says why");
    CHECK(bc_read_file(bad, &data, &len, &err) < 0, "reading a missing file fails");
    CHECK_CONTAINS(err.msg, "no/such/dir/f: No such file or directory", "naming the file");
    unlink(path);
    rmdir(dir);
    free(tmp);
    free(bad);
    free(path);
}

static void test_hash_rng(void) {
    uint64_t a = bc_hash64("p3#1", 4, 7), b = bc_hash64("p3#1", 4, 7), c = bc_hash64("p3#2", 4, 7);
    CHECK(a == b && a != c && a != bc_hash64("p3#1", 4, 8), "hash depends on bytes and seed only");
    bc_rng r1, r2;
    bc_rng_seed(&r1, 42);
    bc_rng_seed(&r2, 42);
    int same = 1, in_range = 1;
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = bc_rng_uniform(&r1);
        same &= u == bc_rng_uniform(&r2);
        in_range &= u >= 0 && u < 1;
        sum += u;
    }
    CHECK(same, "same seed, same stream");
    CHECK(in_range, "uniform in [0, 1)");
    CHECK(fabs(sum / 100000 - 0.5) < 0.01, "uniform mean %.4f within 0.01 of 0.5", sum / 100000);
}

static void test_buf_and_errors(void) {
    bc_buf b = {0};
    bc_buf_puts(&b, "a");
    bc_buf_printf(&b, "%d-%s", 42, "x");
    for (int i = 0; i < 1000; i++) bc_buf_putc(&b, 'z');
    CHECK(b.len == 1005 && strncmp(b.data, "a42-xz", 6) == 0 && b.data[b.len] == 0, "buffer grows, stays NUL-terminated");
    bc_buf_free(&b);
    bc_err err;
    CHECK(bc_fail(&err, "key '%s': bad", "k") == -1, "bc_fail returns -1");
    bc_err_prefix(&err, "record %d", 3);
    CHECK_STR(err.msg, "record 3: key 'k': bad", "bc_err_prefix");
    memset(err.msg, 'x', sizeof err.msg - 1);
    err.msg[sizeof err.msg - 1] = 0;
    bc_err_prefix(&err, "p");
    CHECK(strlen(err.msg) == sizeof err.msg - 1 && strncmp(err.msg, "p: x", 4) == 0, "a prefix on a full message fits");
    CHECK(bc_fail(NULL, "ignored") == -1, "a NULL error buffer is allowed");
}

int main(void) {
    test_base64();
    test_atomic_write();
    test_hash_rng();
    test_buf_and_errors();
    return check_done();
}
