// preprocess.h: image preprocessing for the reward scorers, exact against the
// Python references.
//
// Two bicubic resamplers that look alike but are not interchangeable:
//  - PIL's `Image.resize(..., BICUBIC)` on uint8 (what transformers'
//    CLIPImageProcessor PIL backend uses: PickScore, CLIP, GIT). Keys' cubic with
//    a = -0.5, support scaled by the downscale factor (antialiasing), coefficients
//    in 22-bit fixed point, each of the two passes rounded and clamped to
//    uint8 (Pillow 13's pass order: see bc_resize_pil_bicubic). Reproduced bit
//    for bit.
//  - torch's `F.interpolate(mode="bicubic", align_corners=False)` on float32
//    (HPSv2's torchvision tensor resize, antialias=True): with antialias, the same
//    PIL-style filter (a = -0.5) in float32 without any rounding; without
//    antialias, the classic 4-tap cubic with a = -0.75 and clamped edge indices.
//    The weights follow torch's float/double arithmetic step by step (the
//    non-antialiased ones were spot-checked bit-equal on unit impulses); the sums
//    differ from torch's in the last bits (torch's CPU kernels are built with
//    FMA contraction and vectorised by the compiler): a few 1e-7 typically,
//    ~2e-6 at worst on values in [0, 1].
//
// Pipelines output float32 CHW [3, H, W]; inputs are RGB uint8 [h, w, 3].
#ifndef BICOT_PREPROCESS_H
#define BICOT_PREPROCESS_H

#include <stdint.h>

#include "../util.h"

// PIL `Image.fromarray(rgb).resize((out_w, out_h), Image.BICUBIC)`:
// rgb [h, w, 3] -> out [out_h, out_w, 3], bit-exact against Pillow 13. Sizes
// must be >= 1. Pillow <= 12 always resampled horizontally first; Pillow 13
// goes vertically first when h shrinks by more than 2·(w - out_w) pixels,
// which changes some pixels by a few levels (up to 6 seen) for such shapes
// only; square-to-square resizes (384² -> 224², 420²) are the same in both.
void bc_resize_pil_bicubic(const uint8_t *rgb, int w, int h, int out_w, int out_h, uint8_t *out);

// torch `F.interpolate(x[None], size=(out_h, out_w), mode="bicubic",
// align_corners=False, antialias=antialias)[0]`: chw [C, h, w] -> out
// [C, out_h, out_w], float32, to a few ulps. out must not alias chw.
void bc_resize_torch_bicubic(const float *chw, int C, int h, int w, int out_h, int out_w, int antialias,
                             float *out);

// The preprocessing settings of a CLIP-style image processor (transformers'
// CLIPImageProcessor / preprocessor_config.json). Only bicubic resampling
// (resample 3) is supported.
typedef struct {
    int do_resize, do_center_crop, do_rescale, do_normalize;
    int shortest_edge;       // size.shortest_edge; 0 when size is {height, width}
    int size_h, size_w;      // size.{height,width} (resize to exactly this) when shortest_edge is 0
    int crop_h, crop_w;      // crop_size
    double rescale_factor;   // 1/255
    double mean[3], std[3];  // image_mean, image_std (cast to float32 when applied, as numpy does)
} bc_image_config;

// CLIPImageProcessor's defaults with size/crop S (224 for CLIP/PickScore, 420
// for GIT-large) and the OpenAI CLIP mean/std.
void bc_image_config_clip(bc_image_config *cfg, int size);
// Starts from bc_image_config_clip(224) and overrides with the keys present in
// the preprocessor_config.json at path: do_resize, do_center_crop,
// do_rescale, do_normalize, size (an int, {"shortest_edge"} or {"height",
// "width"}), crop_size (an int or {"height","width"}), rescale_factor,
// image_mean, image_std, resample (must be 3). -1 with err naming the key.
int bc_image_config_read(bc_image_config *cfg, const char *path, bc_err *err);
// The output size of bc_preprocess_clip for a w×h input (crop size, or the
// resized size when there is no center crop).
void bc_preprocess_clip_size(const bc_image_config *cfg, int w, int h, int *out_h, int *out_w);

// CLIPImageProcessor (PIL backend): resize (shortest edge -> S, long edge
// int(S·long/short), PIL bicubic on uint8), center crop (offsets
// (H-crop)//2; zero padding where the crop is larger, as transformers'
// center_crop does), rescale (float64 multiply, then float32), normalize
// ((x - mean) / std in float32). rgb [h, w, 3] -> out [3, out_h, out_w] with
// the size of bc_preprocess_clip_size.
void bc_preprocess_clip(const bc_image_config *cfg, const uint8_t *rgb, int w, int h, float *out);

// HPSv2's val transform (open_clip image_transform with resize_longest_max):
// ToTensor (v/255 in float32), ResizeMaxSize(size): scale = size/max(h, w),
// new = round-half-even(dim·scale), torch antialiased bicubic on the float
// tensor (no clamping), centred zero pad (left/top get pad/2), then
// (x - mean) / std in float32. rgb [h, w, 3] -> out [3, size, size].
void bc_preprocess_hps(const uint8_t *rgb, int w, int h, int size, const double mean[3], const double std[3],
                       float *out);

// The OpenAI CLIP normalisation constants (CLIP, PickScore, GIT, HPSv2, OWLv2).
extern const double bc_clip_mean[3], bc_clip_std[3];

#endif
