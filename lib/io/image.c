// image.c: PNG (libpng) and JPEG (libjpeg-turbo) from memory to 8-bit RGB,
// pixel for pixel what PIL's Image.open(f).convert("RGB") gives (see
// image.h for the rules and the one documented difference), and RGB to PNG.
//
// Both libraries report errors by longjmp. Everything a decode allocates
// lives in a heap-allocated state struct, whose fields (unlike automatic
// variables) keep their values across longjmp, so the error path can free
// whatever was allocated so far.
#include "image.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

int bc_is_png(const uint8_t *data, size_t len) {
    static const uint8_t magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return len >= 8 && memcmp(data, magic, 8) == 0;
}

int bc_is_jpeg(const uint8_t *data, size_t len) {
    return len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

void bc_image_free(bc_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->w = img->h = 0;
}

// The size check every decoder runs on the header, before allocating.
static int check_dims(const char *fmt, unsigned long w, unsigned long h, bc_err *err) {
    if (w == 0 || h == 0) return bc_fail(err, "%s: image is %lux%lu (empty)", fmt, w, h);
    if (w > BC_IMAGE_MAX_DIM || h > BC_IMAGE_MAX_DIM || (double)w * (double)h > (double)BC_IMAGE_MAX_PIXELS)
        return bc_fail(err, "%s: image is %lux%lu, larger than the limit (%dx%d and %ld pixels)", fmt, w, h,
                       BC_IMAGE_MAX_DIM, BC_IMAGE_MAX_DIM, (long)BC_IMAGE_MAX_PIXELS);
    return 0;
}

// ---- PNG decode ------------------------------------------------------------

typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char msg[256];      // libpng's error message
    char warning[256];  // its last warning, which often says why (e.g. IHDR)
    uint8_t *rows;      // the whole image after libpng's transforms
    png_bytep *row_ptrs;
    uint8_t *rgb;
} png_state;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_state *st = png_get_error_ptr(png);
    snprintf(st->msg, sizeof st->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    png_state *st = png_get_error_ptr(png);
    snprintf(st->warning, sizeof st->warning, "%s", msg);
}

static void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
    png_state *st = png_get_io_ptr(png);
    if (n > st->len - st->pos) png_error(png, "unexpected end of data (truncated file?)");
    memcpy(out, st->data + st->pos, n);
    st->pos += n;
}

// One row after libpng's transforms (16→8 by high byte, sub-byte samples
// unpacked to one byte each, gray scaled) → RGB.
static void png_row_to_rgb(const uint8_t *src, uint8_t *dst, int w, int color_type, const uint8_t *palette) {
    for (int x = 0; x < w; x++, dst += 3) {
        switch (color_type) {
        case PNG_COLOR_TYPE_GRAY: dst[0] = dst[1] = dst[2] = src[x]; break;
        case PNG_COLOR_TYPE_GRAY_ALPHA: dst[0] = dst[1] = dst[2] = src[2 * x]; break;
        case PNG_COLOR_TYPE_RGB: memcpy(dst, src + 3 * x, 3); break;
        case PNG_COLOR_TYPE_RGB_ALPHA: memcpy(dst, src + 4 * x, 3); break;
        case PNG_COLOR_TYPE_PALETTE: memcpy(dst, palette + 3 * src[x], 3); break;
        }
    }
}

// The part of the decode that may longjmp; everything it allocates goes into st.
static void png_decode_body(png_structp png, png_infop info, png_state *st, bc_image *img, bc_err *err, int *ok) {
    png_set_read_fn(png, st, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (check_dims("PNG", w, h, err) < 0) return;
    int color_type = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);

    // No png_set_expand (it would turn tRNS into alpha) and no gamma: PIL
    // ignores both. Palette images stay indices and are looked up below,
    // where an index past the PLTE entries gives black, as in PIL.
    uint8_t palette[256 * 3] = {0};
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp plte = NULL;
        int n = 0;
        if (png_get_PLTE(png, info, &plte, &n) == PNG_INFO_PLTE)
            for (int i = 0; i < n && i < 256; i++) {
                palette[3 * i] = plte[i].red;
                palette[3 * i + 1] = plte[i].green;
                palette[3 * i + 2] = plte[i].blue;
            }
    }
    if (depth == 16) png_set_strip_16(png);  // keeps the high byte, like PIL's ";16B" unpackers
    if (depth < 8) {
        if (color_type == PNG_COLOR_TYPE_GRAY) png_set_expand_gray_1_2_4_to_8(png);  // scales: 1→255, 3→255 (2-bit)
        else png_set_packing(png);  // palette indices: one byte each, not scaled
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes < (size_t)w) {  // cannot happen after the transforms above; guards the lookup
        bc_fail(err, "PNG: unexpected row size %zu for width %u", rowbytes, (unsigned)w);
        return;
    }
    st->rows = bc_malloc(rowbytes * h);
    st->row_ptrs = bc_malloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) st->row_ptrs[y] = st->rows + rowbytes * y;
    png_read_image(png, st->row_ptrs);
    png_read_end(png, NULL);  // checks the CRC of the last IDAT and that the data ends cleanly

    st->rgb = bc_malloc((size_t)w * h * 3);
    for (png_uint_32 y = 0; y < h; y++)
        png_row_to_rgb(st->row_ptrs[y], st->rgb + (size_t)y * w * 3, (int)w, color_type, palette);
    img->w = (int)w;
    img->h = (int)h;
    img->rgb = st->rgb;
    st->rgb = NULL;
    *ok = 1;
}

static int png_decode(const uint8_t *data, size_t len, bc_image *img, bc_err *err) {
    png_state *st = bc_calloc(1, sizeof *st);
    st->data = data;
    st->len = len;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int ok = 0;
    if (!info) {
        bc_fail(err, "PNG: cannot create libpng structures");
    } else if (setjmp(png_jmpbuf(png))) {
        if (st->warning[0]) bc_fail(err, "PNG: %s (%s)", st->msg, st->warning);
        else bc_fail(err, "PNG: %s", st->msg);
    } else {
        // Like PIL, tolerate what libpng calls benign (e.g. a bad ancillary chunk).
        png_set_benign_errors(png, 1);
        png_decode_body(png, info, st, img, err, &ok);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(st->rows);
    free(st->row_ptrs);
    free(st->rgb);
    free(st);
    return ok ? 0 : -1;
}

// ---- JPEG decode -----------------------------------------------------------

// libjpeg-turbo's own fuzzers stop hostile progressive files (thousands of
// tiny scans, each a full pass over the coefficients) the same way.
#define JPEG_MAX_SCANS 1000
#define JPEG_MAX_MEMORY (768L << 20)

typedef struct {
    struct jpeg_error_mgr pub;  // first: libjpeg hands us a pointer to it
    struct jpeg_progress_mgr progress;
    struct jpeg_decompress_struct cinfo;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
    int created;
    uint8_t *row;  // one decoded scanline (gray or CMYK)
    uint8_t *rgb;
} jpeg_state;

static void jpeg_on_error(j_common_ptr cinfo) {
    jpeg_state *st = (jpeg_state *)cinfo->err;
    cinfo->err->format_message(cinfo, st->msg);
    longjmp(st->jump, 1);
}

// Warnings are ignored, as PIL does, except a premature end of data: libjpeg
// would pad the image with gray, PIL raises "image file is truncated".
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_state *st = (jpeg_state *)cinfo->err;
        snprintf(st->msg, sizeof st->msg, "premature end of data (truncated file?)");
        longjmp(st->jump, 1);
    }
}

static void jpeg_on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_state *st = (jpeg_state *)cinfo->err;
        snprintf(st->msg, sizeof st->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(st->jump, 1);
    }
}

// PIL's CMYK→RGB (Convert.c cmyk2rgb), on samples already un-inverted.
static uint8_t cmyk_channel(int c, int k) {
    int nk = 255 - k;
    int t = c * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v);
}

static void jpeg_decode_body(jpeg_state *st, const uint8_t *data, size_t len, bc_image *img, bc_err *err,
                             int *ok) {
    struct jpeg_decompress_struct *ci = &st->cinfo;
    jpeg_create_decompress(ci);
    st->created = 1;
    ci->mem->max_memory_to_use = JPEG_MAX_MEMORY;
    st->progress.progress_monitor = jpeg_on_progress;
    ci->progress = &st->progress;
    jpeg_mem_src(ci, data, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    if (check_dims("JPEG", ci->image_width, ci->image_height, err) < 0) return;
    // PIL picks the mode from the number of components: L, RGB or CMYK.
    switch (ci->num_components) {
    case 1: ci->out_color_space = JCS_GRAYSCALE; break;
    case 3: ci->out_color_space = JCS_RGB; break;
    case 4: ci->out_color_space = JCS_CMYK; break;
    default: bc_fail(err, "JPEG: %d-component images are not supported", ci->num_components); return;
    }
    // libjpeg's defaults, which PIL keeps (it changes them only in draft mode).
    ci->dct_method = JDCT_ISLOW;
    ci->do_fancy_upsampling = TRUE;
    jpeg_start_decompress(ci);

    int w = (int)ci->output_width, h = (int)ci->output_height, nc = ci->output_components;
    st->rgb = bc_malloc((size_t)w * h * 3);
    st->row = bc_malloc((size_t)w * nc);
    while (ci->output_scanline < ci->output_height) {
        uint8_t *dst = st->rgb + (size_t)ci->output_scanline * w * 3;
        JSAMPROW rowp = nc == 3 ? dst : st->row;
        if (jpeg_read_scanlines(ci, &rowp, 1) != 1) {
            bc_fail(err, "JPEG: no scanline returned at row %u", ci->output_scanline);
            return;
        }
        const uint8_t *s = st->row;
        if (nc == 1) {
            for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = s[x];
        } else if (nc == 4) {  // PIL reads every CMYK JPEG as "CMYK;I" (Adobe's inverted samples)
            for (int x = 0; x < w; x++) {
                int k = 255 - s[4 * x + 3];
                for (int c = 0; c < 3; c++) dst[3 * x + c] = cmyk_channel(255 - s[4 * x + c], k);
            }
        }
    }
    jpeg_finish_decompress(ci);
    img->w = w;
    img->h = h;
    img->rgb = st->rgb;
    st->rgb = NULL;
    *ok = 1;
}

static int jpeg_decode(const uint8_t *data, size_t len, bc_image *img, bc_err *err) {
    jpeg_state *st = bc_calloc(1, sizeof *st);
    st->cinfo.err = jpeg_std_error(&st->pub);
    st->pub.error_exit = jpeg_on_error;
    st->pub.emit_message = jpeg_on_message;
    int ok = 0;
    if (setjmp(st->jump)) bc_fail(err, "JPEG: %s", st->msg);
    else jpeg_decode_body(st, data, len, img, err, &ok);
    if (st->created) jpeg_destroy_decompress(&st->cinfo);
    free(st->row);
    free(st->rgb);
    free(st);
    return ok ? 0 : -1;
}

// ---- dispatch --------------------------------------------------------------

int bc_image_decode(const uint8_t *data, size_t len, bc_image *img, bc_err *err) {
    img->w = img->h = 0;
    img->rgb = NULL;
    if (len == 0) return bc_fail(err, "not a PNG or JPEG file (empty)");
    if (bc_is_png(data, len)) return png_decode(data, len, img, err);
    if (bc_is_jpeg(data, len)) return jpeg_decode(data, len, img, err);
    char head[32] = "";
    for (size_t i = 0; i < len && i < 4; i++) snprintf(head + 3 * i, sizeof head - 3 * i, " %02x", data[i]);
    return bc_fail(err, "not a PNG or JPEG file (starts with%s)", head);
}

// ---- PNG encode ------------------------------------------------------------

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    char msg[256];
    png_bytep *row_ptrs;
} png_out;

static void png_write_mem(png_structp png, png_bytep data, png_size_t n) {
    png_out *o = png_get_io_ptr(png);
    if (o->cap - o->len < n) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->len < n) cap *= 2;
        o->buf = bc_realloc(o->buf, cap);
        o->cap = cap;
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void png_flush_mem(png_structp png) { (void)png; }

static void png_on_write_error(png_structp png, png_const_charp msg) {
    png_out *o = png_get_error_ptr(png);
    snprintf(o->msg, sizeof o->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_encode_body(png_structp png, png_infop info, png_out *o, const uint8_t *rgb, int w, int h) {
    png_set_write_fn(png, o, png_write_mem, png_flush_mem);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    o->row_ptrs = bc_malloc(sizeof(png_bytep) * (size_t)h);
    for (int y = 0; y < h; y++) o->row_ptrs[y] = (png_bytep)(rgb + (size_t)y * w * 3);
    png_write_image(png, o->row_ptrs);
    png_write_end(png, NULL);
}

int bc_png_encode(const uint8_t *rgb, int w, int h, uint8_t **out, size_t *len, bc_err *err) {
    *out = NULL;
    *len = 0;
    if (w <= 0 || h <= 0 || (size_t)w > PNG_UINT_31_MAX / 3 || (size_t)h > PNG_UINT_31_MAX)
        return bc_fail(err, "PNG: cannot encode a %dx%d image", w, h);
    png_out *o = bc_calloc(1, sizeof *o);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, o, png_on_write_error, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    int ok = 0;
    if (!info) {
        bc_fail(err, "PNG: cannot create libpng structures");
    } else if (setjmp(png_jmpbuf(png))) {
        bc_fail(err, "PNG: encode: %s", o->msg);
    } else {
        png_encode_body(png, info, o, rgb, w, h);
        ok = 1;
    }
    png_destroy_write_struct(&png, &info);
    free(o->row_ptrs);
    if (ok) {
        *out = o->buf;
        *len = o->len;
    } else {
        free(o->buf);
    }
    free(o);
    return ok ? 0 : -1;
}
