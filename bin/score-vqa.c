// score-vqa: the VQA expert: adds rewards.vqa, GIT's mean P(yes) over the
// record's noun phrases (reward-models-spec.md §2.4, t2i-r1-spec.md §2.2).
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image.h"
#include "nn/git.h"
#include "nn/preprocess.h"
#include "reward/meta.h"
#include "text/wordpiece.h"
#include "batch.h"
#include "tool.h"

static const char usage[] =
    "usage: score-vqa --model DIR [options] < records > records\n"
    "\n"
    "Asks a GIT VQA model (transformers' GitForCausalLM, T2I-R1's microsoft/git-large-vqav2)\n"
    "about each record's `image` (PNG) and adds `rewards.vqa`, T2I-R1's rules (utils/reward_git.py):\n"
    "  - task_type spatial or numeracy: 0 (T2I-R1 leaves those to the detector);\n"
    "  - the questions are the phrases of `attr_nouns` when present, else of `nouns`;\n"
    "    no phrase at all: 1;\n"
    "  - each phrase p is asked as \"p?\" (ids [CLS] + WordPiece(\"p?\"), no [SEP]) and scores\n"
    "    P(yes) / (P(yes) + P(no)) at the last position = sigmoid(logit_yes - logit_no);\n"
    "  - the reward is the mean over the phrases.\n"
    "T2I-R1 gives NaN for an empty attr_nouns list; here it is 1, as for no nouns.\n"
    "Records may carry task_type, nouns and attr_nouns as T2I-R1's training file does\n"
    "(bicot-img --prompts adds them). Every record needs its `image`, even one whose reward\n"
    "is a constant (a missing image is a pipeline error either way). Other rewards are kept.\n"
    "  --model DIR        a GitForCausalLM directory: config.json, model.safetensors or\n"
    "                     pytorch_model.bin, vocab.txt or tokenizer.json, preprocessor_config.json\n"
    "  --tokenizer PATH   vocab.txt / tokenizer.json, or a directory with one (default: the model's)\n"
    "  --all-tasks        score spatial and numeracy records too (not T2I-R1's rule)\n"
    "  --name NAME        the reward's key (default vqa)\n"
    "The image half of the decoder is computed once per record and shared by its questions.\n"
    "\n"
    "Example:\n"
    "  bicot-img samples/ --prompts prompts.jsonl | score-vqa --model git-large-vqav2 \\\n"
    "      | bicot-json -r --brief\n";

// The model and options, shared read-only by the workers.
typedef struct {
    bc_git *m;
    const bc_git_config *cfg;
    bc_wordpiece *tok;
    bc_image_config image_cfg;
    int32_t cls_id, yes_id, no_id;
    int all_tasks;
    const char *name;  // the reward's key
} ctx;

// One worker's buffer (lib/batch.h).
typedef struct {
    const ctx *c;
    float *pixels;  // [3, S, S]
} worker;

static void *worker_new(void *shared) {
    const ctx *c = shared;
    worker *w = bc_calloc(1, sizeof *w);
    int S = c->cfg->vision.image_size;
    w->c = c;
    w->pixels = bc_malloc((size_t)3 * S * S * sizeof(float));
    return w;
}

static void worker_free(void *p) {
    worker *w = p;
    free(w->pixels);
    free(w);
}

// The phrases T2I-R1 asks about, or NULL with *constant set (0: skipped
// task, 1: nothing to ask).
static char **questions(const ctx *c, const bc_reward_meta *meta, int *n, double *constant) {
    const char *tt = meta->task_type;
    if (!c->all_tasks && tt && (strcmp(tt, "spatial") == 0 || strcmp(tt, "numeracy") == 0)) {
        *constant = 0;
        return NULL;
    }
    char **phrases = meta->attr_nouns_present ? meta->attr_nouns : meta->nouns;
    *n = meta->attr_nouns_present ? meta->n_attr_nouns : meta->n_nouns;
    if (*n == 0) {
        *constant = 1;
        return NULL;
    }
    return phrases;
}

// P(yes) of the question "phrase?" on the encoded image.
static int ask(const ctx *c, const bc_git_image_state *image, const char *phrase, double *p, bc_err *err) {
    char *text = bc_asprintf("%s?", phrase);
    int32_t *ids = bc_malloc(sizeof *ids);
    size_t n = 1;
    ids[0] = c->cls_id;
    int rc = bc_wordpiece_encode(c->tok, text, strlen(text), &ids, &n, err);
    if (rc == 0) rc = bc_git_yes_prob(c->m, image, ids, (int)n, c->yes_id, c->no_id, p, err);
    if (rc < 0) bc_err_prefix(err, "question \"%s\"", text);
    free(ids);
    free(text);
    return rc;
}

static int score(void *wp, bc_record *rec, bc_err *err) {
    worker *w = wp;
    const ctx *c = w->c;
    const uint8_t *png;
    size_t len;
    // Every record must carry its image, also those whose reward is a constant.
    if (bc_get_bin(rec, "image", &png, &len, err) < 0) return -1;
    bc_reward_meta meta;
    if (bc_reward_meta_read(rec, &meta, err) < 0) return -1;
    int n = 0;
    double reward = 0;
    char **phrases = questions(c, &meta, &n, &reward);
    int rc = 0;
    if (phrases) {
        bc_image img;
        rc = bc_image_decode(png, len, &img, err);
        if (rc < 0) bc_err_prefix(err, "key 'image'");
        int S = c->cfg->vision.image_size, oh = 0, ow = 0;
        if (rc == 0) {
            bc_preprocess_clip_size(&c->image_cfg, img.w, img.h, &oh, &ow);
            if (oh != S || ow != S)
                rc = bc_fail(err, "preprocessing gives %dx%d, the model takes %dx%d (check preprocessor_config.json)",
                             ow, oh, S, S);
            else bc_preprocess_clip(&c->image_cfg, img.rgb, img.w, img.h, w->pixels);
            bc_image_free(&img);
        }
        bc_git_image_state *image = rc == 0 ? bc_git_encode_image(c->m, w->pixels) : NULL;
        double sum = 0;
        for (int i = 0; rc == 0 && i < n; i++) {
            double p = 0;
            rc = ask(c, image, phrases[i], &p, err);
            sum += p;
        }
        reward = sum / n;
        bc_git_image_state_free(image);
    }
    bc_reward_meta_free(&meta);
    if (rc < 0) return -1;
    bc_record_set_reward(rec, c->name, reward);
    return 0;
}

// The id of a one-token word as T2I-R1 takes it: tokenizer.encode(word)[1].
static int32_t word_id(const bc_wordpiece *tok, const char *word) {
    int32_t *ids = NULL;
    size_t n = 0;
    bc_err err;
    if (bc_wordpiece_encode(tok, word, strlen(word), &ids, &n, &err) < 0) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    int32_t id = n > 0 ? ids[0] : -1;
    free(ids);
    const char *unk = bc_wordpiece_token(tok, id);
    if (n != 1 || (unk && strcmp(unk, "[UNK]") == 0))
        bc_die(BC_EXIT_FATAL, "the tokenizer has no token '%s' (a BERT vocabulary such as GIT's is needed)", word);
    return id;
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    t.batch = 0;  // 0: not given (bc_batch_workers picks)
    ctx c = {0};
    const char *tokenizer = NULL, *name = "vqa";
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "--tokenizer") == 0) tokenizer = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--all-tasks") == 0) c.all_tasks = 1;
        else if (strcmp(a, "--name") == 0) name = bc_tool_value(argc, argv, &i);
        else bc_tool_usage_error("unknown option '%s'", a);
    }
    if (!t.model) bc_tool_usage_error("--model is required");
    if (!bc_is_dir(t.model)) bc_die(BC_EXIT_FATAL, "--model %s: not a directory (a GitForCausalLM directory)", t.model);
    bc_err err;
    c.m = bc_git_open(t.model, &err);
    if (!c.m) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    c.cfg = bc_git_config_of(c.m);
    c.tok = bc_wordpiece_load(tokenizer ? tokenizer : t.model, -1, &err);
    if (!c.tok) bc_die(BC_EXIT_FATAL, "%s%s", err.msg, tokenizer ? "" : " (give the vocabulary with --tokenizer)");
    c.cls_id = bc_wordpiece_id(c.tok, "[CLS]");
    if (c.cls_id < 0) bc_die(BC_EXIT_FATAL, "the tokenizer has no [CLS] token (a BERT vocabulary such as GIT's is needed)");
    c.yes_id = word_id(c.tok, "yes");
    c.no_id = word_id(c.tok, "no");
    bc_image_config_clip(&c.image_cfg, c.cfg->vision.image_size);
    char *pc = bc_path_join(t.model, "preprocessor_config.json");
    if (access(pc, R_OK) == 0 && bc_image_config_read(&c.image_cfg, pc, &err) < 0) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    free(pc);
    c.name = name;

    bc_tool_start(&t);
    bc_progress_start(&t.prog, t.progress, "images", 0);
    bc_batch_job job = {&c, worker_new, worker_free, score, "images"};
    bc_batch_run(&t, &job, bc_batch_workers(&t));
    bc_wordpiece_free(c.tok);
    bc_git_free(c.m);
    return bc_tool_finish(&t);
}
