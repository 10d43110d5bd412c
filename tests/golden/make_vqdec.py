#!/usr/bin/env python3
"""Makes the golden fixtures of tests/golden/test_vqdec.c and tests/pipeline/vq-decode.sh:
tiny random Janus VQ-16 decoders run by transformers' JanusVQVAE.

    python3 tests/golden/make_vqdec.py      (from the repository root; transformers 5.x, torch)

Writes tests/golden/vqdec/:
  hf_f32/    transformers naming (model.vqmodel.*), float32 model.safetensors, config.json
             with a janus `vq_config`: base_channels 32, channel_multiplier [1, 1],
             num_res_blocks 1 (2 res blocks + 2 attention blocks at the low level),
             latent_channels 16, 64 codes of dim 8.
  hf_bf16/   transformers naming, weights stored as bfloat16: channel_multiplier [2, 1],
             num_res_blocks 0, so the last level's res block goes 32 -> 64 channels
             through a nin_shortcut and the output head is 64 -> 3.
  orig_bf16/ hf_bf16's weights renamed to the original deepseek naming
             (gen_vision_model.decoder.conv_blocks.{b}.res.{r}, mid.{0,1,2}, ... : the
             inverse of the converter's mapping, janus-pro-spec.md §4.2), torch.save'd as
             pytorch_model.bin, with an original-layout config.json ("multi_modality",
             gen_vision_config.params). The original VQ_16 has fixed constants; these tiny
             ones are given in gen_vision_config.params under the names of vq_model.py's
             ModelArgs/Decoder (codebook_size, codebook_embed_dim, z_channels,
             decoder_ch_mult, ch, num_res_blocks), which our loader reads when present.
  Every fixture holds only the tensors decoding needs (no encoder), to keep them small.
  cases.json [{model, grid [h, w], tokens, out, pixels, out_shape [3, H, W]}]
  <case>.f32 decoder output before pixel conversion, [3, H, W] little-endian float32
  <case>.u8  the pixels: uint8(clip((x + 1)/2*255, 0, 255)) computed in float32 and
             truncated (as Janus and the transformers postprocess do), [H, W, 3] RGB
  <case>.png PIL's PNG of those pixels (what a person looks at; tests compare pixels)

Weights are random with realistic magnitude (convs ~ N(0, 1/fan_in), GroupNorm scales
~ 1 + N(0, 0.1), codebook N(0, 1)); conv_out is rescaled so the output's standard
deviation is about 0.6 (values reach about ±2, so the clipping is exercised). The decode path is transformers' own modules:
quantize.embedding, F.normalize (get_codebook_entry's L2 norm), post_quant_conv,
decoder. JanusVQVAE.decode insists on a square num_patches grid, so the reshape to the
(h, w) grid is done here, exactly as get_codebook_entry does it.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from transformers import JanusVQVAEConfig
from transformers.models.janus.modeling_janus import JanusVQVAE
from PIL import Image

OUT = "tests/golden/vqdec"
torch.manual_seed(1234)


def randomise(model):
    g = torch.Generator().manual_seed(42)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embedding" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.ndim == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=g) / fan_in**0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def decode(model, tokens, h, w):
    emb = model.quantize.embedding(torch.tensor(tokens).view(1, -1))   # [1, h*w, D]
    emb = F.normalize(emb, p=2, dim=-1)
    z = emb.view(1, h, w, -1).permute(0, 3, 1, 2).contiguous()        # [1, D, h, w]
    return model.decoder(model.post_quant_conv(z))[0]                  # [3, H, W]


def to_pixels(x):
    x = x.astype(np.float32)
    v = (x + np.float32(1)) / np.float32(2) * np.float32(255)
    return np.clip(v, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()  # [H, W, 3]


def decoder_state(model):
    # Only what decoding needs: the codebook, post_quant_conv, the decoder.
    keep = ("quantize.embedding.", "post_quant_conv.", "decoder.")
    return {k: v for k, v in model.state_dict().items() if k.startswith(keep)}


def to_original_name(k):
    # inverse of convert_janus_weights_to_hf.py's vqmodel renames (spec §4.2)
    k = k.replace("decoder.up.", "decoder.conv_blocks.").replace(".block.", ".res.")
    k = k.replace("mid.block_1.", "mid.0.").replace("mid.attn_1.", "mid.1.").replace("mid.block_2.", "mid.2.")
    return "gen_vision_model." + k


def make_model(name, dtype, **cfg):
    config = JanusVQVAEConfig(embed_dim=8, num_embeddings=64, latent_channels=16, base_channels=32, **cfg)
    model = JanusVQVAE(config).eval()
    randomise(model)
    # Scale conv_out so the output is around [-1.3, 1.3] on a probe grid.
    with torch.no_grad():
        probe = decode(model, list(range(16)), 4, 4)
        s = 0.6 / probe.std().item()
        model.decoder.conv_out.weight.mul_(s)
        model.decoder.conv_out.bias.mul_(s)
        # round to the stored dtype, and compute the reference from those very values
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    state = {"model.vqmodel." + k: v.to(dtype).contiguous() for k, v in decoder_state(model).items()}
    save_file(state, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    vq = {k: v for k, v in config.to_dict().items() if k not in ("id2label", "label2id", "transformers_version")}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architectures": ["JanusForConditionalGeneration"], "model_type": "janus",
                   "vq_config": vq}, f, indent=2)
    return model, config


def make_original(name, model, config):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    state = {to_original_name(k): v.to(torch.bfloat16).contiguous() for k, v in decoder_state(model).items()}
    torch.save(state, os.path.join(d, "pytorch_model.bin"))
    params = {"image_token_size": config.num_embeddings, "n_embed": config.embed_dim,
              # tiny-model extension (VQ_16's constants otherwise)
              "codebook_size": config.num_embeddings, "codebook_embed_dim": config.embed_dim,
              "z_channels": config.latent_channels, "decoder_ch_mult": list(config.channel_multiplier),
              "ch": config.base_channels, "num_res_blocks": config.num_res_blocks}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architectures": ["MultiModalityCausalLM"], "model_type": "multi_modality",
                   "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision", "params": params},
                   "language_config": {"model_type": "llama", "hidden_size": 64}}, f, indent=2)


def main():
    cases = []
    rng = np.random.default_rng(7)

    def case(model, mname, h, w):
        tokens = [int(t) for t in rng.integers(0, 64, size=h * w)]
        with torch.no_grad():
            x = decode(model, tokens, h, w).numpy().astype(np.float32)
        stem = f"{mname}_{h}x{w}"
        x.astype("<f4").tofile(os.path.join(OUT, stem + ".f32"))
        px = to_pixels(x)
        px.tofile(os.path.join(OUT, stem + ".u8"))
        Image.fromarray(px, "RGB").save(os.path.join(OUT, stem + ".png"))
        cases.append({"model": mname, "grid": [h, w], "tokens": tokens, "out": stem + ".f32",
                      "pixels": stem + ".u8", "out_shape": list(x.shape)})
        print(stem, x.shape, "range", float(x.min()), float(x.max()), "clipped", int((np.abs(x) > 1).sum()))

    a, _ = make_model("hf_f32", torch.float32, channel_multiplier=[1, 1], num_res_blocks=1)
    case(a, "hf_f32", 2, 3)
    case(a, "hf_f32", 4, 4)
    b, bcfg = make_model("hf_bf16", torch.bfloat16, channel_multiplier=[2, 1], num_res_blocks=0)
    case(b, "hf_bf16", 3, 2)
    case(b, "hf_bf16", 2, 1)
    make_original("orig_bf16", b, bcfg)
    # the same weights in the original naming must decode to the same image
    cases.append(dict(cases[-2], model="orig_bf16"))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        # one case a line, so shell tests can pick one with sed
        f.write("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]\n")


if __name__ == "__main__":
    main()
