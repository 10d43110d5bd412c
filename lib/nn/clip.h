// clip.h: the CLIP model's forward pass (reference/reward-models-spec.md §1):
// image and text features whose cosine is HPSv2's score (§1.4).
//
//   image [3, S, S] normalised -> patch conv (stride = kernel, no bias)
//     -> [CLS; patches] + position embedding -> pre LayerNorm
//     -> pre-LN transformer blocks (non-causal) -> token 0 -> post LayerNorm
//     -> projection (no bias) -> [embed]
//   ids SOT .. EOT -> token + position embedding
//     -> pre-LN transformer blocks (causal) -> final LayerNorm at the pooled
//     token -> projection (no bias) -> [embed]
//   block: x += out_proj(attn(ln_1(x))); x += fc2(act(fc1(ln_2(x))))
//
// Two tensor namings load:
//   - transformers' CLIPModel directory (config.json + weights):
//     vision_model.*, text_model.*, visual_projection, text_projection;
//     architecture from config.json (vision_config, text_config,
//     projection_dim, with CLIPConfig's defaults for absent keys);
//   - an open_clip state dict (HPSv2.1's HPS_v2.1_compressed.pt: a pickle
//     {'state_dict': ...}, possibly with DataParallel's 'module.' prefix, or a
//     safetensors file): visual.conv1, visual.transformer.resblocks.N (fused
//     attn.in_proj_weight = [q; k; v]), visual.proj [width, embed] (x @ proj),
//     transformer.resblocks.N, ln_final, text_projection [width, embed].
//     The shapes give every size; what they cannot give (head counts, the
//     activation) comes from bc_clip_options or open_clip's rules.
//
// A bc_clip is read-only once loaded; the encode functions allocate their own
// activations, so threads may share one model.
#ifndef BICOT_CLIP_H
#define BICOT_CLIP_H

#include <stdint.h>

#include "../io/config.h"
#include "../io/weights.h"
#include "../util.h"

typedef struct {
    int width, layers, heads, mlp;  // hidden size, blocks, attention heads, MLP hidden size
    int quick_gelu;                 // 1: x·sigmoid(1.702x) (OpenAI CLIP); 0: exact erf GELU
    float eps;                      // every LayerNorm of the tower
} bc_clip_tower;

typedef struct {
    bc_clip_tower vision, text;
    int image_size, patch_size;  // S, P: (S/P)² patches + CLS
    int vocab_size, context_length;
    int embed_dim;               // projection output
    // Text pooling: the row at argmax(ids) (open_clip, and transformers when
    // eos_token_id == 2, its legacy value), else the first id == eos_token_id.
    int pool_argmax;
    int eos_token_id;
    int open_clip_naming;        // 1 when the weights are open_clip's
} bc_clip_config;

// What an open_clip checkpoint's shapes do not say. 0 / -1 = the default.
typedef struct {
    int vision_heads;  // 0: width / head_width, head_width 80 for width 1280
                       // (ViT-H-14), 88 for 1408 (ViT-g-14), 104 for 1664
                       // (ViT-bigG-14), else 64 (open_clip's default)
    int text_heads;    // 0: width / 64 (every open_clip text config)
    int quick_gelu;    // -1: exact GELU (ViT-H-14, HPSv2); 1: quick_gelu
                       // (OpenAI-pretrained configs). Applies to both towers.
} bc_clip_options;

typedef struct bc_clip bc_clip;

// Opens a transformers CLIPModel directory, or an open_clip checkpoint file
// (.pt/.pth/.bin/.safetensors). opt may be NULL (defaults); it is used only
// for open_clip weights. NULL on failure with err naming the file, tensor or
// config key.
bc_clip *bc_clip_open(const char *path, const bc_clip_options *opt, bc_err *err);
void bc_clip_free(bc_clip *m);
const bc_clip_config *bc_clip_config_of(const bc_clip *m);

// n_images normalised images chw [n, 3, S, S] -> out [n, embed_dim]
// (projected, not normalised).
void bc_clip_encode_image(const bc_clip *m, const float *chw, int n_images, float *out);
// One tokenized text ids[len] (SOT .. EOT, padding after EOT allowed and
// ignored: the causal mask makes the pooled row depend only on ids up to it)
// -> out [embed_dim]. Fails on an id outside the vocabulary or a pooled
// position beyond the context length.
int bc_clip_encode_text(const bc_clip *m, const int32_t *ids, int len, float *out, bc_err *err);

// ---- CLIP towers inside other models (GIT's image encoder, OWLv2) -------------

// Which parts bc_clip_open_weights loads.
enum {
    BC_CLIP_VISION = 1,       // <prefix>vision_model.*
    BC_CLIP_TEXT = 2,         // <prefix>text_model.*
    BC_CLIP_VISION_PROJ = 4,  // <prefix>visual_projection.weight (bc_clip_encode_image needs it)
    BC_CLIP_TEXT_PROJ = 8,    // <prefix>text_projection.weight (bc_clip_encode_text needs it)
    BC_CLIP_ALL = 15,
};

// CLIPConfig's defaults (CLIPVisionConfig, CLIPTextConfig, projection_dim 512)
// for keys a config.json leaves out. Models whose sub-configs have other
// defaults (GitVisionConfig, Owlv2VisionConfig...) copy it and change them.
extern const bc_clip_config bc_clip_hf_defaults;

// Reads vision_config.*, text_config.* and projection_dim of a transformers
// config (hidden_size, intermediate_size, num_hidden_layers,
// num_attention_heads, image_size, patch_size, hidden_act, layer_norm_eps,
// vocab_size, max_position_embeddings, eos_token_id), defaults for absent keys
// from `defaults` (NULL: bc_clip_hf_defaults).
int bc_clip_read_config(const bc_config *cfg, const bc_clip_config *defaults, bc_clip_config *c, bc_err *err);

// Loads the parts of a transformers-named CLIP found under prefix ("" for
// CLIPModel, "git.image_encoder." for GIT, "owlv2." for OWLv2) in weights the
// caller opened and keeps open for the model's life (bc_clip_free does not
// close them). The vision pre-norm may be named pre_layrnorm (CLIP, GIT) or
// pre_layernorm (OWL-ViT, OWLv2). NULL on failure, err naming the tensor.
bc_clip *bc_clip_open_weights(bc_weights *w, const char *prefix, const bc_clip_config *cfg, int parts, bc_err *err);

// One normalised image [3, S, S] -> the vision tower's last hidden state,
// tokens [T, Wv] with T = (S/P)² + 1 (CLS first, patches in raster order),
// before the post LayerNorm. Thread-safe (own activations).
void bc_clip_vision_tokens(const bc_clip *m, const float *chw, float *tokens);
// The vision post LayerNorm over n rows: out[n, Wv] (out may equal x).
void bc_clip_vision_post_norm(const bc_clip *m, float *out, const float *x, int n);

// exp(logit_scale): the factor CLIPModel's logits put on the cosine (PickScore
// scores with it); 1 when the checkpoint has no logit_scale.
float bc_clip_logit_scale(const bc_clip *m);

// Cosine similarity of a[dim] and b[dim] (HPSv2's score: no logit_scale).
float bc_clip_cosine(const float *a, const float *b, int dim);

#endif
