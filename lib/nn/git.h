// git.h: GIT (transformers' GitForCausalLM, microsoft/git-large-vqav2) as the
// VQA expert of T2I-R1 (reference/reward-models-spec.md §2).
//
//   image [3, S, S] normalised -> CLIP ViT (clip.h, tensors under
//     git.image_encoder.) -> post LayerNorm on all T = (S/P)² + 1 tokens
//     -> visual projection: Linear(Wv -> D) + LayerNorm(vision eps) -> [T, D]
//   ids [L] -> word + position (0 .. L-1) embedding -> LayerNorm -> [L, D]
//   decoder over [image; text] rows: post-LN BERT layers
//       x = LN(x + dense(attn(x)));  x = LN(x + out(act(inter(x))))
//     mask: image rows see the image rows only; text rows see every image row
//     and the text rows up to themselves (causal)
//   logits = output(x) (no final norm, untied: output.weight + output.bias)
//
// Image rows never see text, so the image half of every decoder layer depends
// on the image alone: bc_git_encode_image runs it once and keeps each layer's
// image keys/values; a question then runs only its L text rows against them.
// This is exact (the same sums as the full sequence, not an approximation).
//
// A bc_git is read-only once loaded and an image state is read-only once
// encoded: threads may share both.
#ifndef BICOT_GIT_H
#define BICOT_GIT_H

#include <stdint.h>

#include "../util.h"
#include "clip.h"

typedef struct {
    // text decoder (config.json top level; GitConfig's defaults for absent keys)
    int hidden, layers, heads, intermediate;  // D, 6, 12, 3072 for git-large
    int vocab_size, max_positions;            // 30522, 1024
    float eps;                                // layer_norm_eps of every text LayerNorm (1e-12)
    int quick_gelu;                           // hidden_act: 0 gelu (erf), 1 quick_gelu
    int tie_word_embeddings;                  // 1: logits use the word embeddings (no output.weight)
    int image_tokens;                         // T = (S/P)² + 1
    bc_clip_config vision;                    // the vision tower (vision_config, GitVisionConfig's defaults)
} bc_git_config;

typedef struct bc_git bc_git;
typedef struct bc_git_image_state bc_git_image_state;

// GitVisionConfig's defaults (a CLIP ViT-B/16 at 224): what vision_config
// keys absent from config.json take.
extern const bc_clip_config bc_git_vision_defaults;

// Opens a GitForCausalLM directory (config.json with model_type "git", its
// weights as safetensors or pytorch_model.bin). Fails naming the file, key or
// tensor: e.g. a CLIP directory is refused for its model_type.
bc_git *bc_git_open(const char *dir, bc_err *err);
void bc_git_free(bc_git *m);
const bc_git_config *bc_git_config_of(const bc_git *m);

// One normalised image [3, S, S] -> the image encoder's output after the post
// LayerNorm, vision [T, Wv] (may be NULL), and the projected image rows of the
// decoder, projected [T, D] (may be NULL).
void bc_git_image_features(const bc_git *m, const float *chw, float *vision, float *projected);

// The per-image half of the decoder: runs the image rows through every layer
// and keeps their keys and values. Never fails (sizes come from the model).
bc_git_image_state *bc_git_encode_image(const bc_git *m, const float *chw);
void bc_git_image_state_free(bc_git_image_state *s);

// The text ids[n] (n >= 1, e.g. [CLS] + the question's ids) after the image
// of s: the logits of the last position for the n_rows vocabulary rows in
// rows[] (NULL: every row, n_rows ignored, logits [vocab_size]). Fails on an
// id outside the vocabulary or n beyond max_position_embeddings.
int bc_git_last_logits(const bc_git *m, const bc_git_image_state *s, const int32_t *ids, int n,
                       const int32_t *rows, int n_rows, float *logits, bc_err *err);

// T2I-R1's per-question VQA score: softmax(logits)[yes] / (softmax[yes] +
// softmax[no]) at the last position = sigmoid(logit_yes - logit_no); only
// the two rows are computed.
int bc_git_yes_prob(const bc_git *m, const bc_git_image_state *s, const int32_t *ids, int n, int32_t yes_id,
                    int32_t no_id, double *p, bc_err *err);

#endif
