// owlv2.h: OWLv2 open-vocabulary detection (transformers'
// Owlv2ForObjectDetection, google/owlv2-base-patch16-ensemble's layout;
// reference/reward-models-spec.md §4).
//
//   image [3, S, S] -> CLIP vision tower (lib/nn/clip.c) -> post LayerNorm on
//     every token -> patch tokens × CLS token -> layer_norm -> embeds [G², Wv]
//   embeds -> box head MLP (GELU) + box bias -> sigmoid -> boxes [G², 4] cxcywh
//   embeds -> objectness head MLP -> objectness [G²]
//   embeds -> class head: dense0, normalised -> class [G², E];
//             logit_shift, ELU(logit_scale) + 1 -> shift, scale [G²]
//   query text -> CLIP text tower (pooled at argmax(ids)) -> text_projection
//     -> L2-normalised -> query [E]
//   logit[p, q] = (class[p] · query[q] / (‖query[q]‖ + 1e-6) + shift[p]) · scale[p]
//
// The image work is done once per image (bc_owlv2_encode_image); each query
// then costs one dot product per patch (bc_owlv2_logits), so queries can be
// cached and scored against any number of images.
//
// Boxes are normalised to the padded square the image was resized from: the
// preprocessing pads the bottom/right to max(w, h) (bc_owlv2_box_to_image
// converts to the image's own [0, 1] frame).
#ifndef BICOT_OWLV2_H
#define BICOT_OWLV2_H

#include <stdint.h>

#include "../util.h"

typedef struct {
    int image_size, patch_size, grid;  // S, P, G = S/P: G² patch boxes
    int vision_width;                  // Wv
    int embed_dim;                     // E: query / class embedding size (= text width)
    int context_length;                // 16: queries are padded / cut to this
    // preprocessor_config.json (Owlv2ImageProcessor)
    int do_rescale, do_pad, do_normalize;  // (do_resize false is refused at open)
    double rescale_factor;             // 1/255
    double mean[3], std[3];            // OpenAI CLIP's by default
} bc_owlv2_config;

typedef struct bc_owlv2 bc_owlv2;

// What one image gives, before any query. Arrays carved from one allocation.
typedef struct {
    int n;              // G² patches
    int width, embed;   // Wv, E
    float *embeds;      // [n, Wv] image_embeds (post LN × CLS, layer_norm)
    float *boxes;       // [n, 4] cx, cy, w, h in [0, 1] of the padded square
    float *objectness;  // [n] objectness logits, or NULL when not asked for
    float *class_emb;   // [n, E] class head dense0 output / (‖·‖ + 1e-6)
    float *shift;       // [n] logit_shift
    float *scale;       // [n] ELU(logit_scale) + 1
} bc_owlv2_image;

// Opens a transformers Owlv2ForObjectDetection directory: config.json,
// weights (owlv2.*, class_head.*, box_head.*, objectness_head.*,
// layer_norm.*), vocab.json + merges.txt, preprocessor_config.json (optional:
// Owlv2ImageProcessor's defaults with size = the model's image_size). Refuses
// a directory that is not OWLv2 (model_type / architectures / the heads).
bc_owlv2 *bc_owlv2_open(const char *dir, bc_err *err);
void bc_owlv2_free(bc_owlv2 *m);
const bc_owlv2_config *bc_owlv2_config_of(const bc_owlv2 *m);

// Owlv2ImageProcessor (the scipy path of transformers' Owlv2ImageProcessorPil,
// which is the original implementation): rescale, pad bottom/right with 0 to
// a square, skimage-style resize to S×S (gaussian prefilter when shrinking,
// linear interpolation with half-pixel centres, mirror edges, clipped to the
// input's range), normalise. rgb [h, w, 3] -> chw [3, S, S]. See
// owlv2_preprocess.c.
void bc_owlv2_preprocess(const bc_owlv2 *m, const uint8_t *rgb, int w, int h, float *chw);

// The resize on its own: img [h, w, C] float32 (channels last) -> out
// [out_h, out_w, C], as transformers' Owlv2ImageProcessorPil.resize (scipy
// gaussian_filter + zoom(order=1, mode="mirror", grid_mode=True) + clip).
void bc_owlv2_resize(const float *img, int w, int h, int C, int out_w, int out_h, float *out);

// Everything one image gives. chw [3, S, S] normalised. The objectness
// head runs only when `objectness` is set (score-det does not use it: ~1% of
// an image's time). Thread-safe.
bc_owlv2_image *bc_owlv2_encode_image(const bc_owlv2 *m, const float *chw, int objectness);
void bc_owlv2_image_free(bc_owlv2_image *im);

// The normalised query embedding (transformers' text_embeds) of token ids
// (SOT .. EOT, then padding; at most context_length) -> embed [E].
int bc_owlv2_query(const bc_owlv2 *m, const int32_t *ids, int n, float *embed, bc_err *err);
// Tokenizes text as Owlv2Processor does (CLIP BPE, padded with 0 to
// context_length, cut to it) into ids[context_length], then bc_owlv2_query.
// Not thread-safe (the tokenizer's cache).
int bc_owlv2_query_text(bc_owlv2 *m, const char *text, int32_t *ids, float *embed, bc_err *err);

// logits [n, nq] of the image's patches for nq queries [nq, E].
void bc_owlv2_logits(const bc_owlv2_image *im, const float *queries, int nq, float *logits);

// A box of the padded square (cx, cy, w, h) -> the same box normalised to a
// w×h image (the padding is at the bottom/right, so only a scale per axis).
// Assumes do_pad (every OWLv2 checkpoint's setting); without it the boxes
// are already in the image's frame.
void bc_owlv2_box_to_image(const float box[4], int w, int h, float out[4]);

#endif
