// image.h: PNG encode/decode (libpng) and JPEG decode (libjpeg-turbo).
// Decoded images are always 8-bit RGB, row-major, h*w*3 bytes, whatever the
// file held (8/16-bit, gray, palette, alpha), converted the way PIL's
// Image.open(f).convert("RGB") does, because the reward models were trained
// on images loaded that way:
//   - alpha is dropped, never composited; tRNS is ignored; no gamma/ICC;
//   - 16-bit samples keep their high byte (PIL's "RGB;16B" unpacking);
//   - 1/2/4-bit gray is scaled to 0..255; palette indices past the PLTE
//     entries give black;
//   - JPEG: ISLOW IDCT, fancy upsampling (libjpeg's defaults, as PIL);
//     gray → replicated; CMYK is read inverted (Adobe convention, as PIL
//     always assumes) and converted with PIL's formula.
// One deliberate difference: PIL opens 16-bit gray PNGs as mode "I;16" and
// its convert("RGB") clips every value above 255 to 255, which turns nearly
// every real 16-bit gray image white. We take the high byte instead, like PIL
// does for every other 16-bit PNG kind (RGB, RGBA, gray+alpha).
#ifndef BICOT_IMAGE_H
#define BICOT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

typedef struct {
    int w, h;
    uint8_t *rgb;  // h*w*3
} bc_image;

// Decoding refuses images wider or taller than BC_IMAGE_MAX_DIM or with more
// than BC_IMAGE_MAX_PIXELS pixels, before allocating anything for them, so a
// hostile header cannot make us allocate gigabytes.
#define BC_IMAGE_MAX_DIM 16384
#define BC_IMAGE_MAX_PIXELS (1L << 26)  // 67M pixels: 8192x8192 fits

int bc_is_png(const uint8_t *data, size_t len);
int bc_is_jpeg(const uint8_t *data, size_t len);

// Decodes PNG or JPEG (by magic) into img (free with bc_image_free).
// Errors read "PNG: ...", "JPEG: ..." or "not a PNG or JPEG file ...".
int bc_image_decode(const uint8_t *data, size_t len, bc_image *img, bc_err *err);
void bc_image_free(bc_image *img);

// Encodes 8-bit RGB as PNG into a fresh buffer (free()): no interlace,
// zlib's default level, libpng's default filters, no time or text chunks,
// so the same pixels always give the same bytes.
int bc_png_encode(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len, bc_err *err);

#endif
