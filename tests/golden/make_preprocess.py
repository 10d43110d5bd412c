#!/usr/bin/env python3
"""Makes the golden fixtures of tests/golden/test_preprocess.c: image resizing and the
scorers' preprocessing, computed by the reference libraries.

    python3 tests/golden/make_preprocess.py      (from the repository root; Pillow, numpy,
                                                  torch, transformers 5.x; no torchvision)

Writes tests/golden/preprocess/:
  cases.json  {"pil": [...], "torch": [...], "clip": [...], "hps": [...]}, each case naming
              its input and reference files (below) and its parameters.
  in_*.u8     input images, [h, w, 3] RGB uint8 (small noise and smooth gradients).
  in_*.f32    float inputs of the torch cases, [3, h, w] little-endian float32.
  pil_*.u8    PIL `Image.resize((out_w, out_h), Image.BICUBIC)`, [out_h, out_w, 3] uint8.
  torch_*.f32 `F.interpolate(x[None], size=(out_h, out_w), mode="bicubic",
              align_corners=False, antialias=aa)[0]`, [3, out_h, out_w] float32.
  clip_*.f32  transformers' CLIPImageProcessorPil (the PIL backend that
              CLIPImageProcessor falls back to without torchvision) with the case's size,
              crop_size, mean and std: pixel_values[0], [3, crop_h, crop_w] float32.
  hps_*.f32   HPSv2's val transform (hpsv2/src/open_clip/transform.py, image_transform
              with resize_longest_max=True) restated with torch ops, [3, S, S] float32:
              ToTensor (uint8 -> float32 .div(255), CHW), ResizeMaxSize(S):
              scale = S / float(max(h, w)), new = round(dim * scale) (Python round),
              torchvision tensor resize == F.interpolate(bicubic, align_corners=False,
              antialias=True) (torchvision >= 0.17 default; it returns the input untouched
              when the size is unchanged), zero pad left/top pad//2, then Normalize
              ((x - mean) / std in float32) with the OpenAI CLIP mean/std.
  clip_config/preprocessor_config.json  saved by CLIPImageProcessorPil.save_pretrained
              (non-default size/crop/mean/std) for the config reader.

Large cases (the real 384 -> 224 HPS downscale, the GIT 384 -> 420 PIL upscale) use a
"formula" input that the C test regenerates (formula_pixel below, restated there), and
store only every `row_step`-th output row to keep the fixtures small.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "preprocess")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

torch.set_num_threads(1)


def formula_pixel(x, y, c):
    # A deterministic test card: a steep quadratic ramp (aliases badly without a
    # low-pass filter), a checker texture and a slow diagonal; integer-only so C matches.
    return (x * x * 3 + y * 7 + c * 85 + ((x ^ y) & 63) * 2 + (x * y) % 17) & 255


def formula_image(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    return np.stack([formula_pixel(x, y, c) for c in range(3)], axis=-1).astype(np.uint8)


def noise_image(rng, w, h):
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def gradient_image(w, h):
    # Smooth gradients with a soft blob: bicubic overshoot stays small, unlike noise.
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 255 * np.exp(-(((x - w / 3) / (w / 4 + 1)) ** 2 + ((y - h / 2) / (h / 4 + 1)) ** 2))
    return np.clip(np.stack([r, g, b], axis=-1) + 0.5, 0, 255).astype(np.uint8)


def save(name, arr):
    arr = np.ascontiguousarray(arr)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(arr.tobytes())
    return name


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261122)
    inputs = {}  # name -> (uint8 [h, w, 3], spec for cases.json)

    def add_input(name, img):
        inputs[name] = img
        return {"file": save(f"in_{name}.u8", img), "w": img.shape[1], "h": img.shape[0]}

    def input_spec(name, img, formula=False):
        if formula:
            inputs[name] = img
            return {"formula": True, "w": img.shape[1], "h": img.shape[0]}
        return add_input(name, img)

    specs = {
        "noise37x23": input_spec("noise37x23", noise_image(rng, 37, 23)),
        "grad64x48": input_spec("grad64x48", gradient_image(64, 48)),
        "noise23x61": input_spec("noise23x61", noise_image(rng, 23, 61)),
        "noise48x48": input_spec("noise48x48", noise_image(rng, 48, 48)),
        "noise40x7": input_spec("noise40x7", noise_image(rng, 40, 7)),
        "noise40x5": input_spec("noise40x5", noise_image(rng, 40, 5)),
        "noise3x2": input_spec("noise3x2", noise_image(rng, 3, 2)),
        "formula384": input_spec("formula384", formula_image(384, 384), formula=True),
    }

    cases = {"pil": [], "torch": [], "clip": [], "hps": []}

    # PIL bicubic on uint8: up, down, mixed, one axis unchanged, tiny, and GIT's 384 -> 420.
    pil_cases = [
        ("noise37x23", 64, 48), ("noise37x23", 19, 11), ("grad64x48", 37, 23),
        ("grad64x48", 70, 50), ("noise23x61", 40, 17), ("noise23x61", 23, 90),
        ("noise48x48", 28, 28), ("noise3x2", 7, 5), ("noise3x2", 1, 1),
        ("formula384", 420, 420), ("formula384", 224, 224),
    ]
    for src, ow, oh in pil_cases:
        img = inputs[src]
        out = np.asarray(Image.fromarray(img).resize((ow, oh), Image.BICUBIC))
        step = 60 if oh > 200 else 1
        name = f"pil_{src}_{ow}x{oh}.u8"
        cases["pil"].append({"input": specs[src], "out_w": ow, "out_h": oh, "row_step": step,
                             "ref": save(name, out[::step])})

    # torch bicubic on float32 CHW, antialias on and off.
    def chw_float(img):
        return torch.from_numpy(img).permute(2, 0, 1).contiguous().to(torch.float32).div(255)

    float_inputs = {
        "noise37x23": chw_float(inputs["noise37x23"]),
        "grad32x24": chw_float(gradient_image(32, 24)),
        "randn13x31": torch.from_numpy(rng.standard_normal((3, 31, 13)).astype(np.float32)),
    }
    float_specs = {}
    for k, t in float_inputs.items():
        float_specs[k] = {"file": save(f"in_{k}.f32", t.numpy()), "c": t.shape[0], "h": t.shape[1],
                          "w": t.shape[2]}
    torch_cases = [
        ("noise37x23", 28, 41), ("noise37x23", 11, 19), ("noise37x23", 23, 30),
        ("grad32x24", 13, 19), ("grad32x24", 27, 36), ("grad32x24", 14, 14),
        ("randn13x31", 17, 20), ("randn13x31", 40, 7), ("randn13x31", 1, 1),
    ]
    for src, oh, ow in torch_cases:
        for aa in (1, 0):
            x = float_inputs[src]
            out = F.interpolate(x[None], size=(oh, ow), mode="bicubic", align_corners=False,
                                antialias=bool(aa))[0]
            name = f"torch_{src}_{ow}x{oh}_aa{aa}.f32"
            cases["torch"].append({"input": float_specs[src], "out_h": oh, "out_w": ow, "antialias": aa,
                                   "ref": save(name, out.numpy())})

    # CLIPImageProcessor (PIL backend): shortest-edge resize, center crop (also the
    # pad-with-zeros branch when the crop is larger), rescale, normalize.
    clip_cases = [
        ("noise37x23", 16, 16, 16, CLIP_MEAN, CLIP_STD),
        ("grad64x48", 30, 24, 28, CLIP_MEAN, CLIP_STD),
        ("noise23x61", 20, 20, 20, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ("noise23x61", 12, 35, 14, CLIP_MEAN, CLIP_STD),  # crop taller than the image: padded
        ("noise48x48", 28, 28, 28, CLIP_MEAN, CLIP_STD),
        ("formula384", 420, 420, 420, CLIP_MEAN, CLIP_STD),  # GIT-large: 384 -> 420 upscale
    ]
    for src, size, crop_h, crop_w, mean, std in clip_cases:
        proc = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": crop_h, "width": crop_w},
                                     image_mean=list(mean), image_std=list(std))
        pv = proc(images=Image.fromarray(inputs[src]), return_tensors="np")["pixel_values"][0]
        assert pv.dtype == np.float32 and pv.shape == (3, crop_h, crop_w), (pv.dtype, pv.shape)
        step = 210 if crop_h > 200 else 1
        name = f"clip_{src}_{size}_{crop_w}x{crop_h}.f32"
        cases["clip"].append({"input": specs[src], "shortest_edge": size, "crop_h": crop_h, "crop_w": crop_w,
                              "mean": list(mean), "std": list(std), "row_step": step,
                              "ref": save(name, pv[:, ::step, :])})

    cfg_dir = os.path.join(OUT, "clip_config")
    CLIPImageProcessorPil(size={"shortest_edge": 30}, crop_size={"height": 24, "width": 28},
                          image_mean=[0.5, 0.25, 0.125], image_std=[0.2, 0.3, 0.4]).save_pretrained(cfg_dir)

    # HPSv2's open_clip val transform, restated in torch ops.
    def hps_transform(img, size):
        x = torch.from_numpy(img).permute(2, 0, 1).contiguous().to(torch.float32).div(255)  # ToTensor
        h, w = x.shape[1:]
        scale = size / float(max(h, w))
        if scale != 1.0:
            new = tuple(round(d * scale) for d in (h, w))
            if tuple(x.shape[1:]) != new:  # torchvision's resize returns the input as is
                x = F.interpolate(x[None], size=new, mode="bicubic", align_corners=False, antialias=True)[0]
            pad_h, pad_w = size - new[0], size - new[1]
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=0.0)
        mean = torch.tensor(CLIP_MEAN, dtype=torch.float32)[:, None, None]
        std = torch.tensor(CLIP_STD, dtype=torch.float32)[:, None, None]
        return (x - mean) / std

    hps_cases = [
        ("noise37x23", 24),   # downscale, pad top/bottom (23*24/37 = 14.92 -> 15)
        ("noise23x61", 32),   # upscale, pad left/right
        ("noise40x7", 20),    # 7*0.5 = 3.5 -> round half even -> 4
        ("noise40x5", 20),    # 5*0.5 = 2.5 -> 2 (Python's round, not C's round)
        ("noise48x48", 28),   # the 384 -> 224 ratio on a small image
        ("noise48x48", 48),   # scale 1: no resize, no pad
        ("formula384", 224),  # the real thing
    ]
    for src, size in hps_cases:
        out = hps_transform(inputs[src], size).numpy()
        step = 56 if size > 200 else 2 if size > 30 else 1
        name = f"hps_{src}_{size}.f32"
        cases["hps"].append({"input": specs[src], "size": size, "row_step": step, "ref": save(name, out[:, ::step, :])})

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
