#!/bin/sh
# make demo: the main job of bicot on what exists today.
#
# The whole job is: prompts -> plan-cot (semantic CoT) -> gen-tokens (VQ codes)
# -> vq-decode (PNG) -> score-hps/det/vqa (rewards) -> grpo-update. Those stages
# are not written yet (issues 3, 4, 5 and the GRPO issue); until they are, this
# demo runs the parts that exist, on real T2I-R1 prompts and the tiny test
# checkpoints, and says so. It never pretends: nothing here is an image model.
set -eu
cd "$(dirname "$0")/.."
export PATH="$(pwd)/bin:$PATH"
out=${OUT:-build/demo}
mkdir -p "$out"
prompts=../shared/data/t2i-r1-train-prompts.jsonl
[ -f "$prompts" ] || prompts=tests/golden/streams/t2i-r1-prompts-head.jsonl

echo "bicot demo: the generation and scoring stages do not exist yet;"
echo "this runs the record-stream tools that do, on $(basename $prompts)."
echo
echo "1. prompts (JSON Lines) -> msgpack records, zstd-compressed, checked against schemas/prompt.json"
bicot-json --zstd "$prompts" > "$out/prompts.msgpack.zst"
bicot-validate schemas/prompt.json < "$out/prompts.msgpack.zst"
ls -l "$out/prompts.msgpack.zst" | awk '{print "   " $5 " bytes: " $9}'
echo
echo "2. the spatial prompts, back as JSON Lines (first 3):"
bicot-json -r < "$out/prompts.msgpack.zst" | grep '"task_type":"spatial"' | head -3 | sed 's/^/   /'
echo
if [ -d tests/golden/images ]; then
    echo "3. a folder of images -> records -> a folder again (PNG bytes unchanged):"
    rm -rf "$out/images" "$out/in"
    mkdir -p "$out/in"
    for f in tests/golden/images/*.png; do [ -f "$f.rgb" ] && cp "$f" "$out/in/"; done   # the decodable test PNGs
    bicot-img "$out/in" | bicot-img -r "$out/images"
    echo "   $(ls "$out/images"/*.png | wc -l) PNGs and index.jsonl in $out/images; identical bytes: \
$(for f in "$out"/in/*.png; do cmp -s "$f" "$out/images/$(basename "$f")" || echo no; done | grep -c no) differ"
    echo
fi
if [ -d tests/golden/safetensors ]; then
    echo "4. a model directory (a tiny test checkpoint):"
    bicot-inspect tests/golden/safetensors/sharded | head -12 | sed 's/^/   /'
fi
echo
echo "done: outputs in $out/"
