#!/bin/sh
# score-vqa on microsoft/git-large-vqav2's shape (random GitForCausalLM weights,
# float32 as the real checkpoint; ViT-L/14 at 420 px + 6 BERT layers, vocab 30522),
# 384x384 images with a color record's two attr_nouns (two questions per image):
# seconds per image and peak RSS, beside transformers (float32) in this run doing
# what T2I-R1's utils/reward_git.py does: processor, then one full forward per
# question (the image recomputed for every question). The second reference row
# computes one forward per image: the least any per-question recomputation costs.
# Model loading is left out on both sides: ours is the difference between a
# run over 1 + N images and a run over the first, divided by N (score-vqa's
# defaults: images two at a time on this 2-core machine, the last, odd one
# on both cores, as the single image of the shorter run is; N a multiple of
# the batch); the reference's load and a warm-up forward are not counted,
# then it times the same 1 + N. The machine is shared and timings vary by
# 10-30% from run to run: BENCH_RUNS rounds (default 3) each time ours and
# then the reference (timing.sh scorer_rounds); each side's best is
# reported, and the median of the rounds' ratios.
. tests/bench/timing.sh
python3 -c 'import transformers, torch, PIL' 2>/dev/null || { echo "| score-vqa | skipped: needs python3 with torch + transformers + Pillow | | | |"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
N=${BENCH_IMAGES:-2}
R=${BENCH_RUNS:-3}
cat > $tmp/bench.py <<'PY'
import base64, io, json, os, resource, sys, time
import numpy as np
import torch
d, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
QUESTIONS = ["red car", "purple elephant"]
if mode == "make":
    from PIL import Image
    from transformers import BertTokenizer, CLIPImageProcessor, GitConfig, GitForCausalLM, GitProcessor
    # microsoft/git-large-vqav2's config.json (reward-models-spec.md §2.1)
    cfg = GitConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
                    intermediate_size=3072, hidden_act="gelu", max_position_embeddings=1024,
                    layer_norm_eps=1e-12, bos_token_id=101, eos_token_id=102, pad_token_id=0,
                    tie_word_embeddings=False,
                    vision_config=dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                       intermediate_size=4096, image_size=420, patch_size=14))
    GitForCausalLM(cfg).eval().save_pretrained(d)  # model.safetensors, float32
    # A bert-base-uncased-like vocab.txt of 30522 lines: [PAD], [unused*], [UNK] 100,
    # [CLS] 101, [SEP] 102, [MASK] 103, punctuation, the words asked, fillers.
    words = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words += list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    words += "the a of and yes no red purple car elephant".split()
    words += [f"w{i}" for i in range(30522 - len(words))]
    with open(os.path.join(d, "vocab.txt"), "w") as f:
        f.write("\n".join(words) + "\n")
    tok = BertTokenizer(os.path.join(d, "vocab.txt"), do_lower_case=True)
    mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    img = CLIPImageProcessor(size={"shortest_edge": 420}, crop_size={"height": 420, "width": 420},
                             resample=3, image_mean=mean, image_std=std)
    GitProcessor(image_processor=img, tokenizer=tok).save_pretrained(d)
    # the hub's layout: preprocessor_config.json, not transformers 5's processor_config.json
    os.remove(os.path.join(d, "processor_config.json"))
    img.save_pretrained(d)
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:384, 0:384] / 383.0
    with open(os.path.join(d, "records.jsonl"), "w") as f:
        for i in range(n):
            a = np.stack([255 * x, 255 * y, 255 * (1 - x) * y], -1) + rng.normal(0, 30, (384, 384, 3))
            buf = io.BytesIO()
            Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB").save(buf, "PNG")
            f.write(json.dumps({"id": f"img{i}", "prompt": "a red car and a purple elephant", "task_type": "color",
                                "nouns": ["car", "elephant"], "attr_nouns": QUESTIONS,
                                "image": base64.b64encode(buf.getvalue()).decode()}) + "\n")
else:  # the reference: T2I-R1's reward_git.py loop, float32
    from PIL import Image
    from transformers import AutoProcessor, GitForCausalLM
    torch.set_num_threads(os.cpu_count())
    proc = AutoProcessor.from_pretrained(d)
    model = GitForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    yes, no = proc.tokenizer.encode("yes")[1], proc.tokenizer.encode("no")[1]
    recs = [json.loads(l) for l in open(os.path.join(d, "records.jsonl"))]
    images = [Image.open(io.BytesIO(base64.b64decode(r["image"]))).convert("RGB") for r in recs]

    def score(image, questions):
        pixel_values = proc(images=image, return_tensors="pt").pixel_values
        s = []
        for q in questions:
            ids = [proc.tokenizer.cls_token_id] + proc(text=f"{q}?", add_special_tokens=False).input_ids
            logits = model(pixel_values=pixel_values, input_ids=torch.tensor([ids]), return_dict=True).logits[:, -1]
            p = torch.softmax(logits, dim=1)
            s.append((p[:, yes] / (p[:, yes] + p[:, no])).numpy())
        return float(np.mean(s))

    with torch.inference_mode():
        score(images[0], QUESTIONS[:1])  # warm-up
        # the two ways alternate image by image, so that other load on the machine
        # weighs on both alike
        t2i_r1 = one_forward = 0.0
        for im, r in zip(images, recs):
            t0 = time.time()
            score(im, r["attr_nouns"])
            t1 = time.time()
            score(im, r["attr_nouns"][:1])
            t2 = time.time()
            t2i_r1, one_forward = t2i_r1 + (t1 - t0) / len(images), one_forward + (t2 - t1) / len(images)
    print(f"{t2i_r1:.3f} {one_forward:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
PY
python3 $tmp/bench.py $tmp/m $((N + 1)) make > $tmp/make.log 2>&1 || { echo "| score-vqa | fixture failed: $(tail -1 $tmp/make.log) | | | |"; exit 0; }
bicot-json $tmp/m/records.jsonl > $tmp/recs.msgpack
head -n 1 $tmp/m/records.jsonl | bicot-json > $tmp/one.msgpack
res=$(scorer_rounds $R "score-vqa --model $tmp/m" "python3 $tmp/bench.py $tmp/m $N ref" $tmp/m) ||
    { echo "| score-vqa | $res | | | |"; exit 0; }
set -- $(scorer_stats $R $N); per=$1; ref_s=$2; median=$3; ours_kb=$4; shift 4; rounds="$*"
ref1_s=$(cut -d' ' -f2 $tmp/ref*.txt | sort -n | head -n 1)
ref_mb=$(cut -d' ' -f3 $tmp/ref*.txt | sort -n | tail -n 1)
ours="$(printf '%.2f s/image, peak RSS %.0f MB' "$per" "$(echo "$ours_kb / 1024" | bc -l)")"
printf '| score-vqa, GIT-large float32, 384x384, 2 questions (%d images, model load excluded, best of %d rounds) | %s | %.2f s/image, peak RSS %s MB | transformers float32, a forward per question (T2I-R1 reward_git.py) | %.2fx (median of the rounds: %.2fx; rounds: %s) |\n' \
    $N $R "$ours" "$ref_s" "$ref_mb" "$(echo "$ref_s / $per" | bc -l)" "$median" "$rounds"
printf '| score-vqa, as above, reference with one forward per image | %s | %.2f s/image, peak RSS %s MB | transformers float32, 1 question | %.2fx |\n' \
    "$ours" "$ref1_s" "$ref_mb" "$(echo "$ref1_s / $per" | bc -l)"
