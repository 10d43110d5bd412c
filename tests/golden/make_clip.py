#!/usr/bin/env python3
"""Makes the golden fixtures of tests/golden/test_clip.c: two tiny random CLIP models,
run by transformers' CLIPModel and by open_clip's CLIP (the HPSv2 reference code).

    pip install --no-deps open_clip_torch ftfy    (open_clip 3.3; only its model classes are
                                                   used, so torchvision is stubbed below)
    python3 tests/golden/make_clip.py             (from the repository root; transformers 5.x)

Writes tests/golden/clip/:
  gelu/                  transformers naming (vision_model.*, text_model.*, visual_projection,
                         text_projection), float32 model.safetensors + config.json.
                         hidden_act "gelu" (exact erf, as ViT-H-14/HPSv2.1) in both towers.
                         vision: width 32, 2 layers, 2 heads of 16, MLP 48, patch 8, image 32
                         (4x4 patches + CLS); text: width 32, 2 layers, 4 heads of 8, MLP 48,
                         vocab 64, 16 positions, eos_token_id 63 (transformers pools at the
                         first id == eos); projection 16.
  gelu_open_clip.pt      the same weights in open_clip naming (visual.conv1, fused
                         attn.in_proj_weight = cat(q, k, v), visual.proj = visual_projection.weight.T,
                         ...), torch.save'd as {'state_dict': {'module.' + k: v}} (a
                         DataParallel-style checkpoint), float32.
  quick/                 transformers naming, weights stored as bfloat16, hidden_act
                         "quick_gelu" (OpenAI CLIP). vision: width 24, 1 layer, 3 heads of 8,
                         MLP 48, patch 6, image 24; text: width 32, 2 layers, 2 heads of 16,
                         MLP 48, vocab 64, 12 positions, eos_token_id 2: transformers' legacy
                         rule then pools at argmax(ids) like open_clip; projection 24.
  quick_open_clip.pt     open_clip naming, bfloat16, {'state_dict': {k: v}} exactly like
                         HPS_v2.1_compressed.pt (no 'module.' prefix).
  cases.json             per model: dims, the pixel file, the id sequences, the reference files
  <m>_pixels.f32         [2, 3, H, W] normalised pixels (random N(0, 1)), little-endian float32
  <m>_image.f32          [2, E] transformers get_image_features (projected, not normalised)
  <m>_text.f32           [T, E] transformers get_text_features, one sequence at a time
  <m>_cosine.f32         [2, T] cosine of normalised image and text features (HPS's score)
The open_clip CLIP built from the same config and loaded (strict) from the converted state
dict must reproduce transformers' features (checked here to 1e-5), so the reference files hold
for both namings. The bfloat16 model is run in float32 after rounding its weights to bfloat16,
which is what our loader computes with (bf16 -> f32 is exact).

Weights are random with realistic magnitude (Linear ~ N(0, 1/fan_in), LayerNorm scales
~ 1 + N(0, 0.1), embeddings N(0, 0.5)) so activations vary and the features are not tiny.
The pickles use only OrderedDict, torch._utils._rebuild_tensor_v2 and torch.*Storage globals
(checked with pickletools), which is all bicot's restricted unpickler accepts.
"""
import collections
import importlib.machinery
import io
import json
import os
import pickletools
import sys
import types
import zipfile

import numpy as np
import torch
from transformers import CLIPConfig, CLIPModel

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, "clip")


def stub_torchvision():
    """open_clip imports torchvision for its image transforms and a frozen batchnorm we
    never use; stand-ins let its model code load without it."""
    class Meta(type):
        def __getattr__(cls, name):
            return cls

    class Any(metaclass=Meta):
        def __init__(self, *a, **k):
            pass

    def stub(name, **attrs):
        m = types.ModuleType(name)
        m.__spec__ = importlib.machinery.ModuleSpec(name, None)
        m.__path__ = []
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    if "torchvision" in sys.modules:
        return
    try:
        import torchvision  # noqa: F401
        return
    except ImportError:
        pass
    stub("torchvision")
    stub("torchvision.ops")
    stub("torchvision.ops.misc", FrozenBatchNorm2d=Any)
    t = stub("torchvision.transforms")
    for n in ["Normalize", "Compose", "RandomResizedCrop", "InterpolationMode", "ToTensor", "Resize",
              "CenterCrop", "ColorJitter", "Grayscale", "RandomGrayscale", "RandomHorizontalFlip",
              "RandomApply", "GaussianBlur", "Lambda", "ToPILImage"]:
        setattr(t, n, Any)
    t.functional = stub("torchvision.transforms.functional")
    stub("torchvision.transforms.v2")


MODELS = {
    "gelu": dict(
        dtype=torch.float32, act="gelu", module_prefix=True,
        vision=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
                    patch_size=8, image_size=32),
        text=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                  vocab_size=64, max_position_embeddings=16, bos_token_id=62, eos_token_id=63, pad_token_id=0),
        projection_dim=16,
        # SOT=62 ... EOT=63 (the highest id, as in CLIP's vocabulary); the second one is
        # zero-padded after EOT, the third fills every position.
        ids=[[62, 5, 17, 40, 9, 63], [62, 33, 63, 0, 0, 0, 0, 0], [62] + list(range(1, 15)) + [63]],
    ),
    "quick": dict(
        dtype=torch.bfloat16, act="quick_gelu", module_prefix=False,
        vision=dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=3, intermediate_size=48,
                    patch_size=6, image_size=24),
        text=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
                  vocab_size=64, max_position_embeddings=12, bos_token_id=62, eos_token_id=2, pad_token_id=0),
        projection_dim=24,
        # eos_token_id 2 selects argmax pooling: the id 2 inside the first sequence must
        # not be taken for the end.
        ids=[[62, 7, 2, 9, 63, 0, 0], [62, 63], [62, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 63]],
    ),
}


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            if "norm" in name:  # layer_norm1/2, pre_layrnorm, post_layernorm, final_layer_norm
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=gen))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def to_open_clip(sd):
    """transformers CLIPModel state dict -> open_clip CLIP state dict."""
    oc = collections.OrderedDict()

    def tower(src, dst, n_layers):
        for i in range(n_layers):
            s, d = f"{src}.encoder.layers.{i}.", f"{dst}transformer.resblocks.{i}."
            for a, b in [("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), ("self_attn.out_proj", "attn.out_proj"),
                         ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]:
                oc[d + b + ".weight"] = sd[s + a + ".weight"]
                oc[d + b + ".bias"] = sd[s + a + ".bias"]
            oc[d + "attn.in_proj_weight"] = torch.cat([sd[s + f"self_attn.{x}_proj.weight"] for x in "qkv"])
            oc[d + "attn.in_proj_bias"] = torch.cat([sd[s + f"self_attn.{x}_proj.bias"] for x in "qkv"])

    v = "vision_model."
    oc["visual.conv1.weight"] = sd[v + "embeddings.patch_embedding.weight"]
    oc["visual.class_embedding"] = sd[v + "embeddings.class_embedding"]
    oc["visual.positional_embedding"] = sd[v + "embeddings.position_embedding.weight"]
    for a, b in [("pre_layrnorm", "ln_pre"), ("post_layernorm", "ln_post")]:
        oc[f"visual.{b}.weight"] = sd[v + a + ".weight"]
        oc[f"visual.{b}.bias"] = sd[v + a + ".bias"]
    n_vis = len({k.split(".")[3] for k in sd if k.startswith(v + "encoder.layers.")})
    tower("vision_model", "visual.", n_vis)
    oc["visual.proj"] = sd["visual_projection.weight"].t().contiguous()
    t = "text_model."
    oc["token_embedding.weight"] = sd[t + "embeddings.token_embedding.weight"]
    oc["positional_embedding"] = sd[t + "embeddings.position_embedding.weight"]
    n_txt = len({k.split(".")[3] for k in sd if k.startswith(t + "encoder.layers.")})
    tower("text_model", "", n_txt)
    oc["ln_final.weight"] = sd[t + "final_layer_norm.weight"]
    oc["ln_final.bias"] = sd[t + "final_layer_norm.bias"]
    oc["text_projection"] = sd["text_projection.weight"].t().contiguous()
    oc["logit_scale"] = sd["logit_scale"]
    return oc


def check_pickle_globals(path):
    with zipfile.ZipFile(path) as z:
        pkl = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    out = io.StringIO()
    pickletools.dis(pkl, out=out)
    allowed = {"collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch FloatStorage",
               "torch BFloat16Storage"}
    found = set()
    lines = out.getvalue().splitlines()
    for i, line in enumerate(lines):
        if " GLOBAL " in line:
            found.add(line.split("GLOBAL", 1)[1].strip().strip("'"))
        elif "STACK_GLOBAL" in line:
            found.add(" ".join(l.split("'")[1] for l in lines[i - 2:i] if "UNICODE" in l))
    assert found <= allowed, f"{path}: unexpected pickle globals {found - allowed}"


def open_clip_model(cfg, spec):
    stub_torchvision()
    from open_clip.model import CLIP

    v, t = spec["vision"], spec["text"]
    return CLIP(
        spec["projection_dim"],
        dict(width=v["hidden_size"], layers=v["num_hidden_layers"],
             head_width=v["hidden_size"] // v["num_attention_heads"], patch_size=v["patch_size"],
             image_size=v["image_size"], mlp_ratio=v["intermediate_size"] / v["hidden_size"]),
        dict(context_length=t["max_position_embeddings"], vocab_size=t["vocab_size"], width=t["hidden_size"],
             heads=t["num_attention_heads"], layers=t["num_hidden_layers"],
             mlp_ratio=t["intermediate_size"] / t["hidden_size"]),
        quick_gelu=spec["act"] == "quick_gelu",
    ).eval()


def write_f32(name, x):
    np.ascontiguousarray(x.detach().numpy(), dtype="<f4").tofile(os.path.join(OUT, name))


def make(name, spec, seed, cases):
    gen = torch.Generator().manual_seed(seed)
    cfg = CLIPConfig(
        text_config=dict(spec["text"], hidden_act=spec["act"]),
        vision_config=dict(spec["vision"], hidden_act=spec["act"]),
        projection_dim=spec["projection_dim"],
    )
    model = CLIPModel(cfg).eval()
    randomize(model, gen)
    model = model.to(spec["dtype"])
    model.save_pretrained(os.path.join(OUT, name))
    model = model.float()  # the reference computes in float32 from the stored values

    sd = to_open_clip(model.state_dict())
    oc = open_clip_model(cfg, spec)
    oc.load_state_dict(sd, strict=True)
    stored = collections.OrderedDict(
        (("module." if spec["module_prefix"] else "") + k, v.to(spec["dtype"]).contiguous()) for k, v in sd.items())
    pt = os.path.join(OUT, f"{name}_open_clip.pt")
    torch.save({"state_dict": stored}, pt)
    check_pickle_globals(pt)

    img = spec["vision"]["image_size"]
    pixels = torch.randn(2, 3, img, img, generator=gen)
    with torch.no_grad():
        image = model.get_image_features(pixel_values=pixels)
        if not torch.is_tensor(image):
            image = image.pooler_output
        # open_clip takes the whole context: zero-pad after EOT as its tokenizer does (the
        # causal mask makes the padding irrelevant; our C test passes the ids unpadded).
        ctx = spec["text"]["max_position_embeddings"]
        padded = torch.tensor([ids + [0] * (ctx - len(ids)) for ids in spec["ids"]])
        text = model.get_text_features(input_ids=padded)
        if not torch.is_tensor(text):
            text = text.pooler_output
        oc_image = oc.encode_image(pixels)
        oc_text = oc.encode_text(padded)
    for what, a, b in [("image", image, oc_image), ("text", text, oc_text)]:
        err = (a - b).abs().max().item()
        print(f"{name}: open_clip vs transformers {what} features: max |diff| {err:.2e}, max |ref| "
              f"{a.abs().max().item():.3f}")
        assert err < 1e-5, what
    cosine = torch.nn.functional.normalize(image, dim=-1) @ torch.nn.functional.normalize(text, dim=-1).T

    write_f32(f"{name}_pixels.f32", pixels)
    write_f32(f"{name}_image.f32", image)
    write_f32(f"{name}_text.f32", text)
    write_f32(f"{name}_cosine.f32", cosine)
    v, t = spec["vision"], spec["text"]
    cases.append(dict(
        model=name, open_clip=f"{name}_open_clip.pt", image_size=img, embed_dim=spec["projection_dim"],
        vision_heads=v["num_attention_heads"], text_heads=t["num_attention_heads"],
        quick_gelu=spec["act"] == "quick_gelu", n_images=2, ids=spec["ids"],
        pixels=f"{name}_pixels.f32", image=f"{name}_image.f32", text=f"{name}_text.f32",
        cosine=f"{name}_cosine.f32"))


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = []
    for seed, (name, spec) in enumerate(MODELS.items()):
        make(name, spec, 1234 + seed, cases)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
