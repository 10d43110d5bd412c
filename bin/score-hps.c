// score-hps: the human-preference expert: adds rewards.hps = cos(image, prompt).
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image.h"
#include "nn/clip.h"
#include "nn/preprocess.h"
#include "text/clip_tokenizer.h"
#include "batch.h"
#include "tool.h"
#include "vec_cache.h"

static const char usage[] =
    "usage: score-hps --model DIR|FILE [options] < records > records\n"
    "\n"
    "Scores each record's `image` (PNG) against its `prompt` with a CLIP model and adds\n"
    "`rewards.hps` (reward-models-spec.md §1): the cosine of the image and text features,\n"
    "as T2I-R1 rewards with HPSv2.1 (no logit scale). Other rewards are kept.\n"
    "  --model M          a transformers CLIPModel directory (PickScore, plain CLIP: config.json,\n"
    "                     weights, vocab.json + merges.txt, preprocessor_config.json), or an\n"
    "                     open_clip checkpoint file such as HPSv2.1's HPS_v2.1_compressed.pt\n"
    "  --tokenizer PATH   open_clip's bpe_simple_vocab_16e6.txt (gunzipped) or a directory with\n"
    "                     vocab.json + merges.txt (default: the model directory)\n"
    "  --preprocess P     clip: shortest-edge resize + center crop, PIL bicubic (CLIPImageProcessor,\n"
    "                     from preprocessor_config.json; default for a directory); hps: longest-side\n"
    "                     resize with torch's antialiased bicubic + zero pad (HPSv2; default for an\n"
    "                     open_clip file)\n"
    "  --image-size N     the model's input size for --preprocess hps (default: from the weights)\n"
    "  --score S          cosine (default) or logit (exp(logit_scale)·cosine, PickScore's scale)\n"
    "  --name NAME        the reward's key (default hps)\n"
    "  --vision-heads N, --text-heads N, --quick-gelu\n"
    "                     for an open_clip file, which does not record them (default: open_clip's\n"
    "                     rules for ViT-H-14, exact GELU)\n"
    "Text features are computed once per distinct prompt (the G images of a group share them).\n"
    "\n"
    "Example:\n"
    "  bicot-img samples/ --prompts prompts.jsonl | score-hps --model HPS_v2.1_compressed.pt \\\n"
    "      --tokenizer bpe_simple_vocab_16e6.txt | bicot-json -r --brief\n";

enum { TEXT_CACHE = 64 };  // prompts whose text features are kept

// The model and options, shared read-only by the workers.
typedef struct {
    bc_clip *m;
    bc_clip_tokenizer *tok;  // thread-safe (its piece cache has a lock)
    const bc_clip_config *cfg;
    int hps_preprocess, image_size, logit;
    bc_image_config image_cfg;
    const char *name;  // the reward's key
} ctx;

// One worker's buffers and text cache (lib/batch.h).
typedef struct {
    const ctx *c;
    bc_vec_cache text;  // prompt -> text features [E]
    float *pixels, *image_features;
} worker;

static void *worker_new(void *shared) {
    const ctx *c = shared;
    worker *w = bc_calloc(1, sizeof *w);
    w->c = c;
    w->pixels = bc_malloc((size_t)3 * c->cfg->image_size * c->cfg->image_size * sizeof(float));
    w->image_features = bc_malloc((size_t)c->cfg->embed_dim * sizeof(float));
    bc_vec_cache_init(&w->text, TEXT_CACHE, c->cfg->embed_dim);
    return w;
}

static void worker_free(void *p) {
    worker *w = p;
    bc_vec_cache_free(&w->text);
    free(w->pixels);
    free(w->image_features);
    free(w);
}

// Text features of prompt, from the cache or computed (and cached).
static const float *text_features(worker *w, const char *prompt, bc_err *err) {
    const ctx *c = w->c;
    const float *hit = bc_vec_cache_get(&w->text, prompt);
    if (hit) return hit;
    int ctx_len = c->cfg->context_length, n_real;
    int32_t *ids = bc_malloc((size_t)ctx_len * sizeof *ids);
    float *features = bc_vec_cache_begin(&w->text);
    int rc = bc_clip_tokenize(c->tok, prompt, ctx_len, ids, &n_real, err);
    if (rc == 0) rc = bc_clip_encode_text(c->m, ids, n_real, features, err);
    free(ids);
    if (rc < 0) return NULL;
    bc_vec_cache_commit(&w->text, prompt);
    return features;
}

static int score(void *wp, bc_record *rec, bc_err *err) {
    worker *w = wp;
    const ctx *c = w->c;
    const uint8_t *png;
    size_t len;
    char *prompt;
    if (bc_get_bin(rec, "image", &png, &len, err) < 0) return -1;
    if (bc_get_strdup(rec, "prompt", &prompt, err) < 0) return -1;
    bc_image img;
    if (bc_image_decode(png, len, &img, err) < 0) {
        free(prompt);
        bc_err_prefix(err, "key 'image'");
        return -1;
    }
    if (c->hps_preprocess) {
        bc_preprocess_hps(img.rgb, img.w, img.h, c->image_size, bc_clip_mean, bc_clip_std, w->pixels);
    } else {
        int oh, ow;
        bc_preprocess_clip_size(&c->image_cfg, img.w, img.h, &oh, &ow);
        if (oh != c->cfg->image_size || ow != c->cfg->image_size) {
            bc_image_free(&img);
            free(prompt);
            return bc_fail(err, "preprocessing gives %dx%d, the model takes %dx%d (check preprocessor_config.json)",
                           ow, oh, c->cfg->image_size, c->cfg->image_size);
        }
        bc_preprocess_clip(&c->image_cfg, img.rgb, img.w, img.h, w->pixels);
    }
    bc_image_free(&img);
    bc_clip_encode_image(c->m, w->pixels, 1, w->image_features);
    const float *text = text_features(w, prompt, err);
    free(prompt);
    if (!text) return -1;
    double s = bc_clip_cosine(w->image_features, text, c->cfg->embed_dim);
    if (c->logit) s *= bc_clip_logit_scale(c->m);
    bc_record_set_reward(rec, c->name, s);
    return 0;
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    t.batch = 0;  // 0: not given (bc_batch_workers picks)
    ctx c = {0};
    bc_clip_options opt = {0, 0, -1};
    const char *tokenizer = NULL, *preprocess = NULL, *name = "hps", *score_kind = "cosine";
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "--tokenizer") == 0) tokenizer = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--preprocess") == 0) preprocess = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--image-size") == 0) c.image_size = (int)bc_parse_int(a, bc_tool_value(argc, argv, &i), 1, 4096);
        else if (strcmp(a, "--score") == 0) score_kind = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--name") == 0) name = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--vision-heads") == 0) opt.vision_heads = (int)bc_parse_int(a, bc_tool_value(argc, argv, &i), 1, 1024);
        else if (strcmp(a, "--text-heads") == 0) opt.text_heads = (int)bc_parse_int(a, bc_tool_value(argc, argv, &i), 1, 1024);
        else if (strcmp(a, "--quick-gelu") == 0) opt.quick_gelu = 1;
        else bc_tool_usage_error("unknown option '%s'", a);
    }
    if (!t.model) bc_tool_usage_error("--model is required");
    if (strcmp(score_kind, "cosine") != 0 && strcmp(score_kind, "logit") != 0)
        bc_tool_usage_error("--score: expected cosine or logit, got '%s'", score_kind);
    if (preprocess && strcmp(preprocess, "clip") != 0 && strcmp(preprocess, "hps") != 0)
        bc_tool_usage_error("--preprocess: expected clip or hps, got '%s'", preprocess);
    c.logit = strcmp(score_kind, "logit") == 0;
    bc_err err;
    c.m = bc_clip_open(t.model, &opt, &err);
    if (!c.m) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    c.cfg = bc_clip_config_of(c.m);
    int is_dir = bc_is_dir(t.model);
    c.tok = bc_clip_tokenizer_load(tokenizer ? tokenizer : t.model, &err);
    if (!c.tok) bc_die(BC_EXIT_FATAL, "%s%s", err.msg, tokenizer ? "" : " (give the vocabulary with --tokenizer)");
    c.hps_preprocess = preprocess ? strcmp(preprocess, "hps") == 0 : !is_dir;
    if (!c.image_size) c.image_size = c.cfg->image_size;
    if (c.hps_preprocess && c.image_size != c.cfg->image_size)
        bc_die(BC_EXIT_USAGE, "--image-size %d, but the model takes %d", c.image_size, c.cfg->image_size);
    if (!c.hps_preprocess) {
        bc_image_config_clip(&c.image_cfg, c.cfg->image_size);
        char *pc = is_dir ? bc_path_join(t.model, "preprocessor_config.json") : NULL;
        if (pc && access(pc, R_OK) == 0 && bc_image_config_read(&c.image_cfg, pc, &err) < 0)
            bc_die(BC_EXIT_FATAL, "%s", err.msg);
        free(pc);
    }
    c.name = name;

    bc_tool_start(&t);
    bc_progress_start(&t.prog, t.progress, "images", 0);
    bc_batch_job job = {&c, worker_new, worker_free, score, "images"};
    bc_batch_run(&t, &job, bc_batch_workers(&t));
    bc_clip_tokenizer_free(c.tok);
    bc_clip_free(c.m);
    return bc_tool_finish(&t);
}
