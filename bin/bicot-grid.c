// bicot-grid: contact sheets. Records with PNG `image`s -> one PNG per group
// in --out-dir: the group's images side by side, each with its id written
// underneath in a built-in 5×7 font, so a person sees a group at a glance.
// Records pass through unchanged.
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/draw.h"
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
            int fit = cw / (BC_DRAW_ADVANCE * scale), len = (int)strlen(id), x = x0;
            if (len > fit && fit >= 3) {
                x += bc_draw_text(rgb, W, H, x, y0 + ch + pad, scale, "..", -1);
                id += len - (fit - 2);
            }
            bc_draw_text(rgb, W, H, x, y0 + ch + pad, scale, id, x0 + cw - x);
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
