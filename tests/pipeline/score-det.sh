#!/bin/sh
# tests/pipeline/score-det.sh: score-det end to end on the tiny OWLv2 of
# tests/golden/make_owlv2.py. The expected rewards and detections
# (tests/golden/owlv2/pipeline/expected.txt) come from transformers'
# Owlv2ForObjectDetection and T2I-R1's own scoring functions (copied verbatim
# into make_owlv2.py), for --assign all and --assign argmax under
# --t2i-r1-compat. Run from the repository root with bin/ on PATH.
. tests/pipeline/lib.sh
LC_ALL=C; export LC_ALL
FX=tests/golden/owlv2
M=$FX/model
THR=0.65  # make_owlv2.py's pipeline box_threshold: no score within 1e-2 of it

mkdir "$tmp/img"
for f in wide square tall; do cp "$FX/$f.png" "$tmp/img/$f.png"; done
cp "$FX/square.png" "$tmp/img/square#1.png"
cp "$FX/wide.png" "$tmp/img/wide#1.png"
bicot-img "$tmp/img" --prompts "$FX/pipeline/prompts.jsonl" --strict > "$tmp/recs" 2> "$tmp/err"
check $? -eq 0 "bicot-img joins the five images to their prompts"

# bicot-json -r lines -> "<id> <mode> reward <v>" and "<id> <mode> det <phrase> <score> <cx> <cy> <w> <h>"
flatten() {
    bicot-json -r | awk -v mode="$1" '{
        id = $0; sub(/^\{"id":"/, "", id); sub(/".*/, "", id)
        if (match($0, /"det":[^,}]*/)) print id, mode, "reward", substr($0, RSTART + 6, RLENGTH - 6)
        if (match($0, /"detections":\[.*\]/)) {
            d = substr($0, RSTART + 14, RLENGTH - 15)
            n = split(d, items, /\},\{/)
            for (i = 1; i <= n; i++) {
                it = items[i]
                gsub(/[][{}"]/, "", it); gsub(/phrase:|score:|box:/, "", it); gsub(/,/, " ", it)
                print id, mode, "det", it
            }
        }
    }' | sort -s -k1,1
}

# compare GOT WANT "what": same lines, numbers within 1e-6 (rewards) / 1e-4
# (scores and boxes: float32 towers, ~1e-6 seen in test_owlv2)
compare() {
    bad=$(paste -d '|' "$1" "$2" | awk -F '|' '
        { ng = split($1, g, " "); nw = split($2, w, " ")
          if (ng != nw) { bad++; next }
          for (i = 1; i <= ng; i++) {
              if (g[i] == w[i]) continue
              tol = (g[3] == "reward") ? 1e-6 : 1e-4
              if (i < 4 || (g[3] == "det" && i == 4)) { bad++; next }
              e = g[i] - w[i]; if (e < 0) e = -e
              if (e > max) max = e
              if (e > tol) { bad++; next }
          } }
        END { printf "%d %.1e", bad, max }')
    echo "# $3: max numeric difference ${bad#* }"
    check "$(wc -l < "$1")" -eq "$(wc -l < "$2")" "$3: as many lines as expected ($(wc -l < "$2"))"
    check "${bad% *}" -eq 0 "$3: same records, rewards, phrases, scores and boxes"
}

for mode in all argmax; do
    score-det --model "$M" --box-threshold $THR --assign $mode --t2i-r1-compat --dump-boxes \
        < "$tmp/recs" > "$tmp/out.$mode" 2> "$tmp/err"
    check $? -eq 0 "--assign $mode --t2i-r1-compat --dump-boxes exits 0"
    flatten $mode < "$tmp/out.$mode" > "$tmp/got.$mode"
    awk -v m=$mode '$2 == m' "$FX/pipeline/expected.txt" | sort -s -k1,1 > "$tmp/want.$mode"
    compare "$tmp/got.$mode" "$tmp/want.$mode" "--assign $mode: T2I-R1's reward on transformers' detections"
done

# The default (argmax, every fix on): the fixes concern above/on top of, near,
# and NMS (numeracy), so the other records keep their compat rewards.
score-det --model "$M" --box-threshold $THR < "$tmp/recs" > "$tmp/out.def" 2> "$tmp/err"
check $? -eq 0 "defaults exit 0"
flatten argmax < "$tmp/out.def" | grep -v '^tall ' > "$tmp/got.def"
grep ' reward ' "$tmp/want.argmax" | grep -v '^tall ' > "$tmp/want.def"
compare "$tmp/got.def" "$tmp/want.def" "defaults: non-numeracy rewards as in compat mode"
same="$(bicot-json -r < "$tmp/out.def" | grep -c '"detections"')"
check "$same" -eq 0 "no detections key without --dump-boxes"
contains "$(bicot-json -r < "$tmp/out.def" | grep '"id":"tall"')" '"rewards":{"det":' "the numeracy record is scored too"

# A bad record: stops the stream without --keep-going, passes with an error under it
printf '{"id":"bad","prompt":"p","nouns":["cat"],"image":"bm90IGEgcG5n"}\n' | bicot-json > "$tmp/bad"
cat "$tmp/bad" "$tmp/recs" > "$tmp/mixed"
score-det --model "$M" < "$tmp/mixed" > "$tmp/out.bad" 2> "$tmp/err"
check $? -eq 2 "a record whose image is not a PNG stops the stream (exit 2)"
contains "$(cat "$tmp/err")" 'score-det: record 0 (id "bad"): key '"'image'" "the message names the record and the key"
score-det --model "$M" --keep-going < "$tmp/mixed" > "$tmp/out.kg" 2> "$tmp/err"
check $? -eq 3 "under --keep-going the stream goes on (exit 3)"
bicot-json -r < "$tmp/out.kg" > "$tmp/kg.json"
check "$(wc -l < "$tmp/kg.json")" -eq 6 "every record comes out"
contains "$(sed -n 1p "$tmp/kg.json")" '"errors":[{"tool":"score-det"' "the bad one with an errors entry"
check "$(grep -c '"rewards":{"det":' "$tmp/kg.json")" -eq 5 "the others scored"

# Not an OWLv2 directory
score-det --model tests/golden/tiny-clip < "$tmp/recs" > /dev/null 2> "$tmp/err"
check $? -eq 2 "a CLIP directory is refused (exit 2)"
contains "$(cat "$tmp/err")" "not an OWLv2 model" "saying it is not OWLv2"
score-det --model "$M" --query-template 'a photo' < /dev/null > /dev/null 2> "$tmp/err"
check $? -eq 1 "a --query-template without {} is a usage error"
contains "$(score-det --help)" "--box-threshold" "--help documents the options"
# --t2i-r1-compat queries the nouns only (T2I-R1's detector is asked for
# nothing else): a spatial object that is not a noun gets no detections there,
# and does by default.
echo '{"id": "square", "task_type": "spatial", "nouns": ["cat"], "spatial_info": {"obj1": "cat", "obj2": "dog", "locality": "left of"}}' \
    > "$tmp/extra.jsonl"
mkdir "$tmp/img2" && cp "$FX/square.png" "$tmp/img2/square.png"
bicot-img "$tmp/img2" --prompts "$tmp/extra.jsonl" --strict > "$tmp/extra" 2> /dev/null
score-det --model "$M" --box-threshold 0 --assign all --t2i-r1-compat --dump-boxes < "$tmp/extra" | bicot-json -r > "$tmp/extra.c"
score-det --model "$M" --box-threshold 0 --assign all --dump-boxes < "$tmp/extra" | bicot-json -r > "$tmp/extra.d"
check "$(grep -c '"phrase":"dog"' "$tmp/extra.c")" -eq 0 "--t2i-r1-compat: no query for a spatial object that is not a noun"
check "$(grep -c '"phrase":"dog"' "$tmp/extra.d")" -eq 1 "default: the spatial object is queried too"
finish
