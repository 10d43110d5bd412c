#!/bin/sh
# make demo: the main job of bicot, on what exists today.
#
# The whole job: prompts -> plan-cot (semantic CoT) -> gen-tokens (VQ codes)
# -> vq-decode (PNG) -> score-hps/det/vqa (rewards) -> grpo-update. There is no
# embedded default model yet, so this runs the generation half on the tiny
# random test model of tests/golden/tiny-janus: the plans are gibberish and the
# pictures are noise (16x16 pixels); score-hps scores them with the tiny random
# CLIP of tests/golden/tiny-clip. MODEL=DIR (a Janus-Pro directory) and HPS=DIR
# (a CLIPModel directory) run it on real checkpoints. score-det, score-vqa and
# grpo-update are not written yet.
set -eu
cd "$(dirname "$0")/.."
export PATH="$(pwd)/bin:$PATH"
out=${OUT:-build/demo}
model=${MODEL:-tests/golden/tiny-janus}
scorer=${HPS:-tests/golden/tiny-clip}   # a CLIPModel directory (tiny and random by default)
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
echo "   score-hps: rewards.hps from $scorer (tiny random CLIP by default: its scores mean nothing)"
plan-cot --model "$model" -n 2 --max-tokens 48 < "$out/prompts.msgpack" \
    | gen-tokens --model "$model" \
    | vq-decode --model "$model" --out-dir "$out/images" \
    | bicot-grid --out-dir "$out/sheets" \
    | score-hps --model "$scorer" \
    | bicot-validate -q --pass schemas/scored.json > "$out/images.msgpack"
echo
echo "3. the records (bins shown as sizes):"
bicot-json -r --brief < "$out/images.msgpack" | cut -c1-160 | sed 's/^/   /'
echo
echo "4. rewards.hps of each sample (<prompt id>#<k>):"
bicot-json -r --brief < "$out/images.msgpack" | sed 's/.*"id":"\([^"]*\)".*"hps":\([-0-9.e]*\).*/   \1 \2/'
echo
echo "not yet: score-det, score-vqa (issue 5) and grpo-update"
echo "done: $(ls "$out/images" | wc -l) images, $(ls "$out/sheets" | wc -l) contact sheets in $out/"
