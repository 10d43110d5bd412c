// clip.c: the CLIP forward pass (see clip.h and reward-models-spec.md §1.1),
// one explicit function per stage, computing through ops.h.
#include "clip.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../io/config.h"
#include "../io/weights.h"
#include "ops.h"

// ---- the model -------------------------------------------------------------------

typedef struct {
    bc_weight w;  // [out, in] in the stored dtype
    float *b;     // [out]
} linear_t;

typedef struct {
    float *w, *b;  // [width] LayerNorm scale and shift
} norm_t;

// One pre-LN transformer block:
// x += out(attn(q, k, v of ln1(x))); x += fc2(act(fc1(ln2(x)))).
typedef struct {
    norm_t ln1, ln2;
    linear_t q, k, v, out;  // [width, width] each
    linear_t fc1;           // [mlp, width]
    linear_t fc2;           // [width, mlp]
} block_t;

typedef struct {
    bc_clip_tower cfg;
    block_t *blocks;  // [layers]
} tower_t;

struct bc_clip {
    bc_clip_config cfg;
    bc_weights *weights;
    int own_weights;        // 0 when the caller opened weights (bc_clip_open_weights)
    const char *prefix;     // prepended to every tensor name ("" or e.g. "owlv2.")
    // vision
    bc_weight patch;       // [Wv, 3·P·P]: the conv1 kernel as a matrix (no bias)
    float *class_emb;      // [Wv]
    float *vision_pos;     // [(S/P)² + 1, Wv]
    norm_t pre_norm, post_norm;
    bc_weight vision_proj;  // [E, Wv] (open_clip's visual.proj transposed)
    tower_t vision;
    // text
    bc_weight token_emb;   // [V, Wt] in the stored dtype
    float *text_pos;       // [C, Wt]
    norm_t final_norm;
    bc_weight text_proj;   // [E, Wt] (open_clip's text_projection transposed)
    tower_t text;
    void **owned;          // float32 copies and transposed projections
    size_t nowned;
};

static void *own(bc_clip *m, void *p) {
    m->owned = bc_realloc(m->owned, (m->nowned + 1) * sizeof *m->owned);
    m->owned[m->nowned++] = p;
    return p;
}

// ---- loading helpers -----------------------------------------------------------

// The tensor prefix + `name` with shape [d0] (d1 < 0) or [d0, d1] (d0 < 0:
// any rows).
static const bc_tensor *need(bc_clip *m, const char *name, int64_t d0, int64_t d1, bc_err *err) {
    int64_t shape[2] = {d0, d1};
    char full[320];
    snprintf(full, sizeof full, "%s%s", m->prefix, name);
    return bc_weights_need(m->weights, full, d1 < 0 ? 1 : 2, shape, err);
}

// A float32 copy of a [d0] or [d0, d1] tensor, owned by m.
static float *load_f32(bc_clip *m, const char *name, int64_t d0, int64_t d1, bc_err *err) {
    const bc_tensor *t = need(m, name, d0, d1, err);
    if (!t) return NULL;
    float *v = bc_tensor_f32(t, err);
    return v ? own(m, v) : NULL;
}

static int load_matrix(bc_clip *m, bc_weight *w, const char *name, int rows, int cols, bc_err *err) {
    const bc_tensor *t = need(m, name, rows, cols, err);
    return t && bc_weight_from(w, t, err) == 0 ? 0 : -1;
}

// A patch-embedding conv kernel [width, 3, P, P].
static const bc_tensor *need4(bc_clip *m, const char *name, int width, int P, bc_err *err) {
    char full[320];
    snprintf(full, sizeof full, "%s%s", m->prefix, name);
    return bc_weights_need(m->weights, full, 4, (int64_t[]){width, 3, P, P}, err);
}

// prefix + "weight" [out, in] and prefix + "bias" [out].
static int load_linear(bc_clip *m, linear_t *l, const char *prefix, int out, int in, bc_err *err) {
    char name[256];
    snprintf(name, sizeof name, "%sweight", prefix);
    if (load_matrix(m, &l->w, name, out, in, err) < 0) return -1;
    snprintf(name, sizeof name, "%sbias", prefix);
    l->b = load_f32(m, name, out, -1, err);
    return l->b ? 0 : -1;
}

static int load_norm(bc_clip *m, norm_t *n, const char *prefix, int width, bc_err *err) {
    char name[256];
    snprintf(name, sizeof name, "%sweight", prefix);
    if (!(n->w = load_f32(m, name, width, -1, err))) return -1;
    snprintf(name, sizeof name, "%sbias", prefix);
    n->b = load_f32(m, name, width, -1, err);
    return n->b ? 0 : -1;
}

// open_clip stores projections as [width, embed] and computes x @ proj; our
// linear wants [embed, width]. A transposed copy in the stored dtype (1.3 M
// elements for ViT-H-14's visual.proj: cheap, once).
static int load_transposed(bc_clip *m, bc_weight *w, const char *name, int width, int embed, bc_err *err) {
    const bc_tensor *t = need(m, name, width, embed, err);
    bc_weight src;
    if (!t || bc_weight_from(&src, t, err) < 0) return -1;
    size_t es = bc_dtype_size(t->dtype);
    unsigned char *dst = own(m, bc_malloc((size_t)width * (size_t)embed * es));
    const unsigned char *s = t->data;
    for (int i = 0; i < width; i++)
        for (int j = 0; j < embed; j++)
            memcpy(dst + ((size_t)j * (size_t)width + (size_t)i) * es, s + ((size_t)i * (size_t)embed + (size_t)j) * es,
                   es);
    *w = (bc_weight){.dtype = t->dtype, .data = dst, .rows = embed, .cols = width};
    return 0;
}

// Rows [r0, r0 + n) of w as a weight of their own (no copy): how the fused
// in_proj_weight [3W, W] splits into q, k and v.
static bc_weight weight_rows(const bc_weight *w, int r0, int n) {
    bc_weight r = *w;
    r.data = (const unsigned char *)w->data + (size_t)r0 * (size_t)w->cols * bc_dtype_size(w->dtype);
    r.rows = n;
    r.prepared = NULL;  // a view gets its own preparation, if any
    return r;
}

// Block i of a tower. HF: <tower>.encoder.layers.i.{self_attn.{q,k,v,out}_proj,
// layer_norm1/2, mlp.fc1/fc2}; open_clip: <tower>transformer.resblocks.i.{attn.
// in_proj_weight/bias (rows [q; k; v]), attn.out_proj, ln_1/2, mlp.c_fc/c_proj}.
static int load_block(bc_clip *m, block_t *b, const char *tower, int i, int W, int M, bc_err *err) {
    static const char *hf[5] = {"self_attn.out_proj.", "layer_norm1.", "layer_norm2.", "mlp.fc1.", "mlp.fc2."};
    static const char *oc[5] = {"attn.out_proj.", "ln_1.", "ln_2.", "mlp.c_fc.", "mlp.c_proj."};
    const char **sub = m->cfg.open_clip_naming ? oc : hf;
    char p[160], name[5][224];
    if (m->cfg.open_clip_naming) {
        snprintf(p, sizeof p, "%stransformer.resblocks.%d.", tower, i);
        bc_weight in_proj;
        snprintf(name[0], sizeof name[0], "%sattn.in_proj_weight", p);
        if (load_matrix(m, &in_proj, name[0], 3 * W, W, err) < 0) return -1;
        snprintf(name[0], sizeof name[0], "%sattn.in_proj_bias", p);
        float *in_bias = load_f32(m, name[0], 3 * W, -1, err);
        if (!in_bias) return -1;
        b->q = (linear_t){weight_rows(&in_proj, 0, W), in_bias};
        b->k = (linear_t){weight_rows(&in_proj, W, W), in_bias + W};
        b->v = (linear_t){weight_rows(&in_proj, 2 * W, W), in_bias + 2 * W};
    } else {
        snprintf(p, sizeof p, "%s.encoder.layers.%d.", tower, i);
        const char *qkv[3] = {"q", "k", "v"};
        linear_t *dst[3] = {&b->q, &b->k, &b->v};
        for (int j = 0; j < 3; j++) {
            snprintf(name[0], sizeof name[0], "%sself_attn.%s_proj.", p, qkv[j]);
            if (load_linear(m, dst[j], name[0], W, W, err) < 0) return -1;
        }
    }
    for (int j = 0; j < 5; j++) snprintf(name[j], sizeof name[j], "%s%s", p, sub[j]);
    if (load_linear(m, &b->out, name[0], W, W, err) < 0 || load_norm(m, &b->ln1, name[1], W, err) < 0 ||
        load_norm(m, &b->ln2, name[2], W, err) < 0 || load_linear(m, &b->fc1, name[3], M, W, err) < 0 ||
        load_linear(m, &b->fc2, name[4], W, M, err) < 0)
        return -1;
    return 0;
}

static int load_tower(bc_clip *m, tower_t *t, const bc_clip_tower *cfg, const char *name, bc_err *err) {
    t->cfg = *cfg;
    t->blocks = own(m, bc_calloc((size_t)cfg->layers, sizeof *t->blocks));
    for (int i = 0; i < cfg->layers; i++)
        if (load_block(m, &t->blocks[i], name, i, cfg->width, cfg->mlp, err) < 0) return -1;
    return 0;
}

// The vision tower runs on every image, hundreds to thousands of tokens at a
// time: its matrices are prepared for the GEMM once (ops.h
// bc_weight_prepare; float32, 4 bytes a parameter). The text tower runs once
// per distinct prompt on a few tokens and keeps its stored dtype.
static void tower_prepare(tower_t *t, int release) {
    for (int i = 0; t->blocks && i < t->cfg.layers; i++) {
        block_t *b = &t->blocks[i];
        linear_t *ls[6] = {&b->q, &b->k, &b->v, &b->out, &b->fc1, &b->fc2};
        for (int j = 0; j < 6; j++) {
            if (release) bc_weight_release(&ls[j]->w);
            else bc_weight_prepare(&ls[j]->w);
        }
    }
}

static void vision_prepare(bc_clip *m) {
    if (!m->vision.blocks) return;
    bc_weight_prepare(&m->patch);
    tower_prepare(&m->vision, 0);
}

// ---- config ----------------------------------------------------------------------

// An integer at path, def when absent; must lie in [lo, hi].
static int cfg_int(const bc_config *cfg, const char *path, int64_t def, int lo, int hi, int *out, bc_err *err) {
    int64_t v = def;
    if (bc_config_get_int(cfg, path, &v, err) < 0) return -1;
    if (v < lo || v > hi)
        return bc_fail(err, "%s: '%s': %lld is out of range [%d, %d]", bc_config_name(cfg), path, (long long)v, lo,
                       hi);
    *out = (int)v;
    return 0;
}

// hidden_act "gelu" or "quick_gelu"; nothing else is CLIP's. def_quick: the
// default when absent.
static int cfg_act(const bc_config *cfg, const char *path, int def_quick, int *quick, bc_err *err) {
    const char *act = def_quick ? "quick_gelu" : "gelu";
    if (bc_config_get_str(cfg, path, &act, err) < 0) return -1;
    if (strcmp(act, "gelu") == 0) *quick = 0;
    else if (strcmp(act, "quick_gelu") == 0) *quick = 1;
    else return bc_fail(err, "%s: '%s': \"%s\" is not supported (gelu or quick_gelu)", bc_config_name(cfg), path, act);
    return 0;
}

const bc_clip_config bc_clip_hf_defaults = {
    .vision = {.width = 768, .layers = 12, .heads = 12, .mlp = 3072, .quick_gelu = 1, .eps = 1e-5f},
    .text = {.width = 512, .layers = 12, .heads = 8, .mlp = 2048, .quick_gelu = 1, .eps = 1e-5f},
    .image_size = 224,
    .patch_size = 32,
    .vocab_size = 49408,
    .context_length = 77,
    .embed_dim = 512,
    .eos_token_id = 49407,
};

// transformers' CLIPConfig layout (vision_config, text_config, projection_dim),
// with defaults for the keys save_pretrained leaves out.
int bc_clip_read_config(const bc_config *cfg, const bc_clip_config *defaults, bc_clip_config *c, bc_err *err) {
    const bc_clip_config *d = defaults ? defaults : &bc_clip_hf_defaults;
    *c = *d;
    double veps = d->vision.eps, teps = d->text.eps;
    if (cfg_int(cfg, "vision_config.hidden_size", d->vision.width, 1, 1 << 16, &c->vision.width, err) < 0 ||
        cfg_int(cfg, "vision_config.intermediate_size", d->vision.mlp, 1, 1 << 20, &c->vision.mlp, err) < 0 ||
        cfg_int(cfg, "vision_config.num_hidden_layers", d->vision.layers, 0, 1024, &c->vision.layers, err) < 0 ||
        cfg_int(cfg, "vision_config.num_attention_heads", d->vision.heads, 1, 1024, &c->vision.heads, err) < 0 ||
        cfg_int(cfg, "vision_config.image_size", d->image_size, 1, 1 << 14, &c->image_size, err) < 0 ||
        cfg_int(cfg, "vision_config.patch_size", d->patch_size, 1, 1 << 14, &c->patch_size, err) < 0 ||
        cfg_act(cfg, "vision_config.hidden_act", d->vision.quick_gelu, &c->vision.quick_gelu, err) < 0 ||
        bc_config_get_double(cfg, "vision_config.layer_norm_eps", &veps, err) < 0 ||
        cfg_int(cfg, "text_config.hidden_size", d->text.width, 1, 1 << 16, &c->text.width, err) < 0 ||
        cfg_int(cfg, "text_config.intermediate_size", d->text.mlp, 1, 1 << 20, &c->text.mlp, err) < 0 ||
        cfg_int(cfg, "text_config.num_hidden_layers", d->text.layers, 0, 1024, &c->text.layers, err) < 0 ||
        cfg_int(cfg, "text_config.num_attention_heads", d->text.heads, 1, 1024, &c->text.heads, err) < 0 ||
        cfg_int(cfg, "text_config.vocab_size", d->vocab_size, 1, INT_MAX, &c->vocab_size, err) < 0 ||
        cfg_int(cfg, "text_config.max_position_embeddings", d->context_length, 1, 1 << 20, &c->context_length, err) <
            0 ||
        cfg_int(cfg, "text_config.eos_token_id", d->eos_token_id, 0, INT_MAX, &c->eos_token_id, err) < 0 ||
        cfg_act(cfg, "text_config.hidden_act", d->text.quick_gelu, &c->text.quick_gelu, err) < 0 ||
        bc_config_get_double(cfg, "text_config.layer_norm_eps", &teps, err) < 0 ||
        cfg_int(cfg, "projection_dim", d->embed_dim, 1, 1 << 16, &c->embed_dim, err) < 0)
        return -1;
    c->vision.eps = (float)veps;
    c->text.eps = (float)teps;
    // modeling_clip.py: eos_token_id == 2 is the value configs had before
    // transformers PR #24773, kept with its old rule: argmax(ids).
    c->pool_argmax = d->pool_argmax || c->eos_token_id == 2;
    if (c->image_size % c->patch_size)
        return bc_fail(err, "%s: image_size %d is not a multiple of patch_size %d", bc_config_name(cfg), c->image_size,
                       c->patch_size);
    return 0;
}

static int count_blocks(const bc_weights *w, const char *prefix) {
    char name[160];
    int n = 0;
    for (;; n++) {
        snprintf(name, sizeof name, "%stransformer.resblocks.%d.ln_1.weight", prefix, n);
        if (!bc_weights_find(w, name)) return n;
    }
}

// open_clip's heads: width / head_width (VisionCfg.head_width, 64 unless the
// model config says otherwise; these are the configs that do).
static int open_clip_vision_heads(int width) {
    switch (width) {
    case 1280: return 16;  // ViT-H-14: head_width 80
    case 1408: return 16;  // ViT-g-14: head_width 88
    case 1664: return 16;  // ViT-bigG-14: head_width 104
    default: return width / 64 > 0 ? width / 64 : 1;
    }
}

// Every size from the tensor shapes; heads and activation from opt or the rules.
static int infer_open_clip_config(bc_clip *m, const bc_clip_options *opt, bc_clip_config *c, bc_err *err) {
    const bc_weights *w = m->weights;
    const bc_tensor *conv = bc_weights_need(w, "visual.conv1.weight", 4, (int64_t[]){-1, 3, -1, -1}, err);
    if (!conv) return -1;
    if (conv->shape[2] != conv->shape[3])
        return bc_fail(err, "tensor 'visual.conv1.weight': kernel %lldx%lld is not square", (long long)conv->shape[2],
                       (long long)conv->shape[3]);
    c->vision.width = (int)conv->shape[0];
    c->patch_size = (int)conv->shape[2];
    const bc_tensor *pos = need(m, "visual.positional_embedding", -1, c->vision.width, err);
    if (!pos) return -1;
    int grid = (int)lround(sqrt((double)(pos->shape[0] - 1)));
    if (pos->shape[0] < 2 || (int64_t)grid * grid + 1 != pos->shape[0])
        return bc_fail(err, "tensor 'visual.positional_embedding': %lld rows, expected a square grid + 1",
                       (long long)pos->shape[0]);
    c->image_size = grid * c->patch_size;
    c->vision.layers = count_blocks(w, "visual.");
    const bc_tensor *proj = bc_weights_need(w, "visual.proj", 2, (int64_t[]){c->vision.width, -1}, err);
    const bc_tensor *tok = proj ? bc_weights_need(w, "token_embedding.weight", 2, (int64_t[]){-1, -1}, err) : NULL;
    if (!tok) return -1;
    c->embed_dim = (int)proj->shape[1];
    c->vocab_size = (int)tok->shape[0];
    c->text.width = (int)tok->shape[1];
    const bc_tensor *tpos = need(m, "positional_embedding", -1, c->text.width, err);
    if (!tpos) return -1;
    c->context_length = (int)tpos->shape[0];
    c->text.layers = count_blocks(w, "");
    const bc_tensor *fc;
    if (c->vision.layers > 0) {
        if (!(fc = need(m, "visual.transformer.resblocks.0.mlp.c_fc.weight", -1, c->vision.width, err))) return -1;
        c->vision.mlp = (int)fc->shape[0];
    }
    if (c->text.layers > 0) {
        if (!(fc = need(m, "transformer.resblocks.0.mlp.c_fc.weight", -1, c->text.width, err))) return -1;
        c->text.mlp = (int)fc->shape[0];
    }
    c->vision.heads = opt && opt->vision_heads > 0 ? opt->vision_heads : open_clip_vision_heads(c->vision.width);
    c->text.heads = opt && opt->text_heads > 0 ? opt->text_heads : (c->text.width >= 64 ? c->text.width / 64 : 1);
    c->vision.quick_gelu = c->text.quick_gelu = opt && opt->quick_gelu > 0;
    c->vision.eps = c->text.eps = 1e-5f;  // open_clip's LayerNorm default (model.py)
    c->pool_argmax = 1;                   // text.argmax(-1): EOT has the highest id
    c->eos_token_id = -1;
    return 0;
}

// ---- open ------------------------------------------------------------------------

// The parts of an open_clip state dict (every part: the file is one CLIP).
static int check_heads(const bc_clip *m, bc_err *err) {
    const bc_clip_config *c = &m->cfg;
    if (c->vision.width % c->vision.heads || c->text.width % c->text.heads)
        return bc_fail(err, "%s: widths %d (vision) and %d (text) must be multiples of the head counts %d and %d",
                       bc_weights_path(m->weights), c->vision.width, c->text.width, c->vision.heads, c->text.heads);
    return 0;
}

static int load_open_clip(bc_clip *m, bc_err *err) {
    const bc_clip_config *c = &m->cfg;
    if (check_heads(m, err) < 0) return -1;
    int Wv = c->vision.width, Wt = c->text.width, E = c->embed_dim;
    int n_pos = (c->image_size / c->patch_size) * (c->image_size / c->patch_size) + 1;
    const bc_tensor *conv = need4(m, "visual.conv1.weight", Wv, c->patch_size, err);
    if (!conv || bc_weight_from(&m->patch, conv, err) < 0 ||
        !(m->class_emb = load_f32(m, "visual.class_embedding", Wv, -1, err)) ||
        !(m->vision_pos = load_f32(m, "visual.positional_embedding", n_pos, Wv, err)) ||
        load_norm(m, &m->pre_norm, "visual.ln_pre.", Wv, err) < 0 ||
        load_norm(m, &m->post_norm, "visual.ln_post.", Wv, err) < 0 ||
        load_transposed(m, &m->vision_proj, "visual.proj", Wv, E, err) < 0 ||
        load_tower(m, &m->vision, &c->vision, "visual.", err) < 0 ||
        load_matrix(m, &m->token_emb, "token_embedding.weight", c->vocab_size, Wt, err) < 0 ||
        !(m->text_pos = load_f32(m, "positional_embedding", c->context_length, Wt, err)) ||
        load_norm(m, &m->final_norm, "ln_final.", Wt, err) < 0 ||
        load_transposed(m, &m->text_proj, "text_projection", Wt, E, err) < 0 ||
        load_tower(m, &m->text, &c->text, "", err) < 0)
        return -1;
    return 0;
}

// The parts of a transformers-named CLIP (under m->prefix).
static int load_hf(bc_clip *m, int parts, bc_err *err) {
    const bc_clip_config *c = &m->cfg;
    if (check_heads(m, err) < 0) return -1;
    int Wv = c->vision.width, Wt = c->text.width, E = c->embed_dim;
    int n_pos = (c->image_size / c->patch_size) * (c->image_size / c->patch_size) + 1;
    if (parts & BC_CLIP_VISION) {
        const bc_tensor *conv = need4(m, "vision_model.embeddings.patch_embedding.weight", Wv, c->patch_size, err);
        // CLIP and GIT spell it pre_layrnorm, OWL-ViT and OWLv2 pre_layernorm.
        char pre[320];
        snprintf(pre, sizeof pre, "%svision_model.pre_layrnorm.weight", m->prefix);
        const char *pre_norm = bc_weights_find(m->weights, pre) ? "vision_model.pre_layrnorm."
                                                                  : "vision_model.pre_layernorm.";
        if (!conv || bc_weight_from(&m->patch, conv, err) < 0 ||
            !(m->class_emb = load_f32(m, "vision_model.embeddings.class_embedding", Wv, -1, err)) ||
            !(m->vision_pos = load_f32(m, "vision_model.embeddings.position_embedding.weight", n_pos, Wv, err)) ||
            load_norm(m, &m->pre_norm, pre_norm, Wv, err) < 0 ||
            load_norm(m, &m->post_norm, "vision_model.post_layernorm.", Wv, err) < 0 ||
            load_tower(m, &m->vision, &c->vision, "vision_model", err) < 0)
            return -1;
    }
    if ((parts & BC_CLIP_VISION_PROJ) && load_matrix(m, &m->vision_proj, "visual_projection.weight", E, Wv, err) < 0)
        return -1;
    if (parts & BC_CLIP_TEXT) {
        if (load_matrix(m, &m->token_emb, "text_model.embeddings.token_embedding.weight", c->vocab_size, Wt, err) < 0 ||
            !(m->text_pos =
                  load_f32(m, "text_model.embeddings.position_embedding.weight", c->context_length, Wt, err)) ||
            load_norm(m, &m->final_norm, "text_model.final_layer_norm.", Wt, err) < 0 ||
            load_tower(m, &m->text, &c->text, "text_model", err) < 0)
            return -1;
    }
    if ((parts & BC_CLIP_TEXT_PROJ) && load_matrix(m, &m->text_proj, "text_projection.weight", E, Wt, err) < 0)
        return -1;
    return 0;
}

bc_clip *bc_clip_open_weights(bc_weights *w, const char *prefix, const bc_clip_config *cfg, int parts, bc_err *err) {
    bc_clip *m = bc_calloc(1, sizeof *m);
    m->weights = w;
    m->prefix = own(m, bc_strdup(prefix ? prefix : ""));
    m->cfg = *cfg;
    m->cfg.open_clip_naming = 0;
    if (load_hf(m, parts, err) < 0) {
        bc_clip_free(m);
        return NULL;
    }
    vision_prepare(m);
    return m;
}

bc_clip *bc_clip_open(const char *path, const bc_clip_options *opt, bc_err *err) {
    bc_clip *m = bc_calloc(1, sizeof *m);
    m->prefix = "";
    m->own_weights = 1;
    if (!(m->weights = bc_weights_open(path, err))) goto fail;
    // DataParallel checkpoints prefix every name with "module."; an empty
    // prefix aliased to it makes "visual.conv1.weight" find either.
    bc_weights_alias(m->weights, "", "module.");
    if (bc_weights_find(m->weights, "visual.conv1.weight")) {
        m->cfg.open_clip_naming = 1;
        if (infer_open_clip_config(m, opt, &m->cfg, err) < 0 || load_open_clip(m, err) < 0) goto fail;
    } else if (bc_weights_find(m->weights, "vision_model.embeddings.patch_embedding.weight")) {
        // config.json: in the directory, or beside the weights file
        char *dir = bc_is_dir(path) ? bc_strdup(path) : NULL;
        if (!dir) {
            const char *slash = strrchr(path, '/');
            dir = slash ? bc_strndup(path, (size_t)(slash - path)) : bc_strdup(".");
        }
        char *cpath = bc_path_join(dir, "config.json");
        free(dir);
        bc_config *cfg = bc_config_load(cpath, err);
        free(cpath);
        int rc = cfg ? bc_clip_read_config(cfg, NULL, &m->cfg, err) : -1;
        bc_config_free(cfg);
        if (rc < 0 || load_hf(m, BC_CLIP_ALL, err) < 0) goto fail;
    } else {
        bc_fail(err, "%s: not a CLIP model: neither 'visual.conv1.weight' (open_clip) nor "
                "'vision_model.embeddings.patch_embedding.weight' (transformers) is there", path);
        goto fail;
    }
    vision_prepare(m);
    return m;
fail:
    bc_clip_free(m);
    return NULL;
}

void bc_clip_free(bc_clip *m) {
    if (!m) return;
    bc_weight_release(&m->patch);
    tower_prepare(&m->vision, 1);
    for (size_t i = 0; i < m->nowned; i++) free(m->owned[i]);
    free(m->owned);
    if (m->own_weights) bc_weights_close(m->weights);
    free(m);
}

const bc_clip_config *bc_clip_config_of(const bc_clip *m) { return &m->cfg; }

// ---- forward ---------------------------------------------------------------------

// Activations of one tower over T tokens, carved from one allocation.
typedef struct {
    float *h;    // [T, W] normed input of a sub-layer, then its output
    float *q;    // [T, W]
    float *k;    // [T, W]
    float *v;    // [T, W]
    float *att;  // [T, W] attention output, heads concatenated
    float *f;    // [T, M] MLP hidden
} acts_t;

// Carved from the calling thread's scratch (kept from image to image: OWLv2's
// 3601 tokens need ~100 MB, fresh pages every image otherwise), with `extra`
// floats after the activations; returns where those start.
static float *acts_carve(acts_t *a, int T, int W, int M, size_t extra) {
    size_t tw = (size_t)T * (size_t)W, at = 5 * tw + (size_t)T * (size_t)M;
    float *p = bc_thread_scratch(BC_SCRATCH_CLIP_ACTS, (at + extra) * sizeof *p);
    a->h = p;
    a->q = p + tw;
    a->k = p + 2 * tw;
    a->v = p + 3 * tw;
    a->att = p + 4 * tw;
    a->f = p + 5 * tw;
    return p + at;
}

// Both towers' matrices go through the GEMM. The vision tower's are
// prepared (packed once, float32); the text tower's keep their stored dtype
// and are packed as they are read: a prompt's few tokens make a product
// bound by reading the weights, which the GEMM's few-row path does once, in
// order (kernels/cpu/sgemm.c few_rows). Measured on ViT-H-14's text tower,
// fp16, 16 tokens, one core: ~150 ms a prompt, ~300 ms through the
// batch-invariant gemv kernels (bc_linear) that it used before.
static void linear_act(float *out, const float *x, const linear_t *l, bc_act act, int n) {
    bc_linear_many_act(out, x, &l->w, l->b, act, n);
}

static void linear(float *out, const float *x, const linear_t *l, int n) { linear_act(out, x, l, BC_ACT_NONE, n); }

// out += l(x), a residual connection, in the GEMM's stores.
static void linear_add(float *out, const float *x, const linear_t *l, int n) {
    bc_linear_many_add(out, x, &l->w, l->b, n);
}

// x [r0, r0 + n) += self-attention of ln1(x) over all T tokens (causal for
// text, where then r0 + n = T): rows outside [r0, r0 + n) serve only as keys
// and values. n = T, r0 = 0 for every layer but a tower's last, whose
// output rows the caller may not all need.
static void attention_forward(const tower_t *t, const block_t *b, float *x, int T, int causal, int r0, int n,
                              acts_t *a) {
    int W = t->cfg.width, hd = W / t->cfg.heads;
    bc_layernorm(a->h, x, b->ln1.w, b->ln1.b, T, W, t->cfg.eps);
    linear(a->q, a->h + (size_t)r0 * W, &b->q, n);
    linear(a->k, a->h, &b->k, T);
    linear(a->v, a->h, &b->v, T);
    bc_attention(a->att, a->q, a->k, a->v, n, T, t->cfg.heads, t->cfg.heads, hd, W, causal, 1.0f / sqrtf((float)hd));
    linear_add(x + (size_t)r0 * W, a->att, &b->out, n);
}

// x [T, W] += fc2(act(fc1(ln2(x)))).
static void mlp_forward(const tower_t *t, const block_t *b, float *x, int T, acts_t *a) {
    int W = t->cfg.width;
    bc_layernorm(a->h, x, b->ln2.w, b->ln2.b, T, W, t->cfg.eps);
    linear_act(a->f, a->h, &b->fc1, t->cfg.quick_gelu ? BC_ACT_GELU_QUICK : BC_ACT_GELU, T);
    linear_add(x, a->f, &b->fc2, T);
}

// Every layer over x [T, W]; the last computes only rows [r0, r0 + n) (what
// the caller pools: a ViT's CLS token, a causal text's last token). A row's
// result is the same bits either way (ops.h: rows never depend on the rows
// beside them), and ViT-H-14's last layer costs a sixth of a full one.
static void tower_forward(const tower_t *t, float *x, int T, int causal, int r0, int n, acts_t *a) {
    int W = t->cfg.width;
    for (int i = 0; i < t->cfg.layers; i++) {
        int last = i == t->cfg.layers - 1;
        attention_forward(t, &t->blocks[i], x, T, causal, last ? r0 : 0, last ? n : T, a);
        mlp_forward(t, &t->blocks[i], last ? x + (size_t)r0 * W : x, last ? n : T, a);
    }
}

// The vision tower over one image into x [T, W]; the last layer computes
// the first n_out rows only.
static void vision_forward(const bc_clip *m, const float *img, float *x, int n_out) {
    const bc_clip_config *c = &m->cfg;
    int S = c->image_size, P = c->patch_size, g = S / P, np = g * g, T = np + 1, W = c->vision.width;
    int patch_len = 3 * P * P;
    acts_t a;
    float *patches = acts_carve(&a, T, W, c->vision.mlp, (size_t)np * (size_t)patch_len);  // [np, 3·P·P]
    // The patch conv has stride = kernel, so its windows do not overlap: it is
    // one matmul of the flattened patches ([c, ky, kx] order, like the
    // kernel's [Co, Ci, kh, kw]) by the kernel seen as [W, 3·P·P].
    for (int gy = 0; gy < g; gy++)
        for (int gx = 0; gx < g; gx++) {
            float *row = patches + (size_t)(gy * g + gx) * (size_t)patch_len;
            for (int ch = 0; ch < 3; ch++)
                for (int ky = 0; ky < P; ky++)
                    memcpy(row + (ch * P + ky) * P, img + ((size_t)ch * S + (size_t)(gy * P + ky)) * S + gx * P,
                           (size_t)P * sizeof *row);
        }
    memcpy(x, m->class_emb, (size_t)W * sizeof *x);  // token 0: CLS
    bc_linear_many(x + W, patches, &m->patch, NULL, np);   // tokens 1..np: patches in raster order
    bc_add(x, m->vision_pos, (size_t)T * (size_t)W);
    bc_layernorm(x, x, m->pre_norm.w, m->pre_norm.b, T, W, c->vision.eps);
    tower_forward(&m->vision, x, T, 0, 0, n_out, &a);
}

void bc_clip_vision_tokens(const bc_clip *m, const float *img, float *x) {
    const bc_clip_config *c = &m->cfg;
    int g = c->image_size / c->patch_size;
    vision_forward(m, img, x, g * g + 1);
}

void bc_clip_vision_post_norm(const bc_clip *m, float *out, const float *x, int n) {
    bc_layernorm(out, x, m->post_norm.w, m->post_norm.b, n, m->cfg.vision.width, m->cfg.vision.eps);
}

void bc_clip_encode_image(const bc_clip *m, const float *chw, int n_images, float *out) {
    const bc_clip_config *c = &m->cfg;
    int S = c->image_size, g = S / c->patch_size, T = g * g + 1, W = c->vision.width;
    float *x = bc_malloc(((size_t)T * (size_t)W + (size_t)W) * sizeof *x);  // [T, W]
    float *pooled = x + (size_t)T * (size_t)W;                              // [W]
    for (int n = 0; n < n_images; n++) {
        vision_forward(m, chw + (size_t)n * 3 * (size_t)S * (size_t)S, x, 1);  // CLS pooling: token 0 only
        bc_clip_vision_post_norm(m, pooled, x, 1);
        bc_linear(out + (size_t)n * (size_t)c->embed_dim, pooled, &m->vision_proj, NULL, 1);
    }
    free(x);
}

// The row transformers / open_clip pool; -1 when the ids hold no EOT.
static int pool_position(const bc_clip_config *c, const int32_t *ids, int len) {
    if (c->pool_argmax) {  // torch.argmax: the first of equal maxima
        int best = 0;
        for (int i = 1; i < len; i++)
            if (ids[i] > ids[best]) best = i;
        return best;
    }
    for (int i = 0; i < len; i++)
        if (ids[i] == c->eos_token_id) return i;
    return -1;
}

int bc_clip_encode_text(const bc_clip *m, const int32_t *ids, int len, float *out, bc_err *err) {
    const bc_clip_config *c = &m->cfg;
    if (len < 1) return bc_fail(err, "clip: empty id sequence");
    int p = pool_position(c, ids, len);
    // transformers would pool row 0 of a sequence without EOT: surely a
    // tokenization mistake, so refuse it.
    if (p < 0) return bc_fail(err, "clip: the ids hold no end-of-text id %d", c->eos_token_id);
    if (p >= c->context_length)
        return bc_fail(err, "clip: end of text at position %d, beyond the context length %d", p, c->context_length);
    for (int i = 0; i <= p; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return bc_fail(err, "clip: id %d at position %d is outside the vocabulary [0, %d)", (int)ids[i], i,
                           c->vocab_size);
    // The mask is causal: row p sees only tokens 0..p, so run just those.
    int T = p + 1, W = c->text.width;
    acts_t a;
    acts_carve(&a, T, W, c->text.mlp, 0);
    float *x = bc_malloc(((size_t)T * (size_t)W + (size_t)W) * sizeof *x);  // [T, W]
    float *pooled = x + (size_t)T * (size_t)W;                              // [W]
    for (int t = 0; t < T; t++) {
        size_t base = (size_t)ids[t] * (size_t)W;
        for (int j = 0; j < W; j++) x[(size_t)t * W + j] = bc_weight_at(&m->token_emb, base + (size_t)j);
    }
    bc_add(x, m->text_pos, (size_t)T * (size_t)W);
    tower_forward(&m->text, x, T, 1, p, 1, &a);  // pooled: row p = T − 1
    bc_layernorm(pooled, x + (size_t)p * (size_t)W, m->final_norm.w, m->final_norm.b, 1, W, c->text.eps);
    bc_linear(out, pooled, &m->text_proj, NULL, 1);
    free(x);
    return 0;
}

float bc_clip_cosine(const float *a, const float *b, int dim) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < dim; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    // F.normalize divides by max(norm, 1e-12)
    return (float)(ab / (fmax(sqrt(aa), 1e-12) * fmax(sqrt(bb), 1e-12)));
}

float bc_clip_logit_scale(const bc_clip *m) {
    const bc_tensor *t = bc_weights_find(m->weights, "logit_scale");
    float v;
    if (!t || t->numel != 1 || bc_tensor_to_f32(t, &v, NULL) < 0) return 1.0f;
    return expf(v);
}
