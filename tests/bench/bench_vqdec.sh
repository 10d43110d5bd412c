#!/bin/sh
# vq-decode on the real Janus-Pro VQ-16 decoder shape (random weights,
# transformers' default JanusVQVAEConfig = Janus-Pro's), 384x384 images:
# seconds per image and peak RSS, beside transformers (float32) in this run.
. tests/bench/timing.sh
python3 -c 'import transformers, torch' 2>/dev/null || { echo "| vq-decode | skipped: needs python3 with torch + transformers | | | |"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
N=${BENCH_IMAGES:-4}
cat > $tmp/make.py <<'PY'
import json, os, sys, time, resource
import torch
from transformers import JanusVQVAE, JanusVQVAEConfig
d, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
if mode == "make":
    cfg = JanusVQVAEConfig(num_patches=24)  # Janus-Pro: 384 px / 16
    m = JanusVQVAE(cfg).eval()
    state = {"model.vqmodel." + k: v.to(torch.bfloat16) for k, v in m.state_dict().items()}
    from safetensors.torch import save_file
    os.makedirs(d, exist_ok=True)
    save_file(state, os.path.join(d, "model.safetensors"))
    json.dump({"model_type": "janus", "vq_config": cfg.to_dict()}, open(os.path.join(d, "config.json"), "w"))
    g = torch.Generator().manual_seed(1)
    with open(os.path.join(d, "tokens.jsonl"), "w") as f:
        for i in range(n):
            t = torch.randint(0, cfg.num_embeddings, (576,), generator=g).tolist()
            f.write(json.dumps({"id": f"img{i}", "image_tokens": t, "grid": [24, 24]}) + "\n")
else:  # the reference: transformers in float32 on the same bf16 weights
    torch.set_num_threads(os.cpu_count())
    cfg = JanusVQVAEConfig(**{k: v for k, v in json.load(open(os.path.join(d, "config.json")))["vq_config"].items()
                              if k not in ("model_type", "transformers_version")})
    m = JanusVQVAE(cfg).eval()
    from safetensors.torch import load_file
    sd = {k[len("model.vqmodel."):]: v.float() for k, v in load_file(os.path.join(d, "model.safetensors")).items()}
    m.load_state_dict(sd, strict=False)
    toks = [json.loads(l)["image_tokens"] for l in open(os.path.join(d, "tokens.jsonl"))]
    with torch.inference_mode():
        m.decode(torch.tensor(toks[:1]))  # warm-up
        t0 = time.time()
        for t in toks:
            x = m.decode(torch.tensor([t]))
            px = ((x.clamp(-1, 1) + 1) / 2 * 255).clamp(0, 255).to(torch.uint8)
        dt = (time.time() - t0) / len(toks)
    print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
PY
python3 $tmp/make.py $tmp/m $N make 2>/dev/null || { echo "| vq-decode | fixture failed | | | |"; exit 0; }
bicot-json $tmp/m/tokens.jsonl > $tmp/tokens.msgpack
ref=$(python3 $tmp/make.py $tmp/m $N ref 2>/dev/null)
ref_s=${ref% *}; ref_mb=${ref#* }
# ours twice: one image at a time on all threads (as the reference runs), and
# with the default --batch (images decode in parallel, one per thread)
for mode in one default; do
    opt=; [ $mode = one ] && opt="--batch 1"
    /usr/bin/time -f "%e %M" -o $tmp/ours.txt vq-decode --model $tmp/m $opt < $tmp/tokens.msgpack > /dev/null 2>&1
    read ours_s ours_kb < $tmp/ours.txt
    per=$(echo "$ours_s / $N" | bc -l)
    what="one image at a time"; [ $mode = default ] && what="default --batch: images in parallel"
    printf '| vq-decode, 384x384, %s (%d images, incl. model load) | %.2f s/image, peak RSS %.0f MB | %.2f s/image, peak RSS %s MB | transformers float32 | %.2fx |\n' \
        "$what" $N "$per" "$(echo "$ours_kb / 1024" | bc -l)" "$ref_s" "$ref_mb" "$(echo "$ref_s / $per" | bc -l)"
done
