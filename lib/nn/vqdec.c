// vqdec.c: Janus-Pro's VQ-16 decoder (see vqdec.h and janus-pro-spec.md §3),
// one explicit forward function per layer kind, computing through ops.h.
#include "vqdec.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define GN_GROUPS 32      // every GroupNorm of the decoder: 32 groups ...
#define GN_EPS 1e-6f      // ... and eps 1e-6 (not torch's default 1e-5)

// ---- the model -------------------------------------------------------------------

typedef struct {
    bc_weight w;          // [Co, Ci·ks·ks] in the stored dtype
    float *b;             // [Co]
    bc_conv_plan *plan;   // prepared at load (NULL for 1×1)
    int ks;
} conv_t;

typedef struct {
    float *w, *b;  // [C] affine scale and shift
} norm_t;

// x + conv2(swish(norm2(conv1(swish(norm1(x)))))), x through a 1×1
// nin_shortcut when the channel count changes.
typedef struct {
    int ci, co;
    norm_t norm1, norm2;   // [ci], [co]
    conv_t conv1, conv2;   // 3×3 ci -> co, 3×3 co -> co
    int has_nin;
    conv_t nin;            // 1×1 ci -> co
} res_block;

// Single-head self-attention over the h·w positions, channels as features.
typedef struct {
    int c;
    norm_t norm;
    conv_t q, k, v, proj_out;  // 1×1 c -> c, used as Linear layers
} attn_block;

// One resolution: res blocks (each followed by an attn block on level 0),
// then on all but the last level a ×2 upsample and a 3×3 conv.
typedef struct {
    int c_in, c;           // channels entering the level, channels inside it
    int n_res;
    res_block *res;        // [n_res]
    attn_block *attn;      // [n_res] on level 0, else NULL
    int has_upsample;
    conv_t upsample;       // 3×3 c -> c
} level_t;

struct bc_vqdec {
    bc_vqdec_config cfg;
    bc_weights *weights;
    int owns_weights;
    float *codebook;       // [codebook_size, embed_dim], rows already L2-normalised
    conv_t post_quant;     // 1×1 embed_dim -> latent
    conv_t conv_in;        // 3×3 latent -> c of level 0
    res_block mid1;
    attn_block mid_attn;
    res_block mid2;
    level_t levels[BC_VQDEC_MAX_LEVELS];
    norm_t norm_out;       // [c of the last level]
    conv_t conv_out;       // 3×3 -> 3
    float **owned;         // the float32 copies of biases and norm weights
    size_t nowned;
    bc_conv_plan **plans;  // every conv's plan, to free
    size_t nplans;
};

// ---- config --------------------------------------------------------------------

void bc_vqdec_config_default(bc_vqdec_config *c) {
    static const int mult[] = {1, 1, 2, 2, 4};
    memset(c, 0, sizeof *c);
    c->codebook_size = 16384;
    c->embed_dim = 8;
    c->latent_channels = 256;
    c->base_channels = 128;
    c->n_levels = 5;
    memcpy(c->channel_multiplier, mult, sizeof mult);
    c->num_res_blocks = 2;
}

// An optional positive integer at section.key (left as is when absent).
static int read_pos_int(const bc_config *cfg, const char *section, const char *key, int *out, bc_err *err) {
    char path[128];
    snprintf(path, sizeof path, "%s.%s", section, key);
    int64_t v;
    int r = bc_config_get_int(cfg, path, &v, err);
    if (r < 0) return -1;
    if (r == 0) return 0;
    if (v < (strcmp(key, "num_res_blocks") == 0 ? 0 : 1) || v > (1 << 20))
        return bc_fail(err, "%s: '%s': %lld is out of range", bc_config_name(cfg), path, (long long)v);
    *out = (int)v;
    return 0;
}

static int read_mult(const bc_config *cfg, const char *section, const char *key, bc_vqdec_config *c, bc_err *err) {
    char path[128];
    snprintf(path, sizeof path, "%s.%s", section, key);
    json_t *a = bc_config_lookup(cfg, path);
    if (!a) return 0;
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > BC_VQDEC_MAX_LEVELS)
        return bc_fail(err, "%s: '%s': expected a list of 1 to %d integers", bc_config_name(cfg), path,
                       BC_VQDEC_MAX_LEVELS);
    c->n_levels = (int)json_array_size(a);
    for (int i = 0; i < c->n_levels; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 64)
            return bc_fail(err, "%s: '%s.%d': expected an integer 1..64", bc_config_name(cfg), path, i);
        c->channel_multiplier[i] = (int)json_integer_value(v);
    }
    return 0;
}

int bc_vqdec_config_read(const bc_config *cfg, bc_vqdec_config *c, bc_err *err) {
    bc_vqdec_config_default(c);
    int rc = 0;
    if (bc_config_has(cfg, "vq_config")) {  // transformers' JanusVQVAEConfig
        const char *s = "vq_config";
        if (read_pos_int(cfg, s, "num_embeddings", &c->codebook_size, err) < 0 ||
            read_pos_int(cfg, s, "embed_dim", &c->embed_dim, err) < 0 ||
            read_pos_int(cfg, s, "latent_channels", &c->latent_channels, err) < 0 ||
            read_pos_int(cfg, s, "base_channels", &c->base_channels, err) < 0 ||
            read_pos_int(cfg, s, "num_res_blocks", &c->num_res_blocks, err) < 0 ||
            read_mult(cfg, s, "channel_multiplier", c, err) < 0)
            rc = -1;
    } else if (bc_config_has(cfg, "gen_vision_config.params")) {  // original: VQ_16() + params
        const char *s = "gen_vision_config.params";
        if (read_pos_int(cfg, s, "image_token_size", &c->codebook_size, err) < 0 ||
            read_pos_int(cfg, s, "codebook_size", &c->codebook_size, err) < 0 ||
            read_pos_int(cfg, s, "n_embed", &c->embed_dim, err) < 0 ||
            read_pos_int(cfg, s, "codebook_embed_dim", &c->embed_dim, err) < 0 ||
            read_pos_int(cfg, s, "z_channels", &c->latent_channels, err) < 0 ||
            read_pos_int(cfg, s, "ch", &c->base_channels, err) < 0 ||
            read_pos_int(cfg, s, "num_res_blocks", &c->num_res_blocks, err) < 0 ||
            read_mult(cfg, s, "decoder_ch_mult", c, err) < 0)
            rc = -1;
    }
    if (rc < 0) return -1;
    for (int i = 0; i < c->n_levels; i++)
        if ((c->base_channels * c->channel_multiplier[i]) % GN_GROUPS)
            return bc_fail(err, "%s: level channels %d x %d are not a multiple of GroupNorm's %d groups",
                           bc_config_name(cfg), c->base_channels, c->channel_multiplier[i], GN_GROUPS);
    return 0;
}

// ---- loading -------------------------------------------------------------------

// The transformers names are canonical here; these aliases let the original
// ones be found too (janus-pro-spec.md §4.2).
static void add_aliases(bc_weights *w, int n_levels) {
    char a[96], b[96];
    for (int l = 0; l < n_levels; l++) {
        snprintf(a, sizeof a, "model.vqmodel.decoder.up.%d.block.", l);
        snprintf(b, sizeof b, "gen_vision_model.decoder.conv_blocks.%d.res.", l);
        bc_weights_alias(w, a, b);
        snprintf(a, sizeof a, "model.vqmodel.decoder.up.%d.", l);  // attn.{r}, upsample.conv
        snprintf(b, sizeof b, "gen_vision_model.decoder.conv_blocks.%d.", l);
        bc_weights_alias(w, a, b);
    }
    bc_weights_alias(w, "model.vqmodel.decoder.mid.block_1.", "gen_vision_model.decoder.mid.0.");
    bc_weights_alias(w, "model.vqmodel.decoder.mid.attn_1.", "gen_vision_model.decoder.mid.1.");
    bc_weights_alias(w, "model.vqmodel.decoder.mid.block_2.", "gen_vision_model.decoder.mid.2.");
    bc_weights_alias(w, "model.vqmodel.", "gen_vision_model.");
}

// A float32 copy of prefix.suffix, which must have shape [n]; owned by m.
static float *load_vector(bc_vqdec *m, const char *prefix, const char *suffix, int n, bc_err *err) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s", prefix, suffix);
    int64_t shape[1] = {n};
    const bc_tensor *t = bc_weights_need(m->weights, name, 1, shape, err);
    if (!t) return NULL;
    float *v = bc_tensor_f32(t, err);
    if (!v) return NULL;
    m->owned = bc_realloc(m->owned, (m->nowned + 1) * sizeof *m->owned);
    m->owned[m->nowned++] = v;
    return v;
}

// prefix.weight [co, ci, ks, ks] (stays in its dtype) and prefix.bias [co].
static int load_conv(bc_vqdec *m, conv_t *c, const char *prefix, int co, int ci, int ks, bc_err *err) {
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[4] = {co, ci, ks, ks};
    const bc_tensor *t = bc_weights_need(m->weights, name, 4, shape, err);
    if (!t || bc_weight_from(&c->w, t, err) < 0) return -1;
    c->b = load_vector(m, prefix, "bias", co, err);
    if (!c->b) return -1;
    c->ks = ks;
    c->plan = bc_conv_plan_new(&c->w, ks, ks / 2);  // every conv here pads ks/2
    if (c->plan) {
        m->plans = bc_realloc(m->plans, (m->nplans + 1) * sizeof *m->plans);
        m->plans[m->nplans++] = c->plan;
    }
    return 0;
}

static int load_norm(bc_vqdec *m, norm_t *n, const char *prefix, int c, bc_err *err) {
    n->w = load_vector(m, prefix, "weight", c, err);
    if (!n->w) return -1;
    n->b = load_vector(m, prefix, "bias", c, err);
    return n->b ? 0 : -1;
}

static int load_res(bc_vqdec *m, res_block *r, const char *prefix, int ci, int co, bc_err *err) {
    char p[200];
    r->ci = ci;
    r->co = co;
    r->has_nin = ci != co;
#define SUB(name) (snprintf(p, sizeof p, "%s.%s", prefix, name), p)
    if (load_norm(m, &r->norm1, SUB("norm1"), ci, err) < 0 || load_conv(m, &r->conv1, SUB("conv1"), co, ci, 3, err) < 0 ||
        load_norm(m, &r->norm2, SUB("norm2"), co, err) < 0 || load_conv(m, &r->conv2, SUB("conv2"), co, co, 3, err) < 0)
        return -1;
    if (r->has_nin && load_conv(m, &r->nin, SUB("nin_shortcut"), co, ci, 1, err) < 0) return -1;
    return 0;
}

static int load_attn(bc_vqdec *m, attn_block *a, const char *prefix, int c, bc_err *err) {
    char p[200];
    a->c = c;
    if (load_norm(m, &a->norm, SUB("norm"), c, err) < 0 || load_conv(m, &a->q, SUB("q"), c, c, 1, err) < 0 ||
        load_conv(m, &a->k, SUB("k"), c, c, 1, err) < 0 || load_conv(m, &a->v, SUB("v"), c, c, 1, err) < 0 ||
        load_conv(m, &a->proj_out, SUB("proj_out"), c, c, 1, err) < 0)
        return -1;
    return 0;
#undef SUB
}

// The codebook as float32 rows divided by max(‖row‖₂, 1e-12) (F.normalize).
static int load_codebook(bc_vqdec *m, bc_err *err) {
    const bc_vqdec_config *c = &m->cfg;
    int64_t shape[2] = {c->codebook_size, c->embed_dim};
    const bc_tensor *t = bc_weights_need(m->weights, "model.vqmodel.quantize.embedding.weight", 2, shape, err);
    if (!t || !(m->codebook = bc_tensor_f32(t, err))) return -1;
    for (int i = 0; i < c->codebook_size; i++) {
        float *row = m->codebook + (size_t)i * c->embed_dim, ss = 0;
        for (int d = 0; d < c->embed_dim; d++) ss += row[d] * row[d];
        float norm = sqrtf(ss);
        if (norm < 1e-12f) norm = 1e-12f;
        for (int d = 0; d < c->embed_dim; d++) row[d] /= norm;
    }
    return 0;
}

bc_vqdec *bc_vqdec_new(bc_weights *w, const bc_vqdec_config *c, bc_err *err) {
    bc_vqdec *m = bc_calloc(1, sizeof *m);
    m->cfg = *c;
    m->weights = w;
    add_aliases(w, c->n_levels);
    const char *d = "model.vqmodel.decoder";
    char p[160];
    int L = c->n_levels, ch = c->base_channels * c->channel_multiplier[L - 1];  // level 0's channels
    if (load_codebook(m, err) < 0 ||
        load_conv(m, &m->post_quant, "model.vqmodel.post_quant_conv", c->latent_channels, c->embed_dim, 1, err) < 0 ||
        load_conv(m, &m->conv_in, "model.vqmodel.decoder.conv_in", ch, c->latent_channels, 3, err) < 0 ||
        load_res(m, &m->mid1, "model.vqmodel.decoder.mid.block_1", ch, ch, err) < 0 ||
        load_attn(m, &m->mid_attn, "model.vqmodel.decoder.mid.attn_1", ch, err) < 0 ||
        load_res(m, &m->mid2, "model.vqmodel.decoder.mid.block_2", ch, ch, err) < 0)
        goto fail;
    for (int l = 0; l < L; l++) {
        level_t *lv = &m->levels[l];
        lv->c_in = ch;
        lv->c = c->base_channels * c->channel_multiplier[L - 1 - l];
        lv->n_res = c->num_res_blocks + 1;
        lv->res = bc_calloc((size_t)lv->n_res, sizeof *lv->res);
        if (l == 0) lv->attn = bc_calloc((size_t)lv->n_res, sizeof *lv->attn);
        for (int r = 0; r < lv->n_res; r++) {
            snprintf(p, sizeof p, "%s.up.%d.block.%d", d, l, r);
            if (load_res(m, &lv->res[r], p, r == 0 ? lv->c_in : lv->c, lv->c, err) < 0) goto fail;
            snprintf(p, sizeof p, "%s.up.%d.attn.%d", d, l, r);
            if (lv->attn && load_attn(m, &lv->attn[r], p, lv->c, err) < 0) goto fail;
        }
        lv->has_upsample = l < L - 1;
        snprintf(p, sizeof p, "%s.up.%d.upsample.conv", d, l);
        if (lv->has_upsample && load_conv(m, &lv->upsample, p, lv->c, lv->c, 3, err) < 0) goto fail;
        ch = lv->c;
    }
    if (load_norm(m, &m->norm_out, "model.vqmodel.decoder.norm_out", ch, err) < 0 ||
        load_conv(m, &m->conv_out, "model.vqmodel.decoder.conv_out", 3, ch, 3, err) < 0)
        goto fail;
    return m;
fail:
    bc_vqdec_free(m);
    return NULL;
}

bc_vqdec *bc_vqdec_open(const char *dir, bc_err *err) {
    bc_config *cfg = bc_config_load(dir, err);
    if (!cfg) return NULL;
    bc_vqdec_config c;
    int rc = bc_vqdec_config_read(cfg, &c, err);
    bc_config_free(cfg);
    if (rc < 0) return NULL;
    bc_weights *w = bc_weights_open(dir, err);
    if (!w) return NULL;
    bc_vqdec *m = bc_vqdec_new(w, &c, err);
    if (!m) {
        bc_weights_close(w);
        return NULL;
    }
    m->owns_weights = 1;
    return m;
}

void bc_vqdec_free(bc_vqdec *m) {
    if (!m) return;
    for (int l = 0; l < BC_VQDEC_MAX_LEVELS; l++) {
        free(m->levels[l].res);
        free(m->levels[l].attn);
    }
    for (size_t i = 0; i < m->nowned; i++) free(m->owned[i]);
    free(m->owned);
    for (size_t i = 0; i < m->nplans; i++) bc_conv_plan_free(m->plans[i]);
    free(m->plans);
    free(m->codebook);
    if (m->owns_weights) bc_weights_close(m->weights);
    free(m);
}

const bc_vqdec_config *bc_vqdec_get_config(const bc_vqdec *m) { return &m->cfg; }

void bc_vqdec_out_size(const bc_vqdec *m, int h, int w, int *H, int *W) {
    *H = h << (m->cfg.n_levels - 1);
    *W = w << (m->cfg.n_levels - 1);
}

// ---- activations -----------------------------------------------------------------

struct bc_vqdec_state {
    float *mem;               // one allocation, carved below
    size_t act_cap, att_cap;  // floats per activation buffer, floats of the attention area
    float *x;                 // [C, H, W] the hidden state, for the largest C·H·W of the walk
    float *a, *b;             // [C, H, W] scratch of the same size
    float *att;               // 5 × [h·w, C0]: the attention's token-major hn, q, k, v, out
};

bc_vqdec_state *bc_vqdec_state_new(void) { return bc_calloc(1, sizeof(bc_vqdec_state)); }

void bc_vqdec_state_free(bc_vqdec_state *s) {
    if (!s) return;
    free(s->mem);
    free(s);
}

// Sizes the buffers for an h×w grid by walking the decoder's shapes.
static void state_reserve(const bc_vqdec *m, bc_vqdec_state *s, int h, int w) {
    const bc_vqdec_config *c = &m->cfg;
    size_t area = (size_t)h * w, act = 0;
#define GROW(n) (act = (n) > act ? (n) : act)
    GROW((size_t)c->embed_dim * area);
    GROW((size_t)c->latent_channels * area);
    size_t att = 5 * area * (size_t)m->levels[0].c_in;
    for (int l = 0; l < c->n_levels; l++) {
        const level_t *lv = &m->levels[l];
        GROW((size_t)(lv->c_in > lv->c ? lv->c_in : lv->c) * area);
        if (lv->has_upsample) area *= 4;
        GROW((size_t)lv->c * area);
    }
#undef GROW
    if (act <= s->act_cap && att <= s->att_cap) return;
    free(s->mem);
    s->act_cap = act;
    s->att_cap = att;
    s->mem = bc_malloc((3 * act + att) * sizeof(float));
    s->x = s->mem;
    s->a = s->x + act;
    s->b = s->a + act;
    s->att = s->b + act;
}

// ---- forward -------------------------------------------------------------------

// out [co, H', W'] = conv c of in [ci, H, W] (padding ks/2, its prepared plan).
static void conv(float *out, const float *in, const conv_t *c, int ci, int H, int W) {
    bc_conv2d_planned(out, in, &c->w, c->plan, c->b, ci, H, W, c->ks, c->ks / 2);
}

// x [ci, H, W] -> x [co, H, W] in place; a, b: scratch of max(ci, co)·H·W.
static void res_block_forward(const res_block *r, float *x, float *a, float *b, int H, int W) {
    size_t hw = (size_t)H * W;
    bc_groupnorm_silu(a, x, r->norm1.w, r->norm1.b, r->ci, (int)hw, GN_GROUPS, GN_EPS);  // a [ci, hw]
    conv(b, a, &r->conv1, r->ci, H, W);                                                // b [co, hw]
    bc_groupnorm_silu(b, b, r->norm2.w, r->norm2.b, r->co, (int)hw, GN_GROUPS, GN_EPS);
    conv(a, b, &r->conv2, r->co, H, W);                                                // a [co, hw]
    if (r->has_nin) {
        conv(b, x, &r->nin, r->ci, H, W);                    // b [co, hw]
        memcpy(x, b, (size_t)r->co * hw * sizeof(float));
    }
    bc_add(x, a, (size_t)r->co * hw);
}

// [rows, cols] -> [cols, rows]
static void transpose(float *dst, const float *src, int rows, int cols) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) dst[(size_t)j * rows + i] = src[(size_t)i * cols + j];
}

// x [c, n] += proj_out(softmax(q·kᵀ/√c)·v) over the n = H·W positions.
// The 1×1 convs run channel-first (one GEMM each); bc_attention reads
// token-major [n, c], hence the transposes. a [c, n] is scratch, att holds
// 5 × [n, c].
static void attn_block_forward(const attn_block *ab, float *x, float *a, float *att, int H, int W) {
    int c = ab->c, n = H * W;
    size_t nc = (size_t)n * c;
    float *cf = att, *q = att + nc, *k = att + 2 * nc, *v = att + 3 * nc, *o = att + 4 * nc;  // cf [c, n], rest [n, c]
    bc_groupnorm(a, x, ab->norm.w, ab->norm.b, c, n, GN_GROUPS, GN_EPS);  // a [c, n]
    conv(cf, a, &ab->q, c, H, W);
    transpose(q, cf, c, n);
    conv(cf, a, &ab->k, c, H, W);
    transpose(k, cf, c, n);
    conv(cf, a, &ab->v, c, H, W);
    transpose(v, cf, c, n);
    // one head over all c channels, every position sees every position
    bc_attention(o, q, k, v, n, n, 1, 1, c, c, 0, (float)(1.0 / sqrt((double)c)));
    transpose(cf, o, n, c);                                          // cf [c, n]
    conv(a, cf, &ab->proj_out, c, H, W);  // a [c, n]
    bc_add(x, a, nc);
}

// x [c, H, W] -> x [c, 2H, 2W]: nearest ×2, then a 3×3 conv; a is scratch.
static void upsample_forward(const conv_t *up, float *x, float *a, int c, int H, int W) {
    bc_upsample2x(a, x, c, H, W);                                // a [c, 2H, 2W]
    conv(x, a, up, c, 2 * H, 2 * W);   // x [c, 2H, 2W]
}

int bc_vqdec_decode(const bc_vqdec *m, bc_vqdec_state *s, const int32_t *tokens, size_t n, int h, int w, float *out,
                    bc_err *err) {
    const bc_vqdec_config *c = &m->cfg;
    if (h < 1 || w < 1 || h > 4096 || w > 4096)
        return bc_fail(err, "grid %dx%d: expected two positive sizes up to 4096", h, w);
    if (n != (size_t)h * w) return bc_fail(err, "grid %dx%d needs %d tokens, got %zu", h, w, h * w, n);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->codebook_size)
            return bc_fail(err, "token %d at index %zu is outside the codebook [0, %d)", (int)tokens[i], i,
                           c->codebook_size);
    state_reserve(m, s, h, w);
    float *x = s->x, *a = s->a, *b = s->b;
    int H = h, W = w, D = c->embed_dim;

    // z [D, h, w]: each position's normalised codebook row, channel-first.
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < D; d++) a[(size_t)d * n + i] = m->codebook[(size_t)tokens[i] * D + d];
    conv(b, a, &m->post_quant, D, H, W);               // b [latent, h, w]
    conv(x, b, &m->conv_in, c->latent_channels, H, W);    // x [c0, h, w]

    res_block_forward(&m->mid1, x, a, b, H, W);
    attn_block_forward(&m->mid_attn, x, a, s->att, H, W);
    res_block_forward(&m->mid2, x, a, b, H, W);

    for (int l = 0; l < c->n_levels; l++) {
        const level_t *lv = &m->levels[l];
        for (int r = 0; r < lv->n_res; r++) {
            res_block_forward(&lv->res[r], x, a, b, H, W);
            if (lv->attn) attn_block_forward(&lv->attn[r], x, a, s->att, H, W);
        }
        if (lv->has_upsample) {
            upsample_forward(&lv->upsample, x, a, lv->c, H, W);
            H *= 2;
            W *= 2;
        }
    }

    int C = m->levels[c->n_levels - 1].c;
    size_t hw = (size_t)H * W;
    bc_groupnorm_silu(a, x, m->norm_out.w, m->norm_out.b, C, (int)hw, GN_GROUPS, GN_EPS);  // a [C, H, W]
    conv(out, a, &m->conv_out, C, H, W);                 // out [3, H, W]
    return 0;
}

void bc_vqdec_to_rgb(const float *x, int H, int W, uint8_t *rgb) {
    size_t hw = (size_t)H * W;
    for (int ch = 0; ch < 3; ch++) {
        for (size_t i = 0; i < hw; i++) {
            float v = (x[(size_t)ch * hw + i] + 1.0f) / 2.0f * 255.0f;
            if (!(v > 0.0f)) v = 0.0f;  // NaN too
            if (v > 255.0f) v = 255.0f;
            rgb[i * 3 + ch] = (uint8_t)v;  // truncation, as numpy's astype(uint8)
        }
    }
}
