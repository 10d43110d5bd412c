#!/usr/bin/env python3
"""Makes the golden fixture of score-hps (the HPSv2 reward): a tiny random CLIP model in
both namings, three input images, four prompts, and the reference scores of every
(image, prompt) pair by the two reference paths.

    pip install --no-deps open_clip_torch ftfy    (only open_clip's model classes and
                                                   tokenizer.py are used; torchvision stubbed)
    python3 tests/golden/make_score_hps.py        (from the repository root; transformers 5.x,
                                                   torch, Pillow, numpy)

Reuses tests/golden/make_clip.py (randomize, to_open_clip, open_clip_model,
check_pickle_globals, stub_torchvision) and the tokenizer fixture of
tests/golden/make_clip_tokenizer.py (tests/golden/clip_tokenizer/: open_clip merges file
bpe_simple_vocab_reduced.txt and hf/vocab.json + hf/merges.txt with the same ids:
3515 ids, <|startoftext|> = 3513, <|endoftext|> = 3514, the highest id).

Writes
  tests/golden/tiny-clip/     transformers CLIPModel directory, weights bfloat16
                              (config.json, model.safetensors), vocab.json + merges.txt
                              (copied from clip_tokenizer/hf), preprocessor_config.json
                              (CLIPImageProcessor, shortest_edge 32, crop 32x32, OpenAI
                              mean/std, bicubic), and open_clip.pt: the same bf16 weights in
                              open_clip naming as {'state_dict': {k: v}} (no 'module.').
      vision: image 32, patch 8 (4x4 patches + CLS), width 32, 2 layers, 4 heads of 8, MLP 64
      text:   vocab 3515, 77 positions, width 24, 2 layers, 3 heads of 8, MLP 48
      both hidden_act "gelu" (exact erf, like ViT-H-14/HPSv2); projection_dim 32.
      eos_token_id 3514: transformers pools at the first id == 3514, which is also
      argmax(ids) (3514 is the highest id), so open_clip's rule, transformers' rule and
      lib/nn/clip.c's pool_argmax = 0 or 1 all pick the same row.
      (Widths are this small because the token embedding alone is 3515 x width, stored
      twice; this keeps the whole fixture under 700 KB. Seed 4260 was picked among 20 for
      cosines of both signs, spread -0.25 .. 0.46.)
  tests/golden/tiny-clip-ref/ img0.png (40x48 w x h, noise + gradient), img1.png (48x40),
                              img2.png (32x32), RGB 8-bit PNGs; scores.json:
      {"prompts": [4 strings from streams/t2i-r1-prompts-head.jsonl], "images": [files],
       "logit_scale_exp": exp(logit_scale) (bf16 logit_scale upcast),
       "hf":  {"cosine": [image][prompt], "logit": [image][prompt], "ids": [prompt][ids]},
       "hps": {"cosine": [image][prompt], "ids": [prompt][77 ids, zero padded]}}

How score-hps must be invoked to reproduce each path (images as PNG files, prompts from the
records):
  hf  path: score-hps --model tests/golden/tiny-clip
            CLIPImageProcessor from preprocessor_config.json (PIL bicubic shortest-edge
            resize to 32, centre crop 32x32, /255, normalise), HF CLIPTokenizer from
            vocab.json + merges.txt (ids SOT .. EOT, no padding, truncation at 77), features
            by transformers' get_image_features / get_text_features, rewards.hps = cosine of
            the two (normalised dot); with --score logit, rewards.hps = logit =
            exp(logit_scale) * cosine.
  hps path: score-hps --model tests/golden/tiny-clip/open_clip.pt
                      --tokenizer tests/golden/clip_tokenizer/bpe_simple_vocab_reduced.txt
                      --preprocess hps --image-size 32
            (+ the head counts, 4 and 3: an open_clip checkpoint does not store them and
            open_clip's default head_width 64 would give 0 heads at these widths: the C side
            needs bc_clip_options.vision_heads = 4, text_heads = 3, e.g. --vision-heads 4
            --text-heads 3; activation: exact GELU, the bc_clip_options default.)
            Preprocessing = open_clip ResizeMaxSize(32) as in make_preprocess.py: uint8 ->
            float /255, scale = 32 / max(h, w), new = Python round(dim * scale) (half-even),
            F.interpolate bicubic align_corners=False antialias=True (skipped when the size
            is unchanged), zero pad pad//2 left/top, rest right/bottom, then (x - mean) / std
            with the OpenAI mean/std. Text: open_clip SimpleTokenizer on the merges file,
            context 77, zero padded. Features: open_clip's CLIP loaded strictly from
            open_clip.pt (checked here against transformers on the same weights and
            pixels). rewards.hps = cosine (HPSv2's score, no logit scale).
All references are float32 computations on the bf16 weights upcast (bf16 -> f32 is exact,
which is what bicot's loader computes with).
"""
import importlib.util
import json
import os
import shutil
import sys
import gzip
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer, CLIPImageProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_clip  # noqa: E402  (randomize, to_open_clip, open_clip_model, ...)

MODEL = os.path.join(HERE, "tiny-clip")
REF = os.path.join(HERE, "tiny-clip-ref")
TOK = os.path.join(HERE, "clip_tokenizer")
MERGES = os.path.join(TOK, "bpe_simple_vocab_reduced.txt")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIZE = 32

torch.set_num_threads(1)

SPEC = dict(
    dtype=torch.bfloat16, act="gelu",
    vision=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                patch_size=8, image_size=SIZE),
    text=dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=48,
              vocab_size=3515, max_position_embeddings=77, bos_token_id=3513, eos_token_id=3514,
              pad_token_id=3514),
    projection_dim=32,
)


def open_clip_tokenizer():
    """open_clip's SimpleTokenizer on the reduced merges file (it wants a .gz)."""
    spec = importlib.util.find_spec("open_clip")
    path = os.path.join(os.path.dirname(spec.origin), "tokenizer.py")
    ts = importlib.util.spec_from_file_location("oc_tokenizer", path)
    oc = importlib.util.module_from_spec(ts)
    ts.loader.exec_module(oc)
    gz = os.path.join(tempfile.mkdtemp(), "bpe_reduced.txt.gz")
    with open(MERGES, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    return oc.SimpleTokenizer(bpe_path=gz)


def make_images():
    rng = np.random.default_rng(5150)

    def card(w, h, seed_shift):
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        base = np.stack([255 * x / (w - 1), 255 * y / (h - 1), 255 * (1 - x / (w - 1)) * (y / (h - 1))], -1)
        base = np.roll(base, seed_shift, axis=2)
        noise = rng.normal(0, 40, size=(h, w, 3))
        return np.clip(base + noise + 0.5, 0, 255).astype(np.uint8)

    names = []
    for i, (w, h) in enumerate([(40, 48), (48, 40), (32, 32)]):
        name = f"img{i}.png"
        Image.fromarray(card(w, h, i), "RGB").save(os.path.join(REF, name))
        names.append(name)
    return names


def hps_transform(img, size):
    """HPSv2's val transform restated in torch ops, exactly as make_preprocess.py."""
    x = torch.from_numpy(img).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    h, w = x.shape[1:]
    scale = size / float(max(h, w))
    if scale != 1.0:
        new = tuple(round(d * scale) for d in (h, w))
        if tuple(x.shape[1:]) != new:
            x = F.interpolate(x[None], size=new, mode="bicubic", align_corners=False, antialias=True)[0]
        pad_h, pad_w = size - new[0], size - new[1]
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=0.0)
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(CLIP_STD, dtype=torch.float32)[:, None, None]
    return (x - mean) / std


def feats(out):
    return out if torch.is_tensor(out) else out.pooler_output


def cosine(a, b):
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T


def main():
    os.makedirs(MODEL, exist_ok=True)
    os.makedirs(REF, exist_ok=True)
    gen = torch.Generator().manual_seed(4260)
    cfg = CLIPConfig(text_config=dict(SPEC["text"], hidden_act=SPEC["act"]),
                     vision_config=dict(SPEC["vision"], hidden_act=SPEC["act"]),
                     projection_dim=SPEC["projection_dim"])
    model = CLIPModel(cfg).eval()
    make_clip.randomize(model, gen)
    model = model.to(torch.bfloat16)
    model.save_pretrained(MODEL)
    model = model.float()
    for f in ["vocab.json", "merges.txt"]:
        shutil.copy(os.path.join(TOK, "hf", f), os.path.join(MODEL, f))
    CLIPImageProcessor(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE},
                       image_mean=list(CLIP_MEAN), image_std=list(CLIP_STD)).save_pretrained(MODEL)

    sd = make_clip.to_open_clip(model.state_dict())
    oc = make_clip.open_clip_model(cfg, SPEC)
    oc.load_state_dict(sd, strict=True)
    pt = os.path.join(MODEL, "open_clip.pt")
    torch.save({"state_dict": {k: v.to(torch.bfloat16).contiguous() for k, v in sd.items()}}, pt)
    make_clip.check_pickle_globals(pt)

    images = make_images()
    prompts = [json.loads(l)["prompt"] for l in
               open(os.path.join(HERE, "streams", "t2i-r1-prompts-head.jsonl"), encoding="utf-8")][:4]

    # transformers path, everything loaded back from the directory.
    hf = CLIPModel.from_pretrained(MODEL).float().eval()
    proc = CLIPImageProcessor.from_pretrained(MODEL)
    tok = CLIPTokenizer.from_pretrained(MODEL)
    pils = [Image.open(os.path.join(REF, n)).convert("RGB") for n in images]
    pixels = torch.as_tensor(np.asarray(proc(images=pils, return_tensors="np")["pixel_values"]))
    hf_ids = [tok(p, truncation=True, max_length=77)["input_ids"] for p in prompts]
    with torch.no_grad():
        hf_img = feats(hf.get_image_features(pixel_values=pixels))
        hf_txt = torch.cat([feats(hf.get_text_features(input_ids=torch.tensor([ids]))) for ids in hf_ids])
    hf_cos = cosine(hf_img, hf_txt)
    scale = hf.logit_scale.exp().item()

    # HPSv2 path: open_clip tokenizer, ResizeMaxSize preprocessing, open_clip's CLIP.
    octok = open_clip_tokenizer()
    oc_ids = octok(prompts, context_length=77)
    oc_pix = torch.stack([hps_transform(np.array(p), SIZE) for p in pils])
    with torch.no_grad():
        oc_img = oc.encode_image(oc_pix)
        oc_txt = oc.encode_text(oc_ids)
        hf_img2 = feats(hf.get_image_features(pixel_values=oc_pix))
        hf_txt2 = feats(hf.get_text_features(input_ids=oc_ids))
    for what, a, b in [("image", oc_img, hf_img2), ("text", oc_txt, hf_txt2)]:
        err = (a - b).abs().max().item()
        print(f"open_clip vs transformers {what} features: max |diff| {err:.2e}")
        assert err < 1e-5, what
    oc_cos = cosine(oc_img, oc_txt)

    # The two tokenizers give the same ids (vocab built with open_clip's ids).
    for a, b in zip(hf_ids, oc_ids.tolist()):
        assert a == b[:len(a)] and not any(b[len(a):]), (a, b)
    print("hf cosine", hf_cos.numpy().round(4).tolist())
    print("hps cosine", oc_cos.numpy().round(4).tolist())
    print("logit scale exp", scale, "pixel diff hf vs hps", (pixels - oc_pix).abs().max().item())

    out = dict(prompts=prompts, images=images, image_size=SIZE, logit_scale_exp=scale,
               hf=dict(cosine=hf_cos.tolist(), logit=(scale * hf_cos).tolist(), ids=hf_ids),
               hps=dict(cosine=oc_cos.tolist(), ids=oc_ids.tolist()))
    with open(os.path.join(REF, "scores.json"), "w") as f:
        f.write("{\n" + ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in out.items()) + "\n}\n")


if __name__ == "__main__":
    main()
