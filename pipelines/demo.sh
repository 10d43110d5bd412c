#!/bin/sh
# make demo: the main job of bicot, on what exists today.
#
# The whole job: prompts -> plan-cot (semantic CoT) -> gen-tokens (VQ codes)
# -> vq-decode (PNG) -> score-hps/det/vqa (rewards) -> grpo-update. There is no
# embedded default model yet, so this runs the generation half on the tiny
# random test model of tests/golden/tiny-janus: the plans are gibberish and the
# pictures are noise (16x16 pixels); the reward experts score them with tiny
# random models too (tests/golden/tiny-clip for score-hps, tests/golden/owlv2
# for score-det, tests/golden/git for score-vqa). MODEL=DIR (a Janus-Pro
# directory), HPS=DIR (a CLIPModel directory or HPSv2.1 file), DET=DIR (an
# OWLv2 directory) and VQA=DIR (a GIT VQA directory) run it on real
# checkpoints. grpo-update is not written yet.
set -eu
cd "$(dirname "$0")/.."
export PATH="$(pwd)/bin:$PATH"
out=${OUT:-build/demo}
model=${MODEL:-tests/golden/tiny-janus}
scorer=${HPS:-tests/golden/tiny-clip}   # a CLIPModel directory (tiny and random by default)
det=${DET:-tests/golden/owlv2/model}    # an OWLv2 directory
vqa=${VQA:-tests/golden/git/model}      # a GIT VQA directory
n_prompts=${PROMPTS:-4}
rm -rf "$out"
mkdir -p "$out"
prompts=../shared/data/t2i-r1-train-prompts.jsonl
[ -f "$prompts" ] || prompts=tests/golden/streams/t2i-r1-prompts-head.jsonl

if [ "$model" = tests/golden/tiny-janus ]; then
    echo "bicot demo on the TINY RANDOM TEST MODEL ($model): its plans are gibberish and"
    echo "its pictures are noise. Run MODEL=/path/to/Janus-Pro-1B make demo for real images."
fi
echo
echo "1. $n_prompts T2I-R1 training prompts -> records (schemas/prompt.json)"
head -n "$n_prompts" "$prompts" | bicot-json | bicot-validate -q --pass schemas/prompt.json > "$out/prompts.msgpack"
echo "2. plan-cot: 2 semantic-CoT samples per prompt; gen-tokens: image tokens with CFG 5;"
echo "   vq-decode: PNGs in $out/images; bicot-grid: one contact sheet per prompt in $out/sheets;"
echo "   score-hps, score-det, score-vqa: rewards.hps/det/vqa from $scorer, $det, $vqa"
echo "   (tiny random models by default: their scores mean nothing)"
plan-cot --model "$model" -n 2 --max-tokens 48 < "$out/prompts.msgpack" \
    | gen-tokens --model "$model" \
    | vq-decode --model "$model" --out-dir "$out/images" \
    | bicot-grid --out-dir "$out/sheets" \
    | score-hps --model "$scorer" \
    | score-det --model "$det" \
    | score-vqa --model "$vqa" \
    | bicot-validate -q --pass schemas/scored.json > "$out/images.msgpack"
echo
echo "3. the records (bins shown as sizes):"
bicot-json -r --brief < "$out/images.msgpack" | cut -c1-160 | sed 's/^/   /'
echo
echo "4. the rewards of each sample (<prompt id>#<k>), and their summary per task_type:"
bicot-json -r --brief < "$out/images.msgpack" | sed 's/.*"id":"\([^"]*\)".*"rewards":\({[^}]*}\).*/   \1 \2/'
bicot-summary --plot "$out/rewards.png" < "$out/images.msgpack" | sed 's/^/   /'
echo
echo "not yet: grpo-update"
echo "done: $(ls "$out/images" | wc -l) images, $(ls "$out/sheets" | wc -l) contact sheets, rewards.png (mean ± std per task_type) in $out/"
