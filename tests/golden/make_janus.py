#!/usr/bin/env python3
"""Writes the Janus-Pro language-model fixtures under tests/golden/janus/.

Run from the repository root:  python3 tests/golden/make_janus.py
Needs torch, transformers (JanusForConditionalGeneration) and safetensors.
tests/golden/test_janus.c reads what this writes; CI never runs it.

Two tiny random models, each with the reference outputs of transformers:

  a_hf/      hidden 64, 4 heads x 16, MHA, 2 layers, text vocab 256, image
             vocab 64: transformers naming (save_pretrained, model_type
             "janus"), weights stored **bf16** (as the real checkpoints); the
             reference runs in float32 on the same bf16 values upcast.
  a_orig/    the same weights in the ORIGINAL deepseek naming
             (language_model.model.*, gen_embed, gen_aligner.layers.0/2,
             gen_head.*, language_model.lm_head), torch.save'd to
             pytorch_model.bin (bf16), with a "multi_modality" config.json
             whose language_config omits rms_norm_eps, rope_theta,
             num_key_value_heads and head_dim, so LlamaConfig's defaults must
             kick in. Same reference outputs as a_hf (ref_a/).
  b_hf/      hidden 48, 6 heads x head_dim 12 (q width 72 != hidden), 2 KV
             heads (GQA), 3 layers, eps 1e-5, rope_theta 500, image vocab 40:
             transformers naming, float32 safetensors.
  ref_a/, ref_b/   manifest.json + raw float32 little-endian files:
    prefill_hidden    [2, D]       final-normed hidden state at the last prompt
                                   position, rows (cond, uncond)
    text_logits       [2, L, V]    lm_head at every prompt position
    gen_logits_0      [2, Vimg]    gen_head at the last prompt position
    cfg_logits_0      [Vimg]       u + w(c - u), w = cfg_weight
    gen_logits_k, cfg_logits_k     after decode step k = 1..n: both rows fed
                                   gen_aligner(gen_embed(decode_tokens[k-1]))
                                   with the KV cache
    solo_gen_logits_k [1, Vimg]    k = 0..n for a third, shorter prompt
                                   (solo_ids) run alone, fed the same tokens:
                                   lets the C test decode rows of different
                                   lengths in one batch
"""
import json
import os
import shutil

import torch
from transformers import JanusConfig, JanusForConditionalGeneration

ROOT = os.path.join("tests", "golden", "janus")

BOS, PAD, BOI = 1, 3, 4
CFG_WEIGHT = 5.0
DECODE_TOKENS = [5, 17, 39, 2]  # fed back one per step (all < both image vocabs)


def tiny_config(text, n_image, dtype):
    """A JanusConfig whose vision tower and VQ are as small as transformers allows
    (they are not saved: the fixture keeps only the language-model side)."""
    D = text["hidden_size"]
    return JanusConfig(
        text_config=dict(model_type="llama", bos_token_id=BOS, eos_token_id=2, pad_token_id=PAD,
                         tie_word_embeddings=False, torch_dtype=dtype, **text),
        vision_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=32,
                           patch_size=16, projection_dim=D, num_image_tokens=4),
        vq_config=dict(embed_dim=8, num_embeddings=n_image, latent_channels=32, base_channels=32,
                       channel_multiplier=[1, 1], num_res_blocks=1, projection_dim=D,
                       image_token_embed_dim=D, num_hidden_layers=2, hidden_act="gelu"),
        tie_word_embeddings=False, torch_dtype=dtype)


def randomise(model, seed):
    """Weights scaled so activations stay O(1) through the layers and logits
    spread over several units (transformers' init std 0.02 would make every
    logit nearly 0 and the test blind)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2 and "embed" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.ndim >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / fan_in ** 0.5))
            elif "norm" in name or "layernorm" in name:
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))


def keep(name):
    return name.startswith(("model.language_model.", "model.generation_", "lm_head."))


def run_reference(model, ids, solo_ids):
    """Everything the C test compares against, computed by transformers in float32."""
    out = {}
    lm = model.model
    x = torch.tensor(ids)
    with torch.no_grad():
        o = model(input_ids=x, use_cache=True, logits_to_keep=0)
        hidden = lm(input_ids=x).last_hidden_state  # final-normed
        out["prefill_hidden"] = hidden[:, -1]
        out["text_logits"] = o.logits
        cache = o.past_key_values
        last = hidden[:, -1]
        for k in range(len(DECODE_TOKENS) + 1):
            if k > 0:
                t = torch.tensor([[DECODE_TOKENS[k - 1]]] * x.shape[0])
                emb = model.prepare_embeddings_for_image_generation(t)  # [rows, 1, D]
                r = lm(inputs_embeds=emb, past_key_values=cache, use_cache=True)
                cache = r.past_key_values
                last = r.last_hidden_state[:, -1]
            logits = lm.generation_head(last)
            c, u = logits[0], logits[1]
            out[f"gen_logits_{k}"] = logits
            out[f"cfg_logits_{k}"] = u + CFG_WEIGHT * (c - u)

        # The shorter prompt alone (batch 1).
        s = torch.tensor([solo_ids])
        r = lm(input_ids=s, use_cache=True)
        cache = r.past_key_values
        last = r.last_hidden_state[:, -1]
        for k in range(len(DECODE_TOKENS) + 1):
            if k > 0:
                emb = model.prepare_embeddings_for_image_generation(torch.tensor([[DECODE_TOKENS[k - 1]]]))
                r = lm(inputs_embeds=emb, past_key_values=cache, use_cache=True)
                cache = r.past_key_values
                last = r.last_hidden_state[:, -1]
            out[f"solo_gen_logits_{k}"] = lm.generation_head(last)
    return out


def write_reference(dirname, outs, ids, solo_ids, text, n_image, note):
    os.makedirs(dirname, exist_ok=True)
    manifest = {
        "note": note,
        "ids": ids, "solo_ids": solo_ids, "decode_tokens": DECODE_TOKENS, "cfg_weight": CFG_WEIGHT,
        "hidden_size": text["hidden_size"], "vocab_size": text["vocab_size"], "image_vocab": n_image,
        "tensors": {},
    }
    for name, t in outs.items():
        t = t.detach().to(torch.float32).contiguous()
        with open(os.path.join(dirname, name + ".f32"), "wb") as f:
            f.write(t.numpy().astype("<f4").tobytes())
        manifest["tensors"][name] = {"file": name + ".f32", "shape": list(t.shape)}
    with open(os.path.join(dirname, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def save_hf(model, dirname, dtype):
    """save_pretrained, then drop the vision tower / VQ tensors this fixture
    does not need (they would make it ten times bigger)."""
    tmp = dirname + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(dtype).save_pretrained(tmp)
    from safetensors.torch import load_file, save_file
    sd = load_file(os.path.join(tmp, "model.safetensors"))
    sd = {k: v for k, v in sd.items() if keep(k)}
    os.makedirs(dirname, exist_ok=True)
    save_file(sd, os.path.join(dirname, "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(os.path.join(tmp, "config.json"), os.path.join(dirname, "config.json"))
    shutil.rmtree(tmp)
    model.to(torch.float32)


ORIG_NAMES = [
    ("model.language_model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
    ("model.generation_embeddings.", "gen_embed."),
    ("model.generation_aligner.fc1.", "gen_aligner.layers.0."),
    ("model.generation_aligner.hidden_layers.0.", "gen_aligner.layers.2."),
    ("model.generation_head.proj_out.", "gen_head.output_mlp_projector."),
    ("model.generation_head.vision_head.", "gen_head.vision_head."),
]


def save_original(model, dirname, text, n_image):
    """The deepseek-ai layout: original tensor names in a torch.save'd state
    dict (bf16, as the real pytorch_model.bin), multi_modality config.json."""
    os.makedirs(dirname, exist_ok=True)
    sd = {}
    for k, v in model.state_dict().items():
        if not keep(k):
            continue
        for hf, orig in ORIG_NAMES:
            if k.startswith(hf):
                sd[orig + k[len(hf):]] = v.to(torch.bfloat16).clone()
                break
        else:
            raise SystemExit(f"no original name for {k}")
    torch.save(sd, os.path.join(dirname, "pytorch_model.bin"))
    D = text["hidden_size"]
    # rms_norm_eps, rope_theta, num_key_value_heads, head_dim are left out:
    # the reader must take LlamaConfig's defaults (1e-6, 10000, = heads, D/heads).
    language_config = {k: text[k] for k in ("hidden_size", "intermediate_size", "num_attention_heads",
                                            "num_hidden_layers", "vocab_size", "max_position_embeddings")}
    language_config.update(model_type="llama", torch_dtype="bfloat16")
    cfg = {
        "aligner_config": {"cls": "MlpProjector", "model_type": "aligner",
                           "params": {"depth": 2, "input_dim": 1024, "n_embed": D, "projector_type": "mlp_gelu"}},
        "architectures": ["MultiModalityCausalLM"],
        "gen_aligner_config": {"cls": "MlpProjector", "model_type": "gen_aligner",
                               "params": {"depth": 2, "input_dim": 8, "n_embed": D, "projector_type": "mlp_gelu"}},
        "gen_head_config": {"cls": "vision_head", "model_type": "gen_head",
                            "params": {"image_token_embed": D, "image_token_size": n_image, "n_embed": D}},
        "gen_vision_config": {"cls": "VQ-16", "model_type": "gen_vision",
                              "params": {"image_token_size": n_image, "n_embed": 8}},
        "language_config": language_config,
        "model_type": "multi_modality",
        "torch_dtype": "bfloat16",
        "transformers_version": "4.33.1",
        "vision_config": {"cls": "CLIPVisionTower", "model_type": "vision",
                          "params": {"image_size": 384, "model_name": "siglip_large_patch16_384",
                                     "select_feature": "same", "select_layer": -1}},
    }
    with open(os.path.join(dirname, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


def rows_for(prompt):
    """cond row and the uncond row the spec builds: all but BOS and
    <begin_of_image> replaced by the pad id."""
    cond = [BOS] + prompt + [BOI]
    uncond = [BOS] + [PAD] * len(prompt) + [BOI]
    return [cond, uncond]


def build(name, text, n_image, dtype, seed, prompt, solo_prompt, orig=None):
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(tiny_config(text, n_image, "float32")).eval()
    model.config._attn_implementation = "eager"
    model.model.language_model.config._attn_implementation = "eager"
    randomise(model, seed)
    if dtype == torch.bfloat16:
        # The reference computes in float32 on the bf16-rounded weights, which
        # is exactly what our loader's bf16 -> f32 conversion gives.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).to(torch.float32))
    ids = rows_for(prompt)
    solo = [BOS] + solo_prompt + [BOI]
    outs = run_reference(model, ids, solo)
    note = f"made by tests/golden/make_janus.py; transformers float32 eager, weights {dtype}"
    write_reference(os.path.join(ROOT, "ref_" + name), outs, ids, solo, text, n_image, note)
    save_hf(model, os.path.join(ROOT, name + "_hf"), dtype)
    if orig:
        save_original(model, os.path.join(ROOT, name + "_orig"), text, n_image)


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    text_a = dict(hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=4,
                  head_dim=16, num_hidden_layers=2, vocab_size=128, max_position_embeddings=64,
                  rms_norm_eps=1e-6, rope_theta=10000.0)
    build("a", text_a, 64, torch.bfloat16, 1234, [10, 100, 33, 7, 120, 99], [61, 62], orig=True)
    text_b = dict(hidden_size=48, intermediate_size=64, num_attention_heads=6, num_key_value_heads=2,
                  head_dim=12, num_hidden_layers=3, vocab_size=96, max_position_embeddings=64,
                  rms_norm_eps=1e-5, rope_theta=500.0)
    build("b", text_b, 40, torch.float32, 99, [22, 80, 5, 95, 31, 64, 18, 9, 77], [90, 11, 43], orig=False)


if __name__ == "__main__":
    main()
