#!/usr/bin/env python3
"""Makes the golden fixture of the GIT VQA expert (lib/nn/git.c, bin/score-vqa): a tiny
random GitForCausalLM in microsoft/git-large-vqav2's layout, two test images, the
reference activations, and T2I-R1's VQA reward on a few records.

    python3 tests/golden/make_git.py      (from the repository root; transformers 5.x,
                                           torch, Pillow, numpy; reads T2I-R1's
                                           reward_git.py from the mirror when present)

Writes tests/golden/git/
  model/        save_pretrained GitForCausalLM (config.json, model.safetensors, float32 as
                the real checkpoint) + GitProcessor (CLIPImageProcessor: shortest_edge 32,
                crop 32x32, bicubic, OpenAI mean/std; BertTokenizer: vocab.txt, lowercase,
                tokenizer.json/tokenizer_config.json)
      vision: image 32, patch 8 (4x4 patches + CLS = 17 tokens), width 32, 2 layers,
              4 heads of 8, MLP 64; hidden_act and layer_norm_eps left at GitVisionConfig's
              defaults (quick_gelu, 1e-5), so config.json omits them as the hub's does
      text:   vocab = the VOCAB list below, 24 positions, width 32, 2 BERT layers,
              4 heads of 8, FFN 64, gelu, eps 1e-12, tie_word_embeddings false
      Weights re-drawn with O(1) scale (see randomize) so that logits, and p_yes, vary.
  bin/          config.json + pytorch_model.bin: the same weights as torch.save(state_dict),
                what T2I-R1 loads (reward_git.py reads pytorch_model.bin)
  img0.png (40x48 w x h), img1.png (48x40): RGB noise + gradient
  pixels.f32     [2, 3, 32, 32]  GitProcessor(images=...).pixel_values (PIL backend)
  vision.f32     [2, 17, 32]     git.image_encoder(...).last_hidden_state (post LayerNorm)
  projected.f32  [2, 17, 32]     git.visual_projection(vision)
  logits.f32     [n_cases, V]    GitForCausalLM(pixel_values, input_ids).logits[0, -1]
  cases.json     {"yes": id, "no": id, "vocab_size": V, "tokens": 17,
                  "cases": [{"image": i, "question": q, "ids": [...], "p_yes": p}]}
                 ids = [CLS] + tokenizer(q, add_special_tokens=False), as T2I-R1;
                 p_yes = softmax(logits)[yes] / (softmax[yes] + softmax[no])
  records.jsonl  the records score-vqa reads (bicot-json --bin image): id, prompt,
                 task_type, nouns, attr_nouns (some absent / null), image (base64 PNG)
  rewards.txt    "id reward" per line: the reward of each record by T2I-R1's rules
                 (reference/t2i-r1-spec.md §2.2), computed here with GitForCausalLM, and
                 checked against T2I-R1's own GIT class (utils/reward_git.py, run on a
                 pytorch_model.bin copy in a temp dir) when the mirror is there.
"""
import base64
import io
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from transformers import (AutoProcessor, BertTokenizer, CLIPImageProcessor, GitConfig, GitForCausalLM,
                          GitProcessor)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "git")
MODEL = os.path.join(OUT, "model")
MIRROR = "/work/.mirror/CaraJ7+T2I-R1/repo"
SIZE = 32
SEED = int(os.environ.get("SEED", 6))  # picked among 1..6: p_yes spread 0.31 .. 0.91
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# BERT-style vocabulary: specials first as in bert-base-uncased ([PAD] = 0), yes/no
# somewhere in the middle, words of the questions, a few "##" pieces so that
# "elephants" / "cats" split, punctuation. Anything else is [UNK].
VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "!", ",", "-", ".", "?", "'"]
         + "a an the of on in and with is are there this that it".split()
         + "red blue green purple yellow black white orange pink brown small big large wooden metal".split()
         + "yes no".split()
         + "elephant cat dog car bus tree house apple banana cup candle fish desk mouse bicycle".split()
         + "table chair bird horse boat clock vase book bench train toy set sky water".split()
         + "##s ##es ##ing ##ed ##er ##y ##ly".split()
         + "cafe spaceship hull star ##light space photo image picture person man woman".split())

TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=24, hidden_act="gelu")
VISION = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              image_size=SIZE, patch_size=8)

# (task_type, nouns, attr_nouns, image): "-" = key absent; None = JSON null.
RECORDS = [
    ("complex", ["elephant", "car"], ["purple elephant", "red car"], 0),
    ("color", ["cat"], "-", 1),
    ("spatial", ["mouse", "bicycle"], "-", 0),        # T2I-R1: 0
    ("numeracy", ["cup", "candle"], "-", 1),          # T2I-R1: 0
    ("complex", [], "-", 0),                          # no nouns: 1
    ("texture", ["Wooden Bench", "toaster", "elephants"], None, 1),  # caps, [UNK], ##s
    ("complex", ["dog", "green tree"], None, 0),
    ("-", ["cafe"], ["small blue bird", "cafe"], 1),  # no task_type
]


def randomize(model, gen):
    """O(1) activations: LayerNorms near identity, matrices ~ 1/sqrt(fan_in), embeddings 0.5."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name.lower() or "visual_projection.1" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(p.shape, generator=gen))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / p[0].numel() ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def make_images():
    rng = np.random.default_rng(7331)
    names = []
    for i, (w, h) in enumerate([(40, 48), (48, 40)]):
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        base = np.stack([255 * x / (w - 1), 255 * y / (h - 1), 255 * (1 - x / (w - 1)) * (y / (h - 1))], -1)
        base = np.roll(base, i, axis=2) + rng.normal(0, 40, size=(h, w, 3))
        name = f"img{i}.png"
        Image.fromarray(np.clip(base + 0.5, 0, 255).astype(np.uint8), "RGB").save(os.path.join(OUT, name))
        names.append(name)
    return names


def questions_of(task_type, nouns, attr_nouns):
    """T2I-R1's rule (reward_git.py): None = constant reward, else the phrases."""
    if task_type in ("spatial", "numeracy"):
        return 0.0, None
    if attr_nouns not in ("-", None):
        return None, attr_nouns
    if not nouns:
        return 1.0, None
    return None, nouns


def t2i_r1_rewards(model, proc, pils):
    """T2I-R1's own GIT class on a temp copy of the model as pytorch_model.bin."""
    src = subprocess.run(["git", "--git-dir", MIRROR, "show", "HEAD:src/t2i-r1/src/utils/reward_git.py"],
                         capture_output=True, text=True)
    if src.returncode != 0:
        print("T2I-R1 mirror not found: cross-check skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        model.config.save_pretrained(tmp)
        proc.save_pretrained(tmp)
        torch.save(model.state_dict(), os.path.join(tmp, "pytorch_model.bin"))
        ns = {"__name__": "reward_git"}
        exec(compile(src.stdout, "reward_git.py", "exec"), ns)
        git = ns["GIT"](type("Args", (), {"git_ckpt_path": tmp})())
        git.load_to_device("cpu")
        kw = dict(task_type=[r[0] if r[0] != "-" else None for r in RECORDS],
                  nouns=[r[1] for r in RECORDS],
                  attr_nouns=[r[2] if r[2] != "-" else None for r in RECORDS])
        with torch.no_grad():
            return git([""] * len(RECORDS), [pils[r[3]] for r in RECORDS], **kw)


def main():
    os.makedirs(MODEL, exist_ok=True)
    with open(os.path.join(MODEL, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    tok = BertTokenizer(os.path.join(MODEL, "vocab.txt"), do_lower_case=True)
    improc = CLIPImageProcessor(size={"shortest_edge": SIZE}, crop_size={"height": SIZE, "width": SIZE},
                                image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3)
    # The hub's checkpoints have preprocessor_config.json (what bicot reads), not the
    # processor_config.json transformers 5 writes for a processor.
    GitProcessor(image_processor=improc, tokenizer=tok).save_pretrained(MODEL)
    os.remove(os.path.join(MODEL, "processor_config.json"))
    improc.save_pretrained(MODEL)

    cfg = GitConfig(vision_config=VISION, vocab_size=len(VOCAB), bos_token_id=VOCAB.index("[CLS]"),
                    eos_token_id=VOCAB.index("[SEP]"), **TEXT)
    torch.manual_seed(0)
    model = GitForCausalLM(cfg).eval()
    randomize(model, torch.Generator().manual_seed(SEED))
    model.save_pretrained(MODEL)
    # Leave the vision tower's activation and eps to GitVisionConfig's defaults, as the
    # hub's git-large-vqav2 config does: bicot must know them (quick_gelu, 1e-5).
    path = os.path.join(MODEL, "config.json")
    saved = json.load(open(path))
    for k in ("hidden_act", "layer_norm_eps", "num_channels", "attention_dropout", "initializer_range"):
        del saved["vision_config"][k]
    with open(path, "w") as f:
        json.dump(saved, f, indent=2)
        f.write("\n")
    os.remove(os.path.join(MODEL, "generation_config.json"))

    # T2I-R1 loads pytorch_model.bin (a plain state dict): the same weights as a pickle.
    os.makedirs(os.path.join(OUT, "bin"), exist_ok=True)
    with open(os.path.join(MODEL, "config.json")) as src, open(os.path.join(OUT, "bin", "config.json"), "w") as dst:
        dst.write(src.read())
    torch.save(GitForCausalLM.from_pretrained(MODEL).state_dict(), os.path.join(OUT, "bin", "pytorch_model.bin"))

    # Everything below from the saved directory, as T2I-R1 loads it.
    model = GitForCausalLM.from_pretrained(MODEL).eval()
    proc = AutoProcessor.from_pretrained(MODEL)
    tok = proc.tokenizer
    yes, no = tok.encode("yes")[1], tok.encode("no")[1]
    names = make_images()
    pils = [Image.open(os.path.join(OUT, n)).convert("RGB") for n in names]
    pixels = torch.as_tensor(np.asarray(proc(images=pils, return_tensors="np").pixel_values))
    with torch.no_grad():
        vision = model.git.image_encoder(pixels).last_hidden_state
        projected = model.git.visual_projection(vision)
    pixels.numpy().astype("<f4").tofile(os.path.join(OUT, "pixels.f32"))
    vision.numpy().astype("<f4").tofile(os.path.join(OUT, "vision.f32"))
    projected.numpy().astype("<f4").tofile(os.path.join(OUT, "projected.f32"))

    def ids_of(q):
        return [tok.cls_token_id] + proc(text=q, add_special_tokens=False).input_ids

    def last_logits(image, ids):
        with torch.no_grad():
            return model(pixel_values=pixels[image:image + 1], input_ids=torch.tensor([ids])).logits[0, -1]

    def p_yes(logits):
        p = torch.softmax(logits, dim=0)
        return (p[yes] / (p[yes] + p[no])).item()

    # Per-question cases: every phrase of the records on its image, plus a long one.
    cases, logits = [], []
    seen = set()
    extra = [(0, "is there a big wooden table with a purple cup and a white clock on it?"), (1, "yes"),
             (1, "Orange BIRDS, flying!")]
    for image, q in [(r[3], f"{p}?") for r in RECORDS for p in (questions_of(*r[:3])[1] or [])] + extra:
        if (image, q) in seen:
            continue
        seen.add((image, q))
        ids = ids_of(q)
        lg = last_logits(image, ids)
        logits.append(lg.numpy())
        cases.append(dict(image=image, question=q, ids=ids, p_yes=p_yes(lg)))
    np.stack(logits).astype("<f4").tofile(os.path.join(OUT, "logits.f32"))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(dict(yes=yes, no=no, vocab_size=len(VOCAB), tokens=vision.shape[1],
                       cases=cases), f, indent=1)
        f.write("\n")

    # Rewards by the rules restated (spec §2.2), then T2I-R1's code as a cross-check.
    ours = []
    for task_type, nouns, attr_nouns, image in RECORDS:
        const, phrases = questions_of(task_type, nouns, attr_nouns)
        ours.append(const if phrases is None else
                    float(np.mean([p_yes(last_logits(image, ids_of(f"{p}?"))) for p in phrases])))
    theirs = t2i_r1_rewards(model, proc, pils)
    if theirs is not None:
        worst = max(abs(a - b) for a, b in zip(ours, theirs))
        print(f"T2I-R1's reward_git.py vs restated rules: max |diff| {worst:.2e}")
        assert worst < 1e-6, (ours, theirs)
    print("rewards", np.round(ours, 4).tolist())
    print("p_yes", [round(c["p_yes"], 3) for c in cases])

    pngs = [base64.b64encode(open(os.path.join(OUT, n), "rb").read()).decode() for n in names]
    with open(os.path.join(OUT, "records.jsonl"), "w") as f:
        for i, (task_type, nouns, attr_nouns, image) in enumerate(RECORDS):
            rec = {"id": f"r{i}", "prompt": f"record {i}"}
            if task_type != "-":
                rec["task_type"] = task_type
            rec["nouns"] = nouns
            if attr_nouns != "-":
                rec["attr_nouns"] = attr_nouns
            rec["image"] = pngs[image]
            f.write(json.dumps(rec) + "\n")
    with open(os.path.join(OUT, "rewards.txt"), "w") as f:
        f.write("".join(f"r{i} {r!r}\n" for i, r in enumerate(ours)))


if __name__ == "__main__":
    sys.exit(main())
