// bicot-grid: contact sheets. Records with PNG `image`s -> one PNG per group
// in --out-dir: the group's images side by side, each with its id written
// underneath in a built-in 5×7 font, so a person sees a group at a glance.
// Records pass through unchanged.
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "tool.h"

static const char usage[] =
    "usage: bicot-grid --out-dir DIR [--cols N] [--quiet] < records > records\n"
    "\n"
    "Writes DIR/<group>.png for each group of records: the group's `image`s (PNG)\n"
    "in rows of --cols (default 4), each with its `id` underneath. A record's group\n"
    "is its `group` key; without one, its id with a trailing \"#<k>\" removed (the\n"
    "samples of one prompt). A group's sheet is written when a record of another\n"
    "group arrives and at the end: records of a group are consecutive in bicot\n"
    "pipelines; a group that comes back later gets another sheet, <group>-2.png, ...\n"
    "File names: '/' becomes '_', leading dots '_'. Records pass through unchanged.\n"
    "\n"
    "  --out-dir DIR   where the sheets go (created)\n"
    "  --cols N        images per row (default 4)\n"
    "  --quiet         write no records to stdout\n"
    "\n"
    "A record without an `image`, or one that does not decode, fails (exit 2);\n"
    "with --keep-going it passes on with an `errors` entry and is left out.\n"
    "\n"
    "Example:\n"
    "  gen-tokens --model J < plans | vq-decode --model J | bicot-grid --out-dir sheets/ --quiet\n";

// ---- a 5×7 font: printable ASCII, one byte per column, bit 0 at the top ----

static const uint8_t font5x7[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, {0x00, 0x00, 0x5F, 0x00, 0x00}, {0x00, 0x07, 0x00, 0x07, 0x00},  //  !"
    {0x14, 0x7F, 0x14, 0x7F, 0x14}, {0x24, 0x2A, 0x7F, 0x2A, 0x12}, {0x23, 0x13, 0x08, 0x64, 0x62},  // #$%
    {0x36, 0x49, 0x55, 0x22, 0x50}, {0x00, 0x05, 0x03, 0x00, 0x00}, {0x00, 0x1C, 0x22, 0x41, 0x00},  // &'(
    {0x00, 0x41, 0x22, 0x1C, 0x00}, {0x08, 0x2A, 0x1C, 0x2A, 0x08}, {0x08, 0x08, 0x3E, 0x08, 0x08},  // )*+
    {0x00, 0x50, 0x30, 0x00, 0x00}, {0x08, 0x08, 0x08, 0x08, 0x08}, {0x00, 0x60, 0x60, 0x00, 0x00},  // ,-.
    {0x20, 0x10, 0x08, 0x04, 0x02}, {0x3E, 0x51, 0x49, 0x45, 0x3E}, {0x00, 0x42, 0x7F, 0x40, 0x00},  // /01
    {0x42, 0x61, 0x51, 0x49, 0x46}, {0x21, 0x41, 0x45, 0x4B, 0x31}, {0x18, 0x14, 0x12, 0x7F, 0x10},  // 234
    {0x27, 0x45, 0x45, 0x45, 0x39}, {0x3C, 0x4A, 0x49, 0x49, 0x30}, {0x01, 0x71, 0x09, 0x05, 0x03},  // 567
    {0x36, 0x49, 0x49, 0x49, 0x36}, {0x06, 0x49, 0x49, 0x29, 0x1E}, {0x00, 0x36, 0x36, 0x00, 0x00},  // 89:
    {0x00, 0x56, 0x36, 0x00, 0x00}, {0x08, 0x14, 0x22, 0x41, 0x00}, {0x14, 0x14, 0x14, 0x14, 0x14},  // ;<=
    {0x00, 0x41, 0x22, 0x14, 0x08}, {0x02, 0x01, 0x51, 0x09, 0x06}, {0x32, 0x49, 0x79, 0x41, 0x3E},  // >?@
    {0x7E, 0x11, 0x11, 0x11, 0x7E}, {0x7F, 0x49, 0x49, 0x49, 0x36}, {0x3E, 0x41, 0x41, 0x41, 0x22},  // ABC
    {0x7F, 0x41, 0x41, 0x22, 0x1C}, {0x7F, 0x49, 0x49, 0x49, 0x41}, {0x7F, 0x09, 0x09, 0x01, 0x01},  // DEF
    {0x3E, 0x41, 0x41, 0x51, 0x32}, {0x7F, 0x08, 0x08, 0x08, 0x7F}, {0x00, 0x41, 0x7F, 0x41, 0x00},  // GHI
    {0x20, 0x40, 0x41, 0x3F, 0x01}, {0x7F, 0x08, 0x14, 0x22, 0x41}, {0x7F, 0x40, 0x40, 0x40, 0x40},  // JKL
    {0x7F, 0x02, 0x04, 0x02, 0x7F}, {0x7F, 0x04, 0x08, 0x10, 0x7F}, {0x3E, 0x41, 0x41, 0x41, 0x3E},  // MNO
    {0x7F, 0x09, 0x09, 0x09, 0x06}, {0x3E, 0x41, 0x51, 0x21, 0x5E}, {0x7F, 0x09, 0x19, 0x29, 0x46},  // PQR
    {0x46, 0x49, 0x49, 0x49, 0x31}, {0x01, 0x01, 0x7F, 0x01, 0x01}, {0x3F, 0x40, 0x40, 0x40, 0x3F},  // STU
    {0x1F, 0x20, 0x40, 0x20, 0x1F}, {0x7F, 0x20, 0x18, 0x20, 0x7F}, {0x63, 0x14, 0x08, 0x14, 0x63},  // VWX
    {0x03, 0x04, 0x78, 0x04, 0x03}, {0x61, 0x51, 0x49, 0x45, 0x43}, {0x00, 0x7F, 0x41, 0x41, 0x00},  // YZ[
    {0x02, 0x04, 0x08, 0x10, 0x20}, {0x00, 0x41, 0x41, 0x7F, 0x00}, {0x04, 0x02, 0x01, 0x02, 0x04},  // \]^
    {0x40, 0x40, 0x40, 0x40, 0x40}, {0x00, 0x01, 0x02, 0x04, 0x00}, {0x20, 0x54, 0x54, 0x54, 0x78},  // _`a
    {0x7F, 0x48, 0x44, 0x44, 0x38}, {0x38, 0x44, 0x44, 0x44, 0x20}, {0x38, 0x44, 0x44, 0x48, 0x7F},  // bcd
    {0x38, 0x54, 0x54, 0x54, 0x18}, {0x08, 0x7E, 0x09, 0x01, 0x02}, {0x08, 0x54, 0x54, 0x54, 0x3C},  // efg
    {0x7F, 0x08, 0x04, 0x04, 0x78}, {0x00, 0x44, 0x7D, 0x40, 0x00}, {0x20, 0x40, 0x44, 0x3D, 0x00},  // hij
    {0x00, 0x7F, 0x10, 0x28, 0x44}, {0x00, 0x41, 0x7F, 0x40, 0x00}, {0x7C, 0x04, 0x18, 0x04, 0x78},  // klm
    {0x7C, 0x08, 0x04, 0x04, 0x78}, {0x38, 0x44, 0x44, 0x44, 0x38}, {0x7C, 0x14, 0x14, 0x14, 0x08},  // nop
    {0x08, 0x14, 0x14, 0x18, 0x7C}, {0x7C, 0x08, 0x04, 0x04, 0x08}, {0x48, 0x54, 0x54, 0x54, 0x20},  // qrs
    {0x04, 0x3F, 0x44, 0x40, 0x20}, {0x3C, 0x40, 0x40, 0x20, 0x7C}, {0x1C, 0x20, 0x40, 0x20, 0x1C},  // tuv
    {0x3C, 0x40, 0x30, 0x40, 0x3C}, {0x44, 0x28, 0x10, 0x28, 0x44}, {0x0C, 0x50, 0x50, 0x50, 0x3C},  // wxy
    {0x44, 0x64, 0x54, 0x4C, 0x44}, {0x00, 0x08, 0x36, 0x41, 0x00}, {0x00, 0x00, 0x7F, 0x00, 0x00},  // z{|
    {0x00, 0x41, 0x36, 0x08, 0x00}, {0x08, 0x04, 0x08, 0x10, 0x08},                                  // }~
};

// Draws one character (non-printable: '?') at (x, y), each font pixel a
// scale×scale block, clipped to the sheet.
static void draw_char(uint8_t *rgb, int W, int H, int x, int y, int scale, char ch) {
    unsigned c = (unsigned char)ch;
    if (c < 32 || c > 126) c = '?';
    for (int col = 0; col < 5; col++)
        for (int row = 0; row < 7; row++) {
            if (!(font5x7[c - 32][col] >> row & 1)) continue;
            for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++) {
                    int px = x + col * scale + dx, py = y + row * scale + dy;
                    if (px >= 0 && px < W && py >= 0 && py < H) memset(rgb + ((size_t)py * W + px) * 3, 0, 3);
                }
        }
}

// ---- sheets ------------------------------------------------------------------

typedef struct {
    char *group;           // NULL: no group open
    bc_image *imgs;
    char **ids;
    size_t n, cap;
} sheet;

typedef struct {
    const char *out_dir;
    int cols;
    char **written;        // file stems already written (for <group>-2, ...)
    size_t nwritten;
} grid_opts;

// The file stem for a group: '/' as '_', leading dots as '_', and -2, -3, ...
// when a sheet of that name was already written.
static char *sheet_stem(grid_opts *o, const char *group) {
    char *base = bc_strdup(group[0] ? group : "_");
    for (char *p = base; *p; p++)
        if (*p == '/') *p = '_';
    for (char *p = base; *p == '.'; p++) *p = '_';
    char *stem = bc_strdup(base);
    for (int k = 2;; k++) {
        size_t i = 0;
        while (i < o->nwritten && strcmp(o->written[i], stem) != 0) i++;
        if (i == o->nwritten) break;
        free(stem);
        stem = bc_asprintf("%s-%d", base, k);
    }
    free(base);
    o->written = bc_realloc(o->written, (o->nwritten + 1) * sizeof *o->written);
    o->written[o->nwritten++] = bc_strdup(stem);
    return stem;
}

// Lays out and writes the open sheet, then empties it.
static void flush_sheet(grid_opts *o, sheet *s) {
    if (!s->group) return;
    if (s->n) {
        int cw = 0, ch = 0;  // cell: the largest image
        for (size_t i = 0; i < s->n; i++) {
            if (s->imgs[i].w > cw) cw = s->imgs[i].w;
            if (s->imgs[i].h > ch) ch = s->imgs[i].h;
        }
        int scale = cw >= 192 ? 2 : 1, pad = 4, label_h = 7 * scale + 2 * pad;
        int cols = (int)s->n < o->cols ? (int)s->n : o->cols, rows = (int)((s->n + (size_t)cols - 1) / (size_t)cols);
        int W = pad + cols * (cw + pad), H = pad + rows * (ch + label_h);
        uint8_t *rgb = bc_malloc((size_t)W * H * 3);  // [H, W, 3], white
        memset(rgb, 255, (size_t)W * H * 3);
        for (size_t i = 0; i < s->n; i++) {
            const bc_image *im = &s->imgs[i];
            int x0 = pad + (int)(i % (size_t)cols) * (cw + pad), y0 = pad + (int)(i / (size_t)cols) * (ch + label_h);
            for (int y = 0; y < im->h; y++)
                memcpy(rgb + ((size_t)(y0 + y) * W + x0) * 3, im->rgb + (size_t)y * im->w * 3, (size_t)im->w * 3);
            // the id under the image; when too long, its end (where the sample number is)
            const char *id = s->ids[i];
            int fit = cw / (6 * scale), len = (int)strlen(id), x = x0;
            if (len > fit && fit >= 3) {
                for (int k = 0; k < 2; k++, x += 6 * scale) draw_char(rgb, W, H, x, y0 + ch + pad, scale, '.');
                id += len - (fit - 2);
            }
            for (; *id && x + 5 * scale <= x0 + cw; id++, x += 6 * scale)
                draw_char(rgb, W, H, x, y0 + ch + pad, scale, *id);
        }
        uint8_t *png;
        size_t png_len;
        bc_err err;
        char *stem = sheet_stem(o, s->group);
        char *file = bc_asprintf("%s.png", stem);
        char *path = bc_path_join(o->out_dir, file);
        if (bc_png_encode(rgb, W, H, &png, &png_len, &err) < 0 || bc_write_file_atomic(path, png, png_len, &err) < 0)
            bc_die(BC_EXIT_FATAL, "%s: %s", path, err.msg);
        free(png);
        free(path);
        free(file);
        free(stem);
        free(rgb);
    }
    for (size_t i = 0; i < s->n; i++) {
        bc_image_free(&s->imgs[i]);
        free(s->ids[i]);
    }
    s->n = 0;
    free(s->group);
    s->group = NULL;
}

// The record's group: `group`, else its id without a trailing "#<digits>".
static char *group_of(const bc_record *rec) {
    char buf[512];
    const msgpack_object *g = bc_record_get(rec, "group");
    if (g && g->type == MSGPACK_OBJECT_STR) return bc_strndup(g->via.str.ptr, g->via.str.size);
    bc_record_id(rec, buf, sizeof buf);
    char *hash = strrchr(buf, '#');
    if (hash && hash > buf && hash[1] && strspn(hash + 1, "0123456789") == strlen(hash + 1)) *hash = 0;
    return bc_strdup(buf);
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    grid_opts o = {.cols = 4};
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        if (strcmp(argv[i], "--out-dir") == 0) o.out_dir = bc_tool_value(argc, argv, &i);
        else if (strcmp(argv[i], "--cols") == 0) o.cols = (int)bc_parse_int("--cols", bc_tool_value(argc, argv, &i), 1, 1000);
        else if (strcmp(argv[i], "--quiet") == 0) t.no_output = 1;
        else bc_tool_usage_error("unknown argument '%s'", argv[i]);
    }
    if (!o.out_dir) bc_tool_usage_error("--out-dir DIR is required");
    if (mkdir(o.out_dir, 0777) < 0 && !bc_is_dir(o.out_dir))
        bc_die(BC_EXIT_FATAL, "%s: cannot create the directory", o.out_dir);

    bc_tool_start(&t);
    sheet s = {0};
    bc_record rec;
    while (bc_tool_next(&t, &rec)) {
        bc_err err;
        const uint8_t *png;
        size_t len;
        bc_image img;
        if (bc_get_bin(&rec, "image", &png, &len, &err) < 0) {
            bc_tool_fail(&t, &rec, &err);
            continue;
        }
        if (bc_image_decode(png, len, &img, &err) < 0) {
            bc_err_prefix(&err, "key 'image'");
            bc_tool_fail(&t, &rec, &err);
            continue;
        }
        char *group = group_of(&rec);
        if (s.group && strcmp(s.group, group) != 0) flush_sheet(&o, &s);
        if (!s.group) s.group = bc_strdup(group);
        free(group);
        if (s.n == s.cap) {
            s.cap = s.cap ? 2 * s.cap : 8;
            s.imgs = bc_realloc(s.imgs, s.cap * sizeof *s.imgs);
            s.ids = bc_realloc(s.ids, s.cap * sizeof *s.ids);
        }
        char id[512];
        bc_record_id(&rec, id, sizeof id);
        if (!id[0]) snprintf(id, sizeof id, "%zu", rec.index);
        s.imgs[s.n] = img;
        s.ids[s.n++] = bc_strdup(id);
        bc_tool_emit(&t, &rec);
    }
    flush_sheet(&o, &s);
    free(s.imgs);
    free(s.ids);
    for (size_t i = 0; i < o.nwritten; i++) free(o.written[i]);
    free(o.written);
    return bc_tool_finish(&t);
}
