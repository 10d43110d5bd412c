// test_image.c: lib/io/image.c against PIL. Every fixture listed in
// tests/golden/images/manifest.txt (made by tests/golden/make_images.py)
// must decode to exactly the bytes of Image.open(f).convert("RGB"); PNG
// encode must round-trip and be deterministic; corrupt files and hostile
// headers must fail with a clear message, never crash.
#include "check.h"
#include "io/image.h"

#define DIR "tests/golden/images/"

static uint8_t *read_fixture(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, DIR "%s", name);
    uint8_t *data = NULL;
    bc_err err;
    if (bc_read_file(path, &data, len, &err) < 0) {
        printf("# %s\n", err.msg);
        return NULL;
    }
    return data;
}

static size_t count_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    size_t d = 0;
    for (size_t i = 0; i < n; i++) d += a[i] != b[i];
    return d;
}

// Decodes img, encodes it again, decodes that: the pixels must survive, and
// a second encode must give the same bytes.
static void check_round_trip(const char *name, const bc_image *img) {
    uint8_t *png = NULL, *png2 = NULL;
    size_t len = 0, len2 = 0;
    bc_err err = {{0}};
    bc_image back = {0};
    int ok = bc_png_encode(img->rgb, img->w, img->h, &png, &len, &err) == 0 &&
             bc_png_encode(img->rgb, img->w, img->h, &png2, &len2, &err) == 0 &&
             bc_image_decode(png, len, &back, &err) == 0;
    CHECK(ok && back.w == img->w && back.h == img->h &&
              count_diff(back.rgb, img->rgb, (size_t)img->w * img->h * 3) == 0,
          "%s: encode -> decode round trip is exact %s", name, ok ? "" : err.msg);
    CHECK(ok && len == len2 && memcmp(png, png2, len) == 0, "%s: encoding is deterministic", name);
    free(png);
    free(png2);
    bc_image_free(&back);
}

static void check_fixture(const char *name, int w, int h) {
    size_t len = 0, ref_len = 0;
    char ref_name[300];
    snprintf(ref_name, sizeof ref_name, "%s.rgb", name);
    uint8_t *data = read_fixture(name, &len), *ref = read_fixture(ref_name, &ref_len);
    bc_image img = {0};
    bc_err err = {{0}};
    int rc = data && ref ? bc_image_decode(data, len, &img, &err) : -1;
    if (!CHECK(rc == 0, "%s decodes", name)) printf("#   %s\n", err.msg);
    if (rc == 0) {
        CHECK(img.w == w && img.h == h, "%s is %dx%d (got %dx%d)", name, w, h, img.w, img.h);
        size_t n = (size_t)w * h * 3;
        size_t diff = ref_len == n && img.w == w && img.h == h ? count_diff(img.rgb, ref, n) : n;
        CHECK(diff == 0, "%s: pixels equal PIL's convert(\"RGB\") (%zu of %zu bytes differ)", name, diff, n);
        check_round_trip(name, &img);
    }
    bc_image_free(&img);
    free(data);
    free(ref);
}

static void check_fixtures(void) {
    size_t len = 0;
    char *text = (char *)read_fixture("manifest.txt", &len);
    if (!CHECK(text != NULL, "manifest.txt readable")) return;
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[256];
        int w, h;
        if (line[0] == '#') continue;
        if (sscanf(line, "%255s %d %d", name, &w, &h) != 3) {
            CHECK(0, "manifest line \"%s\" reads as: name width height", line);
            continue;
        }
        check_fixture(name, w, h);
        count++;
    }
    CHECK(count >= 30, "manifest lists every fixture (%d)", count);
    free(text);
}

// A file that must fail to decode with a message containing `want`.
static void check_corrupt(const char *name, const char *want) {
    size_t len = 0;
    uint8_t *data = read_fixture(name, &len);
    bc_image img = {0};
    bc_err err = {{0}};
    int rc = data ? bc_image_decode(data, len, &img, &err) : 0;
    CHECK(rc < 0 && img.rgb == NULL, "%s is refused", name);
    CHECK_CONTAINS(err.msg, want, "%s: message says \"%s\"", name, want);
    free(data);
}

// Every prefix of a valid file is an error (or, for PNG, a success only at
// full length), never a crash: the cheap cousin of the fuzzer.
static void check_prefixes(const char *name) {
    size_t len = 0;
    uint8_t *data = read_fixture(name, &len);
    if (!data) return;
    size_t bad = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = bc_malloc(n + 1);  // exact-size copy so ASan sees any overread
        memcpy(copy, data, n);
        bc_image img = {0};
        bc_err err = {{0}};
        if (bc_image_decode(copy, n, &img, &err) == 0) bad++;
        bc_image_free(&img);
        free(copy);
    }
    CHECK(bad == 0, "%s: all %zu truncations are refused (%zu decoded)", name, len, bad);
    free(data);
}

// A JPEG whose SOF claims 60000x60000 is refused before anything is allocated.
static void check_jpeg_huge_header(void) {
    size_t len = 0;
    uint8_t *data = read_fixture("rgb444.jpg", &len);
    if (!data) return;
    size_t sof = 0;
    for (size_t i = 2; i + 9 < len; i++)
        if (data[i] == 0xff && data[i + 1] == 0xc0) { sof = i; break; }
    CHECK(sof > 0, "rgb444.jpg has a baseline SOF marker");
    if (sof) {
        data[sof + 5] = 0xea; data[sof + 6] = 0x60;  // height 60000
        data[sof + 7] = 0xea; data[sof + 8] = 0x60;  // width 60000
        bc_image img = {0};
        bc_err err = {{0}};
        int rc = bc_image_decode(data, len, &img, &err);
        CHECK(rc < 0, "JPEG with a 60000x60000 header is refused");
        CHECK_CONTAINS(err.msg, "JPEG: image is 60000x60000, larger than the limit", "message names the size");
    }
    free(data);
}

static void check_encode_errors(void) {
    uint8_t px[3] = {1, 2, 3}, *out = (uint8_t *)1;
    size_t len = 1;
    bc_err err = {{0}};
    CHECK(bc_png_encode(px, 0, 1, &out, &len, &err) < 0 && out == NULL && len == 0, "encode of 0x1 refused");
    CHECK_CONTAINS(err.msg, "PNG: cannot encode a 0x1 image", "encode message names the size");
    bc_image img = {0};
    CHECK(bc_png_encode(px, 1, 1, &out, &len, &err) == 0 && bc_is_png(out, len), "encode of 1x1 gives a PNG");
    CHECK(bc_image_decode(out, len, &img, &err) == 0 && img.w == 1 && img.h == 1 && memcmp(img.rgb, px, 3) == 0,
          "1x1 round trip");
    bc_image_free(&img);
    free(out);
}

int main(void) {
    check_fixtures();

    check_corrupt("trunc.png", "PNG: unexpected end of data (truncated file?)");
    check_corrupt("badcrc.png", "PNG: IDAT: CRC error");
    check_corrupt("badihdr.png", "PNG: Invalid IHDR data (Invalid color type/bit depth combination in IHDR)");
    check_corrupt("huge_dim.png", "PNG: image is 20000x10, larger than the limit (16384x16384 and 67108864 pixels)");
    check_corrupt("huge_pixels.png", "PNG: image is 16000x16000, larger than the limit");
    check_corrupt("trunc.jpg", "JPEG: premature end of data (truncated file?)");
    check_corrupt("garbage.jpg", "JPEG: ");
    check_corrupt("not_image.png", "not a PNG or JPEG file (starts with 47 49 46 38)");

    bc_image img = {0};
    bc_err err = {{0}};
    CHECK(bc_image_decode((const uint8_t *)"", 0, &img, &err) < 0, "empty input is refused");
    CHECK_CONTAINS(err.msg, "not a PNG or JPEG file (empty)", "empty input message");

    check_jpeg_huge_header();
    check_prefixes("rgb8.png");
    check_prefixes("interlace_palette2.png");
    check_prefixes("rgb420.jpg");
    check_prefixes("progressive.jpg");
    check_encode_errors();
    return check_done();
}
