// vqdec.h: Janus-Pro's VQ-16 image decoder (reference/janus-pro-spec.md §3):
// a grid of codebook ids -> an RGB image, 16 pixels per token side for the
// real model (24×24 tokens -> 384×384).
//
//   tokens [h·w] -> L2-normalised codebook rows z [D, h, w]
//   -> post_quant_conv (1×1) -> conv_in (3×3)
//   -> mid: res, attn, res
//   -> levels 0 .. L-1 (level 0 is the lowest resolution, applied first):
//        (num_res_blocks + 1) × [res block (+ attn block at level 0)],
//        then ×2 nearest upsample + 3×3 conv on every level but the last
//   -> GroupNorm, swish, conv_out (3×3) -> [3, H, W], nominally in [-1, 1]
//
// Weights load in either naming (§4): the transformers port's
// `model.vqmodel.decoder.up.{b}.block.{r}...` or the original
// `gen_vision_model.decoder.conv_blocks.{b}.res.{r}...`; both number the
// levels in the order they are applied.
//
// A bc_vqdec is read-only once loaded and can be shared by threads; each
// thread decodes through its own bc_vqdec_state (the activation buffers).
#ifndef BICOT_VQDEC_H
#define BICOT_VQDEC_H

#include <stdint.h>

#include "../io/config.h"
#include "../io/weights.h"

#define BC_VQDEC_MAX_LEVELS 8

typedef struct {
    int codebook_size;    // number of codes (16384)
    int embed_dim;        // code dimension D (8)
    int latent_channels;  // post_quant_conv output, conv_in input (256)
    int base_channels;    // ch (128)
    int n_levels;         // len(channel_multiplier) (5)
    // Multipliers in config order: index n_levels-1 is the lowest resolution,
    // which our level 0 uses ([1, 1, 2, 2, 4]).
    int channel_multiplier[BC_VQDEC_MAX_LEVELS];
    int num_res_blocks;   // each level has num_res_blocks + 1 res blocks (2)
} bc_vqdec_config;

// The real VQ-16's constants.
void bc_vqdec_config_default(bc_vqdec_config *c);
// Reads the config: transformers' `vq_config` (embed_dim, num_embeddings,
// latent_channels, base_channels, channel_multiplier, num_res_blocks), or
// the original layout's `gen_vision_config.params`, which holds VQ_16's
// image_token_size/n_embed and takes the VQ-16 constants for the rest
// (tiny test models may also set codebook_size, codebook_embed_dim,
// z_channels, ch, decoder_ch_mult, num_res_blocks there, the names of the
// original vq_model.py). Neither present: VQ-16 constants.
int bc_vqdec_config_read(const bc_config *cfg, bc_vqdec_config *c, bc_err *err);

typedef struct bc_vqdec bc_vqdec;

// Builds the decoder over weights w (not owned; must outlive the model).
// Adds to w the aliases between the two namings. Checks every tensor's
// shape against the config; a missing one fails naming it.
bc_vqdec *bc_vqdec_new(bc_weights *w, const bc_vqdec_config *c, bc_err *err);
// Opens a model directory (config.json + weights) and builds the decoder,
// which then owns the weights.
bc_vqdec *bc_vqdec_open(const char *dir, bc_err *err);
void bc_vqdec_free(bc_vqdec *m);
const bc_vqdec_config *bc_vqdec_get_config(const bc_vqdec *m);

// Output size of an h×w token grid: H = h·2^(L-1), W = w·2^(L-1).
void bc_vqdec_out_size(const bc_vqdec *m, int h, int w, int *H, int *W);

// Activation buffers of one decoding thread; they grow to the largest grid
// decoded through them.
typedef struct bc_vqdec_state bc_vqdec_state;
bc_vqdec_state *bc_vqdec_state_new(void);
void bc_vqdec_state_free(bc_vqdec_state *s);

// Decodes n = h·w tokens (raster order) into out [3, H, W] (float32, before
// pixel conversion). Fails on a token outside the codebook or n != h·w.
int bc_vqdec_decode(const bc_vqdec *m, bc_vqdec_state *s, const int32_t *tokens, size_t n, int h, int w, float *out,
                    bc_err *err);

// Pixels as Janus converts them: uint8(clip((x + 1)/2·255, 0, 255)), the
// float computed in float32 and truncated, not rounded.
//   x [3, H, W] -> rgb [H, W, 3]
void bc_vqdec_to_rgb(const float *x, int H, int W, uint8_t *rgb);

#endif
