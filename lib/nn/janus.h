// janus.h: Janus-Pro's language side (reference/janus-pro-spec.md §1, §2):
// the LLaMA decoder (llama.h) plus the image-generation modules
//   gen_embed    Embedding(Vimg, E)                       image token -> E-dim code
//   gen_aligner  Linear(E→D) → GELU → Linear(D→D)          code -> LLM input embedding
//   gen_head     Linear(D→D) → GELU → Linear(D→Vimg)       normed hidden -> image logits
// and the text head lm_head. Both layouts of a checkpoint open: the original
// deepseek-ai one (config model_type "multi_modality", pickled
// pytorch_model.bin, names language_model.model.*, gen_embed, gen_aligner.layers.0/2,
// gen_head.output_mlp_projector/vision_head, language_model.lm_head) and the
// transformers port (model_type "janus", safetensors, names
// model.language_model.*, model.generation_embeddings,
// model.generation_aligner.fc1/hidden_layers.0,
// model.generation_head.proj_out/vision_head, lm_head).
//
// Image generation with classifier-free guidance, per image: two rows of the
// llama_state, cond and uncond (janus-pro-spec §2.2), prefilled together;
// each step: gen_head on both rows' hidden states, janus_cfg_logits, sample
// a token t, then janus_image_embed(t) is the next input of both rows.
#ifndef BICOT_JANUS_H
#define BICOT_JANUS_H

#include "../io/config.h"
#include "../io/weights.h"
#include "llama.h"
#include "ops.h"

typedef enum {
    JANUS_ORIGINAL,      // deepseek-ai: model_type "multi_modality"
    JANUS_TRANSFORMERS,  // transformers port: model_type "janus"
} janus_layout;

typedef struct {
    janus_layout layout;
    bc_config *cfg;
    bc_weights *weights;
    bc_llama_config llama_cfg;
    llama_model lm;                                        // the decoder and lm_head
    int dim;                                               // D
    int image_vocab;                                       // Vimg: image token codes (16384)
    int code_dim;                                          // E: gen_embed width (8)
    bc_weight gen_embed;                                   // [Vimg, E]
    bc_weight align_fc1;                                   // [D, E]
    bc_weight align_fc2;                                   // [D, D]
    bc_weight head_proj;                                   // [D, D]
    bc_weight head_out;                                    // [Vimg, D]
    const float *align_fc1_b, *align_fc2_b, *head_proj_b;  // [D] each
    const float *head_out_b;                               // [Vimg]
    float *biases;                                         // the four biases as float32, one allocation
} janus_model;

// Opens a model directory (config.json + weights) in either layout. Refuses
// a directory that is not Janus-Pro, saying what its config.json holds; a
// missing or misshapen tensor is named in the message.
janus_model *janus_open(const char *dir, bc_err *err);
void janus_close(janus_model *m);
// "original" / "transformers".
const char *janus_layout_name(janus_layout layout);

// LLM input embeddings of image tokens: out[n, D] = gen_aligner(gen_embed[tokens]).
// tmp [n, D] is scratch. Fails on a token outside [0, Vimg).
int janus_image_embed(const janus_model *m, const int *tokens, int n, float *out, float *tmp, bc_err *err);
// Image logits of final-normed hidden states: logits[n, Vimg] = gen_head(hidden[n, D]).
// tmp [n, D] is scratch.
void janus_gen_head(const janus_model *m, const float *hidden, int n, float *logits, float *tmp);
// Classifier-free guidance on raw logits: out[i] = u[i] + w·(c[i] − u[i]).
// out may be cond or uncond.
void janus_cfg_logits(float *out, const float *cond, const float *uncond, int n, float w);

#endif
