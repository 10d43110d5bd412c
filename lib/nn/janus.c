// janus.c: opening a Janus-Pro checkpoint in either layout, and its image
// generation modules (see janus.h).
#include "janus.h"

#include <stdlib.h>
#include <string.h>

const char *janus_layout_name(janus_layout layout) { return layout == JANUS_ORIGINAL ? "original" : "transformers"; }

// The two namings of every tensor janus.c reads: (transformers, original)
// prefixes. Registered as aliases, so a lookup in either naming finds a
// tensor stored in the other (a checkpoint converted by hand may mix them).
static const struct {
    const char *transformers, *original;
} prefix_pairs[] = {
    {"model.language_model.", "language_model.model."},
    {"lm_head.", "language_model.lm_head."},
    {"model.generation_embeddings.", "gen_embed."},
    {"model.generation_aligner.fc1.", "gen_aligner.layers.0."},
    {"model.generation_aligner.hidden_layers.0.", "gen_aligner.layers.2."},
    {"model.generation_head.proj_out.", "gen_head.output_mlp_projector."},
    {"model.generation_head.vision_head.", "gen_head.vision_head."},
};
enum { P_LLM, P_LM_HEAD, P_EMBED, P_FC1, P_FC2, P_PROJ, P_OUT };

// The prefix of pair i in the checkpoint's own naming, so messages name the
// tensors the way its files do.
static const char *prefix_of(const janus_model *m, int i) {
    return m->layout == JANUS_ORIGINAL ? prefix_pairs[i].original : prefix_pairs[i].transformers;
}

// Which layout config.json describes; refuses anything else, saying what it is.
static int detect_layout(const bc_config *cfg, janus_layout *layout, bc_err *err) {
    const char *model_type = bc_config_str(cfg, "model_type", NULL);
    if (model_type && strcmp(model_type, "multi_modality") == 0) {
        *layout = JANUS_ORIGINAL;
        return 0;
    }
    if (model_type && strcmp(model_type, "janus") == 0) {
        *layout = JANUS_TRANSFORMERS;
        return 0;
    }
    char found[200];
    bc_json_describe(bc_config_lookup(cfg, "model_type"), found, sizeof found);
    const char *arch = bc_config_str(cfg, "architectures.0", NULL);
    return bc_fail(err,
                   "%s: not a Janus-Pro model: 'model_type' is %s%s%s%s, expected \"multi_modality\" (deepseek-ai "
                   "layout) or \"janus\" (transformers layout)",
                   bc_config_name(cfg), found, arch ? " (architectures: " : "", arch ? arch : "", arch ? ")" : "");
}

// gen_aligner must be the two-layer mlp_gelu both implementations ship, and
// the activations exact GELU: anything else would load and compute wrongly.
static int check_modules(const janus_model *m, bc_err *err) {
    const bc_config *cfg = m->cfg;
    const char *name = bc_config_name(cfg);
    if (m->layout == JANUS_ORIGINAL) {
        int64_t depth = bc_config_int(cfg, "gen_aligner_config.params.depth", 2);
        const char *type = bc_config_str(cfg, "gen_aligner_config.params.projector_type", "mlp_gelu");
        if (depth != 2 || strcmp(type, "mlp_gelu") != 0)
            return bc_fail(err, "%s: gen_aligner is %s of depth %lld; only mlp_gelu of depth 2 is supported", name,
                           type, (long long)depth);
    } else {
        int64_t layers = bc_config_int(cfg, "vq_config.num_hidden_layers", 2);
        const char *act = bc_config_str(cfg, "vq_config.hidden_act", "gelu");
        if (layers != 2 || strcmp(act, "gelu") != 0)
            return bc_fail(err,
                           "%s: vq_config has num_hidden_layers %lld and hidden_act \"%s\"; only 2 and \"gelu\" are "
                           "supported",
                           name, (long long)layers, act);
    }
    return 0;
}

// A [rows, cols] weight (-1: any size) named prefix + field.
static int need_weight(const janus_model *m, bc_weight *out, const char *prefix, const char *field, int64_t rows,
                       int64_t cols, bc_err *err) {
    char full[200];
    snprintf(full, sizeof full, "%s%s", prefix, field);
    int64_t shape[2] = {rows, cols};
    const bc_tensor *t = bc_weights_need(m->weights, full, 2, shape, err);
    return t ? bc_weight_from(out, t, err) : -1;
}

static int need_bias(const janus_model *m, float *out, const char *prefix, int64_t n, bc_err *err) {
    char full[200];
    snprintf(full, sizeof full, "%sbias", prefix);
    const bc_tensor *t = bc_weights_need(m->weights, full, 1, &n, err);
    return t ? bc_tensor_to_f32(t, out, err) : -1;
}

// gen_embed, gen_aligner, gen_head: sizes come from the tensors (gen_embed
// gives Vimg and E), then must agree with each other and with the config.
static int load_generation_modules(janus_model *m, bc_err *err) {
    int D = m->dim;
    if (need_weight(m, &m->gen_embed, prefix_of(m, P_EMBED), "weight", -1, -1, err) < 0) return -1;
    m->image_vocab = m->gen_embed.rows;
    m->code_dim = m->gen_embed.cols;
    if (m->code_dim > D)
        return bc_fail(err, "%s: gen_embed is %d wide, more than the hidden size %d", bc_weights_path(m->weights),
                       m->code_dim, D);
    int64_t cfg_vocab = m->layout == JANUS_ORIGINAL
                            ? bc_config_int(m->cfg, "gen_head_config.params.image_token_size", m->image_vocab)
                            : bc_config_int(m->cfg, "vq_config.num_embeddings", m->image_vocab);
    if (cfg_vocab != m->image_vocab)
        return bc_fail(
            err, "%s: %s holds %d image tokens but %s says %lld", bc_config_name(m->cfg), prefix_of(m, P_EMBED),
            m->image_vocab,
            m->layout == JANUS_ORIGINAL ? "gen_head_config.params.image_token_size" : "vq_config.num_embeddings",
            (long long)cfg_vocab);

    int V = m->image_vocab;
    m->biases = bc_malloc((size_t)(3 * D + V) * sizeof *m->biases);
    float *fc1_b = m->biases, *fc2_b = fc1_b + D, *proj_b = fc2_b + D, *out_b = proj_b + D;
    if (need_weight(m, &m->align_fc1, prefix_of(m, P_FC1), "weight", D, m->code_dim, err) < 0 ||
        need_bias(m, fc1_b, prefix_of(m, P_FC1), D, err) < 0 ||
        need_weight(m, &m->align_fc2, prefix_of(m, P_FC2), "weight", D, D, err) < 0 ||
        need_bias(m, fc2_b, prefix_of(m, P_FC2), D, err) < 0 ||
        need_weight(m, &m->head_proj, prefix_of(m, P_PROJ), "weight", D, D, err) < 0 ||
        need_bias(m, proj_b, prefix_of(m, P_PROJ), D, err) < 0 ||
        need_weight(m, &m->head_out, prefix_of(m, P_OUT), "weight", V, D, err) < 0 ||
        need_bias(m, out_b, prefix_of(m, P_OUT), V, err) < 0)
        return -1;
    m->align_fc1_b = fc1_b;
    m->align_fc2_b = fc2_b;
    m->head_proj_b = proj_b;
    m->head_out_b = out_b;
    return 0;
}

janus_model *janus_open(const char *dir, bc_err *err) {
    janus_model *m = bc_calloc(1, sizeof *m);
    m->cfg = bc_config_load(dir, err);
    if (!m->cfg) goto fail;
    if (detect_layout(m->cfg, &m->layout, err) < 0) goto fail;
    if (bc_llama_config_find(m->cfg, &m->llama_cfg, err) < 0)
        goto fail;
    if (check_modules(m, err) < 0) goto fail;
    m->dim = (int)m->llama_cfg.hidden_size;

    m->weights = bc_weights_open(dir, err);
    if (!m->weights) goto fail;
    for (size_t i = 0; i < sizeof prefix_pairs / sizeof prefix_pairs[0]; i++)
        bc_weights_alias(m->weights, prefix_pairs[i].transformers, prefix_pairs[i].original);

    // lm_head: the stored one (both Janus checkpoints ship it, untied); only
    // a checkpoint without it that says its embeddings are tied shares them.
    char lm_head[120];
    snprintf(lm_head, sizeof lm_head, "%sweight", prefix_of(m, P_LM_HEAD));
    int tied = m->llama_cfg.tie_word_embeddings ||
               (m->layout == JANUS_TRANSFORMERS && bc_config_bool(m->cfg, "tie_word_embeddings", 0));
    const char *lm_head_name = (!bc_weights_find(m->weights, lm_head) && tied) ? NULL : lm_head;
    if (llama_load(&m->lm, m->weights, &m->llama_cfg, prefix_of(m, P_LLM), lm_head_name, err) < 0) goto fail;
    if (load_generation_modules(m, err) < 0) goto fail;
    return m;
fail:
    janus_close(m);
    return NULL;
}

void janus_close(janus_model *m) {
    if (!m) return;
    llama_free(&m->lm);
    free(m->biases);
    bc_weights_close(m->weights);
    bc_config_free(m->cfg);
    free(m);
}

int janus_image_embed(const janus_model *m, const int *tokens, int n, float *out, float *tmp, bc_err *err) {
    size_t D = (size_t)m->dim, E = (size_t)m->code_dim;
    // The E-wide codes go in the front of out (E ≤ D), which fc2 overwrites last.
    float *codes = out;  // [n, E]
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= m->image_vocab)
            return bc_fail(err, "image token %d (position %d) is outside [0, %d)", tokens[i], i, m->image_vocab);
        for (size_t j = 0; j < E; j++) codes[i * E + j] = bc_weight_at(&m->gen_embed, (size_t)tokens[i] * E + j);
    }
    bc_linear(tmp, codes, &m->align_fc1, m->align_fc1_b, n);  // tmp [n, D]
    bc_gelu(tmp, (size_t)n * D);
    bc_linear(out, tmp, &m->align_fc2, m->align_fc2_b, n);  // out [n, D]
    return 0;
}

void janus_gen_head(const janus_model *m, const float *hidden, int n, float *logits, float *tmp) {
    bc_linear(tmp, hidden, &m->head_proj, m->head_proj_b, n);  // tmp [n, D]
    bc_gelu(tmp, (size_t)n * m->dim);
    bc_linear(logits, tmp, &m->head_out, m->head_out_b, n);  // logits [n, Vimg]
}

void janus_cfg_logits(float *out, const float *cond, const float *uncond, int n, float w) {
    for (int i = 0; i < n; i++) out[i] = uncond[i] + w * (cond[i] - uncond[i]);
}
