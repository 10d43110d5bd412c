#!/bin/sh
# tests/pipeline/score-vqa.sh: score-vqa end to end on the tiny GIT of
# tests/golden/make_git.py (tests/golden/git/): T2I-R1's VQA reward on the
# fixture records, --name, --all-tasks, bad records with and without
# --keep-going, and a checkpoint that is not a GIT.
# Run from the repository root with bin/ on PATH (tests/run.sh does that).
. tests/pipeline/lib.sh
G=tests/golden/git
M=$G/model

# --- the rewards of the reference (GitForCausalLM + T2I-R1's rules) ---------
bicot-json $G/records.jsonl > "$tmp/in"
score-vqa --model $M < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
check $? -eq 0 "scores the fixture records"
bicot-json -r --brief < "$tmp/out" > "$tmp/out.json"
sed -n 's/^{"id":"\([^"]*\)".*"rewards":{"vqa":\([^,}]*\)}.*/\1 \2/p' "$tmp/out.json" > "$tmp/got"
check "$(wc -l < "$tmp/got")" -eq "$(wc -l < $G/rewards.txt)" "rewards.vqa on every record"
# float32 forward against the float32 reference: ~1e-7 seen; 1e-5 is the
# per-question tolerance of tests/golden/test_git.c.
bad=$(awk 'NR == FNR { want[$1] = $2; next }
           { d = $2 - want[$1]; if (d < 0) d = -d; if (!($1 in want) || d > 1e-5) print $1 }' \
      $G/rewards.txt "$tmp/got")
check -z "$bad" "within 1e-5 of the reference (spatial/numeracy 0, no nouns 1)"
contains "$(sed -n 1p "$tmp/out.json")" '"attr_nouns":["purple elephant","red car"],"image":{"bytes":5585},"rewards"' \
    "input keys pass through unchanged, rewards added last"

bicot-validate schemas/scored.json < "$tmp/out" 2> "$tmp/err"
check $? -eq 0 "the output is valid against schemas/scored.json"

# --- another key, and rewards already there are kept ----------------------------
score-vqa --model $M --name git < "$tmp/in" | score-vqa --model $M | bicot-json -r --brief > "$tmp/two.json"
# record r1's reward, within the 1e-5 tolerance above
r1=$(awk '$1 == "r1" { print $2 }' $G/rewards.txt)
near() { awk -v x="$1" -v w="$r1" 'BEGIN { d = x - w; if (d < 0) d = -d; print (x != "" && d <= 1e-5) }'; }
git=$(sed -n 2p "$tmp/two.json" | sed -n 's/.*"rewards":{"git":\([^,}]*\),"vqa":\([^,}]*\)}.*/\1/p')
vqa=$(sed -n 2p "$tmp/two.json" | sed -n 's/.*"rewards":{"git":\([^,}]*\),"vqa":\([^,}]*\)}.*/\2/p')
check "$(near "$git")" -eq 1 "--name sets the reward's key ($git)"
check "$(near "$vqa")" -eq 1 "an existing rewards map is kept ($vqa after it)"

# --- --all-tasks scores spatial and numeracy records too -------------------------
score-vqa --model $M --all-tasks < "$tmp/in" | bicot-json -r --brief > "$tmp/all.json"
spatial=$(sed -n 's/^{"id":"r2".*"vqa":\([^,}]*\)}.*/\1/p' "$tmp/all.json")
check "$(awk -v x="$spatial" 'BEGIN { print (x > 0.01 && x < 0.99) }')" -eq 1 "--all-tasks: a spatial record is asked ($spatial)"

# --- an empty attr_nouns list: 1, as for no nouns (T2I-R1: NaN from np.mean([])) -----
sed -n 1p $G/records.jsonl | sed 's/"attr_nouns": \[[^]]*\]/"attr_nouns": []/' | bicot-json |
    score-vqa --model $M | bicot-json -r --brief > "$tmp/empty.json"
contains "$(cat "$tmp/empty.json")" '"attr_nouns":[],"image":{"bytes":5585},"rewards":{"vqa":1.0}' \
    "an empty attr_nouns list scores 1"

# --- bad records ------------------------------------------------------------------
good=$(sed -n 2p $G/records.jsonl)
{
    echo "$good"
    echo '{"id":"noimg","nouns":["cat"]}'
    echo '{"id":"badpng","nouns":["cat"],"image":"bm90IGEgcG5n"}'
    echo "$good" | sed 's/"id": "r1"/"id": "badmeta"/; s/"nouns": \["cat"\]/"nouns": "cat"/'
    echo "$good" | sed 's/"id": "r1"/"id": "last"/'
} | bicot-json > "$tmp/bad"
score-vqa --model $M < "$tmp/bad" > "$tmp/out" 2> "$tmp/err"
check $? -eq 2 "a bad record stops the tool (exit 2)"
contains "$(cat "$tmp/err")" 'record 1 (id "noimg")' "the message names the record"
contains "$(cat "$tmp/err")" "'image'" "the message names the key"
bicot-json -r --brief < "$tmp/out" > "$tmp/out.json"
check "$(wc -l < "$tmp/out.json")" -eq 2 "the records before it are written, then the failed one, nothing after"
contains "$(sed -n 2p "$tmp/out.json")" '"errors":[{"tool":"score-vqa","message":"missing key' "the failed record carries its error"

score-vqa --model $M --keep-going < "$tmp/bad" > "$tmp/out" 2> "$tmp/err"
check $? -eq 3 "--keep-going: exit 3"
bicot-json -r --brief < "$tmp/out" > "$tmp/out.json"
check "$(wc -l < "$tmp/out.json")" -eq 5 "--keep-going: every record is written"
check "$(grep -c '"errors":\[{"tool":"score-vqa"' "$tmp/out.json")" -eq 3 "--keep-going: three records carry an error"
scored=0
for v in $(sed -n 's/.*"rewards":{"vqa":\([^,}]*\)}.*/\1/p' "$tmp/out.json"); do
    [ "$(near "$v")" -eq 1 ] && scored=$((scored + 1))
done
check $scored -eq 2 "--keep-going: the good records are scored"
contains "$(sed -n 3p "$tmp/out.json")" "PNG" "an undecodable image is reported as such"
contains "$(cat "$tmp/err")" 'record 3 (id "badmeta")' "a bad 'nouns' fails its record"

# --- not a GIT checkpoint ----------------------------------------------------------
score-vqa --model tests/golden/tiny-clip < "$tmp/in" > "$tmp/out" 2> "$tmp/err"
check $? -eq 2 "a CLIP directory: exit 2"
contains "$(cat "$tmp/err")" 'model_type is "clip", expected "git"' "a CLIP directory is refused with the reason"
check ! -s "$tmp/out" "nothing is written"

# --- usage ---------------------------------------------------------------------------
score-vqa --help > "$tmp/help"
check $? -eq 0 "--help exits 0"
contains "$(cat "$tmp/help")" "spatial or numeracy: 0" "--help states T2I-R1's rules"
score-vqa < "$tmp/in" > /dev/null 2> "$tmp/err"
check $? -eq 1 "no --model: exit 1"
finish
