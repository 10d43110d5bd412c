#!/bin/sh
# score-hps on the real HPSv2.1 shape (open_clip ViT-H-14: vision width 1280,
# 32 layers, 16 heads, MLP 5120, patch 14, 224 px; text width 1024, 24 layers,
# 16 heads, MLP 4096, 77 positions, vocab 49408; embed 1024; exact GELU), on
# random weights stored in float16 (HPS_v2.1_compressed.pt is about 2 bytes a
# parameter: fp16, reward-models-spec §1.5) as one safetensors file in
# open_clip naming. Images per second (image + text features, a distinct
# prompt per image) and peak RSS, beside transformers' CLIPModel in float32 on
# the same weights in this run (get_image_features + get_text_features per
# image, after a warm-up). Ours is timed as the difference between a run over
# 1 + N images and a run over 1 (timing.sh scorer_rounds), so model loading
# is left out on both sides (score-hps's defaults: images two at a time on
# this 2-core machine, one core each, the last, odd one on both cores as the
# single image of the shorter run is; N a multiple of the batch).
# The machine is shared and timings vary by 10-30% from run to run:
# BENCH_RUNS rounds (default 5) each time ours and then the reference; each
# side's best is reported, and the median of the rounds' ratios. N is 8 by
# default (BENCH_IMAGES): with 4, a round's difference of two runs was
# itself ~15% noise.
# The reference runs the text tower on open_clip's 77 padded positions;
# score-hps stops at the end-of-text token (causal: the same features).
. tests/bench/timing.sh
python3 -c 'import transformers, torch, safetensors' 2>/dev/null ||
    { echo "| score-hps | skipped: needs python3 with torch + transformers + safetensors | | | |"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
N=${BENCH_IMAGES:-8}
R=${BENCH_RUNS:-5}
cat > $tmp/hps.py <<'PY'
import json, os, resource, sys, time
import numpy as np
import torch
d, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
VIS = dict(width=1280, layers=32, heads=16, mlp=5120, patch=14, image=224)
TXT = dict(width=1024, layers=24, heads=16, mlp=4096, context=77, vocab=49408)
EMBED = 1024


def open_clip_shapes():
    """Every tensor of open_clip's ViT-H-14 CLIP state dict, name -> shape."""
    s = {}
    def tower(prefix, w, layers, mlp):
        for i in range(layers):
            b = f"{prefix}transformer.resblocks.{i}."
            s[b + "ln_1.weight"] = s[b + "ln_1.bias"] = s[b + "ln_2.weight"] = s[b + "ln_2.bias"] = (w,)
            s[b + "attn.in_proj_weight"], s[b + "attn.in_proj_bias"] = (3 * w, w), (3 * w,)
            s[b + "attn.out_proj.weight"], s[b + "attn.out_proj.bias"] = (w, w), (w,)
            s[b + "mlp.c_fc.weight"], s[b + "mlp.c_fc.bias"] = (mlp, w), (mlp,)
            s[b + "mlp.c_proj.weight"], s[b + "mlp.c_proj.bias"] = (w, mlp), (w,)
    W, g = VIS["width"], VIS["image"] // VIS["patch"]
    s["visual.conv1.weight"] = (W, 3, VIS["patch"], VIS["patch"])
    s["visual.class_embedding"] = (W,)
    s["visual.positional_embedding"] = (g * g + 1, W)
    for ln in ("ln_pre", "ln_post"):
        s[f"visual.{ln}.weight"] = s[f"visual.{ln}.bias"] = (W,)
    tower("visual.", W, VIS["layers"], VIS["mlp"])
    s["visual.proj"] = (W, EMBED)
    T = TXT["width"]
    s["token_embedding.weight"] = (TXT["vocab"], T)
    s["positional_embedding"] = (TXT["context"], T)
    tower("", T, TXT["layers"], TXT["mlp"])
    s["ln_final.weight"] = s["ln_final.bias"] = (T,)
    s["text_projection"] = (T, EMBED)
    s["logit_scale"] = ()
    return s


def random_tensor(name, shape, g):
    if name == "logit_scale":
        return torch.tensor(4.6052)
    if ".ln_" in name or name.startswith("ln_") or "ln_final" in name:
        return (1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn(shape, generator=g)
    if "embedding" in name:
        return 0.5 * torch.randn(shape, generator=g)
    if len(shape) >= 2:  # matrices: unit-variance outputs (proj is [in, out])
        fan_in = shape[0] if name.endswith("proj") or name == "text_projection" else int(np.prod(shape[1:]))
        return torch.randn(shape, generator=g) / fan_in ** 0.5
    return 0.1 * torch.randn(shape, generator=g)


def to_hf(oc):
    """open_clip names -> transformers CLIPModel names (float32)."""
    sd = {}
    def tower(src, dst, layers):
        for i in range(layers):
            s, t = f"{src}transformer.resblocks.{i}.", f"{dst}.encoder.layers.{i}."
            for a, b in [("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"), ("attn.out_proj", "self_attn.out_proj"),
                         ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")]:
                sd[t + b + ".weight"], sd[t + b + ".bias"] = oc[s + a + ".weight"], oc[s + a + ".bias"]
            for j, x in enumerate("qkv"):
                sd[t + f"self_attn.{x}_proj.weight"] = oc[s + "attn.in_proj_weight"].chunk(3)[j]
                sd[t + f"self_attn.{x}_proj.bias"] = oc[s + "attn.in_proj_bias"].chunk(3)[j]
    v = "vision_model"
    sd[v + ".embeddings.patch_embedding.weight"] = oc["visual.conv1.weight"]
    sd[v + ".embeddings.class_embedding"] = oc["visual.class_embedding"]
    sd[v + ".embeddings.position_embedding.weight"] = oc["visual.positional_embedding"]
    for a, b in [("ln_pre", "pre_layrnorm"), ("ln_post", "post_layernorm")]:
        sd[f"{v}.{b}.weight"], sd[f"{v}.{b}.bias"] = oc[f"visual.{a}.weight"], oc[f"visual.{a}.bias"]
    tower("visual.", v, VIS["layers"])
    sd["visual_projection.weight"] = oc["visual.proj"].t()
    t = "text_model"
    sd[t + ".embeddings.token_embedding.weight"] = oc["token_embedding.weight"]
    sd[t + ".embeddings.position_embedding.weight"] = oc["positional_embedding"]
    tower("", t, TXT["layers"])
    sd[t + ".final_layer_norm.weight"], sd[t + ".final_layer_norm.bias"] = oc["ln_final.weight"], oc["ln_final.bias"]
    sd["text_projection.weight"] = oc["text_projection"].t()
    sd["logit_scale"] = oc["logit_scale"]
    return {k: v.float().contiguous() for k, v in sd.items()}


def prompts(k):
    return [f"a photo of {k + 1} red apples on a wooden table, picture number {i}" for i in range(k)]


if mode == "make":  # weights (float16 safetensors), n images (224x224 PNG), n prompts
    from PIL import Image
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(0)
    sd = {k: random_tensor(k, s, g).to(torch.float16) for k, s in open_clip_shapes().items()}
    save_file(sd, os.path.join(d, "hps.safetensors"))
    os.makedirs(os.path.join(d, "img"))
    os.makedirs(os.path.join(d, "img1"))  # the first image alone
    rng = np.random.default_rng(1)
    with open(os.path.join(d, "prompts.jsonl"), "w") as f:
        for i, p in enumerate(prompts(n)):
            im = Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8))
            im.save(os.path.join(d, "img", f"{i}.png"))
            if i == 0:
                im.save(os.path.join(d, "img1", f"{i}.png"))
            f.write(json.dumps({"id": str(i), "prompt": p}) + "\n")
else:  # the reference: transformers CLIPModel, float32, on the same weights
    torch.set_num_threads(os.cpu_count())
    from safetensors.torch import load_file
    from transformers import CLIPConfig, CLIPModel
    cfg = CLIPConfig(
        text_config=dict(hidden_size=TXT["width"], num_hidden_layers=TXT["layers"], num_attention_heads=TXT["heads"],
                         intermediate_size=TXT["mlp"], max_position_embeddings=TXT["context"],
                         vocab_size=TXT["vocab"], hidden_act="gelu", layer_norm_eps=1e-5, eos_token_id=49407),
        vision_config=dict(hidden_size=VIS["width"], num_hidden_layers=VIS["layers"],
                           num_attention_heads=VIS["heads"], intermediate_size=VIS["mlp"], patch_size=VIS["patch"],
                           image_size=VIS["image"], hidden_act="gelu", layer_norm_eps=1e-5),
        projection_dim=EMBED)
    with torch.device("meta"):
        m = CLIPModel(cfg)
    m.load_state_dict(to_hf(load_file(os.path.join(d, "hps.safetensors"))), assign=True)
    m = m.eval()
    g = torch.Generator().manual_seed(2)
    pixels = [torch.randn(1, 3, 224, 224, generator=g) for _ in range(n)]
    # 77 ids as open_clip feeds them: SOT, words, EOT (the highest id), zeros
    ids = [torch.tensor([[49406] + list(range(1000 + i, 1014 + i)) + [49407] + [0] * 61]) for i in range(n)]
    with torch.inference_mode():
        m.get_image_features(pixel_values=pixels[0]), m.get_text_features(input_ids=ids[0])  # warm-up
        t0 = time.time()
        for p, t in zip(pixels, ids):
            m.get_image_features(pixel_values=p), m.get_text_features(input_ids=t)
        dt = (time.time() - t0) / n
    print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
PY
python3 $tmp/hps.py $tmp $((N + 1)) make 2>/dev/null
[ -f $tmp/hps.safetensors ] || { echo "| score-hps | fixture failed | | | |"; exit 0; }
merges=$(python3 -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("open_clip").origin), "bpe_simple_vocab_16e6.txt.gz"))' 2>/dev/null)
[ -f "$merges" ] || { echo "| score-hps | skipped: needs open_clip's bpe_simple_vocab_16e6.txt.gz | | | |"; exit 0; }
gunzip -c "$merges" > $tmp/bpe.txt
bicot-img $tmp/img --prompts $tmp/prompts.jsonl > $tmp/recs.msgpack 2>/dev/null
bicot-img $tmp/img1 --prompts $tmp/prompts.jsonl > $tmp/one.msgpack 2>/dev/null
res=$(scorer_rounds $R "score-hps --model $tmp/hps.safetensors --tokenizer $tmp/bpe.txt" "python3 $tmp/hps.py $tmp $N ref" $tmp/hps.safetensors) ||
    { echo "| score-hps | $res | | | |"; exit 0; }
set -- $(scorer_stats $R $N); ours_s=$1; ref_s=$2; median=$3; ours_kb=$4; shift 4; rounds="$*"
ref_mb=$(cut -d' ' -f2 $tmp/ref*.txt | sort -n | tail -n 1)
printf '| score-hps, HPSv2.1 shape (ViT-H-14, fp16 weights, 224 px, %d images, model load excluded, best of %d rounds) | %.2f images/s, peak RSS %.0f MB | %.2f images/s, peak RSS %s MB | transformers float32 | %.2fx (median of the rounds: %.2fx; rounds: %s) |\n' \
    $N $R "$(echo "1 / $ours_s" | bc -l)" "$(echo "$ours_kb / 1024" | bc -l)" "$(echo "1 / $ref_s" | bc -l)" "$ref_mb" \
    "$(echo "$ref_s / $ours_s" | bc -l)" "$median" "$rounds"
