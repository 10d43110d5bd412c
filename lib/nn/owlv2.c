// owlv2.c: OWLv2's detection heads on top of the CLIP towers of lib/nn/clip.c
// (see owlv2.h and reward-models-spec.md §4.1). Tensor names as in
// transformers' Owlv2ForObjectDetection: owlv2.{vision_model,text_model,
// text_projection}.* (the CLIP), layer_norm.*, class_head.{dense0,
// logit_shift,logit_scale}.*, box_head.dense{0,1,2}.*,
// objectness_head.dense{0,1,2}.*.
#include "owlv2.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io/config.h"
#include "../io/weights.h"
#include "../text/clip_tokenizer.h"
#include "clip.h"
#include "ops.h"
#include "preprocess.h"

typedef struct {
    bc_weight w;  // [out, in] in the stored dtype
    float *b;     // [out]
} linear_t;

// Owlv2BoxPredictionHead: dense0 -> GELU -> dense1 -> GELU -> dense2
// (the box head with 4 outputs, the objectness head with 1).
typedef struct {
    linear_t dense0, dense1;  // [Wv, Wv]
    linear_t dense2;          // [out, Wv]
} mlp_head_t;

struct bc_owlv2 {
    bc_owlv2_config cfg;
    float eps;                  // the vision LayerNorms' (layer_norm too)
    bc_weights *weights;
    bc_clip *clip;              // vision tower, text tower, text_projection
    bc_clip_tokenizer *tok;
    float *ln_w, *ln_b;         // [Wv] layer_norm: after patch × CLS
    mlp_head_t box, objectness;
    linear_t class_dense0;      // [E, Wv]
    linear_t logit_shift;       // [1, Wv]
    linear_t logit_scale;       // [1, Wv]
    float *box_bias;            // [G², 4] logit of the patch corner and of 1/G
    float **owned;              // float32 copies of the small tensors
    size_t nowned;
};

// ---- loading ---------------------------------------------------------------------

static float *own(bc_owlv2 *m, float *p) {
    m->owned = bc_realloc(m->owned, (m->nowned + 1) * sizeof *m->owned);
    m->owned[m->nowned++] = p;
    return p;
}

// A Linear `name` with weight [out, in] and bias [out].
static int load_linear(bc_owlv2 *m, linear_t *l, const char *name, int out, int in, bc_err *err) {
    char full[160];
    snprintf(full, sizeof full, "%s.weight", name);
    const bc_tensor *w = bc_weights_need(m->weights, full, 2, (int64_t[]){out, in}, err);
    if (!w || bc_weight_from(&l->w, w, err) < 0) return -1;
    snprintf(full, sizeof full, "%s.bias", name);
    const bc_tensor *b = bc_weights_need(m->weights, full, 1, (int64_t[]){out}, err);
    if (!b || !(l->b = bc_tensor_f32(b, err))) return -1;
    own(m, l->b);
    return 0;
}

static int load_head(bc_owlv2 *m, mlp_head_t *h, const char *name, int out, bc_err *err) {
    char full[160];
    int W = m->cfg.vision_width;
    snprintf(full, sizeof full, "%s.dense0", name);
    if (load_linear(m, &h->dense0, full, W, W, err) < 0) return -1;
    snprintf(full, sizeof full, "%s.dense1", name);
    if (load_linear(m, &h->dense1, full, W, W, err) < 0) return -1;
    snprintf(full, sizeof full, "%s.dense2", name);
    return load_linear(m, &h->dense2, full, out, W, err);
}

// compute_box_bias: each patch's box starts at its grid cell. Centre bias =
// logit of the cell's bottom-right corner ((j+1)/G, (i+1)/G: transformers'
// normalize_grid_corner_coordinates), size bias = logit of 1/G; logit(c) =
// log(c + 1e-4) − log1p(−c + 1e-4), in float32 as torch computes it.
static float *box_bias(int G) {
    float *bias = bc_malloc((size_t)G * G * 4 * sizeof *bias);  // [G², 4]
    float size = 1.0f / (float)G;
    float size_bias = logf(size + 1e-4f) - log1pf(-size + 1e-4f);
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            float *b = bias + (size_t)(i * G + j) * 4;
            float x = (float)(j + 1) / (float)G, y = (float)(i + 1) / (float)G;
            b[0] = logf(x + 1e-4f) - log1pf(-x + 1e-4f);
            b[1] = logf(y + 1e-4f) - log1pf(-y + 1e-4f);
            b[2] = b[3] = size_bias;
        }
    return bias;
}

// Owlv2Config's sub-config defaults where they differ from CLIP's.
static bc_clip_config owlv2_defaults(void) {
    bc_clip_config d = bc_clip_hf_defaults;
    d.image_size = 768;
    d.patch_size = 16;
    d.context_length = 16;
    d.pool_argmax = 1;  // Owlv2TextTransformer pools at argmax(input_ids)
    return d;
}

// preprocessor_config.json (Owlv2ImageProcessor), absent keys at its defaults.
static int read_preprocessor(bc_owlv2 *m, const char *dir, bc_err *err) {
    bc_owlv2_config *c = &m->cfg;
    c->do_rescale = c->do_pad = c->do_normalize = 1;
    c->rescale_factor = 1.0 / 255.0;
    memcpy(c->mean, bc_clip_mean, sizeof c->mean);
    memcpy(c->std, bc_clip_std, sizeof c->std);
    char *path = bc_path_join(dir, "preprocessor_config.json");
    if (access(path, R_OK) != 0) {
        free(path);
        return 0;
    }
    bc_config *pc = bc_config_load(path, err);
    free(path);
    if (!pc) return -1;
    int rc = -1, do_resize = 1;
    int64_t sh = c->image_size, sw = c->image_size;
    char key[32];
    if (bc_config_get_bool(pc, "do_rescale", &c->do_rescale, err) < 0 ||
        bc_config_get_bool(pc, "do_pad", &c->do_pad, err) < 0 ||
        bc_config_get_bool(pc, "do_normalize", &c->do_normalize, err) < 0 ||
        bc_config_get_bool(pc, "do_resize", &do_resize, err) < 0 ||
        bc_config_get_double(pc, "rescale_factor", &c->rescale_factor, err) < 0 ||
        bc_config_get_int(pc, "size.height", &sh, err) < 0 || bc_config_get_int(pc, "size.width", &sw, err) < 0)
        goto out;
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "image_mean.%d", i);
        if (bc_config_get_double(pc, key, &c->mean[i], err) < 0) goto out;
        snprintf(key, sizeof key, "image_std.%d", i);
        if (bc_config_get_double(pc, key, &c->std[i], err) < 0) goto out;
    }
    if (!do_resize) {
        bc_fail(err, "%s: do_resize false is not supported (the model takes %dx%d)", bc_config_name(pc),
                c->image_size, c->image_size);
        goto out;
    }
    if (sh != c->image_size || sw != c->image_size) {
        bc_fail(err, "%s: size %lldx%lld, but the model takes %dx%d", bc_config_name(pc), (long long)sw,
                (long long)sh, c->image_size, c->image_size);
        goto out;
    }
    rc = 0;
out:
    bc_config_free(pc);
    return rc;
}

// model_type "owlv2" or an Owlv2 architecture: anything else is refused
// before its weights are read.
static int check_owlv2(const bc_config *cfg, bc_err *err) {
    const char *type = bc_config_str(cfg, "model_type", "");
    const char *arch = bc_config_str(cfg, "architectures.0", "");
    if (strcmp(type, "owlv2") == 0 || strncmp(arch, "Owlv2", 5) == 0) return 0;
    return bc_fail(err, "%s: not an OWLv2 model (model_type \"%s\", architectures [\"%s\"]; expected \"owlv2\" / "
                   "Owlv2ForObjectDetection)", bc_config_name(cfg), type, arch);
}

bc_owlv2 *bc_owlv2_open(const char *dir, bc_err *err) {
    bc_owlv2 *m = bc_calloc(1, sizeof *m);
    bc_clip_config cc, defaults = owlv2_defaults();
    bc_config *cfg = bc_config_load(dir, err);
    if (!cfg) goto fail;
    int rc = check_owlv2(cfg, err);
    if (rc == 0) rc = bc_clip_read_config(cfg, &defaults, &cc, err);
    bc_config_free(cfg);
    if (rc < 0) goto fail;
    cc.pool_argmax = 1;
    bc_owlv2_config *c = &m->cfg;
    c->image_size = cc.image_size;
    c->patch_size = cc.patch_size;
    c->grid = cc.image_size / cc.patch_size;
    c->vision_width = cc.vision.width;
    c->embed_dim = cc.embed_dim;
    c->context_length = cc.context_length;
    m->eps = cc.vision.eps;
    // The class head maps image features to the text width and dots them
    // with projected queries: the two must agree (512 and 512 in OWLv2).
    if (cc.text.width != cc.embed_dim) {
        bc_fail(err, "%s: text hidden_size %d != projection_dim %d (OWLv2's class head needs them equal)", dir,
                cc.text.width, cc.embed_dim);
        goto fail;
    }
    if (!(m->weights = bc_weights_open(dir, err))) goto fail;
    if (!bc_weights_find(m->weights, "class_head.dense0.weight")) {
        bc_fail(err, "%s: not an OWLv2 detector: tensor 'class_head.dense0.weight' not found", dir);
        goto fail;
    }
    int W = c->vision_width, E = c->embed_dim;
    const bc_tensor *t;
    if (!(m->clip = bc_clip_open_weights(m->weights, "owlv2.", &cc, BC_CLIP_VISION | BC_CLIP_TEXT | BC_CLIP_TEXT_PROJ,
                                         err)) ||
        !(t = bc_weights_need(m->weights, "layer_norm.weight", 1, (int64_t[]){W}, err)) ||
        !(m->ln_w = own(m, bc_tensor_f32(t, err))) ||
        !(t = bc_weights_need(m->weights, "layer_norm.bias", 1, (int64_t[]){W}, err)) ||
        !(m->ln_b = own(m, bc_tensor_f32(t, err))) || load_head(m, &m->box, "box_head", 4, err) < 0 ||
        load_head(m, &m->objectness, "objectness_head", 1, err) < 0 ||
        load_linear(m, &m->class_dense0, "class_head.dense0", E, W, err) < 0 ||
        load_linear(m, &m->logit_shift, "class_head.logit_shift", 1, W, err) < 0 ||
        load_linear(m, &m->logit_scale, "class_head.logit_scale", 1, W, err) < 0)
        goto fail;
    m->box_bias = own(m, box_bias(c->grid));
    if (!(m->tok = bc_clip_tokenizer_load(dir, err))) goto fail;
    if (bc_clip_tokenizer_vocab_size(m->tok) > cc.vocab_size) {
        bc_fail(err, "%s: the tokenizer has %d ids, the model's vocabulary %d", dir,
                bc_clip_tokenizer_vocab_size(m->tok), cc.vocab_size);
        goto fail;
    }
    if (read_preprocessor(m, dir, err) < 0) goto fail;
    return m;
fail:
    bc_owlv2_free(m);
    return NULL;
}

void bc_owlv2_free(bc_owlv2 *m) {
    if (!m) return;
    bc_clip_free(m->clip);
    bc_clip_tokenizer_free(m->tok);
    bc_weights_close(m->weights);
    for (size_t i = 0; i < m->nowned; i++) free(m->owned[i]);
    free(m->owned);
    free(m);
}

const bc_owlv2_config *bc_owlv2_config_of(const bc_owlv2 *m) { return &m->cfg; }

// ---- image -----------------------------------------------------------------------

static void linear(float *out, const float *x, const linear_t *l, int n) { bc_linear_many(out, x, &l->w, l->b, n); }

// out [n, dense2 rows] = dense2(gelu(dense1(gelu(dense0(x))))) (nn.GELU():
// exact erf); h1, h2 [n, Wv] scratch.
static void head_forward(const mlp_head_t *h, const float *x, int n, float *h1, float *h2, float *out) {
    bc_linear_many_act(h1, x, &h->dense0.w, h->dense0.b, BC_ACT_GELU, n);
    bc_linear_many_act(h2, h1, &h->dense1.w, h->dense1.b, BC_ACT_GELU, n);
    linear(out, h2, &h->dense2, n);
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

bc_owlv2_image *bc_owlv2_encode_image(const bc_owlv2 *m, const float *chw, int objectness) {
    const bc_owlv2_config *c = &m->cfg;
    int n = c->grid * c->grid, W = c->vision_width, E = c->embed_dim;
    size_t nW = (size_t)n * W, nE = (size_t)n * E;
    // the result: one block holding the struct and its arrays
    size_t floats = nW + 4 * (size_t)n + (size_t)n + nE + 2 * (size_t)n;
    bc_owlv2_image *im = bc_malloc(sizeof *im + floats * sizeof(float));
    im->n = n, im->width = W, im->embed = E;
    im->embeds = (float *)(im + 1);      // [n, W]
    im->boxes = im->embeds + nW;         // [n, 4]
    im->objectness = objectness ? im->boxes + 4 * n : NULL;  // [n]
    im->class_emb = im->boxes + 5 * n;                       // [n, E]
    im->shift = im->class_emb + nE;      // [n]
    im->scale = im->shift + n;           // [n]
    // scratch, kept for the thread's next image (fresh pages cost ~1%)
    float *tokens = bc_thread_scratch(BC_SCRATCH_OWLV2, ((size_t)(n + 1) * W + 2 * nW) * sizeof *tokens);  // [n + 1, W]
    float *h1 = tokens + (size_t)(n + 1) * W;                                     // [n, W]
    float *h2 = h1 + nW;                                                          // [n, W]

    // image_text_embedder: post_layernorm on every token, patches × CLS, layer_norm
    bc_clip_vision_tokens(m->clip, chw, tokens);
    bc_clip_vision_post_norm(m->clip, tokens, tokens, n + 1);
    for (int p = 0; p < n; p++)
        for (int j = 0; j < W; j++) im->embeds[(size_t)p * W + j] = tokens[(size_t)(p + 1) * W + j] * tokens[j];
    bc_layernorm(im->embeds, im->embeds, m->ln_w, m->ln_b, n, W, m->eps);

    // box_predictor: sigmoid(box_head(embeds) + box_bias)
    head_forward(&m->box, im->embeds, n, h1, h2, im->boxes);
    for (size_t i = 0; i < 4 * (size_t)n; i++) im->boxes[i] = sigmoidf(im->boxes[i] + m->box_bias[i]);
    if (objectness) head_forward(&m->objectness, im->embeds, n, h1, h2, im->objectness);

    // class head, the query-independent half
    linear(im->class_emb, im->embeds, &m->class_dense0, n);
    for (int p = 0; p < n; p++) {
        float *e = im->class_emb + (size_t)p * E;
        double ss = 0;
        for (int j = 0; j < E; j++) ss += (double)e[j] * e[j];
        float norm = (float)sqrt(ss) + 1e-6f;
        for (int j = 0; j < E; j++) e[j] /= norm;
    }
    linear(im->shift, im->embeds, &m->logit_shift, n);
    linear(im->scale, im->embeds, &m->logit_scale, n);
    for (int p = 0; p < n; p++) {  // ELU(x) + 1
        float s = im->scale[p];
        im->scale[p] = (s > 0 ? s : expm1f(s)) + 1.0f;
    }
    return im;
}

void bc_owlv2_image_free(bc_owlv2_image *im) { free(im); }

// ---- queries ---------------------------------------------------------------------

int bc_owlv2_query(const bc_owlv2 *m, const int32_t *ids, int n, float *embed, bc_err *err) {
    int E = m->cfg.embed_dim;
    if (n > m->cfg.context_length)
        return bc_fail(err, "owlv2: %d query ids, the text model takes at most %d", n, m->cfg.context_length);
    if (bc_clip_encode_text(m->clip, ids, n, embed, err) < 0) return -1;
    double ss = 0;  // Owlv2Model: text_embeds / ‖text_embeds‖ (no epsilon)
    for (int j = 0; j < E; j++) ss += (double)embed[j] * embed[j];
    float norm = (float)sqrt(ss);
    for (int j = 0; j < E; j++) embed[j] /= norm;
    return 0;
}

int bc_owlv2_query_text(bc_owlv2 *m, const char *text, int32_t *ids, float *embed, bc_err *err) {
    int L = m->cfg.context_length, n_real;
    if (bc_clip_tokenize(m->tok, text, L, ids, &n_real, err) < 0) return -1;
    // Owlv2Processor pads with "!" (id 0), not CLIPTokenizer's <|endoftext|>.
    for (int i = n_real; i < L; i++) ids[i] = 0;
    return bc_owlv2_query(m, ids, L, embed, err);
}

void bc_owlv2_logits(const bc_owlv2_image *im, const float *queries, int nq, float *logits) {
    int E = im->embed;
    float *qn = bc_malloc((size_t)nq * E * sizeof *qn);  // [nq, E] queries / (‖q‖ + 1e-6)
    for (int q = 0; q < nq; q++) {
        const float *src = queries + (size_t)q * E;
        double ss = 0;
        for (int j = 0; j < E; j++) ss += (double)src[j] * src[j];
        float norm = (float)sqrt(ss) + 1e-6f;
        for (int j = 0; j < E; j++) qn[(size_t)q * E + j] = src[j] / norm;
    }
    for (int p = 0; p < im->n; p++) {
        const float *e = im->class_emb + (size_t)p * E;
        for (int q = 0; q < nq; q++) {
            const float *v = qn + (size_t)q * E;
            float dot = 0;
            for (int j = 0; j < E; j++) dot += e[j] * v[j];
            logits[(size_t)p * nq + q] = (dot + im->shift[p]) * im->scale[p];
        }
    }
    free(qn);
}

void bc_owlv2_box_to_image(const float box[4], int w, int h, float out[4]) {
    float side = (float)(w > h ? w : h);
    out[0] = box[0] * side / (float)w;
    out[1] = box[1] * side / (float)h;
    out[2] = box[2] * side / (float)w;
    out[3] = box[3] * side / (float)h;
}
