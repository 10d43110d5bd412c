// fuzz_png.c: any bytes → bc_image_decode (the PNG and JPEG paths, by magic).
// A decode must fail cleanly or give a well-formed image; a small decoded
// image must also survive PNG encode → decode exactly.
// Seed corpus: tests/fuzz/corpus/png/ (the fixtures of tests/golden/images).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bc_image img;
    bc_err err;
    if (bc_image_decode(data, size, &img, &err) < 0) return 0;
    if (img.w <= 0 || img.h <= 0 || img.w > BC_IMAGE_MAX_DIM || img.h > BC_IMAGE_MAX_DIM || !img.rgb) abort();
    size_t n = (size_t)img.w * img.h * 3;
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += img.rgb[i];  // every byte initialised (MSan/ASan reads)
    if (n <= 3 * 256 * 256) {
        uint8_t *png;
        size_t len;
        bc_image back;
        if (bc_png_encode(img.rgb, img.w, img.h, &png, &len, &err) < 0) abort();
        if (bc_image_decode(png, len, &back, &err) < 0) abort();
        if (back.w != img.w || back.h != img.h || memcmp(back.rgb, img.rgb, n) != 0) abort();
        bc_image_free(&back);
        free(png);
    }
    bc_image_free(&img);
    return 0;
}
