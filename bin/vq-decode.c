// vq-decode: records with image tokens -> records with PNG images, through
// Janus-Pro's VQ-16 decoder (lib/nn/vqdec.c).
//
// Images decode in parallel, one per worker thread (min(--batch, --threads)
// of them), each worker with its own activation buffers and taking the next
// record when it is done; the records are written in input order
// (lib/batch.c). Memory is bounded by a window of records, whatever the
// stream length.
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "nn/ops.h"
#include "nn/vqdec.h"
#include "batch.h"
#include "tool.h"

static const char usage[] =
    "usage: vq-decode --model DIR [options] < records > records\n"
    "\n"
    "Decodes each record's `image_tokens` (VQ codes in raster order) on its `grid`\n"
    "[h, w] into an RGB image with Janus-Pro's VQ-16 decoder (16 pixels per token:\n"
    "24x24 tokens -> 384x384), and adds `image` (PNG bytes). Pixels are\n"
    "uint8(clip((x + 1)/2*255, 0, 255)), truncated, as Janus converts them.\n"
    "\n"
    "  --model DIR        a Janus-Pro model directory: transformers' layout\n"
    "                     (config.json with vq_config, model.vqmodel.* tensors) or\n"
    "                     the original deepseek-ai one (gen_vision_model.* in\n"
    "                     pytorch_model*.bin); only the decoder tensors are read\n"
    "  --out-dir DIR      also write DIR/<id>.png and set `image_path` (DIR is\n"
    "                     created; '/' in ids becomes '_', a missing id the record's\n"
    "                     position)\n"
    "  --no-embed         leave `image` out of the records (needs --out-dir)\n"
    "  --pixels-dir DIR   also write DIR/<id>.rgb: the raw RGB bytes [h, w, 3] read\n"
    "                     back from the PNG (for tests and tools without a PNG reader)\n"
    "  --threads N        threads in all; --batch B images decode at once, one per\n"
    "                     thread (default min(N, 8)), the rest of N go to the matrix\n"
    "                     products of each; a 384x384 image needs about 300 MB of\n"
    "                     buffers per thread\n"
    "\n"
    "A record with no `image_tokens` or `grid`, a grid that disagrees with the\n"
    "token count, or a token outside the codebook fails (exit 2, naming the key);\n"
    "with --keep-going it passes on with an `errors` entry (exit 3 at the end).\n"
    "\n"
    "Example:\n"
    "  bicot-json prompts.jsonl | plan-cot --model J | gen-tokens --model J \\\n"
    "    | vq-decode --model J --out-dir out/ | score-hps --model hps | bicot-json -r --brief\n";

typedef struct {
    const bc_vqdec *model;
    const char *out_dir, *pixels_dir;
    int embed;  // put the PNG bytes in the record
} shared;

// The file name stem of a record, as bicot-img -r makes it: the id with '/'
// as '_', leading dots as '_', the position when there is no id.
static void file_stem(const bc_record *rec, char *out, size_t size) {
    bc_record_id(rec, out, size);
    if (!out[0]) snprintf(out, size, "%zu", rec->index);
    for (char *p = out; *p; p++)
        if (*p == '/') *p = '_';
    for (char *p = out; *p == '.'; p++) *p = '_';
}

typedef struct {
    const shared *sh;
    bc_vqdec_state *state;  // this worker's activations, kept across records
} worker;

static void *worker_new(void *sh) {
    worker *w = bc_calloc(1, sizeof *w);
    w->sh = sh;
    w->state = bc_vqdec_state_new();
    return w;
}

static void worker_free(void *p) {
    worker *w = p;
    bc_vqdec_state_free(w->state);
    free(w);
}

// Decodes one record's tokens into PNG bytes (and the files asked for) and
// sets `image` / `image_path`.
static int decode_record(void *wp, bc_record *rec, bc_err *err) {
    const worker *wk = wp;
    const shared *b = wk->sh;
    int32_t *tokens = NULL, *grid = NULL;
    size_t n = 0, ng = 0;
    float *x = NULL;
    uint8_t *rgb = NULL, *png = NULL;
    size_t png_len = 0;
    char name[256], *path = NULL;
    int rc = -1;
    file_stem(rec, name, sizeof name);
    if (bc_get_int_array(rec, "image_tokens", &tokens, &n, err) < 0 ||
        bc_get_int_array(rec, "grid", &grid, &ng, err) < 0)
        goto done;
    if (ng != 2 || grid[0] < 1 || grid[1] < 1) {
        bc_fail(err, "key 'grid': expected [h, w] with two positive sizes, got %zu item(s)", ng);
        goto done;
    }
    int h = grid[0], w = grid[1], H, W;
    if ((size_t)h * (size_t)w != n) {
        bc_fail(err, "key 'grid': %dx%d needs %lld tokens, but 'image_tokens' has %zu", h, w, (long long)h * w, n);
        goto done;
    }
    bc_vqdec_out_size(b->model, h, w, &H, &W);
    x = bc_malloc((size_t)3 * H * W * sizeof *x);  // [3, H, W]
    if (bc_vqdec_decode(b->model, wk->state, tokens, n, h, w, x, err) < 0) {
        bc_err_prefix(err, "key 'image_tokens'");
        goto done;
    }
    rgb = bc_malloc((size_t)3 * H * W);  // [H, W, 3]
    bc_vqdec_to_rgb(x, H, W, rgb);
    if (bc_png_encode(rgb, W, H, &png, &png_len, err) < 0) goto done;
    if (b->out_dir) {
        char file[300];
        snprintf(file, sizeof file, "%s.png", name);
        path = bc_path_join(b->out_dir, file);
        if (bc_write_file_atomic(path, png, png_len, err) < 0) goto done;
    }
    if (b->pixels_dir) {  // what a PNG reader sees, not our buffer
        bc_image img;
        if (bc_image_decode(png, png_len, &img, err) < 0) goto done;
        char file[300];
        snprintf(file, sizeof file, "%s.rgb", name);
        char *ppath = bc_path_join(b->pixels_dir, file);
        int wr = bc_write_file_atomic(ppath, img.rgb, (size_t)img.w * img.h * 3, err);
        free(ppath);
        bc_image_free(&img);
        if (wr < 0) goto done;
    }
    // Values built on the record go into its own zone: safe from any thread.
    if (b->embed) bc_record_set(rec, "image", bc_obj_bin(rec, png, png_len));
    if (path) bc_record_set(rec, "image_path", bc_obj_cstr(rec, path));
    rc = 0;
done:
    free(tokens);
    free(grid);
    free(x);
    free(rgb);
    free(png);
    free(path);
    return rc;
}

static void make_dir(const char *dir) {
    if (mkdir(dir, 0777) < 0 && !bc_is_dir(dir)) bc_die(BC_EXIT_FATAL, "%s: cannot create the directory", dir);
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    t.batch = 0;  // 0: not given
    const char *out_dir = NULL, *pixels_dir = NULL;
    int embed = 1;
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        if (strcmp(argv[i], "--out-dir") == 0) out_dir = bc_tool_value(argc, argv, &i);
        else if (strcmp(argv[i], "--pixels-dir") == 0) pixels_dir = bc_tool_value(argc, argv, &i);
        else if (strcmp(argv[i], "--no-embed") == 0) embed = 0;
        else bc_tool_usage_error("unknown argument '%s'", argv[i]);
    }
    if (!t.model) bc_tool_usage_error("--model DIR is required");
    if (!embed && !out_dir) bc_tool_usage_error("--no-embed needs --out-dir (the image would be lost)");
    bc_err err;
    bc_vqdec *model = bc_vqdec_open(t.model, &err);
    if (!model) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    if (out_dir) make_dir(out_dir);
    if (pixels_dir) make_dir(pixels_dir);

    bc_tool_start(&t);
    shared sh = {model, out_dir, pixels_dir, embed};
    bc_batch_job job = {&sh, worker_new, worker_free, decode_record, "images"};
    bc_batch_run(&t, &job, bc_batch_workers(&t));
    bc_vqdec_free(model);
    return bc_tool_finish(&t);
}
