#!/bin/sh
# score-det on google/owlv2-base-patch16-ensemble's shape (random
# Owlv2ForObjectDetection weights, float32 as the real checkpoint; ViT-B/16 at
# 960 px = 3601 tokens, CLIP text 512 wide), 384x384 images with a spatial
# record's two nouns (two text queries): seconds per image and peak RSS, beside
# transformers (float32) in this run: per image, processor (text + image) ->
# model(input_ids, pixel_values) -> post_process_object_detection (threshold 0.1).
# Model loading is left out on both sides: ours is the difference between a
# run over 1 + N images and a run over the first, divided by N (score-det's
# defaults: images two at a time on this 2-core machine, one core each, and
# the last, odd one on both cores, as the single image of the shorter run
# is; so N should be a multiple of the batch); the reference's load and a
# warm-up image are not counted, then it times the same 1 + N one by one.
# The machine is shared and timings vary by 10-30% from run to run, this
# bench's most (slow spells of minutes): BENCH_RUNS rounds (default 5) each
# time ours and then the reference (timing.sh scorer_rounds); each side's
# best is reported, and the median of the rounds' ratios. N is 4 by default
# (BENCH_IMAGES): with 2, a round's difference of two runs was noisier than
# the effects being measured.
. tests/bench/timing.sh
python3 -c 'import transformers, torch, PIL, scipy' 2>/dev/null || { echo "| score-det | skipped: needs python3 with torch + transformers + Pillow + scipy | | | |"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
N=${BENCH_IMAGES:-4}
R=${BENCH_RUNS:-5}
cat > $tmp/bench.py <<'PY'
import base64, io, json, os, resource, sys, time
import numpy as np
import torch
d, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.manual_seed(0)
from PIL import Image
from transformers import CLIPTokenizer, Owlv2Processor
from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil  # no torchvision
if mode == "make":
    from transformers import Owlv2Config, Owlv2ForObjectDetection
    # google/owlv2-base-patch16-ensemble: Owlv2Config's defaults but image_size 960
    # (reward-models-spec.md §4.1)
    cfg = Owlv2Config(vision_config=dict(image_size=960, patch_size=16))
    assert cfg.text_config.vocab_size == 49408 and cfg.text_config.max_position_embeddings == 16
    Owlv2ForObjectDetection(cfg).eval().save_pretrained(d)  # model.safetensors, float32
    # CLIP BPE files: the small vocabulary of tests/golden/clip_tokenizer/hf, padded with
    # never-produced fillers so that the specials have the real ids 49406 / 49407.
    golden = os.path.join(os.environ["BICOT_ROOT"], "tests/golden/clip_tokenizer/hf")
    vocab = json.load(open(os.path.join(golden, "vocab.json"), encoding="utf-8"))
    words = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if not w.startswith("<|")]
    words += [f"fill{i}</w>" for i in range(49406 - len(words))] + ["<|startoftext|>", "<|endoftext|>"]
    json.dump({w: i for i, w in enumerate(words)}, open(os.path.join(d, "vocab.json"), "w", encoding="utf-8"),
              ensure_ascii=False)
    with open(os.path.join(golden, "merges.txt"), "rb") as src, open(os.path.join(d, "merges.txt"), "wb") as dst:
        dst.write(src.read())
    mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    Owlv2ImageProcessorPil(size={"height": 960, "width": 960}, resample=2, do_pad=True,
                           image_mean=mean, image_std=std).save_pretrained(d)
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:384, 0:384] / 383.0
    with open(os.path.join(d, "records.jsonl"), "w") as f:
        for i in range(n):
            a = np.stack([255 * x, 255 * y, 255 * (1 - x) * y], -1) + rng.normal(0, 30, (384, 384, 3))
            buf = io.BytesIO()
            Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB").save(buf, "PNG")
            f.write(json.dumps({"id": f"img{i}", "prompt": "a cat on the left of a dog", "task_type": "spatial",
                                "nouns": ["cat", "dog"],
                                "spatial_info": {"obj1": "cat", "obj2": "dog", "locality": "left of"},
                                "image": base64.b64encode(buf.getvalue()).decode()}) + "\n")
else:  # the reference: transformers float32, one image and its nouns at a time
    from transformers import Owlv2ForObjectDetection
    torch.set_num_threads(os.cpu_count())
    tok = CLIPTokenizer(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt"), pad_token="!")
    proc = Owlv2Processor(image_processor=Owlv2ImageProcessorPil.from_pretrained(d), tokenizer=tok)
    model = Owlv2ForObjectDetection.from_pretrained(d, dtype=torch.float32).eval()
    recs = [json.loads(l) for l in open(os.path.join(d, "records.jsonl"))]
    images = [Image.open(io.BytesIO(base64.b64decode(r["image"]))).convert("RGB") for r in recs]

    def detect(image, nouns):
        inputs = proc(text=[nouns], images=image, return_tensors="pt")
        outputs = model(input_ids=inputs.input_ids, attention_mask=inputs.attention_mask,
                        pixel_values=inputs.pixel_values)
        return proc.image_processor.post_process_object_detection(
            outputs, threshold=0.1, target_sizes=[(image.height, image.width)])

    with torch.inference_mode():
        detect(images[0], recs[0]["nouns"])  # warm-up
        t0 = time.time()
        for im, r in zip(images, recs):
            detect(im, r["nouns"])
        dt = (time.time() - t0) / len(images)
    print(f"{dt:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
PY
BICOT_ROOT=${BICOT_ROOT:-$(pwd)} python3 $tmp/bench.py $tmp/m $((N + 1)) make > $tmp/make.log 2>&1 ||
    { echo "| score-det | fixture failed: $(tail -1 $tmp/make.log) | | | |"; exit 0; }
bicot-json $tmp/m/records.jsonl > $tmp/recs.msgpack
head -n 1 $tmp/m/records.jsonl | bicot-json > $tmp/one.msgpack
res=$(scorer_rounds $R "score-det --model $tmp/m" "python3 $tmp/bench.py $tmp/m $N ref" $tmp/m) ||
    { echo "| score-det | $res | | | |"; exit 0; }
set -- $(scorer_stats $R $N); per=$1; ref_s=$2; median=$3; ours_kb=$4; shift 4; rounds="$*"
ref_mb=$(cut -d' ' -f2 $tmp/ref*.txt | sort -n | tail -n 1)
printf '| score-det, OWLv2-base/16 float32 at 960 px, 384x384, 2 queries (%d images, model load excluded, best of %d rounds) | %.2f s/image, peak RSS %.0f MB | %.2f s/image, peak RSS %s MB | transformers float32 (processor + forward + post_process_object_detection) | %.2fx (median of the rounds: %.2fx; rounds: %s) |\n' \
    $N $R "$per" "$(echo "$ours_kb / 1024" | bc -l)" "$ref_s" "$ref_mb" "$(echo "$ref_s / $per" | bc -l)" "$median" "$rounds"
