// git.c: GIT's forward pass for VQA (see git.h and reward-models-spec.md §2),
// one explicit function per stage, computing through ops.h. The vision tower
// is clip.c's, loaded from the tensors under "git.image_encoder.".
#include "git.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../io/config.h"
#include "../io/weights.h"
#include "ops.h"

// GitVisionConfig's defaults (configuration_git.py): CLIPVisionConfig's but
// for patch_size 16. The text and projection fields are unused (CLIP's).
const bc_clip_config bc_git_vision_defaults = {
    .vision = {.width = 768, .layers = 12, .heads = 12, .mlp = 3072, .quick_gelu = 1, .eps = 1e-5f},
    .text = {.width = 512, .layers = 12, .heads = 8, .mlp = 2048, .quick_gelu = 1, .eps = 1e-5f},
    .image_size = 224,
    .patch_size = 16,
    .vocab_size = 49408,
    .context_length = 77,
    .embed_dim = 512,
    .eos_token_id = 49407,
};

// ---- the model -------------------------------------------------------------------

typedef struct {
    bc_weight w;  // [out, in] in the stored dtype
    float *b;     // [out]
} linear_t;

typedef struct {
    float *w, *b;  // [D] LayerNorm scale and shift
} norm_t;

// One post-LN BERT layer (GitLayer).
typedef struct {
    linear_t query, key, value;  // [D, D] each (attention.self)
    linear_t attn_out;           // [D, D]  attention.output.dense
    norm_t attn_norm;            //         attention.output.LayerNorm
    linear_t inter;              // [I, D]  intermediate.dense
    linear_t out;                // [D, I]  output.dense
    norm_t out_norm;             //         output.LayerNorm
} layer_t;

struct bc_git {
    bc_git_config cfg;
    bc_weights *weights;
    bc_clip *vision;       // git.image_encoder.vision_model.*
    linear_t proj;         // [D, Wv] git.visual_projection.visual_projection.0
    norm_t proj_norm;      // [D]     git.visual_projection.visual_projection.1 (vision eps)
    bc_weight word_emb;    // [V, D]  git.embeddings.word_embeddings
    bc_weight pos_emb;     // [maxpos, D] git.embeddings.position_embeddings
    norm_t emb_norm;       // [D]     git.embeddings.LayerNorm
    layer_t *layers;       // [layers] git.encoder.layer.N
    linear_t output;       // [V, D]  output (or the word embeddings when tied, zero bias)
    void **owned;          // float32 copies of the small vectors
    size_t nowned;
};

struct bc_git_image_state {
    int T, D, layers;
    float *k, *v;  // [layers, T, D]: each layer's keys and values of the image rows
};

static void *own(bc_git *m, void *p) {
    m->owned = bc_realloc(m->owned, (m->nowned + 1) * sizeof *m->owned);
    m->owned[m->nowned++] = p;
    return p;
}

// ---- loading ---------------------------------------------------------------------

// A float32 copy of the [n] tensor `name`, owned by m.
static float *load_vector(bc_git *m, const char *name, int n, bc_err *err) {
    int64_t shape[1] = {n};
    const bc_tensor *t = bc_weights_need(m->weights, name, 1, shape, err);
    float *v = t ? bc_tensor_f32(t, err) : NULL;
    return v ? own(m, v) : NULL;
}

static int load_matrix(bc_git *m, bc_weight *w, const char *name, int rows, int cols, bc_err *err) {
    int64_t shape[2] = {rows, cols};
    const bc_tensor *t = bc_weights_need(m->weights, name, 2, shape, err);
    return t ? bc_weight_from(w, t, err) : -1;
}

// <prefix><part>.weight [out, in] and .bias [out].
static int load_linear(bc_git *m, linear_t *l, const char *prefix, const char *part, int out, int in, bc_err *err) {
    char name[256];
    snprintf(name, sizeof name, "%s%s.weight", prefix, part);
    if (load_matrix(m, &l->w, name, out, in, err) < 0) return -1;
    snprintf(name, sizeof name, "%s%s.bias", prefix, part);
    return (l->b = load_vector(m, name, out, err)) ? 0 : -1;
}

// <prefix><part>.weight and .bias, [width] each.
static int load_norm(bc_git *m, norm_t *n, const char *prefix, const char *part, int width, bc_err *err) {
    char name[256];
    snprintf(name, sizeof name, "%s%s.weight", prefix, part);
    if (!(n->w = load_vector(m, name, width, err))) return -1;
    snprintf(name, sizeof name, "%s%s.bias", prefix, part);
    return (n->b = load_vector(m, name, width, err)) ? 0 : -1;
}

static int load_layer(bc_git *m, layer_t *l, int i, bc_err *err) {
    int D = m->cfg.hidden, I = m->cfg.intermediate;
    char p[64];
    snprintf(p, sizeof p, "git.encoder.layer.%d.", i);
    if (load_linear(m, &l->query, p, "attention.self.query", D, D, err) < 0 ||
        load_linear(m, &l->key, p, "attention.self.key", D, D, err) < 0 ||
        load_linear(m, &l->value, p, "attention.self.value", D, D, err) < 0 ||
        load_linear(m, &l->attn_out, p, "attention.output.dense", D, D, err) < 0 ||
        load_norm(m, &l->attn_norm, p, "attention.output.LayerNorm", D, err) < 0 ||
        load_linear(m, &l->inter, p, "intermediate.dense", I, D, err) < 0 ||
        load_linear(m, &l->out, p, "output.dense", D, I, err) < 0 ||
        load_norm(m, &l->out_norm, p, "output.LayerNorm", D, err) < 0)
        return -1;
    return 0;
}

// An integer in [lo, hi] from config key `key` (def when absent).
static int cfg_int(const bc_config *cfg, const char *key, int64_t def, int lo, int hi, int *out, bc_err *err) {
    int64_t v = def;
    if (bc_config_get_int(cfg, key, &v, err) < 0) return -1;
    if (v < lo || v > hi)
        return bc_fail(err, "%s: '%s' = %lld, expected %d .. %d", bc_config_name(cfg), key, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

// GitConfig (configuration_git.py) from config.json, its defaults for absent keys.
static int read_config(const bc_config *cfg, bc_git_config *c, bc_err *err) {
    const char *name = bc_config_name(cfg), *type = NULL, *act = "gelu";
    if (bc_config_get_str(cfg, "model_type", &type, err) < 0) return -1;
    if (!type || strcmp(type, "git") != 0)
        return bc_fail(err, "%s: model_type is %s%s%s, expected \"git\" (a GitForCausalLM checkpoint such as "
                       "microsoft/git-large-vqav2)", name, type ? "\"" : "", type ? type : "absent", type ? "\"" : "");
    if (bc_config_has(cfg, "num_image_with_embedding"))
        return bc_fail(err, "%s: num_image_with_embedding is set: video GIT models are not supported", name);
    const char *pos_type = "absolute";  // older GIT configs carry BERT's key; only "absolute" was ever used
    if (bc_config_get_str(cfg, "position_embedding_type", &pos_type, err) < 0) return -1;
    if (strcmp(pos_type, "absolute") != 0)
        return bc_fail(err, "%s: position_embedding_type \"%s\" is not supported (absolute)", name, pos_type);
    double eps = 1e-12;
    if (cfg_int(cfg, "hidden_size", 768, 1, 1 << 16, &c->hidden, err) < 0 ||
        cfg_int(cfg, "num_hidden_layers", 6, 1, 1024, &c->layers, err) < 0 ||
        cfg_int(cfg, "num_attention_heads", 12, 1, 1024, &c->heads, err) < 0 ||
        cfg_int(cfg, "intermediate_size", 3072, 1, 1 << 20, &c->intermediate, err) < 0 ||
        cfg_int(cfg, "vocab_size", 30522, 1, 1 << 24, &c->vocab_size, err) < 0 ||
        cfg_int(cfg, "max_position_embeddings", 1024, 1, 1 << 20, &c->max_positions, err) < 0 ||
        bc_config_get_double(cfg, "layer_norm_eps", &eps, err) < 0 ||
        bc_config_get_str(cfg, "hidden_act", &act, err) < 0)
        return -1;
    c->eps = (float)eps;
    c->tie_word_embeddings = bc_config_bool(cfg, "tie_word_embeddings", 0);
    if (c->hidden % c->heads != 0)
        return bc_fail(err, "%s: hidden_size %d is not a multiple of num_attention_heads %d", name, c->hidden,
                       c->heads);
    // gelu (BERT's, what every GIT checkpoint uses) is the exact erf form.
    if (strcmp(act, "gelu") == 0 || strcmp(act, "gelu_python") == 0) c->quick_gelu = 0;
    else if (strcmp(act, "quick_gelu") == 0) c->quick_gelu = 1;
    else return bc_fail(err, "%s: hidden_act \"%s\" is not supported (gelu, quick_gelu)", name, act);
    if (bc_clip_read_config(cfg, &bc_git_vision_defaults, &c->vision, err) < 0) return -1;
    int grid = c->vision.image_size / c->vision.patch_size;
    c->image_tokens = grid * grid + 1;
    return 0;
}

bc_git *bc_git_open(const char *dir, bc_err *err) {
    bc_config *cfg = bc_config_load(dir, err);
    if (!cfg) return NULL;
    bc_git *m = bc_calloc(1, sizeof *m);
    int rc = read_config(cfg, &m->cfg, err);
    bc_config_free(cfg);
    if (rc < 0) {
        free(m);
        return NULL;
    }
    bc_git_config *c = &m->cfg;
    int D = c->hidden, V = c->vocab_size;
    m->weights = bc_weights_open(dir, err);
    if (!m->weights) {
        free(m);
        return NULL;
    }
    m->layers = bc_calloc((size_t)c->layers, sizeof *m->layers);
    m->vision = bc_clip_open_weights(m->weights, "git.image_encoder.", &c->vision, BC_CLIP_VISION, err);
    if (!m->vision ||
        load_linear(m, &m->proj, "git.visual_projection.", "visual_projection.0", D, c->vision.vision.width, err) < 0 ||
        load_norm(m, &m->proj_norm, "git.visual_projection.", "visual_projection.1", D, err) < 0 ||
        load_matrix(m, &m->word_emb, "git.embeddings.word_embeddings.weight", V, D, err) < 0 ||
        load_matrix(m, &m->pos_emb, "git.embeddings.position_embeddings.weight", c->max_positions, D, err) < 0 ||
        load_norm(m, &m->emb_norm, "git.embeddings.", "LayerNorm", D, err) < 0)
        goto fail;
    for (int i = 0; i < c->layers; i++)
        if (load_layer(m, &m->layers[i], i, err) < 0) goto fail;
    if (c->tie_word_embeddings && !bc_weights_find(m->weights, "output.weight")) {
        m->output.w = m->word_emb;
        m->output.b = own(m, bc_calloc((size_t)V, sizeof(float)));
        if (bc_weights_find(m->weights, "output.bias") && !(m->output.b = load_vector(m, "output.bias", V, err)))
            goto fail;
    } else if (load_linear(m, &m->output, "", "output", V, D, err) < 0) {
        goto fail;
    }
    return m;
fail:
    bc_git_free(m);
    return NULL;
}

void bc_git_free(bc_git *m) {
    if (!m) return;
    bc_clip_free(m->vision);
    bc_weights_close(m->weights);
    for (size_t i = 0; i < m->nowned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m);
}

const bc_git_config *bc_git_config_of(const bc_git *m) { return &m->cfg; }

// ---- forward -------------------------------------------------------------------------

static void linear(float *out, const float *x, const linear_t *l, int n) { bc_linear_many(out, x, &l->w, l->b, n); }

// Activations of one pass over n rows attending to nk keys, carved from one block.
typedef struct {
    float *q;     // [n, D]
    float *attn;  // [n, D]  attention output, then the dense projection
    float *ffn;   // [n, I]
    float *k, *v; // [nk, D] the keys/values attended to (image rows first)
    float *block;
} acts_t;

static void acts_alloc(acts_t *a, int n, int nk, int D, int I) {
    size_t nd = (size_t)n * D;
    a->block = bc_malloc((2 * nd + (size_t)n * I + 2 * (size_t)nk * D) * sizeof(float));
    a->q = a->block;
    a->attn = a->q + nd;
    a->ffn = a->attn + nd;
    a->k = a->ffn + (size_t)n * I;
    a->v = a->k + (size_t)nk * D;
}

// The rest of a post-LN layer once the attention's context rows are in
// a->attn: x = LN(x + dense(ctx)); x = LN(x + out(act(inter(x)))). x [n, D].
static void layer_rest(const bc_git *m, const layer_t *l, float *x, int n, acts_t *a) {
    int D = m->cfg.hidden;
    bc_linear_many_add(x, a->attn, &l->attn_out.w, l->attn_out.b, n);
    bc_layernorm(x, x, l->attn_norm.w, l->attn_norm.b, n, D, m->cfg.eps);
    bc_linear_many_act(a->ffn, x, &l->inter.w, l->inter.b, m->cfg.quick_gelu ? BC_ACT_GELU_QUICK : BC_ACT_GELU, n);
    bc_linear_many_add(x, a->ffn, &l->out.w, l->out.b, n);
    bc_layernorm(x, x, l->out_norm.w, l->out_norm.b, n, D, m->cfg.eps);
}

void bc_git_image_features(const bc_git *m, const float *chw, float *vision, float *projected) {
    int T = m->cfg.image_tokens, Wv = m->cfg.vision.vision.width, D = m->cfg.hidden;
    float *tokens = vision ? vision : bc_malloc((size_t)T * Wv * sizeof(float));  // [T, Wv]
    bc_clip_vision_tokens(m->vision, chw, tokens);
    bc_clip_vision_post_norm(m->vision, tokens, tokens, T);  // GIT normalises every token, not just CLS
    if (projected) {
        linear(projected, tokens, &m->proj, T);
        bc_layernorm(projected, projected, m->proj_norm.w, m->proj_norm.b, T, D, m->cfg.vision.vision.eps);
    }
    if (!vision) free(tokens);
}

bc_git_image_state *bc_git_encode_image(const bc_git *m, const float *chw) {
    const bc_git_config *c = &m->cfg;
    int T = c->image_tokens, D = c->hidden, H = c->heads, hd = D / H;
    size_t td = (size_t)T * D;
    bc_git_image_state *s = bc_malloc(sizeof *s);
    s->T = T, s->D = D, s->layers = c->layers;
    s->k = bc_malloc((size_t)c->layers * td * sizeof(float));  // [layers, T, D]
    s->v = bc_malloc((size_t)c->layers * td * sizeof(float));  // [layers, T, D]
    float *x = bc_malloc(td * sizeof(float));                  // [T, D] the image rows
    bc_git_image_features(m, chw, NULL, x);
    acts_t a;
    acts_alloc(&a, T, 0, D, c->intermediate);
    for (int i = 0; i < c->layers; i++) {
        const layer_t *l = &m->layers[i];
        float *k = s->k + (size_t)i * td, *v = s->v + (size_t)i * td;
        linear(k, x, &l->key, T);
        linear(v, x, &l->value, T);
        if (i == c->layers - 1) break;  // the text rows need only this layer's K/V
        linear(a.q, x, &l->query, T);
        // Image rows attend to image rows only, in both directions.
        bc_attention(a.attn, a.q, k, v, T, T, H, H, hd, D, 0, 1.0f / sqrtf((float)hd));
        layer_rest(m, l, x, T, &a);
    }
    free(a.block);
    free(x);
    return s;
}

void bc_git_image_state_free(bc_git_image_state *s) {
    if (!s) return;
    free(s->k);
    free(s->v);
    free(s);
}

// One row of an embedding table as float32: out[D] = w[row].
static void embedding_row(const bc_weight *w, int row, float *out) {
    size_t base = (size_t)row * w->cols;
    for (int j = 0; j < w->cols; j++) out[j] = bc_weight_at(w, base + j);
}

// The text rows through every layer: x [n, D] in, the last layer's output out.
static int text_forward(const bc_git *m, const bc_git_image_state *s, const int32_t *ids, int n, float *x,
                        bc_err *err) {
    const bc_git_config *c = &m->cfg;
    int T = s->T, D = c->hidden, H = c->heads, hd = D / H;
    if (n < 1) return bc_fail(err, "GIT: empty question (no ids)");
    if (n > c->max_positions)
        return bc_fail(err, "GIT: %d text ids, more than max_position_embeddings %d", n, c->max_positions);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size)
            return bc_fail(err, "GIT: text id %d at position %d is outside the vocabulary (%d ids)", (int)ids[i], i,
                           c->vocab_size);
    // Embeddings: word + position 0 .. n-1 (the image rows take no positions), LayerNorm.
    float *pos = bc_malloc((size_t)D * sizeof(float));  // [D]
    for (int i = 0; i < n; i++) {
        embedding_row(&m->word_emb, ids[i], x + (size_t)i * D);
        embedding_row(&m->pos_emb, i, pos);
        bc_add(x + (size_t)i * D, pos, (size_t)D);
    }
    free(pos);
    bc_layernorm(x, x, m->emb_norm.w, m->emb_norm.b, n, D, c->eps);
    acts_t a;
    acts_alloc(&a, n, T + n, D, c->intermediate);
    size_t td = (size_t)T * D;
    for (int i = 0; i < c->layers; i++) {
        const layer_t *l = &m->layers[i];
        // keys/values [T + n, D]: the image's cached rows, then the text rows'.
        memcpy(a.k, s->k + (size_t)i * td, td * sizeof(float));
        memcpy(a.v, s->v + (size_t)i * td, td * sizeof(float));
        linear(a.k + td, x, &l->key, n);
        linear(a.v + td, x, &l->value, n);
        linear(a.q, x, &l->query, n);
        // Causal over [image; text]: text row j sees keys 0 .. T + j, i.e. every
        // image row and the text rows up to itself (GIT's mask).
        bc_attention(a.attn, a.q, a.k, a.v, n, T + n, H, H, hd, D, 1, 1.0f / sqrtf((float)hd));
        layer_rest(m, l, x, n, &a);
    }
    free(a.block);
    return 0;
}

int bc_git_last_logits(const bc_git *m, const bc_git_image_state *s, const int32_t *ids, int n,
                       const int32_t *rows, int n_rows, float *logits, bc_err *err) {
    int D = m->cfg.hidden;
    if (rows)
        for (int r = 0; r < n_rows; r++)
            if (rows[r] < 0 || rows[r] >= m->cfg.vocab_size)
                return bc_fail(err, "GIT: logit row %d is outside the vocabulary (%d ids)", (int)rows[r],
                               m->cfg.vocab_size);
    float *x = bc_malloc((size_t)(n > 0 ? n : 1) * D * sizeof(float));  // [n, D]
    if (text_forward(m, s, ids, n, x, err) < 0) {
        free(x);
        return -1;
    }
    const float *last = x + (size_t)(n - 1) * D;
    if (!rows) {
        linear(logits, last, &m->output, 1);
    } else {
        // One output row at a time: a [1, D] view of output.weight.
        size_t row_bytes = (size_t)D * bc_dtype_size(m->output.w.dtype);
        for (int r = 0; r < n_rows; r++) {
            bc_weight w = m->output.w;
            w.data = (const char *)w.data + (size_t)rows[r] * row_bytes;
            w.rows = 1;
            w.prepared = NULL;
            bc_linear(&logits[r], last, &w, &m->output.b[rows[r]], 1);
        }
    }
    free(x);
    return 0;
}

int bc_git_yes_prob(const bc_git *m, const bc_git_image_state *s, const int32_t *ids, int n, int32_t yes_id,
                    int32_t no_id, double *p, bc_err *err) {
    int32_t rows[2] = {yes_id, no_id};
    float logits[2];
    if (bc_git_last_logits(m, s, ids, n, rows, 2, logits, err) < 0) return -1;
    // p_yes / (p_yes + p_no) of the full softmax: the normaliser cancels.
    *p = 1.0 / (1.0 + exp((double)logits[1] - (double)logits[0]));
    return 0;
}
