// score-det: the detector expert: adds rewards.det, T2I-R1's detector reward
// (reference/t2i-r1-spec.md §2.3) on OWLv2 detections.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"
#include "nn/owlv2.h"
#include "reward/det_reward.h"
#include "reward/meta.h"
#include "batch.h"
#include "tool.h"
#include "vec_cache.h"

static const char usage[] =
    "usage: score-det --model DIR [options] < records > records\n"
    "\n"
    "Detects the objects a record's prompt names in its `image` (PNG) with OWLv2 and adds\n"
    "`rewards.det`: T2I-R1's detector reward (t2i-r1-spec.md §2.3) from the record's metadata\n"
    "(task_type, nouns, spatial_info, numeracy_info):\n"
    "  object score   the fraction of nouns detected (1 when there are no nouns);\n"
    "  numeracy       per {obj_name, num}: full weight when the count after NMS(0.5) is num,\n"
    "                 0.2 of it when some but a wrong count, 0 when none;\n"
    "  spatial        0.2 per detected object + 1/2 the locality score of the best box of each.\n"
    "Other rewards are kept.\n"
    "\n"
    "Detection: the phrases are the nouns, then spatial obj1/obj2 and numeracy obj_names not\n"
    "already among them (with --t2i-r1-compat the nouns only, as T2I-R1 asks its detector);\n"
    "each is one OWLv2 text query. Every patch of the image predicts one box;\n"
    "its score for a phrase is sigmoid(logit[patch, phrase]). A box is a detection of a phrase\n"
    "when that score is above --box-threshold and (--assign):\n"
    "  argmax   (default) the phrase is the box's best-scoring one among the record's phrases, as\n"
    "           transformers' post_process_object_detection labels boxes: one box, one object\n"
    "           (a box cannot be both obj1 and obj2 of a spatial prompt, nor be counted twice);\n"
    "  all      every phrase above the threshold, as T2I-R1's GroundingDINO phrase scoring does.\n"
    "Boxes are normalised to the image (OWLv2 predicts on the image padded to a square).\n"
    "  --model DIR            a transformers Owlv2ForObjectDetection directory (e.g.\n"
    "                         google/owlv2-base-patch16-ensemble: config.json, weights, vocab.json +\n"
    "                         merges.txt, preprocessor_config.json)\n"
    "  --box-threshold T      detection score threshold (default 0.1: transformers'\n"
    "                         post_process_object_detection's default, used in OWLv2's examples.\n"
    "                         OWLv2's per-query sigmoid scores are calibrated differently from\n"
    "                         GroundingDINO's phrase scores, for which T2I-R1 uses 0.3; the value is\n"
    "                         not tuned for rewards yet: reward-models-spec.md §4.3)\n"
    "  --assign argmax|all    see above\n"
    "  --query-template T     the query text for a phrase, '{}' standing for it (default '{}': the\n"
    "                         bare phrase; OWL's papers use e.g. 'a photo of a {}')\n"
    "  --t2i-r1-compat        T2I-R1's scoring exactly, defects included (all --no-fix-* below)\n"
    "  --no-fix-above         'above' / 'on top of' give 0 as in T2I-R1 (default: scored as 'on the\n"
    "                         top of')\n"
    "  --no-fix-near          near / next to / on side of always 1 as in T2I-R1 (its 150-pixel\n"
    "                         threshold on normalised boxes; default: a threshold in normalised units)\n"
    "  --no-fix-nms           NMS reads cx,cy,w,h boxes as x1,y1,x2,y2 as in T2I-R1 (default: corners)\n"
    "  --dump-boxes           add `detections`: [{phrase, score, box: [cx, cy, w, h]}] (the kept\n"
    "                         detections, normalised to the image) to each record\n"
    "  --name NAME            the reward's key (default det)\n"
    "The image goes through the vision tower and the heads once per record; each phrase's query\n"
    "embedding is computed once and cached across records.\n"
    "\n"
    "Example:\n"
    "  bicot-img samples/ --prompts prompts.jsonl | score-det --model owlv2-base-patch16-ensemble \\\n"
    "      | bicot-json -r --brief\n";

enum { QUERY_CACHE = 4096 };  // query texts whose embeddings are kept

// The model and options, shared read-only by the workers.
typedef struct {
    bc_owlv2 *m;  // its tokenizer is thread-safe (the piece cache has a lock)
    const bc_owlv2_config *cfg;
    bc_det_options opt;
    int assign_all, dump;
    const char *tmpl;  // contains "{}"
    const char *name;  // the reward's key
} ctx;

// One worker's buffers and query cache (lib/batch.h).
typedef struct {
    const ctx *c;
    bc_vec_cache queries;  // query text (template applied) -> embedding [E]
    int32_t *ids;  // [context_length]
    float *pixels;  // [3, S, S]
} worker;

static void *worker_new(void *shared) {
    const ctx *c = shared;
    worker *w = bc_calloc(1, sizeof *w);
    w->c = c;
    w->ids = bc_malloc((size_t)c->cfg->context_length * sizeof *w->ids);
    w->pixels = bc_malloc((size_t)3 * c->cfg->image_size * c->cfg->image_size * sizeof *w->pixels);
    bc_vec_cache_init(&w->queries, QUERY_CACHE, c->cfg->embed_dim);
    return w;
}

static void worker_free(void *p) {
    worker *w = p;
    bc_vec_cache_free(&w->queries);
    free(w->ids);
    free(w->pixels);
    free(w);
}

// The query text of a phrase: the template with "{}" replaced.
static char *query_text(const char *tmpl, const char *phrase) {
    const char *at = strstr(tmpl, "{}");
    size_t pre = (size_t)(at - tmpl), plen = strlen(phrase), post = strlen(at + 2);
    char *s = bc_malloc(pre + plen + post + 1);
    memcpy(s, tmpl, pre);
    memcpy(s + pre, phrase, plen);
    memcpy(s + pre + plen, at + 2, post + 1);
    return s;
}

// The query embedding of a phrase, from the cache or computed (and cached).
static const float *query_embed(worker *w, const char *phrase, bc_err *err) {
    const ctx *c = w->c;
    char *text = query_text(c->tmpl, phrase);
    const float *embed = bc_vec_cache_get(&w->queries, text);
    if (!embed) {
        float *e = bc_vec_cache_begin(&w->queries);
        if (bc_owlv2_query_text(c->m, text, w->ids, e, err) < 0) {
            bc_err_prefix(err, "query \"%s\"", text);
            free(text);
            return NULL;
        }
        bc_vec_cache_commit(&w->queries, text);
        embed = e;
    }
    free(text);
    return embed;
}

// detections: [{phrase, score, box: [cx, cy, w, h]}]
static void dump_detections(bc_record *rec, const char **phrases, const bc_detection *d, int n) {
    msgpack_object arr = bc_obj_array(rec, (size_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_object map = bc_obj_map(rec, 3);
        msgpack_object_kv *kv = map.via.map.ptr;
        float box[4] = {d[i].cx, d[i].cy, d[i].w, d[i].h};
        kv[0].key = bc_obj_cstr(rec, "phrase");
        kv[0].val = bc_obj_cstr(rec, phrases[d[i].phrase]);
        kv[1].key = bc_obj_cstr(rec, "score");
        kv[1].val = bc_obj_float32(d[i].score);
        kv[2].key = bc_obj_cstr(rec, "box");
        kv[2].val = bc_obj_float_array(rec, box, 4);
        arr.via.array.ptr[i] = map;
    }
    bc_record_set(rec, "detections", arr);
}

// The detections of the record's phrases in one image, phrase by phrase, in
// patch order within a phrase (T2I-R1's order). *out: bc_malloc'd.
static int detect(worker *w, const uint8_t *png, size_t len, const char **phrases, int np, bc_detection **out,
                  bc_err *err) {
    const ctx *c = w->c;
    bc_image img;
    if (bc_image_decode(png, len, &img, err) < 0) {
        bc_err_prefix(err, "key 'image'");
        return -1;
    }
    int E = c->cfg->embed_dim;
    float *queries = bc_malloc((size_t)np * E * sizeof *queries);  // [np, E]
    for (int q = 0; q < np; q++) {
        const float *e = query_embed(w, phrases[q], err);
        if (!e) {
            free(queries);
            bc_image_free(&img);
            return -1;
        }
        memcpy(queries + (size_t)q * E, e, (size_t)E * sizeof *e);
    }
    bc_owlv2_preprocess(c->m, img.rgb, img.w, img.h, w->pixels);
    bc_owlv2_image *im = bc_owlv2_encode_image(c->m, w->pixels, 0);
    int n = im->n;
    float *scores = bc_malloc((size_t)n * np * sizeof *scores);  // [n, np] logits, then sigmoids
    bc_owlv2_logits(im, queries, np, scores);
    for (size_t i = 0; i < (size_t)n * np; i++) scores[i] = 1.0f / (1.0f + expf(-scores[i]));
    bc_detection *d = bc_malloc((size_t)n * np * sizeof *d);
    int nd = 0;
    for (int q = 0; q < np; q++)
        for (int p = 0; p < n; p++) {
            const float *s = scores + (size_t)p * np;
            if (!(s[q] > c->opt.box_threshold)) continue;
            if (!c->assign_all) {  // argmax over the phrases, the first of equal maxima (torch.max)
                int best = 0;
                for (int k = 1; k < np; k++)
                    if (s[k] > s[best]) best = k;
                if (best != q) continue;
            }
            float box[4];
            if (c->cfg->do_pad) bc_owlv2_box_to_image(im->boxes + (size_t)p * 4, img.w, img.h, box);
            else memcpy(box, im->boxes + (size_t)p * 4, sizeof box);
            d[nd++] = (bc_detection){box[0], box[1], box[2], box[3], s[q], q};
        }
    free(scores);
    bc_owlv2_image_free(im);
    free(queries);
    bc_image_free(&img);
    *out = d;
    return nd;
}

static int phrase_is_noun(const bc_det_query *q, const char *phrase) {
    for (int i = 0; i < q->n_nouns; i++)
        if (strcmp(q->nouns[i], phrase) == 0) return 1;
    return 0;
}

static int score(void *wp, bc_record *rec, bc_err *err) {
    worker *w = wp;
    const ctx *c = w->c;
    const uint8_t *png;
    size_t len;
    if (bc_get_bin(rec, "image", &png, &len, err) < 0) return -1;
    bc_reward_meta meta;
    if (bc_reward_meta_read(rec, &meta, err) < 0) return -1;
    bc_det_query q = bc_reward_meta_det_query(&meta);
    const char **phrases = NULL;
    int np = bc_det_phrases(&q, &phrases);
    // Without the phrase fix T2I-R1 asks its detector for the nouns only (its
    // spatial and numeracy names are looked up among them): query just those,
    // the leading phrases, so no other query can take a box from a noun.
    if (!(c->opt.fixes & BC_DET_FIX_PHRASE)) {
        int k = 0;
        while (k < np && phrase_is_noun(&q, phrases[k])) k++;
        np = k;
    }
    bc_detection *d = NULL;
    int nd = 0;
    // no phrase: nothing to detect (T2I-R1 does not even look at the image)
    if (np > 0 && (nd = detect(w, png, len, phrases, np, &d, err)) < 0) {
        free(phrases);
        bc_reward_meta_free(&meta);
        return -1;
    }
    double r = bc_det_reward(&q, phrases, np, d, nd, &c->opt);
    bc_record_set_reward(rec, c->name, r);
    if (c->dump) dump_detections(rec, phrases, d, nd);
    free(d);
    free(phrases);
    bc_reward_meta_free(&meta);
    return 0;
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    t.batch = 0;  // 0: not given (bc_batch_workers picks)
    ctx c = {0};
    c.opt = bc_det_default_options();
    c.opt.box_threshold = 0.1f;
    c.tmpl = "{}";
    const char *name = "det", *assign = "argmax";
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "--box-threshold") == 0) {
            double v = bc_parse_double(a, bc_tool_value(argc, argv, &i));
            if (!(v >= 0 && v < 1)) bc_tool_usage_error("--box-threshold: expected a value in [0, 1), got %g", v);
            c.opt.box_threshold = (float)v;
        } else if (strcmp(a, "--assign") == 0) assign = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--query-template") == 0) c.tmpl = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--t2i-r1-compat") == 0) c.opt.fixes = 0;
        else if (strcmp(a, "--no-fix-above") == 0) c.opt.fixes &= ~BC_DET_FIX_ABOVE;
        else if (strcmp(a, "--no-fix-near") == 0) c.opt.fixes &= ~BC_DET_FIX_NEAR;
        else if (strcmp(a, "--no-fix-nms") == 0) c.opt.fixes &= ~BC_DET_FIX_NMS;
        else if (strcmp(a, "--dump-boxes") == 0) c.dump = 1;
        else if (strcmp(a, "--name") == 0) name = bc_tool_value(argc, argv, &i);
        else bc_tool_usage_error("unknown option '%s'", a);
    }
    if (!t.model) bc_tool_usage_error("--model is required");
    if (strcmp(assign, "argmax") != 0 && strcmp(assign, "all") != 0)
        bc_tool_usage_error("--assign: expected argmax or all, got '%s'", assign);
    c.assign_all = strcmp(assign, "all") == 0;
    if (!strstr(c.tmpl, "{}")) bc_tool_usage_error("--query-template: '%s' has no '{}' for the phrase", c.tmpl);
    bc_err err;
    c.m = bc_owlv2_open(t.model, &err);
    if (!c.m) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    c.cfg = bc_owlv2_config_of(c.m);
    c.name = name;

    bc_tool_start(&t);
    bc_progress_start(&t.prog, t.progress, "images", 0);
    bc_batch_job job = {&c, worker_new, worker_free, score, "images"};
    bc_batch_run(&t, &job, bc_batch_workers(&t));
    bc_owlv2_free(c.m);
    return bc_tool_finish(&t);
}
