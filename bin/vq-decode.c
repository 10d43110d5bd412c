// vq-decode: records with image tokens -> records with PNG images, through
// Janus-Pro's VQ-16 decoder (lib/nn/vqdec.c).
//
// Records are read in batches of --batch; the batch's images decode in
// parallel, one image per worker thread, each worker with its own
// activation buffers; then the records are written in input order. Memory is
// bounded by the batch, whatever the stream length.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "nn/ops.h"
#include "nn/vqdec.h"
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
    bc_record rec;
    char name[256];       // file name stem for --out-dir / --pixels-dir
    uint8_t *png;         // the result: PNG bytes ...
    size_t png_len;
    char *path;           // ... and DIR/<name>.png when written
    int failed;
    bc_err err;
} job;

typedef struct {
    const bc_vqdec *model;
    const char *out_dir, *pixels_dir;
    job *jobs;
    size_t n, next;       // jobs in this batch; the next one to take
    pthread_mutex_t lock;
} batch;

typedef struct {
    batch *b;
    bc_vqdec_state *state;  // this worker's activations, kept across batches
} worker;

// The file name stem of a record, as bicot-img -r makes it: the id with '/'
// as '_', leading dots as '_', the position when there is no id.
static void file_stem(const bc_record *rec, char *out, size_t size) {
    bc_record_id(rec, out, size);
    if (!out[0]) snprintf(out, size, "%zu", rec->index);
    for (char *p = out; *p; p++)
        if (*p == '/') *p = '_';
    for (char *p = out; *p == '.'; p++) *p = '_';
}

// Decodes one record's tokens into PNG bytes (and the files asked for).
static int run_job(const batch *b, bc_vqdec_state *st, job *j, bc_err *err) {
    int32_t *tokens = NULL, *grid = NULL;
    size_t n = 0, ng = 0;
    float *x = NULL;
    uint8_t *rgb = NULL;
    int rc = -1;
    if (bc_get_int_array(&j->rec, "image_tokens", &tokens, &n, err) < 0 ||
        bc_get_int_array(&j->rec, "grid", &grid, &ng, err) < 0)
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
    if (bc_vqdec_decode(b->model, st, tokens, n, h, w, x, err) < 0) {
        bc_err_prefix(err, "key 'image_tokens'");
        goto done;
    }
    rgb = bc_malloc((size_t)3 * H * W);  // [H, W, 3]
    bc_vqdec_to_rgb(x, H, W, rgb);
    if (bc_png_encode(rgb, W, H, &j->png, &j->png_len, err) < 0) goto done;
    if (b->out_dir) {
        char file[300];
        snprintf(file, sizeof file, "%s.png", j->name);
        j->path = bc_path_join(b->out_dir, file);
        if (bc_write_file_atomic(j->path, j->png, j->png_len, err) < 0) goto done;
    }
    if (b->pixels_dir) {  // what a PNG reader sees, not our buffer
        bc_image img;
        if (bc_image_decode(j->png, j->png_len, &img, err) < 0) goto done;
        char file[300];
        snprintf(file, sizeof file, "%s.rgb", j->name);
        char *path = bc_path_join(b->pixels_dir, file);
        int wr = bc_write_file_atomic(path, img.rgb, (size_t)img.w * img.h * 3, err);
        free(path);
        bc_image_free(&img);
        if (wr < 0) goto done;
    }
    rc = 0;
done:
    free(tokens);
    free(grid);
    free(x);
    free(rgb);
    return rc;
}

static void *worker_main(void *arg) {
    worker *wk = arg;
    batch *b = wk->b;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next++;
        pthread_mutex_unlock(&b->lock);
        if (i >= b->n) return NULL;
        job *j = &b->jobs[i];
        j->failed = run_job(b, wk->state, j, &j->err) < 0;
    }
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
    if (t.batch == 0) t.batch = t.threads < 8 ? t.threads : 8;
    int workers = t.batch < t.threads ? t.batch : t.threads;
    int blas_threads = t.threads / workers;

    bc_err err;
    bc_vqdec *model = bc_vqdec_open(t.model, &err);
    if (!model) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    if (out_dir) make_dir(out_dir);
    if (pixels_dir) make_dir(pixels_dir);

    bc_tool_start(&t);
    bc_ops_set_threads(blas_threads);
    batch b = {.model = model, .out_dir = out_dir, .pixels_dir = pixels_dir};
    pthread_mutex_init(&b.lock, NULL);
    b.jobs = bc_calloc((size_t)t.batch, sizeof *b.jobs);
    worker *wk = bc_calloc((size_t)workers, sizeof *wk);
    pthread_t *tids = bc_calloc((size_t)workers, sizeof *tids);
    for (int i = 0; i < workers; i++) wk[i] = (worker){&b, bc_vqdec_state_new()};

    for (int more = 1; more;) {
        b.n = b.next = 0;
        while (b.n < (size_t)t.batch && (more = bc_tool_next(&t, &b.jobs[b.n].rec))) {
            job *j = &b.jobs[b.n++];
            file_stem(&j->rec, j->name, sizeof j->name);
            j->png = NULL;
            j->path = NULL;
            j->failed = 0;
        }
        if (b.n == 0) break;
        if (workers == 1 || b.n == 1) {
            worker_main(&wk[0]);
        } else {
            int started = 0;
            for (; started < workers && (size_t)started < b.n; started++)
                if (pthread_create(&tids[started], NULL, worker_main, &wk[started]) != 0)
                    bc_die(BC_EXIT_FATAL, "cannot start a thread");
            for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
        }
        for (size_t i = 0; i < b.n; i++) {  // in input order
            job *j = &b.jobs[i];
            if (j->failed) {
                bc_tool_fail(&t, &j->rec, &j->err);
            } else {
                if (embed) bc_record_set(&j->rec, "image", bc_obj_bin(&j->rec, j->png, j->png_len));
                if (j->path) bc_record_set(&j->rec, "image_path", bc_obj_cstr(&j->rec, j->path));
                bc_progress_add(&t.prog, 0, 1, "images");
                bc_tool_emit(&t, &j->rec);
            }
            free(j->png);
            free(j->path);
        }
    }

    for (int i = 0; i < workers; i++) bc_vqdec_state_free(wk[i].state);
    free(wk);
    free(tids);
    free(b.jobs);
    pthread_mutex_destroy(&b.lock);
    bc_vqdec_free(model);
    return bc_tool_finish(&t);
}
