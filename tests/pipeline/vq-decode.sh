#!/bin/sh
# tests/pipeline/vq-decode.sh: vq-decode through the real program, on the
# tiny transformers-made decoders of tests/golden/vqdec (make_vqdec.py).
# Pixels are compared with the reference's uint8 pixels through
# --pixels-dir, which writes what decoding the emitted PNG gives back (PNG
# bytes differ between encoders). The cases here have no pixel at a
# truncation boundary; the 4x4 one, which has one, is in test_vqdec.c.
. tests/pipeline/lib.sh
G=tests/golden/vqdec

# token records: the fixture's 2x3 grid for hf_f32 and its 3x2 grid for bf16
cat > "$tmp/toks.jsonl" <<'JSON'
{"id": "a/0", "group": "g1", "image_tokens": [60, 40, 43, 57, 37, 49], "grid": [2, 3]}
JSON
bicot-json < "$tmp/toks.jsonl" > "$tmp/toks"
check $? -eq 0 "token records from JSON"

vq-decode --model $G/hf_f32 --out-dir "$tmp/out" --pixels-dir "$tmp/px" < "$tmp/toks" > "$tmp/imgs" 2> "$tmp/err"
check $? -eq 0 "vq-decode exits 0"
same "$tmp/px/a_0.rgb" $G/hf_f32_2x3.u8 "hf_f32 2x3: the PNG's pixels equal transformers' (id a/0 -> a_0)"
check -s "$tmp/out/a_0.png" "--out-dir writes <id>.png"
bicot-json -r --brief < "$tmp/imgs" > "$tmp/imgs.json"
contains "$(cat "$tmp/imgs.json")" '"id":"a/0","group":"g1","image_tokens":[60,40,43,57,37,49],"grid":[2,3],"image":{"bytes":' \
    "keys pass through in order, image follows"
contains "$(cat "$tmp/imgs.json")" "\"image_path\":\"$tmp/out/a_0.png\"" "image_path is set"
bicot-validate -q schemas/image.json < "$tmp/imgs"
check $? -eq 0 "output validates against schemas/image.json"

# --no-embed: only the path
vq-decode --model $G/hf_f32 --out-dir "$tmp/out2" --no-embed < "$tmp/toks" | bicot-json -r --brief > "$tmp/ne.json"
contains "$(cat "$tmp/ne.json")" "\"grid\":[2,3],\"image_path\":\"$tmp/out2/a_0.png\"}" "--no-embed: image_path, no image"
same "$tmp/out/a_0.png" "$tmp/out2/a_0.png" "--no-embed writes the same PNG"
vq-decode --model $G/hf_f32 --out-dir "$tmp/out2" --no-embed < "$tmp/toks" | bicot-validate -q schemas/image.json
check $? -eq 0 "--no-embed output validates"

# the original naming (pytorch_model.bin, bf16) and many records over threads:
# records come back in input order whatever the batch and thread count
# (the bf16 3x2 case's tokens, taken from cases.json)
bf16_tokens=$(sed -n 's/.*"model": "hf_bf16", "grid": \[3, 2\], "tokens": \(\[[^]]*\]\).*/\1/p' $G/cases.json | head -1)
i=0
: > "$tmp/many.jsonl"
while [ $i -lt 12 ]; do
    echo "{\"id\": \"s#$i\", \"image_tokens\": $bf16_tokens, \"grid\": [3, 2]}" >> "$tmp/many.jsonl"
    i=$((i + 1))
done
bicot-json < "$tmp/many.jsonl" > "$tmp/many"
vq-decode --model $G/orig_bf16 --threads 4 --batch 5 --pixels-dir "$tmp/pxm" < "$tmp/many" > "$tmp/many.out"
check $? -eq 0 "orig_bf16, 12 records, 4 threads, batch 5: exits 0"
same "$tmp/pxm/s#7.rgb" $G/hf_bf16_3x2.u8 "original naming, bf16: pixels equal transformers'"
check "$(bicot-json -r --brief < "$tmp/many.out" | cut -d, -f1 | tr '\n' ' ')" = \
     '{"id":"s#0" {"id":"s#1" {"id":"s#2" {"id":"s#3" {"id":"s#4" {"id":"s#5" {"id":"s#6" {"id":"s#7" {"id":"s#8" {"id":"s#9" {"id":"s#10" {"id":"s#11" ' \
     "records in input order"
vq-decode --model $G/orig_bf16 --threads 1 --batch 1 < "$tmp/many" > "$tmp/many1.out"
same "$tmp/many.out" "$tmp/many1.out" "same bytes with 1 thread, batch 1"

# bad records
cat > "$tmp/bad.jsonl" <<'JSON'
{"id": "ok1", "image_tokens": [60, 40, 43, 57, 37, 49], "grid": [2, 3]}
{"id": "range", "image_tokens": [60, 40, 43, 64, 37, 49], "grid": [2, 3]}
{"id": "mismatch", "image_tokens": [60, 40, 43, 57, 37], "grid": [2, 3]}
{"id": "nogrid", "image_tokens": [60, 40, 43, 57, 37, 49]}
{"id": "ok2", "image_tokens": [1, 2, 3, 4], "grid": [2, 2]}
JSON
bicot-json < "$tmp/bad.jsonl" > "$tmp/bad"
vq-decode --model $G/hf_f32 --keep-going < "$tmp/bad" > "$tmp/bad.out" 2> "$tmp/err"
check $? -eq 3 "--keep-going with bad records: exit 3"
e=$(cat "$tmp/err")
contains "$e" "record 1 (id \"range\"): key 'image_tokens': token 64 at index 3 is outside the codebook [0, 64)" \
    "token out of range: named"
contains "$e" "record 2 (id \"mismatch\"): key 'grid': 2x3 needs 6 tokens, but 'image_tokens' has 5" "grid mismatch: named"
contains "$e" "record 3 (id \"nogrid\"): missing key 'grid'" "missing key: named"
bicot-json -r --brief < "$tmp/bad.out" > "$tmp/bad.json"
check "$(grep -c '"errors":\[{"tool":"vq-decode"' "$tmp/bad.json")" -eq 3 "the 3 bad records carry errors"
check "$(grep -c '"image":{"bytes"' "$tmp/bad.json")" -eq 2 "the 2 good ones carry images"
vq-decode --model $G/hf_f32 < "$tmp/bad" > "$tmp/bad2.out" 2> "$tmp/err"
check $? -eq 2 "without --keep-going: exit 2"
check "$(bicot-json -r --brief < "$tmp/bad2.out" | wc -l)" -eq 2 "stops after the failed record (written with its error)"

# bicot-grid: one sheet per group, records unchanged
bicot-grid --out-dir "$tmp/sheets" --cols 5 < "$tmp/many.out" > "$tmp/grid.out"
check $? -eq 0 "bicot-grid exits 0"
same "$tmp/grid.out" "$tmp/many.out" "bicot-grid passes records through unchanged"
check -s "$tmp/sheets/s.png" "ids s#0..s#11 without a group: one sheet s.png"
check "$(ls "$tmp/sheets" | wc -l)" -eq 1 "and nothing else"
bicot-grid --out-dir "$tmp/sheets2" --quiet < "$tmp/imgs" > "$tmp/grid2.out"
check -s "$tmp/sheets2/g1.png" -a ! -s "$tmp/grid2.out" "the group key names the sheet; --quiet writes no records"
bicot-grid --out-dir "$tmp/sheets3" < "$tmp/toks" > /dev/null 2> "$tmp/err"
check $? -eq 2 "bicot-grid: a record without image fails"
contains "$(cat "$tmp/err")" "missing key 'image'" "naming the key"

# a model directory without decoder tensors, and usage errors
mkdir "$tmp/empty"
cp $G/hf_f32/config.json tests/golden/safetensors/dtypes/model.safetensors "$tmp/empty/"
vq-decode --model "$tmp/empty" < "$tmp/toks" > /dev/null 2> "$tmp/err"
check $? -eq 2 "a model without decoder tensors: exit 2"
contains "$(cat "$tmp/err")" "tensor 'model.vqmodel.quantize.embedding.weight' not found in $tmp/empty" "names the tensor"
cp $G/hf_bf16/model.safetensors "$tmp/empty/"
vq-decode --model "$tmp/empty" < "$tmp/toks" > /dev/null 2> "$tmp/err"
check $? -eq 2 "weights that do not match config.json (1 res block a level, not 2): exit 2"
contains "$(cat "$tmp/err")" "'model.vqmodel.decoder.up.0.block.1.norm1.weight' not found" "names the tensor"
vq-decode < "$tmp/toks" > /dev/null 2>&1
check $? -eq 1 "no --model: exit 1"
vq-decode --help | grep -q "Example"
check $? -eq 0 "--help has an example"
finish
