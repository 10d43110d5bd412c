#!/usr/bin/env python3
"""Makes tests/golden/tiny-janus/ (a complete, tiny, random Janus-Pro model
directory that the whole pipeline runs on, `make demo` included) and
tests/golden/tiny-janus-ref/ (what `gen-tokens` and `plan-cot` must output on
it, computed by transformers).

Run from the repository root:  python3 tests/golden/make_tiny_janus.py
Needs torch, transformers 5.x (JanusForConditionalGeneration), tokenizers,
safetensors, and /work/shared/data/t2i-r1-train-prompts.jsonl (the corpus the
tokenizer is trained on, through make_tokenizers.py). CI never runs it.

tiny-janus/  (transformers `janus` layout, save_pretrained, weights bfloat16)
  config.json, model.safetensors, generation_config.json
  tokenizer.json         make_tokenizers.make_deepseek()'s DeepSeek-LLM-shaped byte-level
                         BPE (post-processor prepends BOS), with a smaller BPE vocabulary;
                         the added tokens (BOS, EOS, the plain chars, pad, <begin_of_image>,
                         ...) sit right after it, in DeepSeek's order
  tokenizer_config.json, special_tokens_map.json   as in deepseek-ai's repos
  Model (800 KB): LLaMA text model hidden 64, 2 layers, 4 heads x 16 (MHA), MLP 128,
  vocab 650 = the tokenizer's size (no padding rows); VQ: 64 codes of dim 8,
  latent 32, base_channels 32, channel_multiplier [1, 1, 1] (32 channels at every
  level, so GroupNorm(32) has 1 channel per group; the multiplier [1, 2] of the
  brief doubled the file: the VQ encoder is saved too, as in the real checkpoints),
  num_res_blocks 0 (1 res block per decoder level, attention at the lowest),
  two 2x upsamples: a 4x4 token grid decodes to 16x16 pixels. Vision tower
  image_size 64 / patch 16, num_image_tokens 16: JanusConfig sets
  vq_config.num_patches = 64 // 16 = 4, the grid transformers' decode() insists on.
  Weights: make_janus.randomise (N(0,1) embeddings, N(0, 1.5^2/fan_in) matrices,
  norms 1 + N(0, 0.3^2), biases N(0, 0.3^2)), then: VQ conv_out x 0.4 (about 15%
  of the pixels clip), gen_head's vision_head x 0.3 (the conditional policy's
  per-token entropy is about 3.7 nats of log 64 = 4.16, CFG w = 5 sharpens it to
  about 2.5, so temperature / top-k / top-p change the draws), lm_head's EOS row
  x 2.1 (about half the text samples end before 24 tokens). All values are
  rounded to bf16; the reference runs in float32 on the model loaded back from
  the directory (asserted equal), so it computes on exactly the stored values.
  The greedy versions of both loops are checked against transformers' own
  JanusForConditionalGeneration.generate() (image mode with CFG, and text mode).

tiny-janus-ref/
  meta.json
    special: {bos, eos, pad, boi, eoi, image_placeholder, user, assistant} -> id
    vocab_size, image_vocab, grid [h, w], image_px [H, W]
    rng_check: {id, seed, hash (bc_hash64 of the id bytes, decimal string),
                next: first 4 bc_rng_next outputs (decimal strings),
                u: first 8 bc_rng_uniform values}
  gen-tokens.json  {"runs": [run...]}, one run = one invocation of gen-tokens:
    run.options: {template (t2i-r1 | janus), seed, cfg, temperature, top_k (0 off), top_p (1 off),
                  grid [h, w] (the model's default)}
    run.records[]: one input record and what gen-tokens must emit for it:
      id, prompt, cot (absent = no cot field in the input record)
      text          the image-stage text (template.c's bc_template_image; checked here against
                    tests/golden/templates/cases.json, made by T2I-R1's own code)
      cond_ids      BOS + tokenize(text) + <begin_of_image>
      uncond_ids    cond_ids with every position but the first and last = pad id
      image_tokens  [h*w] sampled codes, raster order
      image_logp    [h*w] log_softmax(cond logits)[token]: conditional policy, T = 1, no CFG
      image_logp_cfg[h*w] log-prob under the distribution drawn from (CFG, T, top-k, top-p)
      u             [h*w] the uniform numbers used (record RNG, one per token)
      margin        min over the draws of the distance (in probability mass) between
                    u and the nearest CDF boundary: a C run whose probabilities differ
                    by less than this draws the same tokens
      pixels        (run 0 only) vq decode of image_tokens: uint8(clip((x+1)/2*255, 0, 255))
                    truncated, [H*W*3] in H, W, RGB order; compare with |d| <= 1: a value
                    within float rounding of an integer truncates either way (bin/vq-decode
                    differed by 1 on 1 of 3072 values when this was written)
  plan-cot.json   {"runs": [run...]}, one invocation of plan-cot:
    run.options: {template, seed, n (G), temperature, top_k, top_p, max_new_tokens}
    run.records[]: id, prompt, text (bc_template_plan), prompt_ids (BOS + tokens),
      samples[G]: {id ("<id>#k", whose RNG drew it), cot_ids (through the first EOS,
                   which is kept), cot_logp (log_softmax(lm_head logits)[id], T = 1, no
                   truncation), cot_logp_sampled (under the warped distribution),
                   cot (tokenizers' decode, skip_special_tokens=True), u, margin}

Sampling (lib/nn/sample.c): transformers' TemperatureLogitsWarper, TopKLogitsWarper,
TopPLogitsWarper (in generate()'s order) on float32 logits, then token = the first
index i in token order whose cumulative sum of exp(w_i - max) exceeds u * total
(float64). CFG: u + w (c - u) on float32 logits.
"""
import json
import os
import shutil
import sys

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import GenerationConfig, JanusConfig, JanusForConditionalGeneration
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_janus  # noqa: E402  (randomise)
import make_tokenizers  # noqa: E402  (the DeepSeek-shaped tokenizer builder)

MODEL = os.path.join("tests", "golden", "tiny-janus")
REF = os.path.join("tests", "golden", "tiny-janus-ref")
BPE_VOCAB = 640       # BPE vocabulary trained (the added tokens come after it)
GRID = (4, 4)
SEED = 2024
EOS_ROW_SCALE = 2.1   # lm_head's EOS row x this: some text samples end early
GEN_HEAD_SCALE = 0.3  # gen_head's last layer x this: CFG (w = 5) logits spread a few units, not one-hot

M64 = (1 << 64) - 1

# ---------------------------------------------------------------- RNG (lib/util.c)


def splitmix64(state):
    """One splitmix64 step: returns (new state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def bc_hash64(data, seed):
    h = 0xCBF29CE484222325 ^ seed
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & M64
    return splitmix64(h)[1]


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    """bc_rng: xoshiro256** seeded with 4 splitmix64 outputs; the record RNG
    of lib/tool.c is Rng(bc_hash64(id, --seed))."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed, out = splitmix64(seed)
            self.s.append(out)

    @classmethod
    def for_record(cls, record_id, seed):
        return cls(bc_hash64(record_id.encode("utf-8"), seed))

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53


# ---------------------------------------------------------------- sampler (lib/nn/sample.c)


def draw(logits, u, temperature, top_k, top_p):
    """(token, logp under the warped distribution, margin) for float32 logits [n].
    temperature 0: argmax (only for the cross-check against generate())."""
    if temperature == 0:
        return int(torch.argmax(logits)), 0.0, 1.0
    scores = logits.detach().to(torch.float32).reshape(1, -1).clone()
    if temperature != 1.0:
        scores = TemperatureLogitsWarper(temperature)(None, scores)
    if top_k > 0:
        scores = TopKLogitsWarper(top_k)(None, scores)
    if top_p < 1.0:
        scores = TopPLogitsWarper(top_p)(None, scores)
    w = scores[0].double()
    mx = w.max()
    e = torch.where(torch.isinf(w), torch.zeros_like(w), torch.exp(w - mx))
    total = float(e.sum())
    cdf = torch.cumsum(e, 0)
    target = u * total
    hits = (cdf > target).nonzero()
    token = int(hits[0]) if len(hits) else int((~torch.isinf(w)).nonzero()[-1])
    below = float(cdf[token - 1]) if token > 0 else 0.0
    margin = min(target - below, float(cdf[token]) - target) / total
    logp = float(w[token] - mx) - float(np.log(total))
    return token, logp, margin


# ---------------------------------------------------------------- templates (lib/text/template.c)

REASONING = (
    "You are asked to generate an image based on this prompt: \"{}\"\n"
    "Provide a brief, precise visualization of all elements in the prompt. Your description should:\n"
    "1. Include every object mentioned in the prompt\n"
    "2. Specify visual attributes (color, number, shape, texture) if specified in the prompt\n"
    "3. Clarify relationships (e.g., spatial) between objects if specified in the prompt\n"
    "4. Be concise (50 words or less)\n"
    "5. Focus only on what's explicitly stated in the prompt\n"
    "6. Do not elaborate beyond the attributes or relationships specified in the prompt\n"
    "Do not miss objects. Output your visualization directly without explanation: ")
T2I_R1_SYSTEM = "You are a helpful assistant that receives an image prompt and generate a visualization of the prompt."


def conversation(system, user, content, assistant):
    s = f"{user}: {content.strip()}\n\n{assistant}:"
    if system:
        s = f"{system}\n\n{s}"
    return s.strip()


ROLES = {"t2i-r1": ("User", "Assistant"), "janus": ("<|User|>", "<|Assistant|>")}


def plan_text(prompt, template="t2i-r1"):
    system = T2I_R1_SYSTEM if template == "t2i-r1" else ""
    return conversation(system, ROLES[template][0], REASONING.replace("{}", prompt), ROLES[template][1])


def image_text(prompt, cot, template="t2i-r1"):
    return conversation("", ROLES[template][0], prompt if cot is None else f"{prompt}. {cot}", ROLES[template][1])


def check_templates():
    """Our template strings against tests/golden/templates/cases.json (T2I-R1's own code)."""
    with open(os.path.join("tests", "golden", "templates", "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    for c in cases:
        assert plan_text(c["prompt"]) == c["t2i-r1"]["plan"], c["prompt"]
        assert image_text(c["prompt"], c["cot"]) == c["t2i-r1"]["image"], c["prompt"]
        assert plan_text(c["prompt"], "janus") == c["janus"]["plan"], c["prompt"]
        assert image_text(c["prompt"], c["cot"], "janus") == c["janus"]["image"], c["prompt"]
        assert image_text(c["prompt"], None, "janus") == c["janus"]["image_no_cot"], c["prompt"]
    return [c["prompt"] for c in cases]


# ---------------------------------------------------------------- model directory


def make_tokenizer():
    """make_tokenizers.make_deepseek() with a smaller BPE vocabulary."""
    train = make_tokenizers.train
    make_tokenizers.train = lambda pre, vocab_size: train(pre, BPE_VOCAB)
    try:
        j, config = make_tokenizers.make_deepseek()
    finally:
        make_tokenizers.train = train
    return j, config


def write_tokenizer(j, config):
    with open(os.path.join(MODEL, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, indent=None, separators=(",", ":"))
    with open(os.path.join(MODEL, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    names = [a["content"] for a in j["added_tokens"] if a["special"]]
    extra = [n for n in names if n not in ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")]
    stm = {"additional_special_tokens": extra,
           "bos_token": {"content": "<｜begin▁of▁sentence｜>", "lstrip": False, "normalized": False,
                         "rstrip": False, "single_word": False},
           "eos_token": {"content": "<｜end▁of▁sentence｜>", "lstrip": False, "normalized": False,
                         "rstrip": False, "single_word": False}}
    with open(os.path.join(MODEL, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(stm, f, ensure_ascii=False, indent=2)
    tok = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
    special = {"bos": "<｜begin▁of▁sentence｜>", "eos": "<｜end▁of▁sentence｜>", "pad": "<｜▁pad▁｜>",
               "boi": "<begin_of_image>", "eoi": "<end_of_image>", "image_placeholder": "<image_placeholder>",
               "user": "<|User|>", "assistant": "<|Assistant|>"}
    return tok, {k: tok.token_to_id(v) for k, v in special.items()}


def tiny_config(vocab, sp):
    D = 64
    return JanusConfig(
        text_config=dict(model_type="llama", hidden_size=D, intermediate_size=128, num_attention_heads=4,
                         num_key_value_heads=4, head_dim=16, num_hidden_layers=2, vocab_size=vocab,
                         max_position_embeddings=16384, rms_norm_eps=1e-6, rope_theta=10000.0,
                         bos_token_id=sp["bos"], eos_token_id=sp["eos"], pad_token_id=sp["pad"],
                         tie_word_embeddings=False),
        vision_config=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, mlp_ratio=2.0,
                           image_size=16 * GRID[0], patch_size=16, projection_dim=D,
                           num_image_tokens=GRID[0] * GRID[1]),
        vq_config=dict(embed_dim=8, num_embeddings=64, latent_channels=32, base_channels=32,
                       channel_multiplier=[1, 1, 1], num_res_blocks=0, projection_dim=D,
                       image_token_embed_dim=D, num_hidden_layers=2, hidden_act="gelu"),
        image_token_id=sp["image_placeholder"], tie_word_embeddings=False)


def make_model(vocab, sp):
    torch.manual_seed(SEED)
    model = JanusForConditionalGeneration(tiny_config(vocab, sp)).eval()
    make_janus.randomise(model, SEED)
    with torch.no_grad():
        model.model.vqmodel.decoder.conv_out.weight.mul_(0.4)
        model.model.generation_head.vision_head.weight.mul_(GEN_HEAD_SCALE)
        model.lm_head.weight[sp["eos"]].mul_(EOS_ROW_SCALE)
    model.to(torch.bfloat16).save_pretrained(MODEL)
    gen = GenerationConfig(bos_token_id=sp["bos"], eos_token_id=sp["eos"], pad_token_id=sp["pad"],
                           guidance_scale=5.0, generation_kwargs={"boi_token_id": sp["boi"]})
    gen.save_pretrained(MODEL)
    # the reference runs on what the directory holds, upcast to float32
    back = JanusForConditionalGeneration.from_pretrained(MODEL, dtype=torch.float32).eval()
    back.config._attn_implementation = "eager"
    back.model.language_model.config._attn_implementation = "eager"
    mine = model.to(torch.float32).state_dict()
    for k, v in back.state_dict().items():
        assert torch.equal(v, mine[k]), k
    return back


# ---------------------------------------------------------------- references


def gen_tokens(model, tok, sp, rec, opts):
    text = image_text(rec["prompt"], rec.get("cot"), opts.get("template", "t2i-r1"))
    cond = tok.encode(text).ids + [sp["boi"]]
    assert cond[0] == sp["bos"]
    uncond = [cond[0]] + [sp["pad"]] * (len(cond) - 2) + [cond[-1]]
    lm = model.model.language_model
    rng = Rng.for_record(rec["id"], opts["seed"])
    tokens, logp, logp_cfg, us, margin = [], [], [], [], 1.0
    with torch.no_grad():
        r = lm(input_ids=torch.tensor([cond, uncond]), use_cache=True)
        for i in range(GRID[0] * GRID[1]):
            if i > 0:
                emb = model.prepare_embeddings_for_image_generation(torch.tensor([[tokens[-1]]] * 2))
                r = lm(inputs_embeds=emb, past_key_values=r.past_key_values, use_cache=True)
            logits = model.model.generation_head(r.last_hidden_state[:, -1])  # [2, Vimg]
            c, u = logits[0], logits[1]
            cfg = u + opts["cfg"] * (c - u)
            x = rng.uniform()
            t, lp, m = draw(cfg, x, opts["temperature"], opts["top_k"], opts["top_p"])
            tokens.append(t)
            logp_cfg.append(lp)
            logp.append(float(torch.log_softmax(c.double(), 0)[t]))
            us.append(x)
            margin = min(margin, m)
    out = {"id": rec["id"], "prompt": rec["prompt"]}
    if "cot" in rec:
        out["cot"] = rec["cot"]
    out.update(text=text, cond_ids=cond, uncond_ids=uncond, image_tokens=tokens, image_logp=logp,
               image_logp_cfg=logp_cfg, u=us, margin=margin)
    return out


def decode_pixels(model, tokens):
    with torch.no_grad():
        x = model.model.vqmodel.decode(torch.tensor([tokens]))[0]  # [3, H, W]
        px = ((x + 1) / 2 * 255).clamp(0, 255).to(torch.uint8)  # truncates
    return px.permute(1, 2, 0).reshape(-1).tolist(), list(px.shape[1:]), float(x.min()), float(x.max())


def plan_cot(model, tok, sp, rec, opts):
    text = plan_text(rec["prompt"], opts.get("template", "t2i-r1"))
    ids = tok.encode(text).ids
    assert ids[0] == sp["bos"]
    samples = []
    with torch.no_grad():
        for k in range(opts["n"]):
            sid = f"{rec['id']}#{k}"
            rng = Rng.for_record(sid, opts["seed"])
            r = model(input_ids=torch.tensor([ids]), use_cache=True, logits_to_keep=1)
            out, lps, lps_s, us, margin = [], [], [], [], 1.0
            while len(out) < opts["max_new_tokens"]:
                if out:
                    r = model(input_ids=torch.tensor([[out[-1]]]), past_key_values=r.past_key_values,
                              use_cache=True, logits_to_keep=1)
                logits = r.logits[0, -1]
                x = rng.uniform()
                t, lp, m = draw(logits, x, opts["temperature"], opts["top_k"], opts["top_p"])
                out.append(t)
                lps.append(float(torch.log_softmax(logits.double(), 0)[t]))
                lps_s.append(lp)
                us.append(x)
                margin = min(margin, m)
                if t == sp["eos"]:
                    break
            samples.append({"id": sid, "cot_ids": out, "cot_logp": lps, "cot_logp_sampled": lps_s,
                            "cot": tok.decode(out, skip_special_tokens=True), "u": us, "margin": margin})
    return {"id": rec["id"], "prompt": rec["prompt"], "text": text, "prompt_ids": ids, "samples": samples}


def check_against_generate(model, tok, sp, rec):
    """Our loops, greedy, against transformers' own JanusForConditionalGeneration.generate
    (image mode: its CFG rows, embeddings and cache; text mode), which cannot take our u
    stream but must agree on argmax decoding."""
    opts = {"seed": 0, "cfg": 5.0, "temperature": 0, "top_k": 0, "top_p": 1.0}
    ours = gen_tokens(model, tok, sp, rec, opts)
    with torch.no_grad():
        ids = torch.tensor([ours["cond_ids"]])
        hf = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_mode="image", do_sample=False,
                            guidance_scale=5.0, pad_token_id=sp["pad"], bos_token_id=sp["bos"],
                            generation_kwargs={"boi_token_id": sp["boi"]})
    assert hf[0].tolist() == ours["image_tokens"], (hf[0].tolist(), ours["image_tokens"])
    mine = plan_cot(model, tok, sp, rec, {"seed": 0, "n": 1, "temperature": 0, "top_k": 0, "top_p": 1.0,
                                           "max_new_tokens": 24})
    with torch.no_grad():
        ids = torch.tensor([mine["prompt_ids"]])
        hf = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=24,
                            eos_token_id=sp["eos"], pad_token_id=sp["pad"])
    assert hf[0, len(mine["prompt_ids"]):].tolist() == mine["samples"][0]["cot_ids"]
    print("greedy loops agree with generate():", ours["image_tokens"][:6], mine["samples"][0]["cot_ids"][:6])


def dump(name, obj):
    with open(os.path.join(REF, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    prompts = check_templates()
    j, tcfg = make_tokenizer()
    shutil.rmtree(MODEL, ignore_errors=True)
    os.makedirs(MODEL)
    tok, sp = write_tokenizer(j, tcfg)
    vocab = tok.get_vocab_size(with_added_tokens=True)
    model = make_model(vocab, sp)
    shutil.rmtree(REF, ignore_errors=True)
    os.makedirs(REF)

    rng = Rng.for_record("p0", 0)
    h = bc_hash64(b"p0", 0)
    nxt = [str(rng.next()) for _ in range(4)]
    rng = Rng.for_record("p0", 0)
    us = [rng.uniform() for _ in range(8)]
    px_hw = None

    recs = [{"id": "p0", "prompt": prompts[0]},
            {"id": "p1", "prompt": prompts[1], "cot": "A red apple sits on a wooden table."},
            {"id": "p2", "prompt": prompts[3], "cot": ""},
            {"id": "p3#1", "prompt": prompts[20], "cot": "  line one\nline two  "}]
    check_against_generate(model, tok, sp, recs[1])
    base = {"template": "t2i-r1", "seed": 0, "cfg": 5.0, "temperature": 1.0, "top_k": 0, "top_p": 1.0, "grid": list(GRID)}
    runs = []
    for k, (over, idx) in enumerate([({}, [0, 1, 2, 3]), ({"seed": 7, "cfg": 3.0}, [0, 1]),
                                     ({"temperature": 0.8, "top_k": 10}, [0, 3]), ({"top_p": 0.8}, [1]),
                                     ({"template": "janus"}, [0, 1])]):
        opts = dict(base, **over)
        rows = [gen_tokens(model, tok, sp, recs[i], opts) for i in idx]
        if k == 0:
            for r in rows:
                r["pixels"], px_hw, lo, hi = decode_pixels(model, r["image_tokens"])
                clipped = np.mean([v in (0, 255) for v in r["pixels"]])
                print(f"  {r['id']}: decoder output in [{lo:.2f}, {hi:.2f}], {clipped:.0%} of pixels clipped")
        runs.append({"options": opts, "records": rows})
        for r in rows:
            ent = -np.mean(r["image_logp"])
            print(f"gen run {k} {r['id']}: L={len(r['cond_ids'])} tokens {r['image_tokens']} "
                  f"mean -logp {ent:.2f} cfg {-np.mean(r['image_logp_cfg']):.2f} margin {r['margin']:.2e}")
    dump("gen-tokens.json", {"runs": runs})

    plan_runs = []
    for over, idx in [({}, [0, 1]), ({"seed": 3, "temperature": 0.7, "top_k": 0, "top_p": 0.9}, [2]),
                      ({"template": "janus", "n": 2}, [3])]:
        opts = dict({"template": "t2i-r1", "seed": 0, "n": 3, "temperature": 1.0, "top_k": 50, "top_p": 1.0, "max_new_tokens": 24},
                    **over)
        rows = [plan_cot(model, tok, sp, recs[i], opts) for i in idx]
        plan_runs.append({"options": opts, "records": rows})
        for r in rows:
            for s in r["samples"]:
                print(f"plan {s['id']}: {len(s['cot_ids'])} ids, eos {s['cot_ids'][-1] == sp['eos']}, "
                      f"margin {s['margin']:.2e} {s['cot']!r}")
    dump("plan-cot.json", {"runs": plan_runs})

    dump("meta.json", {
        "note": "made by tests/golden/make_tiny_janus.py: transformers float32 (eager) on tests/golden/tiny-janus",
        "special": sp, "vocab_size": vocab, "image_vocab": 64, "grid": list(GRID), "image_px": px_hw,
        "rng_check": {"id": "p0", "seed": 0, "hash": str(h), "next": nxt, "u": us}})
    print("special ids", sp, "vocab", vocab)


if __name__ == "__main__":
    main()
